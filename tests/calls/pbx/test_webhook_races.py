"""Many calls at once over real HTTP: each call's events racing, shuffled and duplicated, build
the same calls, leads, callbacks and routing as one-at-a-time delivery does."""
import random
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pytest
from django.core.management import call_command
from django.db import connection

from calls.models import Call, Callback, PbxRequest
from contacts.models import Agent, Contact
from contacts.services import save_contact
from tests.conftest import ACCESS_CODE, RawResponse, lwp_request, send_raw

pytestmark = pytest.mark.django_db(transaction=True)

KNOWN = "79201119613"  # Вася, agent 100's client
LINK = "https%3A%2F%2Fpbx.example%2Frec%2F{callid}.mp3"


@dataclass(frozen=True)
class Scenario:
    """One incoming call: who calls, and how it ends."""

    callid: str
    phone: str
    answered_by: str  # "" when nobody picked up

    def lookup(self) -> bytes:
        return f"access_code={ACCESS_CODE}&cmd=contact&phone={self.phone}&callid={self.callid}"\
            .encode()

    def events(self) -> list[bytes]:
        head = f"access_code={ACCESS_CODE}&cmd=event&callid={self.callid}&phone={self.phone}"
        bodies = [f"{head}&type=in&event=INCOMING&ext="]
        if self.answered_by:
            bodies.append(f"{head}&type=in&event=ANSWERED&ext={self.answered_by}")
            bodies.append(
                f"{head}&event=COMPLETED&status=Success&duration=42&ext={self.answered_by}"
                f"&record_link={LINK.format(callid=self.callid)}"
            )
        else:
            bodies.append(f"{head}&event=COMPLETED&status=missed&duration=0&ext=")
        return [body.encode() for body in bodies]


def scenarios(count: int) -> list[Scenario]:
    """Known and unknown callers, answered and missed; some numbers call several times."""
    rng = random.Random(5)
    # A number's calls are all missed or all answered: which of two calls from one number
    # began first is up to the race, and a later answered call closes an earlier callback.
    missed = [f"7916555{n:04d}" for n in range(max(2, count // 6))]
    answered = [f"7916666{n:04d}" for n in range(max(2, count // 6))]
    plan = []
    for n in range(count):
        kind = n % 3
        phone = KNOWN if kind == 0 else rng.choice(missed if kind == 1 else answered)
        agent = "" if kind == 1 else rng.choice(["100", "101", "102"])
        plan.append(Scenario(callid=f"race{n:04d}", phone=phone, answered_by=agent))
    return plan


def setup_contacts() -> None:
    vasya_agent = Agent.objects.create(extension="100")
    save_contact(name="Вася", company="Рога и Копыта", responsible=vasya_agent,
                 phones=[f"+{KNOWN}"])


def deliver(base_url: str, bodies: list[bytes], *, workers: int) -> list[RawResponse]:
    def post(body: bytes) -> RawResponse:
        return send_raw(base_url, lwp_request(body), timeout=60)

    if workers == 1:
        return [post(body) for body in bodies]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(post, bodies))


def outcome_of_the_calls() -> dict[str, object]:
    """What delivery built, without receipt times and row ids."""
    calls = {
        call.callid: (
            call.direction, call.phone, call.status, call.outcome, call.duration,
            call.record_link, call.agent.extension if call.agent else None,
            call.contact.name if call.contact else None,
            call.routed_to.extension if call.routed_to else None, call.route_reason,
            call.answered_at is not None, call.ended_at is not None,
        )
        for call in Call.objects.select_related("agent", "contact", "routed_to")
    }
    callbacks = Counter(Callback.objects.values_list("phone", flat=True))
    leads = Counter(Contact.objects.filter(is_lead=True).values_list("phones__number", flat=True))
    agents = sorted(Agent.objects.values_list("extension", flat=True))
    return {"calls": calls, "callbacks": callbacks, "leads": leads, "agents": agents}


@pytest.fixture
def sizes() -> tuple[int, int, int]:
    """(calls, copies of each event, sender threads): higher on PostgreSQL, where writers
    run side by side; on SQLite they queue for one write lock, so fewer."""
    if connection.vendor == "postgresql":
        return 40, 2, 24
    return 10, 2, 8


def test_racing_deliveries_build_what_sequential_delivery_builds(live_server, sizes):
    count, copies, workers = sizes
    plan = scenarios(count)
    setup_contacts()
    lookups = [scenario.lookup() for scenario in plan]
    events = [body for scenario in plan for body in scenario.events() for _ in range(copies)]
    random.Random(20240506).shuffle(events)

    looked_up = deliver(live_server.url, lookups, workers=workers)
    delivered = deliver(live_server.url, events, workers=workers)

    responses = looked_up + delivered
    assert [r.status for r in responses] == [200] * len(responses)
    assert PbxRequest.objects.count() == len(responses)
    assert PbxRequest.objects.filter(outcome="failed").count() == 0
    outcomes = Counter(PbxRequest.objects.filter(cmd="event").values_list("outcome", flat=True))
    assert outcomes == {"accepted": len(events) // copies,
                        "duplicate": len(events) - len(events) // copies}
    raced = outcome_of_the_calls()

    call_command("flush", interactive=False, verbosity=0)
    setup_contacts()
    for scenario in plan:
        deliver(live_server.url, [scenario.lookup()], workers=1)
    for scenario in plan:
        deliver(live_server.url, scenario.events(), workers=1)
    sequential = outcome_of_the_calls()

    assert raced == sequential
    # And what sequential delivery gives is what the scenarios say.
    assert len(sequential["calls"]) == count
    missed_numbers = {s.phone for s in plan if not s.answered_by}
    assert set(sequential["callbacks"]) == {f"+{phone}" for phone in missed_numbers}
    assert set(sequential["callbacks"].values()) <= {1}
    unknown_numbers = {s.phone for s in plan if s.phone != KNOWN}
    assert set(sequential["leads"]) == {f"+{phone}" for phone in unknown_numbers}
    assert set(sequential["leads"].values()) == {1}
    known = [c for c in sequential["calls"].values() if c[1] == f"+{KNOWN}"]
    assert {(c[7], c[8]) for c in known} == {("Вася", "100")}


def test_one_call_raced_in_every_order_and_duplicated(live_server, sizes):
    """The same call's three events, many copies each, all at once: one call, right fields."""
    _, _, workers = sizes
    setup_contacts()
    scenario = Scenario(callid="one-call-many-copies", phone=KNOWN, answered_by="101")
    bodies = [scenario.lookup()] + scenario.events() * workers
    random.Random(7).shuffle(bodies)

    responses = deliver(live_server.url, bodies, workers=workers)

    assert [r.status for r in responses] == [200] * len(bodies)
    call = Call.objects.select_related("agent", "contact").get()
    assert (call.outcome, call.agent.extension, call.duration, call.contact.name) == (
        "answered", "101", 42, "Вася"
    )
    assert call.record_link == "https://pbx.example/rec/one-call-many-copies.mp3"
    assert call.events.count() == 3
    assert PbxRequest.objects.count() == len(bodies)
    assert not Callback.objects.exists()
