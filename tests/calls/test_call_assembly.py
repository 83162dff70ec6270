"""A call assembled from its events, whatever their order and however often each arrives."""
import itertools
from datetime import UTC, datetime, timedelta

import pytest

from calls.assembly import EventResult, read_call, record_event
from calls.models import Call, CallEvent, PbxRequest
from calls.pbx import protocol
from contacts.models import Agent
from contacts.services import save_contact

CALLID = "DVzqd2I5zmRev0vLvxVevw"
LINK = "https://vpbx18-dev/ui/msg_download/120/10019/f92H16GAUDE7R10EMOLYYw.mp3"
T0 = datetime(2024, 5, 6, 9, 0, tzinfo=UTC)

EVENTS: dict[str, dict[str, str]] = {
    "INCOMING": {
        "type": "in", "event": "INCOMING", "ext": "", "phone": "79201119613",
        "line_number": "74951234567",
    },
    "ANSWERED": {"type": "in", "event": "ANSWERED", "ext": "100", "phone": "79201119613"},
    "COMPLETED": {
        "event": "COMPLETED", "status": "Success", "duration": "16", "phone": "79201119613",
        "record_link": LINK, "ext": "100",
    },
}
# The call the three events above make, whatever their order (times aside).
FINAL = {
    "direction": "in",
    "phone": "+79201119613",
    "line_number": "74951234567",
    "agent": "100",
    "status": "Success",
    "outcome": "answered",
    "duration": 16,
    "record_link": LINK,
}

pytestmark = pytest.mark.django_db


def event(kind: str, *, callid: str = CALLID, **changes: str) -> protocol.PbxEvent:
    """One of EVENTS, with some fields changed."""
    return protocol.parse_command({"cmd": "event", "callid": callid, **EVENTS[kind], **changes})


def deliver(kind: str, *, at: datetime = T0, callid: str = CALLID, **changes: str) -> EventResult:
    """Record one of EVENTS (with some fields changed) as received at `at`."""
    return record_event(event=event(kind, callid=callid, **changes), received_at=at)


def summary(call: Call) -> dict[str, object]:
    """The call's fields that do not depend on when events arrived."""
    call.refresh_from_db()
    return {
        "direction": call.direction,
        "phone": call.phone,
        "line_number": call.line_number,
        "agent": call.agent.extension if call.agent else None,
        "status": call.status,
        "outcome": call.outcome,
        "duration": call.duration,
        "record_link": call.record_link,
    }


def deliver_in_order(order: tuple[str, ...]) -> Call:
    """Deliver the events in `order`, a minute apart."""
    for minute, kind in enumerate(order):
        deliver(kind, at=T0 + timedelta(minutes=minute))
    return Call.objects.get(callid=CALLID)


def test_events_in_order_make_the_final_call():
    call = deliver_in_order(("INCOMING", "ANSWERED", "COMPLETED"))

    assert summary(call) == FINAL


def test_completed_first_and_answered_last_make_the_same_call():
    call = deliver_in_order(("COMPLETED", "INCOMING", "ANSWERED"))

    assert summary(call) == FINAL


@pytest.mark.parametrize("order", list(itertools.permutations(EVENTS)), ids="-".join)
def test_every_order_makes_the_same_call(order):
    call = deliver_in_order(order)

    assert summary(call) == FINAL


@pytest.mark.parametrize("order", list(itertools.permutations(EVENTS)), ids="-".join)
def test_every_order_takes_each_time_from_its_own_event(order):
    call = deliver_in_order(order)

    arrived = {kind: T0 + timedelta(minutes=minute) for minute, kind in enumerate(order)}
    assert call.started_at == T0
    assert call.answered_at == arrived["ANSWERED"]
    assert call.ended_at == arrived["COMPLETED"]


@pytest.mark.parametrize("order", list(itertools.permutations(EVENTS)), ids="-".join)
def test_every_order_keeps_one_event_of_each_kind(order):
    call = deliver_in_order(order)

    assert sorted(call.events.values_list("event", flat=True)) == sorted(EVENTS)


def test_a_repeated_event_is_a_duplicate():
    deliver("COMPLETED")

    assert deliver("COMPLETED", at=T0 + timedelta(minutes=1)).duplicate is True
    assert CallEvent.objects.count() == 1


