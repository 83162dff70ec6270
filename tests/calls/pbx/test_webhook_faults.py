"""Real faults under the webhook: a database that is gone, dies mid-event, hangs, is full or
locked; and a PBX that answers makeCall byte by byte. (Patched failures are in
test_webhook_failures.py; the plain makeCall timeout in test_client.py.)"""
import logging
import socket
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from django.db import OperationalError, connection
from django.test import Client

from calls import assembly
from calls.models import Call, CallEvent, PbxRequest
from calls.pbx import client as pbx_client
from contacts.models import Agent
from contacts.services import save_contact
from tests.captures import CALLID, CONTACT, INCOMING

pytestmark = pytest.mark.django_db(transaction=True)

FORM = "application/x-www-form-urlencoded"


def post(body: bytes) -> tuple[int, dict, float]:
    """POST a body to the webhook in this thread (so on this thread's connection)."""
    started = time.monotonic()
    response = Client().generic("POST", "/crm-api", body, content_type=FORM)
    return response.status_code, response.json(), time.monotonic() - started


@pytest.fixture
def vasya() -> None:
    agent = Agent.objects.create(extension="100")
    save_contact(name="Вася", responsible=agent, phones=["+79201119613"])


@contextmanager
def database_settings(**changes: object) -> Iterator[None]:
    """This thread's connection reopened with other settings, restored (and reopened) after."""
    saved = {name: connection.settings_dict.get(name) for name in changes}
    connection.close()
    connection.settings_dict.update(changes)
    try:
        yield
    finally:
        connection.close()
        connection.settings_dict.update(saved)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def database_gone() -> Iterator[None]:
    """The database refuses connections: a server that is down, a file that cannot be opened."""
    if connection.vendor == "sqlite":
        with database_settings(NAME="/nonexistent/xvbcrm/db.sqlite3"):
            yield
    else:
        with database_settings(HOST="127.0.0.1", PORT=str(closed_port())):
            yield


# --- the database is gone --------------------------------------------------------------------


def test_lookup_without_a_database_answers_empty_at_once(vasya, caplog):
    with database_gone():
        status, payload, took = post(CONTACT)

    assert (status, payload) == (200, {})
    assert took < 5  # at once: no wait for a timeout (a busy machine's margin)
    assert "Could not journal a PBX request" in caplog.text
    assert not PbxRequest.objects.exists()  # it could not be kept; the log says so


def test_event_without_a_database_asks_for_redelivery_and_a_redelivery_works():
    with database_gone():
        status, payload, took = post(INCOMING)

    assert status == 503
    assert payload == {"error": "the CRM cannot store requests right now"}
    assert took < 5  # at once: no wait for a timeout (a busy machine's margin)
    assert not Call.objects.exists()

    status, payload, _ = post(INCOMING)

    assert (status, payload) == (200, {"ok": True})
    assert Call.objects.get().callid == CALLID
    assert PbxRequest.objects.get().outcome == "accepted"


