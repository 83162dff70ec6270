"""System checks: warn when the PBX link cannot work as configured."""
from django.conf import settings
from django.core.checks import CheckMessage, Warning, register


@register()
def pbx_access_code_check(**kwargs: object) -> list[CheckMessage]:
    """Without PBX_ACCESS_CODE every webhook is refused."""
    if settings.PBX_ACCESS_CODE:
        return []
    return [
        Warning(
            "PBX_ACCESS_CODE is not set: every PBX webhook will be refused with 403.",
            hint="Set PBX_ACCESS_CODE to the access code shown in the XVB PBX's "
            "integration settings.",
            id="calls.W001",
        )
    ]