def test_a_repeated_completed_with_another_status_changes_nothing():
    deliver("INCOMING")
    deliver("COMPLETED", at=T0 + timedelta(minutes=1))

    deliver(
        "COMPLETED", at=T0 + timedelta(minutes=2), status="Busy", duration="99",
        record_link="https://elsewhere.example.com/x.mp3", ext="101",
    )

    call = Call.objects.get()
    assert call.status == "Success"
    assert call.outcome == "answered"
    assert call.duration == 16
    assert call.record_link == LINK
    assert call.agent.extension == "100"
    assert call.ended_at == T0 + timedelta(minutes=1)


def test_accepted_repeats_answered():
    deliver("ANSWERED")

    assert deliver("ANSWERED", event="ACCEPTED", ext="101").duplicate is True
    assert Call.objects.get().agent.extension == "100"


def test_a_terminal_call_stays_terminal_when_earlier_events_arrive_late():
    deliver("COMPLETED", status="missed", duration="0", record_link="", ext="")

    for kind in ("INCOMING", "ANSWERED"):
        deliver(kind, at=T0 + timedelta(minutes=1))
        assert Call.objects.get().outcome == "missed"


def test_a_call_without_completed_is_in_progress():
    call = deliver_in_order(("INCOMING", "ANSWERED"))

    assert call.outcome == "in_progress"
    assert call.ended_at is None


@pytest.mark.parametrize(
    ("start", "outcome"), [("INCOMING", "missed"), ("OUTGOING", "no_answer")]
)
def test_cancel_is_missed_incoming_and_no_answer_outgoing(start, outcome):
    deliver("INCOMING", event=start, type="in" if start == "INCOMING" else "out")
    deliver("COMPLETED", at=T0 + timedelta(minutes=1), status="Cancel", duration="0", ext="")

    assert Call.objects.get().outcome == outcome


def test_outgoing_direction_arriving_after_cancel_turns_missed_into_no_answer():
    deliver("COMPLETED", status="Cancel", duration="0", ext="")
    assert Call.objects.get().outcome == "missed"

    deliver("INCOMING", event="OUTGOING", type="", ext="101", at=T0 + timedelta(minutes=1))

    call = Call.objects.get()
    assert call.outcome == "no_answer"
    assert call.direction == "out"


def test_outgoing_call_is_credited_to_the_calling_extension():
    deliver("INCOMING", event="OUTGOING", type="out", ext="101")

    assert Call.objects.get().agent.extension == "101"


def test_incoming_start_extension_is_not_taken_as_the_agent():
    deliver("INCOMING", ext="102")

    assert Call.objects.get().agent is None


def test_answered_without_pickup_event_is_dated_from_the_talk_time():
    deliver("COMPLETED", at=T0 + timedelta(seconds=60))

    assert Call.objects.get().answered_at == T0 + timedelta(seconds=44)


def test_an_unknown_status_is_kept_raw_with_outcome_unknown():
    deliver("COMPLETED", status="Exploded")

    call = Call.objects.get()
    assert call.status == "Exploded"
    assert call.outcome == "unknown"


def test_agents_are_created_for_extensions_in_traffic():
    deliver("ANSWERED", ext="100")
    deliver("INCOMING", callid="other", event="OUTGOING", type="out", ext="205")

    assert set(Agent.objects.values_list("extension", flat=True)) == {"100", "205"}


def test_an_agent_is_created_once():
    deliver_in_order(("INCOMING", "ANSWERED", "COMPLETED"))
    deliver("ANSWERED", callid="second")

    assert Agent.objects.filter(extension="100").count() == 1


def test_an_existing_agent_is_reused():
    agent = Agent.objects.create(extension="100", name="Ivan")

    deliver("ANSWERED")

    assert Call.objects.get().agent == agent


def test_the_contact_is_matched_by_phone():
    contact = save_contact(name="Вася", company="Рога и Копыта", phones=["+79201119613"])

    deliver("INCOMING")

    assert Call.objects.get().contact == contact


def test_a_call_from_a_stranger_has_no_contact():
    save_contact(name="Петя", phones=["+79201110000"])

    deliver("INCOMING")

    assert Call.objects.get().contact is None


@pytest.mark.parametrize("phone", ["100", "anonymous", "unknown"])
def test_a_phone_that_does_not_parse_is_stored_as_received(phone):
    deliver("INCOMING", phone=phone)

    call = Call.objects.get()
    assert call.phone == phone
    assert call.contact is None


def test_a_phone_is_stored_in_e164():
    deliver("INCOMING", phone="+7 920 111-96-13")

    assert Call.objects.get().phone == "+79201119613"


# --- over HTTP: repeats are acknowledged and journaled ---------------------------------------