@contextmanager
def silent_server() -> Iterator[int]:
    """A port on 127.0.0.1 that accepts connections and never says a word (a hung server)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.05)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield server.getsockname()[1]
    finally:
        stop.set()
        thread.join()
        for sock in held:
            sock.close()
        server.close()


def test_lookup_with_a_hung_database_server_is_bounded_by_the_connect_timeout(vasya):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite has no server to hang")
    timeout = connection.settings_dict["OPTIONS"]["connect_timeout"]

    with silent_server() as port, database_settings(HOST="127.0.0.1", PORT=str(port)):
        status, payload, took = post(CONTACT)

    assert (status, payload) == (200, {})
    # One connection attempt (the journal's) may wait out the timeout; the lookup then must
    # not start another one while the caller hears ringing.
    assert took < 2 * timeout  # one connect timeout at most, not two


# --- the database dies in the middle of an event -------------------------------------------


def kill_this_connection() -> None:
    """End this thread's database connection the hard way, as a server restart would."""
    if connection.vendor == "postgresql":
        pid = connection.connection.info.backend_pid
        import psycopg

        params = connection.get_connection_params()
        params.pop("cursor_factory", None)
        params.pop("context", None)
        with psycopg.connect(**params, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", [pid])
    else:
        connection.connection.close()


@pytest.fixture
def dies_mid_event(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """The connection dies after the call row is written, before its event row is."""

    def die(change: assembly.Change) -> None:
        kill_this_connection()

    monkeypatch.setattr(assembly, "AFTER_SAVE", (die, *assembly.AFTER_SAVE))
    return monkeypatch


def test_event_whose_connection_dies_answers_500_and_writes_nothing(dies_mid_event, caplog):
    status, payload, _ = post(INCOMING)

    assert (status, payload) == (500, {"error": "internal error"})
    assert not Call.objects.exists()
    assert not CallEvent.objects.exists()
    assert not Agent.objects.exists()
    assert "Processing a PBX event failed" in caplog.text


def test_event_whose_connection_dies_is_journaled_as_failed(dies_mid_event):
    post(INCOMING)

    entry = PbxRequest.objects.get()
    assert entry.outcome == "failed"
    assert entry.response_status == 500
    assert entry.error
    assert entry.callid == CALLID


def test_event_whose_connection_died_is_redelivered_whole(dies_mid_event):
    post(INCOMING)
    dies_mid_event.undo()

    status, payload, _ = post(INCOMING)

    assert (status, payload) == (200, {"ok": True})
    call = Call.objects.get()
    assert (call.direction, call.phone) == ("in", "+79201119613")
    assert list(call.events.values_list("event", flat=True)) == ["INCOMING"]
    assert list(PbxRequest.objects.order_by("id").values_list("outcome", flat=True)) == [
        "failed", "accepted"
    ]


# --- SQLite: full, locked ------------------------------------------------------------------


@pytest.fixture
def sqlite_only() -> None:
    if connection.vendor != "sqlite":
        pytest.skip("a SQLite file's own limits")


@contextmanager
def disk_full() -> Iterator[None]:
    """No page may be added to the database file, as on a full disk (SQLITE_FULL)."""
    with connection.cursor() as cursor:
        cursor.execute("VACUUM")  # no free pages left over from earlier tests to write into
        cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        cursor.execute("PRAGMA page_count")
        pages = cursor.fetchone()[0]
        cursor.execute(f"PRAGMA max_page_count = {pages}")
    try:
        yield
    finally:
        connection.close()  # the limit belongs to this connection only


def big(body: bytes) -> bytes:
    """The body padded to a few pages, so that storing it needs new ones."""
    return body + b"&padding=" + b"x" * 12000


def test_event_on_a_full_disk_is_refused_with_503_and_logged(sqlite_only, caplog):
    with disk_full():
        status, payload, took = post(big(INCOMING))

    assert status == 503
    assert payload == {"error": "the CRM cannot store requests right now"}
    assert took < 5  # at once: no wait for a timeout (a busy machine's margin)
    assert "database or disk is full" in caplog.text
    assert not Call.objects.exists()


def test_lookup_on_a_full_disk_still_answers(sqlite_only, vasya, caplog):
    with disk_full():
        status, payload, took = post(big(CONTACT))

    assert (status, payload) == (200, {"contact_name": "Вася", "responsible": "100"})
    assert took < 5  # at once: no wait for a timeout (a busy machine's margin)
    assert "database or disk is full" in caplog.text


def test_event_is_stored_once_the_disk_has_room_again(sqlite_only):
    with disk_full():
        post(big(INCOMING))

    status, _, _ = post(big(INCOMING))

    assert status == 200
    assert Call.objects.get().callid == CALLID


@pytest.fixture
def short_busy_timeout(sqlite_only, settings) -> Iterator[float]:  # noqa: ANN001
    """Writers wait 0.3 s for the SQLite write lock instead of 20 s."""
    settings.SQLITE_BUSY_TIMEOUT = 0.3
    options = {**connection.settings_dict["OPTIONS"], "timeout": 0.3}
    with database_settings(OPTIONS=options):
        yield 0.3


@contextmanager
def write_lock_held() -> Iterator[None]:
    """Another connection holds the write lock (BEGIN IMMEDIATE) until the block ends."""
    other = sqlite3.connect(connection.settings_dict["NAME"], timeout=0)
    other.execute("BEGIN IMMEDIATE")
    try:
        yield
    finally:
        other.rollback()
        other.close()


def test_event_under_a_lock_held_past_the_busy_timeout_gets_503_soon(short_busy_timeout,
                                                                      caplog):
    with write_lock_held():
        status, payload, took = post(INCOMING)

    assert status == 503
    assert payload == {"error": "the CRM cannot store requests right now"}
    assert short_busy_timeout <= took < 10  # the short busy timeout, not SQLite's 20 s
    assert "database is locked" in caplog.text
    assert not Call.objects.exists()
    assert post(INCOMING)[0] == 200  # the lock gone, a redelivery is stored


def test_event_whose_transaction_fails_at_commit_is_kept_as_failed(monkeypatch, caplog):
    """The journal row and the call are one transaction: when its commit fails, nothing of it
    stays, and the request is stored again, on its own, as failed."""
    commit, failed = connection.commit, []

    def fail_once() -> None:
        if not failed:
            failed.append(True)
            raise OperationalError("disk I/O error")
        commit()

    monkeypatch.setattr(connection, "commit", fail_once)
    caplog.set_level(logging.ERROR)

    status, payload, _ = post(INCOMING)

    assert failed
    assert (status, payload) == (500, {"error": "internal error"})
    assert not Call.objects.exists()
    assert not CallEvent.objects.exists()
    entry = PbxRequest.objects.get()
    assert (entry.outcome, entry.response_status) == ("failed", 500)
    assert "OperationalError: disk I/O error" in entry.error
    assert "Processing a PBX event failed" in caplog.text


# --- a PBX that answers makeCall slowly ----------------------------------------------------


@contextmanager
def dripping_pbx(delay: float) -> Iterator[str]:
    """A PBX that sends its 200 answer one byte every `delay` seconds."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(4)
    server.settimeout(5)
    stop = threading.Event()
    body = b'{"uuid": "' + b"d" * 60 + b'"}'
    answer = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
    answer += f"Content-Length: {len(body)}\r\n\r\n".encode() + body

    def serve() -> None:
        try:
            conn, _ = server.accept()
        except OSError:
            return
        with conn:
            conn.recv(65536)
            for byte in answer:
                if stop.wait(delay):
                    return
                try:
                    conn.sendall(bytes([byte]))
                except OSError:
                    return

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.getsockname()[1]}/api/makecall"
    finally:
        stop.set()
        thread.join()
        server.close()


def test_a_pbx_dripping_its_answer_is_cut_off_near_pbx_timeout(settings):
    settings.PBX_TOKEN, settings.PBX_TIMEOUT = "t0ken", 0.5
    with dripping_pbx(delay=0.1) as url:  # each byte well within the timeout, ~15 s in all
        settings.PBX_URL = url
        started = time.monotonic()
        with pytest.raises(pbx_client.PbxUnreachable):
            pbx_client.make_call(extension="100", phone_e164="+79201119613")
        took = time.monotonic() - started

    # Cut off, not read to the end: the whole answer takes ~15 s to drip (a third of that
    # leaves a busy machine ten times PBX_TIMEOUT to notice).
    assert took < 5
