"""The lookup's routing policy, kept as a CallerLookup and handed to the call it preceded."""
from datetime import timedelta
from urllib.parse import urlencode

import pytest
from django.db import connection
from django.utils import timezone

from calls.models import Call, CallerLookup
from calls.routing import route_lookup
from contacts.models import Agent
from contacts.services import save_contact
from tests.conftest import ACCESS_CODE

pytestmark = pytest.mark.django_db(transaction=True)

DIGITS = "79201119613"
NUMBER = "+79201119613"


def form(**fields: str) -> bytes:
    return urlencode({"access_code": ACCESS_CODE, **fields}).encode()


def lookup(pbx_post, phone: str = DIGITS, **fields: str) -> dict:  # noqa: ANN001
    return pbx_post(form(cmd="contact", phone=phone, **fields)).json()


def event(pbx_post, callid: str, kind: str, phone: str = DIGITS, **fields: str) -> None:  # noqa: ANN001
    response = pbx_post(form(cmd="event", callid=callid, event=kind, phone=phone, **fields))
    assert response.status == 200


def incoming(pbx_post, callid: str, phone: str = DIGITS) -> Call:  # noqa: ANN001
    event(pbx_post, callid, "INCOMING", phone, type="in", ext="")
    return Call.objects.get(callid=callid)


def kept_lookup() -> CallerLookup:
    return CallerLookup.objects.latest("id")


def talked(agent: Agent, *, days_ago: float, outcome: str = "answered") -> Call:
    """A call with NUMBER that `agent` answered (or not) `days_ago` days ago."""
    started = timezone.now() - timedelta(days=days_ago)
    return Call.objects.create(
        callid=f"old-{agent.extension}-{days_ago}-{outcome}", direction="in", phone=NUMBER,
        outcome=outcome, agent=agent, started_at=started,
        answered_at=started if outcome == "answered" else None,
    )


def day(call: Call) -> str:
    return timezone.localdate(call.started_at).isoformat()


@pytest.fixture
def agents() -> dict[str, Agent]:
    return {ext: Agent.objects.create(extension=ext) for ext in ("100", "101")}


@pytest.fixture
def vasya(agents: dict[str, Agent]):  # noqa: ANN201
    return save_contact(name="Вася", company="Рога", responsible=agents["100"], phones=[NUMBER])


# --- step 1: the responsible -------------------------------------------------------------


def test_available_responsible_gets_the_call(pbx_post, vasya):
    assert lookup(pbx_post) == {"contact_name": "Вася/Рога", "responsible": "100"}


def test_responsible_reason_is_kept(pbx_post, vasya, agents):
    lookup(pbx_post)

    entry = kept_lookup()
    assert (entry.routed_to, entry.route_reason) == (agents["100"], "responsible")
    assert entry.route_note == "responsible 100 is available"


def test_incoming_call_takes_the_routing_of_its_lookup(pbx_post, vasya, agents):
    lookup(pbx_post)
    call = incoming(pbx_post, "C1")

    assert (call.routed_to, call.route_reason) == (agents["100"], "responsible")
    assert call.route_note == "responsible 100 is available"
    assert kept_lookup().call == call


def test_common_case_is_one_query(vasya, django_assert_num_queries):
    with django_assert_num_queries(1):
        route = route_lookup(NUMBER)

    assert route.reason == "responsible"


# --- step 2: the agent who last talked with the number ----------------------------------


def test_away_responsible_routes_to_the_last_talker(pbx_post, vasya, agents):
    Agent.objects.filter(extension="100").update(is_away=True)
    old = talked(agents["101"], days_ago=2)

    assert lookup(pbx_post) == {"contact_name": "Вася/Рога", "responsible": "101"}
    entry = kept_lookup()
    assert (entry.routed_to, entry.route_reason) == (agents["101"], "last_talked")
    assert entry.route_note == f"responsible 100 is away; last talked with 101 on {day(old)}"


def test_inactive_responsible_routes_to_the_last_talker(pbx_post, vasya, agents):
    Agent.objects.filter(extension="100").update(is_active=False)
    talked(agents["101"], days_ago=1)

    assert lookup(pbx_post)["responsible"] == "101"
    assert kept_lookup().route_note.startswith("responsible 100 is inactive; ")


