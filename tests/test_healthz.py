"""`/healthz`: 200 while the database answers, a quick 503 when it does not, for any host."""
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from unittest import mock

import pytest
from django.db import OperationalError, connection

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
    assert seconds < 3.5  # within DB_CONNECT_TIMEOUT (3 s); a refused port fails at once
    assert time.monotonic() - started < 30
