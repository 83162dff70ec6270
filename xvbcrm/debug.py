"""Debug pages and error mails that never show the PBX access code, tokens or database passwords.

Django's SafeExceptionReporterFilter hides settings and environment variables by name
(API, TOKEN, KEY, SECRET, PASS, SIGNATURE, HTTP_COOKIE), and form fields and local variables
only for views marked `sensitive_*` and only with DEBUG off. Here, with DEBUG on or off:

- by name: those names plus ACCESS_CODE, XVB_AC, DATABASE_URL and AUTHORIZATION, and the
  session cookie, in the settings, the request's environment, its POST data, its cookies and
  every frame's local variables;
- by value: the secrets (the PBX's code and token, Django's keys, database passwords, and
  this request's values under those names) are replaced in every value the page shows, before
  it is pretty-printed (which would wrap a long value, and a secret in it, over two lines):
  settings, environment, GET and POST data, cookies, local variables (a WebhookRequest's
  body, say), in any of the forms a value takes there (as is, URL-encoded, repr-escaped);
- last, in the page (or mail) as written: the secrets again (also HTML-escaped) and the
  password of any `scheme://user:password@host` URL: the URL, the exception's message.
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
    r"API|TOKEN|KEY|SECRET|PASS|SIGNATURE|HTTP_COOKIE|ACCESS_CODE|XVB_AC|DATABASE_URL"
    r"|AUTHORIZATION",
    flags=re.IGNORECASE,
)
SUBSTITUTE = SafeExceptionReporterFilter.cleansed_substitute
# Shorter values are left to the name filter: replacing every "1" would wreck the page.
MIN_SCRUBBED_LENGTH = 4
URL_PASSWORD = re.compile(r"(?P<head>\b[a-z][a-z0-9+.-]*://[^\s/:@'\"<>]*:)[^\s/@'\"<>]+@", re.I)


def _request_secrets(request: HttpRequest | None) -> list[str]:
    """This request's values under secret names: headers, cookies, GET and POST fields."""
    if request is None:
        return []
    values = [value for name, value in getattr(request, "META", {}).items()
              if SECRET_NAMES.search(name)]
    values += [value for name, value in getattr(request, "COOKIES", {}).items()
               if name == settings.SESSION_COOKIE_NAME or SECRET_NAMES.search(name)]
    for data in ("GET", "POST"):
        try:
            fields = getattr(request, data)
        except Exception:  # noqa: BLE001 -- a body Django cannot parse: nothing to add
            continue
        values += [value for name in fields if SECRET_NAMES.search(name)
                   for value in fields.getlist(name)]
    return values


def secret_values(request: HttpRequest | None = None) -> set[str]:
    """The values no page may show: the PBX's code and token, Django's keys, DB passwords,
    and the request's own values under secret names."""
    values = [
        settings.PBX_ACCESS_CODE, settings.PBX_TOKEN, settings.SECRET_KEY,
        *settings.SECRET_KEY_FALLBACKS,
        urlsplit(getattr(settings, "DATABASE_URL", "") or "").password or "",
    ]
    values += [str(database.get("PASSWORD") or "") for database in settings.DATABASES.values()]
    values += _request_secrets(request)
    return {value for value in values
            if isinstance(value, str) and len(value) >= MIN_SCRUBBED_LENGTH}


def _written_forms(value: str) -> Iterable[str]:
    """The ways a page may write `value`."""
    for form in (value, quote(value, safe=""), quote_plus(value), repr(value)[1:-1]):
        yield form
        yield html.escape(form)


def secret_forms(request: HttpRequest | None = None) -> list[str]:
    """Every written form of every secret value, longest first."""
    forms = {form for value in secret_values(request) for form in _written_forms(value) if form}
    return sorted(forms, key=len, reverse=True)


def scrub(text: str, forms: list[str]) -> str:
    """`text` with every form of a secret value and every URL's password replaced."""
    for form in forms:
        text = text.replace(form, SUBSTITUTE)
    return URL_PASSWORD.sub(rf"\g<head>{SUBSTITUTE}@", text)


class Scrubbed:
    """A value whose repr gave a secret away: the page shows the repr with it replaced."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return self.text


def shown(value: Any, forms: list[str]) -> Any:
    """`value` as it may be shown: itself, or its repr scrubbed when that has a secret."""
    try:
        text = repr(value)
    except Exception:  # noqa: BLE001 -- Django's page copes with a repr that fails
        return value
    scrubbed = scrub(text, forms)
    return value if scrubbed == text else Scrubbed(scrubbed)


class SecretsFilter(SafeExceptionReporterFilter):
    """Hides secrets by name (and local variables by value) everywhere, whatever DEBUG says."""

    hidden_settings = SECRET_NAMES

    def is_active(self, request: HttpRequest | None) -> bool:
        return True  # Django's filter lets POST data and locals through with DEBUG on

    def get_safe_cookies(self, request: HttpRequest) -> dict[str, Any]:
        cookies = super().get_safe_cookies(request)
        if settings.SESSION_COOKIE_NAME in cookies:  # `sessionid` is a login, whatever its name
            cookies[settings.SESSION_COOKIE_NAME] = self.cleansed_substitute
        return cookies

    def get_post_parameters(self, request: HttpRequest | None) -> Any:
        parameters = super().get_post_parameters(request)
        if request is None or not isinstance(parameters, QueryDict):
            return parameters
        cleansed = parameters.copy()
        for name in parameters:
            if self.hidden_settings.search(name):
                cleansed[name] = self.cleansed_substitute
        return cleansed

    def get_traceback_frame_variables(self, request: HttpRequest | None, tb_frame: Any) -> Any:
        forms = secret_forms(request)
        return [
            (name, self.cleansed_substitute if self.hidden_settings.search(name)
             else shown(value, forms))
            for name, value in super().get_traceback_frame_variables(request, tb_frame)
        ]


class SecretScrubbingReporter(ExceptionReporter):
    """Django's debug page and error mail, every value shown scrubbed of secrets."""

    def get_traceback_data(self) -> dict[str, Any]:
        data = super().get_traceback_data()
        forms = secret_forms(self.request)
        for key in ("request_meta", "settings"):
            if key in data:
                data[key] = {name: shown(value, forms) for name, value in data[key].items()}
        for key in ("request_GET_items", "filtered_POST_items", "request_COOKIES_items",
                    "request_FILES_items"):
            if key in data:
                data[key] = [(name, shown(value, forms)) for name, value in data[key]]
        return data

    def get_traceback_html(self) -> str:
        return scrub(super().get_traceback_html(), secret_forms(self.request))

    def get_traceback_text(self) -> str:
        return scrub(super().get_traceback_text(), secret_forms(self.request))
