"""Leads: one contact per unknown number, made by its first answered or finished call."""
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from calls.assembly import record_event
from calls.models import Call
from calls.pbx import protocol
from calls.routing import route_lookup
from contacts.leads import ensure_lead
from contacts.models import Agent, Contact
from contacts.services import find_contact_by_phone, save_contact
from tests.calls.pbx.test_webhook_concurrency import post_at_once
from tests.conftest import ACCESS_CODE

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
DIGITS = "79201119613"
NUMBER = "+79201119613"


def deliver(minutes: int, **fields: str) -> Call:
    command = protocol.parse_command({"cmd": "event", **fields})
    return record_event(event=command, received_at=T0 + timedelta(minutes=minutes)).call


def answered_call(callid: str, *, phone: str = DIGITS, ext: str = "100", minutes: int = 0) -> Call:
    deliver(minutes, callid=callid, event="INCOMING", type="in", phone=phone)
    deliver(minutes, callid=callid, event="ANSWERED", type="in", phone=phone, ext=ext)
    return deliver(minutes + 1, callid=callid, event="COMPLETED", phone=phone, status="Success",
                   duration="16", ext=ext)


def missed_call(callid: str, *, phone: str = DIGITS, minutes: int = 0) -> Call:
    deliver(minutes, callid=callid, event="INCOMING", type="in", phone=phone)
    return deliver(minutes + 1, callid=callid, event="COMPLETED", phone=phone, status="missed")


def leads() -> list[Contact]:
    return list(Contact.objects.filter(is_lead=True))


@pytest.mark.django_db
def test_answered_unknown_caller_becomes_one_lead():
    call = answered_call("C1")

    lead = Contact.objects.get()
    assert (lead.is_lead, lead.lead_number, lead.name) == (True, NUMBER, "Lead +7 920 111-96-13")
    assert list(lead.phones.values_list("number", flat=True)) == [NUMBER]
    assert lead.responsible.extension == "100"
    assert call.contact == lead


@pytest.mark.django_db
def test_the_lead_answers_the_lookup():
    answered_call("C1")

    assert route_lookup(NUMBER).payload == {
        "contact_name": "Lead +7 920 111-96-13", "responsible": "100",
    }


@pytest.mark.django_db
def test_a_ringing_call_makes_no_lead_yet():
    deliver(0, callid="C1", event="INCOMING", type="in", phone=DIGITS)

    assert leads() == []


@pytest.mark.django_db
def test_the_lead_is_made_when_the_answer_arrives_before_the_rest():
    call = deliver(0, callid="C1", event="ANSWERED", type="in", phone=DIGITS, ext="100")

    assert call.contact.is_lead
    assert call.contact.responsible.extension == "100"


@pytest.mark.django_db
def test_missed_unknown_caller_becomes_a_lead_without_responsible():
    call = missed_call("C1")

    assert call.contact == Contact.objects.get(is_lead=True)
    assert call.contact.responsible is None


@pytest.mark.django_db
def test_completed_before_incoming_makes_the_lead_when_the_direction_is_known():
    deliver(1, callid="C1", event="COMPLETED", phone=DIGITS, status="missed")
    assert leads() == []

    call = deliver(0, callid="C1", event="INCOMING", type="in", phone=DIGITS)

    assert call.contact.is_lead


@pytest.mark.django_db
def test_repeat_calls_reuse_the_lead():
    first = missed_call("C1")
    second = answered_call("C2", minutes=10)
    third = answered_call("C3", ext="101", minutes=20)

    assert Contact.objects.count() == 1
    assert first.contact == second.contact == third.contact


@pytest.mark.django_db
def test_a_lead_without_responsible_gets_the_agent_who_answers_later():
    missed_call("C1")
    answered_call("C2", ext="101", minutes=10)

    assert Contact.objects.get().responsible.extension == "101"


@pytest.mark.django_db
def test_a_lead_keeps_its_responsible():
    answered_call("C1", ext="100")
    answered_call("C2", ext="101", minutes=10)

    assert Contact.objects.get().responsible.extension == "100"


@pytest.mark.django_db
def test_a_known_caller_makes_no_lead():
    vasya = save_contact(name="Вася", phones=[NUMBER])

    call = answered_call("C1")

    assert call.contact == vasya
    assert leads() == []
    vasya.refresh_from_db()
    assert vasya.responsible is None  # only leads are given the answering agent


@pytest.mark.django_db
def test_a_real_contact_added_later_wins_over_the_lead():
    answered_call("C1")
    vasya = save_contact(name="Вася", phones=[NUMBER])

    call = answered_call("C2", minutes=10)

    assert call.contact == vasya
    assert find_contact_by_phone(NUMBER) == vasya


@pytest.mark.django_db
def test_outgoing_calls_make_no_lead():
    deliver(0, callid="C1", event="OUTGOING", type="out", phone=DIGITS, ext="100")
    deliver(1, callid="C1", event="COMPLETED", phone=DIGITS, status="Success", duration="5",
            ext="100")

    assert leads() == []


@pytest.mark.django_db
@pytest.mark.parametrize("written", ["+7 (920) 111-96-13", "8 920 111 96 13", "79201119613"])
def test_ignored_numbers_make_no_lead_in_any_format(settings, written):
    settings.LEADS_IGNORE_NUMBERS = ["+74950000000", written]

    call = answered_call("C1")

    assert call.contact is None
    assert leads() == []


@pytest.mark.django_db
def test_leads_can_be_turned_off(settings):
    settings.LEADS_ENABLED = False

    assert answered_call("C1").contact is None
    assert leads() == []


@pytest.mark.django_db
@pytest.mark.parametrize("phone", ["100", "anonymous", ""])
def test_numbers_that_are_not_e164_make_no_lead(phone):
    answered_call("C1", phone=phone)

    assert leads() == []


@pytest.mark.django_db
def test_ensure_lead_for_an_owned_number_returns_the_owner():
    vasya = save_contact(name="Вася", phones=[NUMBER])

    assert ensure_lead(phone=NUMBER, agent=None) == vasya
    assert leads() == []


# --- concurrent first calls ----------------------------------------------------------------

SENDERS = 16


def event_body(callid: str, kind: str, **fields: str) -> bytes:
    from urllib.parse import urlencode

    return urlencode({"access_code": ACCESS_CODE, "cmd": "event", "callid": callid,
                      "event": kind, "phone": DIGITS, **fields}).encode()


@pytest.mark.django_db(transaction=True)
def test_concurrent_first_calls_make_one_lead(live_server):
    Agent.objects.create(extension="100")
    bodies = [
        event_body(f"call{n}", "ANSWERED", type="in", ext="100") for n in range(SENDERS // 2)
    ] + [
        event_body(f"call{n}", "INCOMING", type="in") for n in range(SENDERS // 2)
    ]

    responses = post_at_once(live_server.url, bodies)

    assert [r.status for r in responses] == [200] * SENDERS
    lead = Contact.objects.get()
    assert lead.is_lead
    assert Counter(Call.objects.values_list("contact", flat=True)) == {lead.pk: SENDERS // 2}
    assert lead.phones.count() == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_missed_calls_make_one_lead(live_server):
    bodies = [event_body(f"call{n}", "INCOMING", type="in") for n in range(SENDERS)]
    post_at_once(live_server.url, bodies)

    bodies = [event_body(f"call{n}", "COMPLETED", status="missed") for n in range(SENDERS)]
    responses = post_at_once(live_server.url, bodies)

    assert [r.status for r in responses] == [200] * SENDERS
    assert Contact.objects.filter(is_lead=True).count() == 1
    assert not Call.objects.filter(contact=None).exists()
