"""A processing failure: journaled, answered 500 (events) or `{}` (lookups), replayable."""
import sqlite3
import time
from collections.abc import Callable, Iterator

import pytest
from django.db import OperationalError, connection

from calls.models import Call, CallEvent, PbxRequest
from calls.pbx import journal, webhook
from contacts.models import Agent
from contacts.services import save_contact
from tests.captures import CONTACT, INCOMING

pytestmark = pytest.mark.django_db(transaction=True)


def fail(*args: object, **kwargs: object) -> None:
    raise RuntimeError("the disk is on fire")


def fail_in_database(*args: object, **kwargs: object) -> None:
    raise OperationalError("server closed the connection unexpectedly")


@pytest.fixture
def broken_events(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    monkeypatch.setattr(webhook, "record_event", fail)
    return monkeypatch


@pytest.fixture
def broken_lookup(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    monkeypatch.setattr(webhook, "route_lookup", fail)
    return monkeypatch


def test_failed_event_answers_500(pbx_post, broken_events):
    response = pbx_post(INCOMING)

    assert response.status == 500
    assert response.json() == {"error": "internal error"}


def test_failed_event_is_journaled_with_its_error(pbx_post, broken_events):
    pbx_post(INCOMING)

    entry = PbxRequest.objects.get()
    assert entry.outcome == "failed"
    assert entry.response_status == 500
    assert entry.error == "RuntimeError: the disk is on fire"
    assert entry.callid == "DVzqd2I5zmRev0vLvxVevw"
    assert not Call.objects.exists()


def test_database_error_during_an_event_answers_500_and_is_journaled(pbx_post, monkeypatch):
    monkeypatch.setattr(webhook, "record_event", fail_in_database)

    response = pbx_post(INCOMING)

    assert response.status == 500
    assert PbxRequest.objects.get().error.startswith("OperationalError:")


def test_failed_lookup_answers_empty_object(pbx_post, broken_lookup):
    response = pbx_post(CONTACT)

    assert response.status == 200
    assert response.body == b"{}"


def test_failed_lookup_is_journaled_with_its_error(pbx_post, broken_lookup):
    pbx_post(CONTACT)

    entry = PbxRequest.objects.get()
    assert entry.outcome == "failed"
    assert entry.response_status == 200
    assert entry.response_body == "{}"
    assert entry.error == "RuntimeError: the disk is on fire"


def test_reprocess_builds_the_call_of_a_failed_event(pbx_post, broken_events):
    pbx_post(INCOMING)
    broken_events.undo()

    webhook.reprocess(PbxRequest.objects.get())

    call = Call.objects.get()
    assert (call.callid, call.direction, call.phone) == (
        "DVzqd2I5zmRev0vLvxVevw", "in", "+79201119613"
    )
    assert CallEvent.objects.get().request == PbxRequest.objects.get()


def test_reprocess_marks_the_row_accepted(pbx_post, broken_events):
    pbx_post(INCOMING)
    broken_events.undo()

    webhook.reprocess(PbxRequest.objects.get())

    entry = PbxRequest.objects.get()
    assert entry.outcome == "accepted"
    assert entry.response_status == 200
    assert entry.error == ""
    assert entry.call == Call.objects.get()


def test_reprocess_keeps_the_time_the_event_was_received(pbx_post, broken_events):
    pbx_post(INCOMING)
    broken_events.undo()
    entry = PbxRequest.objects.get()

    webhook.reprocess(entry)

    assert Call.objects.get().started_at == entry.received_at


def test_reprocess_after_a_redelivery_is_a_duplicate(pbx_post, broken_events):
    pbx_post(INCOMING)
    broken_events.undo()
    pbx_post(INCOMING)
    failed = PbxRequest.objects.get(outcome="failed")

    handled = webhook.reprocess(failed)

    assert handled.outcome == "duplicate"
    assert CallEvent.objects.count() == 1


def test_reprocess_failing_again_keeps_the_row_failed(pbx_post, broken_events):
    pbx_post(INCOMING)

    handled = webhook.reprocess(PbxRequest.objects.get())

    assert handled.status == 500
    assert PbxRequest.objects.get().outcome == "failed"


def test_reprocess_refuses_a_row_that_did_not_fail(pbx_post):
    pbx_post(INCOMING)

    with pytest.raises(ValueError, match="Only failed requests .* not accepted ones"):
        webhook.reprocess(PbxRequest.objects.get())


def test_reprocess_refuses_a_failed_lookup(pbx_post, broken_lookup):
    pbx_post(CONTACT)

    with pytest.raises(ValueError, match="nothing to redo"):
        webhook.reprocess(PbxRequest.objects.get())


@pytest.fixture
def journal_down(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise OperationalError("disk I/O error")

    monkeypatch.setattr(PbxRequest, "save", refuse)
    monkeypatch.setattr(journal, "insert_entry", refuse)
    monkeypatch.setattr(journal, "insert_answered", refuse)  # a row stored closed at once


def test_event_that_cannot_be_journaled_asks_for_redelivery(pbx_post, journal_down):
    response = pbx_post(INCOMING)

    assert response.status == 503
    assert "error" in response.json()
    assert not Call.objects.exists()


def test_lookup_is_answered_even_when_it_cannot_be_journaled(pbx_post, journal_down):
    response = pbx_post(CONTACT)

    assert response.status == 200
    assert response.body == b"{}"



@pytest.fixture
def hold_sqlite_write_lock() -> Iterator[Callable[[], None]]:
    """Take the SQLite write lock from another connection, as a long write would."""
    if connection.vendor != "sqlite":
        pytest.skip("only SQLite has a database-wide write lock")
    other = sqlite3.connect(connection.settings_dict["NAME"], timeout=0)

    def hold() -> None:
        other.execute("BEGIN IMMEDIATE")

    yield hold
    other.rollback()
    other.close()


def test_lookup_answers_at_once_while_a_write_holds_the_sqlite_lock(
    pbx_post, hold_sqlite_write_lock
):
    agent = Agent.objects.create(extension="100")
    save_contact(name="Вася", responsible=agent, phones=["+79201119613"])
    hold_sqlite_write_lock()
    started = time.monotonic()

    response = pbx_post(CONTACT)

    # Writers wait up to 20 s for the lock; the lookup gives up on its journal after 0.4 s.
    assert time.monotonic() - started < 10  # half the writers' wait: a busy machine's margin
    assert response.json() == {"contact_name": "Вася", "responsible": "100"}
