"""`/healthz`: 200 while the database answers, a quick 503 when it does not, for any host; and
any page, the API too, 503 while the database cannot be reached."""
import functools
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from unittest import mock

import pytest
import requests
from django.db import InterfaceError, OperationalError, ProgrammingError, connection

from tests.app_server import clean_environment, gunicorn
from tests.captures import CONTACT, INCOMING
from xvbcrm.health import server_error

BASE_DIR = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.django_db


def test_ok_while_the_database_answers(client):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_with_a_trailing_slash_too(client):
    assert client.get("/healthz/").status_code == 200


def test_needs_no_login_and_runs_one_query(client, django_assert_num_queries):
    with django_assert_num_queries(1):
        assert client.get("/healthz").status_code == 200


def test_answers_a_load_balancer_probing_by_ip_address(client):
    # 10.0.0.5 is not in ALLOWED_HOSTS: any other page would be a 400.
    assert client.get("/healthz", HTTP_HOST="10.0.0.5:8000").status_code == 200
    assert client.get("/admin/login/", HTTP_HOST="10.0.0.5:8000").status_code == 400


def test_is_not_redirected_to_https(client, settings):
    settings.SECURE_SSL_REDIRECT = True

    assert client.get("/healthz").status_code == 200


def test_503_when_the_database_does_not_answer(client):
    with mock.patch.object(connection, "cursor", side_effect=OperationalError("refused")):
        response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json() == {"status": "error", "error": "database unavailable"}


def test_503_quickly_with_the_database_server_down():
    """A process whose DATABASE_URL names a closed port on this machine."""
    code = (
        "import json, time; from django.test import Client; started = time.monotonic(); "
        "r = Client().get('/healthz', HTTP_HOST='10.0.0.5'); "
        "print(json.dumps([r.status_code, r.json(), time.monotonic() - started]))"
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTEST_VERSION"}
    env.update(DJANGO_DEBUG="true", DATABASE_URL="postgres://xvb@127.0.0.1:9/xvb",
               LOG_LEVEL="CRITICAL")
    started = time.monotonic()
    result = subprocess.run([sys.executable, "manage.py", "shell", "-c", code], cwd=BASE_DIR,
                            env=env, capture_output=True, text=True, timeout=60)

    assert result.returncode == 0, result.stderr
    status, body, seconds = json.loads(result.stdout.strip().splitlines()[-1])
    assert (status, body) == (503, {"status": "error", "error": "database unavailable"})
    # A refused port fails at once, well within DB_CONNECT_TIMEOUT (3 s); the rest of the
    # bound is a busy machine's margin for the process's first request.
    assert seconds < 10
    assert time.monotonic() - started < 30


# --- any request while the database cannot be reached -----------------------------------------

DB_PASSWORD = "db-password-never-logged"  # noqa: S105
SECRET_KEY = "database-down-secret-key-of-fifty-or-more-random-characters-0123"  # noqa: S105
UNREACHABLE = {
    # Nothing listens on port 9 of this machine: connecting is refused at once.
    "postgresql": f"postgres://xvb:{DB_PASSWORD}@127.0.0.1:9/xvb",
    # A file in a folder that does not exist: SQLite cannot open it.
    "sqlite": "sqlite:////nonexistent-folder-of-xvbcrm/db.sqlite3",
}


@pytest.fixture(scope="module", params=sorted(UNREACHABLE))
def database_down(request, tmp_path_factory) -> tuple[str, Path]:  # noqa: ANN001
    """A production-like gunicorn whose database cannot be reached; its URL and log file."""
    log = tmp_path_factory.mktemp("down") / "gunicorn.log"
    env = clean_environment(
        DJANGO_SECRET_KEY=SECRET_KEY, DJANGO_ALLOWED_HOSTS="127.0.0.1",
        # Plain http on localhost (production has TLS at the proxy).
        DJANGO_SECURE_SSL_REDIRECT="false", DJANGO_SESSION_COOKIE_SECURE="false",
        DJANGO_CSRF_COOKIE_SECURE="false", DJANGO_SECURE_HSTS_SECONDS="0",
        DATABASE_URL=UNREACHABLE[request.param], PBX_ACCESS_CODE="10019", LANGUAGE_CODE="en",
        LOG_FORMAT="text",
    )
    with gunicorn(cwd=BASE_DIR, env=env, log=log) as url:
        yield url, log


def assert_unavailable_page(response: requests.Response) -> None:
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "60"
    assert response.headers["Content-Type"].startswith("text/html")
    assert "Service unavailable" in response.text
    assert len(response.content) < 1000  # a short page: no admin around it, no traceback


def test_an_admin_page_answers_503(database_down):
    url, _ = database_down

    response = requests.get(f"{url}/admin/calls/call/", cookies={"sessionid": "x" * 32},
                            allow_redirects=False, timeout=30)

    assert_unavailable_page(response)


def test_logging_in_answers_503(database_down):
    url, _ = database_down
    session = requests.Session()
    form = session.get(f"{url}/admin/login/", timeout=30)  # the form itself needs no database
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text).group(1)

    response = session.post(f"{url}/admin/login/", allow_redirects=False, timeout=30,
                            data={"csrfmiddlewaretoken": token, "username": "admin",
                                  "password": "any", "next": "/admin/"})

    assert form.status_code == 200
    assert_unavailable_page(response)


def test_the_api_answers_503_in_json(database_down):
    url, _ = database_down

    response = requests.get(f"{url}/api/contacts/", timeout=30,
                            headers={"Authorization": "Token " + "0" * 40})

    assert response.status_code == 503
    assert response.headers["Retry-After"] == "60"
    assert response.json() == {"error": "database unavailable"}


def test_the_error_is_logged_without_secrets(database_down):
    url, log = database_down
    requests.get(f"{url}/admin/", cookies={"sessionid": "y" * 32}, timeout=30)

    text = log.read_text()

    assert "Service Unavailable: /admin/" in text
    assert "OperationalError" in text
    assert DB_PASSWORD not in text
    assert SECRET_KEY not in text


def test_the_webhook_keeps_its_own_answers(database_down):
    """The caller lookup answers "unknown" at once; an event is refused for the PBX to retry."""
    url, _ = database_down
    post = functools.partial(requests.post, f"{url}/crm-api", timeout=30,
                             headers={"Content-Type": "application/x-www-form-urlencoded"})

    lookup = post(data=CONTACT)
    event = post(data=INCOMING)

    assert (lookup.status_code, lookup.json()) == (200, {})
    assert event.status_code == 503
    assert "error" in event.json()
    assert "Retry-After" not in event.headers


@pytest.mark.parametrize("error", [ValueError("a bug"), ProgrammingError("no such column")])
def test_other_errors_stay_500(rf, error):
    request = rf.get("/admin/")
    try:
        raise error
    except Exception:
        response = server_error(request)

    assert response.status_code == 500


@pytest.mark.parametrize("error", [OperationalError("refused"), InterfaceError("closed")])
def test_a_lost_database_is_503(rf, error):
    request = rf.get("/admin/")
    try:
        raise error
    except Exception:
        response = server_error(request)

    assert response.status_code == 503
