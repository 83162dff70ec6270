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


@register()
def pbx_click_to_call_check(**kwargs: object) -> list[CheckMessage]:
    """Without PBX_URL and PBX_TOKEN no call can be placed from the CRM."""
    missing = [name for name in ("PBX_URL", "PBX_TOKEN") if not getattr(settings, name)]
    if not missing:
        return []
    return [
        Warning(
            f"{' and '.join(missing)} {'is' if len(missing) == 1 else 'are'} not set: "
            "click-to-call will not work.",
            hint="Set PBX_URL to the cloud PBX address (\"Адрес облачной АТС\") and PBX_TOKEN "
            "to the token from the XVB PBX's integration settings.",
            id="calls.W002",
        )
    ]