def test_contact_without_responsible_routes_to_the_last_talker(pbx_post, agents):
    save_contact(name="Вася", phones=[NUMBER])
    talked(agents["101"], days_ago=1)

    assert lookup(pbx_post) == {"contact_name": "Вася", "responsible": "101"}
    assert kept_lookup().route_note.startswith("no responsible agent; last talked")


def test_a_call_picked_up_but_ended_missed_is_no_talk(pbx_post, vasya, agents):
    """ANSWERED came (a queue leg picked up), then COMPLETED said missed: nobody talked."""
    Agent.objects.filter(extension="100").update(is_away=True)
    picked = talked(agents["101"], days_ago=1, outcome="missed")
    Call.objects.filter(pk=picked.pk).update(answered_at=picked.started_at)

    assert "responsible" not in lookup(pbx_post)
    assert kept_lookup().route_reason == "none"


def test_the_newest_answered_call_counts(pbx_post, vasya, agents):
    Agent.objects.filter(extension="100").update(is_away=True)
    talked(agents["100"], days_ago=5)
    talked(agents["101"], days_ago=1)

    assert lookup(pbx_post)["responsible"] == "101"


def test_unanswered_calls_do_not_count(pbx_post, vasya, agents):
    Agent.objects.filter(extension="100").update(is_away=True)
    talked(agents["101"], days_ago=1, outcome="no_answer")

    assert "responsible" not in lookup(pbx_post)
    assert kept_lookup().route_reason == "none"


def test_a_talk_before_the_window_does_not_count(pbx_post, vasya, agents, settings):
    settings.ROUTING_LAST_TALKED_DAYS = 7
    Agent.objects.filter(extension="100").update(is_away=True)
    talked(agents["101"], days_ago=8)

    assert lookup(pbx_post) == {"contact_name": "Вася/Рога"}
    entry = kept_lookup()
    assert (entry.routed_to, entry.route_reason) == (None, "none")
    assert entry.route_note == "responsible 100 is away; no answered call in the last 7 days"


def test_an_away_last_talker_is_not_routed_to(pbx_post, vasya, agents):
    Agent.objects.update(is_away=True)
    old = talked(agents["101"], days_ago=1)

    assert lookup(pbx_post) == {"contact_name": "Вася/Рога"}
    entry = kept_lookup()
    assert entry.route_reason == "none"
    assert entry.route_note == (
        f"responsible 100 is away; last talked with 101 on {day(old)}, who is away"
    )


# --- step 3 and unknown callers --------------------------------------------------------------


def test_unknown_caller_without_history_is_unknown(pbx_post, agents):
    assert lookup(pbx_post) == {}
    entry = kept_lookup()
    assert (entry.routed_to, entry.route_reason) == (None, "unknown")
    assert entry.route_note == "unknown number; no answered call in the last 30 days"


def test_unknown_caller_reaches_who_talked_with_them(pbx_post, agents):
    talked(agents["101"], days_ago=1)

    assert lookup(pbx_post) == {"responsible": "101"}
    assert kept_lookup().route_reason == "last_talked"


def test_unknown_routing_reaches_the_call(pbx_post, agents):
    lookup(pbx_post)
    call = incoming(pbx_post, "C1")

    assert (call.routed_to, call.route_reason) == (None, "unknown")


# --- tying a lookup to its call ------------------------------------------------------------


def test_a_lookup_older_than_two_minutes_is_not_tied(pbx_post, vasya):
    lookup(pbx_post)
    CallerLookup.objects.update(
        received_at=timezone.now() - timedelta(minutes=3)
    )

    call = incoming(pbx_post, "C1")

    assert (call.routed_to, call.route_reason) == (None, "")


def test_a_lookup_for_another_number_is_not_tied(pbx_post, vasya):
    lookup(pbx_post, phone="79035550101")

    assert incoming(pbx_post, "C1").route_reason == ""


def test_a_lookup_in_national_form_is_tied(pbx_post, vasya):
    lookup(pbx_post, phone="89201119613")

    assert incoming(pbx_post, "C1").route_reason == "responsible"


