"""Concurrent and duplicate deliveries, all at once, over HTTP to the threaded live server."""
import random
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest

from calls.models import Call, CallEvent, PbxRequest
from contacts.models import Agent
from contacts.services import save_contact
from tests.captures import ANSWERED, CALLID, COMPLETED, CONTACT, INCOMING
from tests.conftest import RawResponse, lwp_request, send_raw

# Real commits and separate connections: the test database is a file (SQLite) or a server.
pytestmark = pytest.mark.django_db(transaction=True)

SENDERS = 16


def post_at_once(base_url: str, bodies: list[bytes]) -> list[RawResponse]:
    """POST every body from its own thread, all released together by a barrier."""
    start = threading.Barrier(len(bodies))

    def post(body: bytes) -> RawResponse:
        request = lwp_request(body)
        start.wait(timeout=30)
        return send_raw(base_url, request, timeout=60)

    with ThreadPoolExecutor(max_workers=len(bodies)) as pool:
        return list(pool.map(post, bodies))


def shuffled_deliveries(count: int) -> list[bytes]:
    """`count` deliveries of the call's three events, each at least once, in a fixed shuffle."""
    bodies = [(INCOMING, ANSWERED, COMPLETED)[index % 3] for index in range(count)]
    random.Random(20240506).shuffle(bodies)
    return bodies


def test_the_live_server_serves_requests_in_parallel(live_server):
    assert live_server.thread.server_class.__name__ == "ThreadedWSGIServer"


def test_concurrent_duplicates_of_one_event_all_get_200(live_server):
    responses = post_at_once(live_server.url, [INCOMING] * SENDERS)

    assert [r.status for r in responses] == [200] * SENDERS
    assert sum(r.json() == {"ok": True} for r in responses) == 1
    assert sum(r.json() == {"ok": True, "duplicate": True} for r in responses) == SENDERS - 1


def test_concurrent_duplicates_of_one_event_make_one_call_and_one_event(live_server):
    post_at_once(live_server.url, [INCOMING] * SENDERS)

    call = Call.objects.get()
    assert call.callid == CALLID
    assert list(CallEvent.objects.values_list("event", flat=True)) == ["INCOMING"]


def test_concurrent_duplicates_are_each_journaled(live_server):
    post_at_once(live_server.url, [INCOMING] * SENDERS)

    outcomes = Counter(PbxRequest.objects.values_list("outcome", flat=True))
    assert outcomes == {"accepted": 1, "duplicate": SENDERS - 1}
    assert set(PbxRequest.objects.values_list("response_status", flat=True)) == {200}
    assert not PbxRequest.objects.exclude(error="").exists()


def test_concurrent_shuffled_events_all_get_200_without_locking_errors(live_server):
    responses = post_at_once(live_server.url, shuffled_deliveries(SENDERS))

    assert [r.status for r in responses] == [200] * SENDERS
    assert not any(b"locked" in r.body for r in responses)


def test_concurrent_shuffled_events_make_one_call_with_one_event_per_kind(live_server):
    post_at_once(live_server.url, shuffled_deliveries(SENDERS))

    assert Call.objects.count() == 1
    assert sorted(CallEvent.objects.values_list("event", flat=True)) == [
        "ANSWERED", "COMPLETED", "INCOMING"
    ]


def test_concurrent_shuffled_events_make_the_right_call(live_server):
    post_at_once(live_server.url, shuffled_deliveries(SENDERS))

    call = Call.objects.get()
    assert (call.direction, call.phone, call.status, call.outcome, call.duration) == (
        "in", "+79201119613", "Success", "answered", 16
    )
    assert call.agent.extension == "100"
    assert call.record_link.endswith("/f92H16GAUDE7R10EMOLYYw.mp3")
    assert call.answered_at is not None
    assert call.ended_at is not None
    assert Agent.objects.count() == 1


def test_concurrent_shuffled_events_are_each_journaled(live_server):
    post_at_once(live_server.url, shuffled_deliveries(SENDERS))

    outcomes = Counter(PbxRequest.objects.values_list("outcome", flat=True))
    assert outcomes == {"accepted": 3, "duplicate": SENDERS - 3}
    call = Call.objects.get()
    assert PbxRequest.objects.filter(call=call).count() == SENDERS


def test_concurrent_calls_answered_by_a_new_agent_create_it_once(live_server):
    bodies = [ANSWERED.replace(CALLID.encode(), f"call{n}".encode()) for n in range(SENDERS)]

    responses = post_at_once(live_server.url, bodies)

    assert [r.status for r in responses] == [200] * SENDERS
    assert Call.objects.count() == SENDERS
    assert Agent.objects.get().extension == "100"
    assert set(Call.objects.values_list("agent__extension", flat=True)) == {"100"}


def test_concurrent_lookups_and_events_all_answer(live_server):
    agent = Agent.objects.create(extension="100")
    save_contact(name="Вася", company="Рога и Копыта", responsible=agent,
                 phones=["+79201119613"])
    bodies = [CONTACT] * (SENDERS // 2) + shuffled_deliveries(SENDERS // 2)

    responses = post_at_once(live_server.url, bodies)

    assert [r.status for r in responses] == [200] * SENDERS
    lookups = responses[: SENDERS // 2]
    assert all(
        r.json() == {"contact_name": "Вася/Рога и Копыта", "responsible": "100"} for r in lookups
    )
    assert PbxRequest.objects.count() == SENDERS
    assert Call.objects.get().contact.name == "Вася"
