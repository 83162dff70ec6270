"""Safe by default: the deploy check with docs/deploy.md's production settings, HTTPS defaults, the
login throttling (django-axes) behind zero or one trusted proxy, the webhook's PBX source
networks, and JSON logs."""
import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.test import Client

from calls.models import PbxRequest
from tests.captures import INCOMING
from xvbcrm.log import JsonFormatter
from xvbcrm.net import client_address

BASE_DIR = Path(__file__).resolve().parent.parent

# The production environment of docs/deploy.md, "Running on PostgreSQL, in production" (its
# secrets made up).
PRODUCTION_ENV = {
    "DJANGO_SECRET_KEY": "kq3Vd9-production-secret-of-fifty-or-more-random-characters-x7Lp2",
    "DJANGO_DEBUG": "false",
    "DJANGO_ALLOWED_HOSTS": "crm.example.com",
    "DJANGO_CSRF_TRUSTED_ORIGINS": "https://crm.example.com",
    "DJANGO_BEHIND_TLS_PROXY": "true",
    "DJANGO_TRUSTED_PROXY_COUNT": "1",
    "DJANGO_SECURE_HSTS_SECONDS": "31536000",
    "PBX_ACCESS_CODE": "a-long-random-access-code",
    "PBX_URL": "https://vpbx.example.com/",
    "PBX_TOKEN": "the-pbx-token",
    "PBX_ALLOWED_NETWORKS": "203.0.113.0/24",
    "LOG_FORMAT": "json",
}


def manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    """`manage.py ARGS` in a fresh process: no pytest (so not TESTING), no .env of ours."""
    clean = {k: v for k, v in os.environ.items()
             if k != "PYTEST_VERSION" and not k.startswith(("DJANGO_", "PBX_", "LOG_"))}
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=BASE_DIR, env={**clean, **env},
        capture_output=True, text=True, timeout=60,
    )


def production_settings(**env: str) -> dict:
    """Some settings as a process started with `env` reads them."""
    names = ["DEBUG", "SECURE_SSL_REDIRECT", "SECURE_HSTS_SECONDS", "SESSION_COOKIE_SECURE",
             "CSRF_COOKIE_SECURE", "SECURE_PROXY_SSL_HEADER", "CSRF_TRUSTED_ORIGINS"]
    code = ("import json; from django.conf import settings; "
            f"print(json.dumps({{n: getattr(settings, n, None) for n in {names!r}}}))")
    result = manage("shell", "-c", code, **env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


# --- the deploy check and the HTTPS defaults --------------------------------------------------


def test_deploy_check_passes_with_the_documented_production_settings():
    result = manage("check", "--deploy", "--fail-level", "WARNING", **PRODUCTION_ENV)

    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout + result.stderr


def test_deploy_check_fails_on_the_development_settings():
    result = manage("check", "--deploy", "--fail-level", "WARNING",
                    **{**PRODUCTION_ENV, "DJANGO_DEBUG": "true"})

    assert result.returncode != 0
    assert "security.W018" in result.stderr  # DEBUG on


def test_a_secret_key_is_required_with_debug_off():
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != "DJANGO_SECRET_KEY"}

    result = manage("check", **env)

    assert result.returncode != 0
    assert "Set DJANGO_SECRET_KEY" in result.stderr


def test_https_is_the_default_with_debug_off():
    values = production_settings(DJANGO_SECRET_KEY=PRODUCTION_ENV["DJANGO_SECRET_KEY"])

    assert values["DEBUG"] is False
    assert values["SECURE_SSL_REDIRECT"] is True
    assert values["SECURE_HSTS_SECONDS"] > 0
    assert values["SESSION_COOKIE_SECURE"] is True
    assert values["CSRF_COOKIE_SECURE"] is True
    assert values["SECURE_PROXY_SSL_HEADER"] is None  # trusting X-Forwarded-Proto is opt-in


def test_debug_serves_plain_http():
    values = production_settings(DJANGO_DEBUG="true")

    assert values["SECURE_SSL_REDIRECT"] is False
    assert values["SESSION_COOKIE_SECURE"] is False


