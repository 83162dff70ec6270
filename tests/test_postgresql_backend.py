"""xvbcrm/db/base.py: the health check of a kept connection needs no round trip, and still
notices a connection the server has ended."""
import io
import json
import time
from unittest import mock
from urllib.parse import urlencode
from wsgiref.util import setup_testing_defaults

import pytest
from django.core.handlers.wsgi import WSGIHandler
from django.db import connection
from django.db.backends.postgresql.base import DatabaseWrapper as PostgreSQLDatabaseWrapper

from calls.models import PbxRequest
from contacts.models import Agent
from contacts.services import save_contact
from tests.conftest import ACCESS_CODE
from xvbcrm.db.base import QUIET_FOR

pytestmark = [
    pytest.mark.skipif("connection.vendor != 'postgresql'"),
    pytest.mark.django_db(transaction=True),
]


def end_other_sessions() -> int:
    """What a server restart does to the app's kept connections: end every other session."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return cursor.fetchone()[0]


@pytest.fixture
def other():
    """A second connection to the test database, as an app server's worker keeps one."""
    wrapper = connection.copy()
    wrapper.ensure_connection()
    yield wrapper
    wrapper.close()


def test_a_healthy_connection_used_moments_ago_is_usable_without_asking_the_server(other):
    other.cursor().close()

    with mock.patch.object(PostgreSQLDatabaseWrapper, "is_usable", side_effect=AssertionError):
        assert other.is_usable()


def test_a_connection_unused_for_a_while_is_asked(other):
    """A peer gone without a word (a crashed host) leaves a quiet socket: ask the server."""
    other.cursor().close()
    other.used_at -= QUIET_FOR

    with mock.patch.object(PostgreSQLDatabaseWrapper, "is_usable", return_value=False) as asked:
        assert not other.is_usable()
    asked.assert_called_once()


def test_a_connection_with_an_error_since_is_asked(other):
    other.cursor().close()
    other.errors_occurred = True

    with mock.patch.object(PostgreSQLDatabaseWrapper, "is_usable", return_value=False) as asked:
        assert not other.is_usable()
    asked.assert_called_once()


def test_a_connection_the_server_ended_is_not_usable(other):
    other.cursor().close()  # used moments ago: only its socket tells
    assert end_other_sessions() >= 1
    time.sleep(0.2)  # the server's goodbye reaches the socket

    assert not other.is_usable()


def wsgi_post(body: bytes) -> dict:
    """POST /crm-api through Django's WSGI handler in this thread, as a gunicorn worker runs
    it: the request signals check the kept connection (the test client skips that)."""
    environ = {
        "REQUEST_METHOD": "POST", "PATH_INFO": "/crm-api", "HTTP_HOST": "127.0.0.1",
        "CONTENT_TYPE": "application/x-www-form-urlencoded",
        "CONTENT_LENGTH": str(len(body)), "wsgi.input": io.BytesIO(body),
    }
    setup_testing_defaults(environ)
    statuses = []
    response = WSGIHandler()(environ, lambda status, headers: statuses.append(status))
    try:
        content = b"".join(response)
    finally:
        response.close()
    assert statuses == ["200 OK"]
    return json.loads(content)


def test_a_lookup_after_the_server_ended_the_kept_connection_still_finds_the_contact(other):
    agent = Agent.objects.create(extension="100", name="Вася")
    save_contact(name="Вася", responsible=agent, phones=["+79201119613"])
    body = urlencode({"access_code": ACCESS_CODE, "cmd": "contact", "phone": "79201119613"})
    assert wsgi_post(body.encode()) == {"contact_name": "Вася", "responsible": "100"}
    kept = connection.connection

    with other.cursor() as cursor:  # the server ends this thread's kept connection
        cursor.execute("SELECT pg_terminate_backend(%s)", [kept.info.backend_pid])
    time.sleep(0.2)

    assert wsgi_post(body.encode()) == {"contact_name": "Вася", "responsible": "100"}
    assert connection.connection is not kept
    assert PbxRequest.objects.filter(cmd="contact").count() == 2
