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


# The access code of the vendor's captures (the protocol document; tests/captures.py): anyone
# who has read the integration note knows it.
SAMPLE_ACCESS_CODES = frozenset({"10019"})
MIN_ACCESS_CODE_LENGTH = 12


@register()
def pbx_weak_access_code_check(**kwargs: object) -> list[CheckMessage]:
    """With debug off, an access code that is short or the vendor's sample is easy to guess."""
    code = settings.PBX_ACCESS_CODE
    if settings.DEBUG or not code:
        return []
    if code in SAMPLE_ACCESS_CODES:
        problem = "is the sample code from the vendor's integration note"
    elif len(code) < MIN_ACCESS_CODE_LENGTH:
        problem = f"is shorter than {MIN_ACCESS_CODE_LENGTH} characters"
    else:
        return []
    return [
        Warning(
            f"PBX_ACCESS_CODE {problem}: it can be guessed, and it is the webhook's only "
            "proof of origin.",
            hint=f"Set a random access code of {MIN_ACCESS_CODE_LENGTH} or more characters "
            "in the XVB PBX's integration settings and in PBX_ACCESS_CODE (for example "
            "`python3 -c 'import secrets; print(secrets.token_urlsafe(18))'`).",
            id="calls.W003",
        )
    ]
