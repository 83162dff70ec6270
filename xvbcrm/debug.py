"""Debug pages and error mails that never show the PBX access code, tokens or database passwords.

Django's SafeExceptionReporterFilter hides settings and environment variables by name
(API, TOKEN, KEY, SECRET, PASS, SIGNATURE, HTTP_COOKIE), and form fields and local variables
only for views marked `sensitive_*` and only with DEBUG off. Here two layers cover the whole
page, with DEBUG on or off:

- by name: those names plus ACCESS_CODE, DATABASE_URL and AUTHORIZATION, in the settings,
  the request's environment, its POST and GET data and every frame's local variables;
- by value: whatever the page still says, every known secret value (in any of the forms a
  page writes it: as is, HTML-escaped, URL-encoded, repr-escaped) and the password of any
  `scheme://user:password@host` URL is replaced before the page (or mail) leaves.
"""
import html
import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote, quote_plus, urlsplit

from django.conf import settings
from django.http import HttpRequest, QueryDict
from django.views.debug import ExceptionReporter, SafeExceptionReporterFilter

SECRET_NAMES = re.compile(
    r"API|TOKEN|KEY|SECRET|PASS|SIGNATURE|HTTP_COOKIE|ACCESS_CODE|DATABASE_URL|AUTHORIZATION",
    flags=re.IGNORECASE,
)
SUBSTITUTE = SafeExceptionReporterFilter.cleansed_substitute
# Shorter values are left to the name filter: replacing every "1" would wreck the page.
MIN_SCRUBBED_LENGTH = 4
URL_PASSWORD = re.compile(r"(?P<head>\b[a-z][a-z0-9+.-]*://[^\s/:@'\"<>]*:)[^\s/@'\"<>]+@", re.I)


class SecretsFilter(SafeExceptionReporterFilter):
    """Hides secrets by name everywhere on the page, whatever DEBUG says."""

    hidden_settings = SECRET_NAMES

    def is_active(self, request: HttpRequest | None) -> bool:
        return True  # Django's filter lets POST data and locals through with DEBUG on

    def _cleanse_names(self, pairs: QueryDict) -> QueryDict:
        cleansed = pairs.copy()
        for name in pairs:
            if self.hidden_settings.search(name):
                cleansed[name] = self.cleansed_substitute
        return cleansed

    def get_post_parameters(self, request: HttpRequest | None) -> Any:
        parameters = super().get_post_parameters(request)
        if request is None or not isinstance(parameters, QueryDict):
            return parameters
        return self._cleanse_names(parameters)

    def get_traceback_frame_variables(self, request: HttpRequest | None, tb_frame: Any) -> Any:
        return [
            (name, self.cleansed_substitute if self.hidden_settings.search(name) else value)
            for name, value in super().get_traceback_frame_variables(request, tb_frame)
        ]


def secret_values() -> set[str]:
    """The values no page may show: the PBX's code and token, Django's keys, DB passwords."""
    values = [
        settings.PBX_ACCESS_CODE, settings.PBX_TOKEN, settings.SECRET_KEY,
        *settings.SECRET_KEY_FALLBACKS,
        urlsplit(getattr(settings, "DATABASE_URL", "") or "").password or "",
    ]
    values += [str(database.get("PASSWORD") or "") for database in settings.DATABASES.values()]
    return {value for value in values if len(value) >= MIN_SCRUBBED_LENGTH}


def _written_forms(value: str) -> Iterable[str]:
    """The ways a page may write `value`."""
    for form in (value, quote(value, safe=""), quote_plus(value), repr(value)[1:-1]):
        yield form
        yield html.escape(form)


def scrub(text: str) -> str:
    """`text` with every secret value and every URL's password replaced."""
    forms = {form for value in secret_values() for form in _written_forms(value) if form}
    for form in sorted(forms, key=len, reverse=True):
        text = text.replace(form, SUBSTITUTE)
    return URL_PASSWORD.sub(rf"\g<head>{SUBSTITUTE}@", text)


class SecretScrubbingReporter(ExceptionReporter):
    """Django's debug page and error mail, scrubbed of secret values (see `scrub`)."""

    def get_traceback_html(self) -> str:
        return scrub(super().get_traceback_html())

    def get_traceback_text(self) -> str:
        return scrub(super().get_traceback_text())