def test_behind_a_tls_proxy_x_forwarded_proto_is_trusted():
    values = production_settings(**PRODUCTION_ENV)

    assert values["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]
    assert values["CSRF_TRUSTED_ORIGINS"] == ["https://crm.example.com"]


@pytest.fixture
def https_settings(settings) -> None:  # noqa: ANN001
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")


def test_the_admin_over_http_is_redirected_to_https(client, https_settings):
    response = client.get("/admin/login/")

    assert response.status_code == 301
    assert response["Location"] == "https://testserver/admin/login/"


def test_the_admin_through_the_tls_proxy_is_not_redirected(client, https_settings):
    response = client.get("/admin/login/", HTTP_X_FORWARDED_PROTO="https")

    assert response.status_code == 200


@pytest.mark.django_db
def test_a_pbx_posting_plain_http_is_not_redirected(client, https_settings):
    response = client.post("/crm-api", INCOMING, content_type="application/x-www-form-urlencoded")

    assert response.status_code == 200
    assert response.json() == {"ok": True}


# --- the client's address ---------------------------------------------------------------------


@pytest.mark.parametrize(("proxies", "meta", "expected"), [
    (0, {"REMOTE_ADDR": "198.51.100.7", "HTTP_X_FORWARDED_FOR": "1.2.3.4"}, "198.51.100.7"),
    (1, {"REMOTE_ADDR": "10.0.0.2", "HTTP_X_FORWARDED_FOR": "1.2.3.4, 198.51.100.7"},
     "198.51.100.7"),
    (1, {"REMOTE_ADDR": "10.0.0.2", "HTTP_X_FORWARDED_FOR": "198.51.100.7"}, "198.51.100.7"),
    (2, {"REMOTE_ADDR": "10.0.0.2", "HTTP_X_FORWARDED_FOR": "1.2.3.4, 198.51.100.7, 10.0.0.1"},
     "198.51.100.7"),
    (1, {"REMOTE_ADDR": "10.0.0.2"}, "10.0.0.2"),  # not through the proxy
    (1, {"REMOTE_ADDR": "10.0.0.2", "HTTP_X_FORWARDED_FOR": "junk"}, "10.0.0.2"),
    (0, {"REMOTE_ADDR": "fe80::1%eth0"}, "fe80::1"),
    (0, {"REMOTE_ADDR": ""}, None),
])
def test_client_address(proxies: int, meta: dict, expected: str | None):
    assert client_address(meta, trusted_proxies=proxies) == expected


# --- login throttling -------------------------------------------------------------------------

LOGIN = "/admin/login/"


@pytest.fixture
def staff(db, settings) -> User:  # noqa: ANN001
    settings.AXES_FAILURE_LIMIT = 3
    return User.objects.create_user("anna", password="right-pw-1", is_staff=True)


def log_in(client: Client, password: str, **meta: str) -> int:
    """POST the admin's login form; the status (302: logged in, 200: wrong, 429: locked)."""
    data = {"username": "anna", "password": password, "next": "/admin/"}
    return client.post(LOGIN, data, **meta).status_code


def test_the_right_password_logs_in(client, staff):
    assert log_in(client, "right-pw-1") == 302


def test_login_is_locked_after_too_many_wrong_passwords(client, staff):
    assert [log_in(client, "wrong") for _ in range(3)] == [200, 200, 429]

    assert log_in(client, "right-pw-1") == 429


def test_a_made_up_x_forwarded_for_does_not_dodge_the_lockout(client, staff):
    for n in range(3):
        log_in(client, "wrong", HTTP_X_FORWARDED_FOR=f"192.0.2.{n}")

    assert log_in(client, "right-pw-1", HTTP_X_FORWARDED_FOR="192.0.2.99") == 429


def test_behind_one_trusted_proxy_the_client_it_saw_is_locked(client, staff, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    proxy = {"REMOTE_ADDR": "10.0.0.2"}
    for n in range(3):  # the attacker's own X-Forwarded-For entries come first
        log_in(client, "wrong", HTTP_X_FORWARDED_FOR=f"192.0.2.{n}, 198.51.100.7", **proxy)

    assert log_in(client, "right-pw-1", HTTP_X_FORWARDED_FOR="198.51.100.7", **proxy) == 429
    # Another client behind the same proxy is not locked out.
    assert log_in(Client(), "right-pw-1", HTTP_X_FORWARDED_FOR="198.51.100.8", **proxy) == 302


# --- the webhook's PBX source networks --------------------------------------------------------


def post_webhook(client: Client, **meta: str):  # noqa: ANN201
    return client.post("/crm-api", INCOMING, content_type="application/x-www-form-urlencoded",
                       **meta)


@pytest.fixture
def pbx_networks(settings) -> None:  # noqa: ANN001
    settings.PBX_ALLOWED_NETWORKS = ["203.0.113.0/24", "2001:db8::/32"]


@pytest.mark.django_db
@pytest.mark.parametrize("address", ["203.0.113.5", "2001:db8::5", "::ffff:203.0.113.5"])
def test_a_webhook_from_a_pbx_network_is_accepted(client, pbx_networks, address):
    assert post_webhook(client, REMOTE_ADDR=address).status_code == 200


@pytest.mark.django_db
def test_a_webhook_from_elsewhere_is_refused_and_journaled(client, pbx_networks):
    response = post_webhook(client, REMOTE_ADDR="198.51.100.7")

    assert response.status_code == 403
    assert response.json() == {
        "error": "address 198.51.100.7 is not in PBX_ALLOWED_NETWORKS"
    }
    entry = PbxRequest.objects.get()
    assert (entry.outcome, entry.remote_addr, entry.response_status) == (
        "rejected", "198.51.100.7", 403
    )


@pytest.mark.django_db
def test_without_networks_a_webhook_from_anywhere_is_accepted(client):
    assert post_webhook(client, REMOTE_ADDR="198.51.100.7").status_code == 200


@pytest.mark.django_db
def test_behind_a_trusted_proxy_the_pbx_address_is_the_forwarded_one(
    client, pbx_networks, settings
):
    settings.TRUSTED_PROXY_COUNT = 1

    allowed = post_webhook(client, REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="203.0.113.5")
    refused = post_webhook(client, REMOTE_ADDR="10.0.0.2",
                           HTTP_X_FORWARDED_FOR="203.0.113.5, 198.51.100.7")

    assert (allowed.status_code, refused.status_code) == (200, 403)
    assert list(PbxRequest.objects.order_by("id").values_list("remote_addr", flat=True)) == [
        "203.0.113.5", "198.51.100.7"
    ]


@pytest.mark.django_db
def test_a_spoofed_x_forwarded_for_does_not_pass_for_the_pbx(client, pbx_networks):
    response = post_webhook(client, REMOTE_ADDR="198.51.100.7", HTTP_X_FORWARDED_FOR="203.0.113.5")

    assert response.status_code == 403


def test_pbx_allowed_networks_must_be_networks():
    result = manage("check", PBX_ALLOWED_NETWORKS="203.0.113.0/24,not-a-network",
                    DJANGO_DEBUG="true")

    assert result.returncode != 0
    assert "PBX_ALLOWED_NETWORKS" in result.stderr


# --- logs -------------------------------------------------------------------------------------


def test_json_logs_are_one_object_a_line():
    record = logging.LogRecord("calls.pbx.webhook", logging.WARNING, __file__, 1,
                               "journal %s", ("down",), None)

    line = JsonFormatter().format(record)

    assert "\n" not in line
    entry = json.loads(line)
    assert (entry["level"], entry["logger"], entry["message"]) == (
        "WARNING", "calls.pbx.webhook", "journal down"
    )
    assert entry["time"].endswith("+00:00")


def test_gunicorn_access_log_lines_are_json_with_the_request():
    atoms = {"h": "10.0.0.2", "m": "POST", "U": "/crm-api", "q": "", "s": "200", "B": "12",
             "L": "0.004", "a": 'LWP "quoted"', "f": "-", "{x-forwarded-for}i": "203.0.113.5"}
    record = logging.LogRecord("gunicorn.access", logging.INFO, __file__, 1, "%(h)s", (), None)
    record.args = atoms  # as gunicorn passes them

    entry = json.loads(JsonFormatter().format(record))

    assert entry["path"] == "/crm-api"
    assert (entry["status"], entry["bytes"], entry["duration_s"]) == (200, 12, 0.004)
    assert entry["user_agent"] == 'LWP "quoted"'
    assert entry["forwarded_for"] == "203.0.113.5"
