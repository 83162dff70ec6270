"""What one PBX event costs the database, counted statement by statement, through the webhook.

Every statement the request sends is counted (the journal's row opened and closed, the
throttle's read, the call, its event, what follows), except transaction control (BEGIN,
COMMIT, SAVEPOINT, RELEASE), which carries no work of its own. The budget is 8 for each event
of a call from a known client, answered by a known agent.
"""
from datetime import timedelta
from urllib.parse import urlencode

import pytest
from django.db import connection
from django.db.models import F
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from calls import routing
from calls.assembly import record_event
from calls.models import Call, CallAttempt, Callback, CallerLookup, Recording
from calls.pbx import protocol
from contacts.models import Agent
from contacts.services import save_contact

BUDGET = 8
CLIENT = "79201119613"
LINK = "https://vpbx18-dev/ui/msg_download/120/10019/f92H16GAUDE7R10EMOLYYw.mp3"
TRANSACTION_CONTROL = ("BEGIN", "COMMIT", "SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK")

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def known(pbx_access_code):
    agent = Agent.objects.create(extension="100")
    save_contact(name="Ivan", responsible=agent, phones=["+79201119613"])
    return agent


def post(code: str, **fields: str) -> tuple[int, list[str]]:
    """POST a form as the PBX does; the answer's status and the work statements it cost."""
    body = urlencode({"access_code": code, **fields})
    with CaptureQueriesContext(connection) as queries:
        response = Client().post(
            "/crm-api", body, content_type="application/x-www-form-urlencoded"
        )
    # A prepared statement (xvbcrm/db) is logged without its text (None).
    work = [
        query["sql"] or "(prepared statement)" for query in queries.captured_queries
        if not (query["sql"] or "").upper().startswith(TRANSACTION_CONTROL)
    ]
    return response.status_code, work


def event(code: str, callid: str, **fields: str) -> tuple[int, list[str]]:
    return post(code, cmd="event", callid=callid, phone=CLIENT, **fields)


def within_budget(answer: tuple[int, list[str]]) -> bool:
    status, work = answer
    assert status == 200
    assert len(work) <= BUDGET, "\n".join([f"{len(work)} statements:", *work])
    return True


def test_an_answered_incoming_call_costs_at_most_8_per_event(known, pbx_access_code):
    assert post(pbx_access_code, cmd="contact", phone=CLIENT)[0] == 200

    assert within_budget(event(pbx_access_code, "A1", type="in", event="INCOMING", ext=""))
    assert within_budget(event(pbx_access_code, "A1", type="in", event="ANSWERED", ext="100"))
    assert within_budget(event(
        pbx_access_code, "A1", event="COMPLETED", ext="100", status="Success", duration="16",
        record_link=LINK,
    ))

    call = Call.objects.get(callid="A1")
    assert (call.outcome, call.agent, call.contact.name) == ("answered", known, "Ivan")
    assert (call.routed_to, call.route_reason) == (known, "responsible")
    assert CallerLookup.objects.get().call == call
    assert Recording.objects.get().call == call


def test_a_missed_call_costs_at_most_8_per_event(known, pbx_access_code):
    assert post(pbx_access_code, cmd="contact", phone=CLIENT)[0] == 200

    assert within_budget(event(pbx_access_code, "M1", type="in", event="INCOMING", ext=""))
    assert within_budget(event(
        pbx_access_code, "M1", event="COMPLETED", ext="", status="NOANSWER", duration="0",
    ))

    callback = Callback.objects.get()
    assert (callback.missed_call.callid, callback.agent, callback.is_open) == ("M1", known, True)


def test_a_call_back_costs_at_most_8_per_event(known, pbx_access_code):
    """The agent calls the client back from the CRM: the outgoing call closes the callback and
    is tied to the click that placed it."""
    post(pbx_access_code, cmd="contact", phone=CLIENT)
    event(pbx_access_code, "M1", type="in", event="INCOMING", ext="")
    event(pbx_access_code, "M1", event="COMPLETED", ext="", status="NOANSWER", duration="0")
    Call.objects.filter(callid="M1").update(started_at=F("started_at") - timedelta(minutes=5))
    CallAttempt.objects.create(extension="100", phone="+79201119613", result="ok")

    assert within_budget(event(pbx_access_code, "O1", type="out", event="OUTGOING", ext="100"))
    assert within_budget(event(
        pbx_access_code, "O1", event="COMPLETED", ext="100", status="Success", duration="40",
        record_link=LINK,
    ))

    assert CallAttempt.objects.get().call.callid == "O1"
    callback = Callback.objects.get()
    assert (callback.is_open, callback.closed_by.callid) == (False, "O1")
    assert timedelta(minutes=5) - timedelta(seconds=45) < callback.waited < timedelta(minutes=5)


def test_a_repeated_event_costs_less(known, pbx_access_code):
    event(pbx_access_code, "R1", type="in", event="INCOMING", ext="")
    status, first = event(pbx_access_code, "R1", type="in", event="ANSWERED", ext="100")
    status, again = event(pbx_access_code, "R1", type="in", event="ANSWERED", ext="100")

    assert status == 200
    assert len(again) < len(first)


def test_a_call_never_looked_up_stops_looking_for_its_lookup(known, monkeypatch):
    """A PBX that sends no lookups: the call looks for one at its start and at the next event
    (a lookup may cross the INCOMING on the wire), not at every event after that."""
    start = timezone.now()
    reads = []
    read = routing._lookup_candidates  # compiled: PostgreSQL's log shows no SQL text for it
    monkeypatch.setattr(routing, "_lookup_candidates",
                        lambda *args, **kwargs: reads.append(1) or read(*args, **kwargs))

    def lookup_reads(kind: str, seconds: int, **fields: str) -> int:
        command = protocol.parse_command(
            {"cmd": "event", "callid": "N1", "phone": CLIENT, "event": kind, **fields}
        )
        reads.clear()
        record_event(event=command, received_at=start + timedelta(seconds=seconds))
        return len(reads)

    assert lookup_reads("INCOMING", 0, type="in") == 1
    assert lookup_reads("ANSWERED", 20, type="in", ext="100") == 1
    assert lookup_reads("COMPLETED", 80, ext="100", status="Success", duration="60") == 0
    assert Call.objects.get(callid="N1").route_reason == ""