INCOMING_BODY = (
    b"access_code=10019&cmd=event&callid=DVzqd2I5zmRev0vLvxVevw&type=in&event=INCOMING"
    b"&ext=&phone=79201119613"
)
COMPLETED_BODY = (
    b"cmd=event&status=Success&duration=16&event=COMPLETED&phone=79201119613"
    b"&access_code=10019&record_link=https%3A%2F%2Fvpbx18-dev%2Fx.mp3"
    b"&callid=DVzqd2I5zmRev0vLvxVevw&ext=100"
)


@pytest.mark.django_db(transaction=True)
def test_a_repeated_delivery_is_acknowledged_and_journaled_as_duplicate(pbx_post):
    pbx_post(INCOMING_BODY)

    response = pbx_post(INCOMING_BODY)

    assert response.status == 200
    assert response.json() == {"ok": True, "duplicate": True}
    first, second = PbxRequest.objects.order_by("id")
    assert (first.outcome, second.outcome) == ("accepted", "duplicate")
    assert second.call == first.call == Call.objects.get()
    assert CallEvent.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_repeated_completed_over_http_does_not_overwrite(pbx_post):
    pbx_post(COMPLETED_BODY)

    response = pbx_post(COMPLETED_BODY.replace(b"Success", b"Busy").replace(b"=16", b"=3"))

    assert response.status == 200
    call = Call.objects.get()
    assert (call.status, call.outcome, call.duration) == ("Success", "answered", 16)


@pytest.mark.django_db(transaction=True)
def test_out_of_order_over_http_gives_the_in_order_call(pbx_post):
    answered = INCOMING_BODY.replace(b"INCOMING", b"ANSWERED").replace(b"ext=&", b"ext=100&")
    for body in (COMPLETED_BODY, INCOMING_BODY, answered):
        assert pbx_post(body).status == 200

    call = Call.objects.get()
    assert (call.direction, call.phone, call.outcome, call.agent.extension) == (
        "in", "+79201119613", "answered", "100"
    )
    assert call.record_link == "https://vpbx18-dev/x.mp3"
    assert call.answered_at is not None
    assert call.ended_at is not None


def test_a_call_never_starts_after_it_was_answered():
    # COMPLETED alone: answered is derived as end minus talk time, before any receipt.
    deliver("INCOMING", at=T0)
    deliver("COMPLETED", at=T0 + timedelta(seconds=5))

    call = Call.objects.get(callid=CALLID)
    assert call.answered_at == T0 + timedelta(seconds=5 - 16)
    assert call.started_at <= call.answered_at < call.ended_at


# The webhook reads an event's call before its transaction (read_call), so that SQLite's write
# lock is held the shorter; another event of the call may be recorded in between.


def test_an_event_read_before_another_was_recorded_keeps_both():
    deliver("INCOMING", at=T0)
    answered = event("ANSWERED")
    stale = read_call(answered)  # the call as INCOMING left it
    deliver("COMPLETED", at=T0 + timedelta(minutes=2))

    record_event(event=answered, received_at=T0 + timedelta(minutes=1), stored=stale)

    call = Call.objects.get(callid=CALLID)
    assert summary(call) == FINAL
    assert call.answered_at == T0 + timedelta(minutes=1)
    assert call.ended_at == T0 + timedelta(minutes=2)
    assert call.revision == 2  # stored by INCOMING, then written once by each later event


def test_an_event_read_before_its_call_existed_joins_the_call_stored_meanwhile():
    completed = event("COMPLETED")
    assert read_call(completed) is None  # nothing stored yet
    deliver("INCOMING", at=T0)

    record_event(event=completed, received_at=T0 + timedelta(minutes=1), stored=None)

    call = Call.objects.get(callid=CALLID)
    assert call.outcome == "answered"
    assert sorted(call.events.values_list("event", flat=True)) == ["COMPLETED", "INCOMING"]


def test_a_repeat_read_before_the_first_delivery_was_recorded_is_a_duplicate():
    deliver("INCOMING", at=T0)
    answered = event("ANSWERED")
    stale = read_call(answered)
    deliver("ANSWERED", at=T0 + timedelta(minutes=1))

    result = record_event(event=answered, received_at=T0 + timedelta(minutes=2), stored=stale)

    assert result.duplicate is True
    assert Call.objects.get(callid=CALLID).answered_at == T0 + timedelta(minutes=1)
    assert CallEvent.objects.filter(event="ANSWERED").count() == 1
