"""With DEBUG on, Django's error page (and the error mail's text) shows no secret anywhere:
settings, the request's environment, POST and GET data, headers, local variables, messages."""
import re

import pytest
from django.http import HttpRequest, HttpResponse
from django.test import Client
from django.urls import path

from calls.pbx import protocol
from xvbcrm.debug import SecretsFilter

ACCESS_CODE = "pbx-code-Zq81xT"
PBX_TOKEN = "pbx-token-Lm42Wv"
DB_PASSWORD = "db-pass-Hk73Rb"
DATABASE_URL = f"postgres://crm:{DB_PASSWORD}@db.example:5432/crm"
OTHER_URL_PASSWORD = "mq-pass-Vc55Np"  # in no setting: only its place in a URL gives it away
SESSION = "session-key-Tr39Gm"
SECRETS = [ACCESS_CODE, PBX_TOKEN, DB_PASSWORD, OTHER_URL_PASSWORD, SESSION]


def crashing_form_view(request: HttpRequest) -> HttpResponse:
    """A view of ours that read the form and failed with secrets in its locals."""
    access_code = request.POST.get("access_code")
    connection_parameters = {"password": DB_PASSWORD, "host": "db.example"}
    broker = f"amqp://crm:{OTHER_URL_PASSWORD}@mq.example/"
    raise RuntimeError(f"cannot reach {broker} with {access_code} {connection_parameters}")


urlpatterns = [path("crash-form", crashing_form_view)]


@pytest.fixture
def debug(settings):  # noqa: ANN001, ANN201
    settings.DEBUG = True
    settings.PBX_ACCESS_CODE = ACCESS_CODE
    settings.PBX_TOKEN = PBX_TOKEN
    settings.DATABASE_URL = DATABASE_URL


def secret_environ() -> dict[str, str]:
    """What `runserver` puts in request.META from os.environ, and the secret headers."""
    return {
        "DATABASE_URL": DATABASE_URL,
        "PBX_ACCESS_CODE": ACCESS_CODE,
        "PBX_TOKEN": PBX_TOKEN,
        "HTTP_X_XVB_AC": ACCESS_CODE,
        "HTTP_AUTHORIZATION": f"Token {PBX_TOKEN}",
    }


def debug_client() -> Client:
    """A client that gets the debug page for an exception, logged in (a session cookie)."""
    client = Client(raise_request_exception=False)
    client.cookies["sessionid"] = SESSION
    return client


# pprint writes a long string or bytes value as adjacent literals over several lines, which
# can cut a secret in two: 'crm_token=pbx-toke' b'n-Lm42Wv'.
WRAPPED = re.compile(r"(&#x27;|')\s*\n\s*b?(&#x27;|')")


def assert_no_secret(page: str) -> None:
    unwrapped = WRAPPED.sub("", page)
    leaked = [secret for secret in SECRETS if secret in page or secret in unwrapped]
    assert not leaked, f"the page shows {leaked}"


QUERY = f"?access_code={ACCESS_CODE}&crm_token={PBX_TOKEN}"
ACCEPT = {"html": "text/html", "text (the error mail)": "text/plain"}


@pytest.mark.django_db
@pytest.mark.parametrize("accept", ACCEPT.values(), ids=ACCEPT.keys())
def test_the_webhook_crashing_shows_no_secret(debug, monkeypatch, accept):  # noqa: ANN001
    def fail(fields: dict[str, str]) -> None:
        raise RuntimeError("the parser broke")

    monkeypatch.setattr(protocol, "parse_command", fail)
    body = f"access_code={ACCESS_CODE}&cmd=event&crm_token={PBX_TOKEN}"

    response = debug_client().post(
        f"/crm-api{QUERY}", data=body, content_type="application/x-www-form-urlencoded",
        HTTP_ACCEPT=accept, **secret_environ(),
    )

    assert response.status_code == 500
    page = response.content.decode()
    assert "the parser broke" in page  # the real debug page, with our frames
    assert "handle_webhook" in page
    assert "PBX_ACCESS_CODE" in page  # the names stay, their values do not
    assert_no_secret(page)


@pytest.mark.urls(__name__)
@pytest.mark.parametrize("accept", ACCEPT.values(), ids=ACCEPT.keys())
def test_form_data_locals_and_urls_are_hidden(debug, accept):  # noqa: ANN001
    response = debug_client().post(
        f"/crash-form{QUERY}", data={"access_code": ACCESS_CODE, "crm_token": PBX_TOKEN},
        HTTP_ACCEPT=accept, **secret_environ(),
    )

    assert response.status_code == 500
    page = response.content.decode()
    assert "crashing_form_view" in page
    assert "amqp://crm:" in page  # the URL is shown, its password is not
    assert_no_secret(page)


def test_a_database_settings_password_is_hidden():
    cleansed = SecretsFilter().cleanse_setting(
        "DATABASES", {"default": {"PASSWORD": DB_PASSWORD, "NAME": "crm"}}
    )

    assert cleansed["default"] == {"PASSWORD": SecretsFilter.cleansed_substitute, "NAME": "crm"}
