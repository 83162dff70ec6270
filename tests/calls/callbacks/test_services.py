"""Callback tasks: opened by a missed incoming call, closed when the client is reached."""
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

import pytest

from calls.assembly import record_event
from calls.callbacks.services import close_callback
from calls.models import Call, Callback, Line
from calls.pbx import protocol
from contacts.models import Agent
from contacts.services import save_contact
from tests.calls.pbx.test_webhook_concurrency import post_at_once
from tests.conftest import ACCESS_CODE

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
DIGITS = "79201119613"
NUMBER = "+79201119613"
LINE = "74950000000"


def deliver(seconds: int, **fields: str) -> Call:
    command = protocol.parse_command({"cmd": "event", **fields})
    return record_event(event=command, received_at=T0 + timedelta(seconds=seconds)).call


def incoming(callid: str, at: int) -> Call:
    return deliver(at, callid=callid, event="INCOMING", type="in", phone=DIGITS, line_number=LINE)


def missed(callid: str, at: int = 0, status: str = "missed") -> Call:
    incoming(callid, at)
    return deliver(at + 20, callid=callid, event="COMPLETED", phone=DIGITS, status=status)


def answered_in(callid: str, at: int, ext: str = "100") -> Call:
    incoming(callid, at)
    deliver(at + 5, callid=callid, event="ANSWERED", type="in", phone=DIGITS, ext=ext)
    return deliver(at + 60, callid=callid, event="COMPLETED", phone=DIGITS, status="Success",
                   duration="55", ext=ext)


def outgoing(callid: str, at: int, status: str = "Success", duration: str = "30") -> Call:
    deliver(at, callid=callid, event="OUTGOING", type="out", phone=DIGITS, ext="101")
    return deliver(at + 40, callid=callid, event="COMPLETED", phone=DIGITS, status=status,
                   duration=duration, ext="101")


@pytest.fixture
def agents() -> dict[str, Agent]:
    return {ext: Agent.objects.create(extension=ext) for ext in ("100", "101", "102")}


# --- opening ---------------------------------------------------------------------------------

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("status", ["missed", "Cancel", "Busy"])
def test_a_missed_incoming_call_opens_a_callback(status):
    call = missed("M1", status=status)

    callback = Callback.objects.get()
    assert (callback.phone, callback.missed_call, callback.is_open) == (NUMBER, call, True)
    assert callback.contact == call.contact


def test_a_ringing_or_answered_call_opens_none():
    incoming("C1", 0)
    answered_in("C2", 100)

    assert not Callback.objects.exists()


def test_an_unanswered_outgoing_call_opens_none():
    outgoing("O1", 0, status="missed", duration="0")

    assert not Callback.objects.exists()


def test_it_goes_to_the_contacts_responsible(agents):
    Line.objects.create(number=LINE, default_agent=agents["102"])
    save_contact(name="Вася", responsible=agents["100"], phones=[NUMBER])

    missed("M1")

    assert Callback.objects.get().agent == agents["100"]


def test_without_responsible_it_goes_to_the_lines_default_agent(agents):
    Line.objects.create(number=LINE, default_agent=agents["102"])

    missed("M1")

    assert Callback.objects.get().agent == agents["102"]


def test_an_inactive_responsible_leaves_it_to_the_line(agents):
    Line.objects.create(number=f"+{LINE}", default_agent=agents["102"])
    agents["100"].is_active = False
    agents["100"].save()
    save_contact(name="Вася", responsible=agents["100"], phones=[NUMBER])

    missed("M1")

    assert Callback.objects.get().agent == agents["102"]


def test_with_neither_it_goes_to_nobody(agents):
    Line.objects.create(number="74951111111", default_agent=agents["102"])

    missed("M1")

    assert Callback.objects.get().agent is None


def test_a_second_missed_call_opens_no_second_callback():
    first = missed("M1")
    missed("M2", at=300)

    callback = Callback.objects.get()
    assert callback.missed_call == first


def test_repeated_and_reordered_deliveries_open_one():
    deliver(20, callid="M1", event="COMPLETED", phone=DIGITS, status="missed")
    incoming("M1", 0)
    incoming("M1", 0)
    deliver(20, callid="M1", event="COMPLETED", phone=DIGITS, status="missed")

    assert Callback.objects.count() == 1


# --- closing -------------------------------------------------------------------------------


