"""Deploy checks: `manage.py check --deploy` fails on development settings in production."""
from collections.abc import Callable

from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, register

# Variables that, read from DJANGO_ENV_FILE's file, may weaken a production default; each with
# whether the setting it made is weaker than production's (debug on, https off ...).
WEAKENED_BY: dict[str, tuple[str, Callable[[object], bool]]] = {
    "DJANGO_DEBUG": ("DEBUG", bool),
    "DJANGO_SECURE_SSL_REDIRECT": ("SECURE_SSL_REDIRECT", lambda value: not value),
    "DJANGO_SECURE_HSTS_SECONDS": ("SECURE_HSTS_SECONDS", lambda value: not value),
    "DJANGO_SESSION_COOKIE_SECURE": ("SESSION_COOKIE_SECURE", lambda value: not value),
    "DJANGO_CSRF_COOKIE_SECURE": ("CSRF_COOKIE_SECURE", lambda value: not value),
}


@register(Tags.security, deploy=True)
def debug_off_check(**kwargs: object) -> list[CheckMessage]:
    """An error, not Django's warning (security.W018): a production process never debugs."""
    if not settings.DEBUG:
        return []
    return [Error(
        "DEBUG is on: a production process must not show debug pages, nor serve plain http.",
        hint="Unset DJANGO_DEBUG (false is the default) in this process's environment.",
        id="xvbcrm.E001",
    )]


@register(Tags.security, deploy=True)
def env_file_check(**kwargs: object) -> list[CheckMessage]:
    """An error for each production default that DJANGO_ENV_FILE's file weakens."""
    errors: list[CheckMessage] = []
    for name in settings.ENV_FILE_NAMES:
        if name not in WEAKENED_BY:
            continue
        setting, weaker = WEAKENED_BY[name]
        value = getattr(settings, setting)
        if weaker(value):
            errors.append(Error(
                f"{name} from the file DJANGO_ENV_FILE={settings.ENV_FILE} makes "
                f"{setting} = {value!r}, weaker than production's default.",
                hint="A production process reads its settings from its environment: unset "
                "DJANGO_ENV_FILE, or set this variable in the environment if it is meant.",
                id="xvbcrm.E002",
            ))
    return errors