def test_a_lookup_carrying_the_callid_is_tied_whatever_its_age(pbx_post, vasya):
    lookup(pbx_post, callid="C1")
    CallerLookup.objects.update(
        received_at=timezone.now() - timedelta(minutes=30)
    )

    assert incoming(pbx_post, "C1").route_reason == "responsible"


def test_the_lookup_carrying_the_callid_wins_over_a_newer_one_of_the_number(
    pbx_post, vasya, agents
):
    lookup(pbx_post, callid="C1")  # the responsible, 100, is available
    Agent.objects.filter(extension="100").update(is_away=True)
    lookup(pbx_post)  # newer, no callid: nobody to route to
    carried = CallerLookup.objects.get(callid="C1")

    call = incoming(pbx_post, "C1")

    assert call.route_reason == "responsible"
    assert CallerLookup.objects.get(call=call) == carried


def test_a_lookup_carrying_another_callid_is_not_tied(pbx_post, vasya):
    lookup(pbx_post, callid="C-other")

    assert incoming(pbx_post, "C1").route_reason == ""


def test_each_call_takes_its_own_lookup(pbx_post, vasya, agents):
    lookup(pbx_post)
    first = incoming(pbx_post, "C1")
    Agent.objects.filter(extension="100").update(is_away=True)
    lookup(pbx_post)
    second = incoming(pbx_post, "C2")

    first.refresh_from_db()
    assert (first.route_reason, second.route_reason) == ("responsible", "none")
    assert [e.call for e in CallerLookup.objects.order_by("id")] == [
        first, second
    ]


def test_events_before_the_start_event_tie_when_it_comes(pbx_post, vasya, agents):
    lookup(pbx_post)
    event(pbx_post, "C1", "COMPLETED", status="Success", duration="16", ext="100")
    assert Call.objects.get(callid="C1").route_reason == ""

    call = incoming(pbx_post, "C1")

    assert (call.routed_to, call.route_reason) == (agents["100"], "responsible")


def test_a_repeated_start_event_keeps_the_tie(pbx_post, vasya, agents):
    lookup(pbx_post)
    incoming(pbx_post, "C1")
    Agent.objects.filter(extension="100").update(is_away=True)
    lookup(pbx_post)  # a later lookup, for a later call

    call = incoming(pbx_post, "C1")
    event(pbx_post, "C1", "ANSWERED", type="in", ext="100")

    call.refresh_from_db()
    assert call.route_reason == "responsible"
    assert CallerLookup.objects.filter(call=call).count() == 1


def test_the_whole_call_keeps_its_routing(pbx_post, vasya, agents):
    lookup(pbx_post)
    incoming(pbx_post, "C1")
    event(pbx_post, "C1", "ANSWERED", type="in", ext="100")
    event(pbx_post, "C1", "COMPLETED", status="Success", duration="16", ext="100")

    call = Call.objects.get(callid="C1")
    assert (call.outcome, call.routed_to, call.route_reason) == (
        "answered", agents["100"], "responsible"
    )


@pytest.mark.skipif("connection.vendor != 'sqlite'")
@pytest.mark.parametrize("compiled", ["_NEW_CALL_CANDIDATES", "_CANDIDATES"])
def test_finding_a_calls_lookup_probes_indexes_not_every_lookup_kept(compiled):
    """Lookups are kept with the calls they routed: a million calls, a million lookups, nearly
    all without a callid. Each INCOMING looks for its own among them by two index probes."""
    from calls import routing

    now = timezone.now()
    CallerLookup.objects.bulk_create(
        CallerLookup(received_at=now - timedelta(seconds=n), phone=f"7920{n:07d}",
                     number=f"+7920{n:07d}", route_reason="unknown")
        for n in range(2000)
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")  # the statistics that made the OR of the two scan the table
        sql, params, _, _ = getattr(routing, compiled)._compiled(connection.vendor)
        cursor.execute(f"EXPLAIN QUERY PLAN {sql}", params)
        plan = [row[3] for row in cursor.fetchall()]

    assert not [step for step in plan if step.startswith("SCAN calls_callerlookup")], plan
    assert any("callerlookup_callid_carried" in step for step in plan), plan
    assert any("callerlookup_number_received" in step for step in plan), plan