def test_an_answered_outgoing_call_closes_it_with_the_wait():
    missed_call = missed("M1", at=0)
    back = outgoing("O1", at=600)

    callback = Callback.objects.get()
    assert callback.closed_by == back
    assert callback.closed_at is not None
    # Answered when the talk began: the COMPLETED's receipt less the talk time.
    assert callback.waited == back.answered_at - missed_call.started_at
    assert callback.waited == timedelta(seconds=610)


def test_the_client_calling_again_and_being_answered_closes_it():
    missed("M1", at=0)
    again = answered_in("C2", at=1000)

    callback = Callback.objects.get()
    assert callback.closed_by == again
    assert callback.waited == timedelta(seconds=1005)


def test_it_closes_as_soon_as_the_answer_is_known():
    missed("M1", at=0)
    incoming("C2", 1000)
    deliver(1005, callid="C2", event="ANSWERED", type="in", phone=DIGITS, ext="100")

    assert not Callback.objects.get().is_open


def test_an_unanswered_call_does_not_close_it():
    missed("M1", at=0)
    outgoing("O1", at=600, status="Busy", duration="0")
    missed("M2", at=900)

    assert Callback.objects.get().is_open


def test_a_call_back_that_rang_the_agent_but_not_the_client_does_not_close_it():
    """Click-to-call rings the agent first: ANSWERED is the agent's own pickup."""
    missed("M1", at=0)
    deliver(600, callid="O1", event="OUTGOING", type="out", phone=DIGITS, ext="101")
    deliver(603, callid="O1", event="ANSWERED", type="out", phone=DIGITS, ext="101")
    assert Callback.objects.get().is_open  # the client's phone is still ringing

    deliver(640, callid="O1", event="COMPLETED", phone=DIGITS, status="Busy", duration="0",
            ext="101")

    callback = Callback.objects.get()
    assert (callback.is_open, callback.waited) == (True, None)


def test_a_call_that_began_before_the_missed_one_does_not_close_it():
    incoming("C0", 0)  # the client's earlier call, still going on another line
    missed("M1", at=10)
    deliver(40, callid="C0", event="ANSWERED", type="in", phone=DIGITS, ext="100")

    assert Callback.objects.get().is_open


def test_a_call_to_another_number_does_not_close_it():
    missed("M1", at=0)
    deliver(600, callid="O1", event="OUTGOING", type="out", phone="79035550101", ext="101")
    deliver(640, callid="O1", event="COMPLETED", phone="79035550101", status="Success",
            duration="30", ext="101")

    assert Callback.objects.get().is_open


def test_an_answer_that_arrived_before_the_missed_call_ended_closes_it_on_opening():
    incoming("M1", 0)
    answered_in("C2", at=100)
    deliver(20, callid="M1", event="COMPLETED", phone=DIGITS, status="missed")  # late

    callback = Callback.objects.get()
    assert (callback.is_open, callback.closed_by.callid) == (False, "C2")
    assert callback.waited == timedelta(seconds=105)


def test_after_closing_a_new_missed_call_opens_a_new_one():
    missed("M1", at=0)
    outgoing("O1", at=600)
    third = missed("M3", at=900)

    assert Callback.objects.count() == 2
    assert Callback.objects.get(closed_at=None).missed_call == third


def test_closing_by_hand_records_no_wait(admin_user):
    missed("M1")
    callback = Callback.objects.get()

    assert close_callback(callback, by_user=admin_user) is True
    assert close_callback(callback, by_user=admin_user) is False
    callback.refresh_from_db()
    assert (callback.is_open, callback.closed_by, callback.waited) == (False, None, None)


# --- over HTTP, all at once ------------------------------------------------------------------


def event_body(callid: str, kind: str, **fields: str) -> bytes:
    return urlencode({"access_code": ACCESS_CODE, "cmd": "event", "callid": callid,
                      "event": kind, "phone": DIGITS, **fields}).encode()


@pytest.mark.django_db(transaction=True)
def test_concurrent_missed_calls_open_one_callback(live_server):
    senders = 12
    post_at_once(live_server.url, [event_body(f"M{n}", "INCOMING", type="in")
                                   for n in range(senders)])

    responses = post_at_once(
        live_server.url, [event_body(f"M{n}", "COMPLETED", status="missed") for n in range(senders)]
    )

    assert [r.status for r in responses] == [200] * senders
    assert Callback.objects.count() == 1
