"""`manage.py prune_journal`: old PBX requests deleted in batches, newer ones never."""
import io
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from calls.models import Call, CallerLookup, CallEvent, PbxRequest
from calls.pbx.journal import parse_age, prune_journal
from calls.routing import prune_untied_lookups
from contacts.models import Agent
from contacts.services import save_contact
from tests.captures import CONTACT, INCOMING

pytestmark = pytest.mark.django_db


def journaled(*, age: timedelta) -> PbxRequest:
    return PbxRequest.objects.create(received_at=timezone.now() - age, method="POST")


def prune(*args: str) -> str:
    out = io.StringIO()
    call_command("prune_journal", *args, stdout=out)
    return out.getvalue()


def ages_left() -> list[int]:
    now = timezone.now()
    return sorted(round((now - at) / timedelta(hours=1))
                  for at in PbxRequest.objects.values_list("received_at", flat=True))


@pytest.mark.parametrize(("text", "expected"), [
    ("90d", timedelta(days=90)), ("12h", timedelta(hours=12)), ("2w", timedelta(weeks=2)),
    (" 7D ", timedelta(days=7)),
])
def test_parse_age(text: str, expected: timedelta):
    assert parse_age(text) == expected


@pytest.mark.parametrize("text", ["90", "d", "0d", "-1d", "3m", "1.5d", ""])
def test_parse_age_refuses_anything_else(text: str):
    with pytest.raises(ValueError, match="is not an age"):
        parse_age(text)


def test_deletes_what_is_older_and_keeps_what_is_newer():
    for days in (200, 91, 89, 1):
        journaled(age=timedelta(days=days))

    output = prune("--older-than", "90d")

    assert output.startswith("Deleted 2 PBX requests received before ")
    assert ages_left() == [24, 89 * 24]


def test_hours_and_weeks():
    for hours in (1, 13, 24 * 15):
        journaled(age=timedelta(hours=hours))

    prune("--older-than", "2w")
    assert ages_left() == [1, 13]
    prune("--older-than", "12h")
    assert ages_left() == [1]


def test_the_default_age_is_journal_retention_days(settings):
    settings.JOURNAL_RETENTION_DAYS = 30
    for days in (31, 29):
        journaled(age=timedelta(days=days))

    assert prune().startswith("Deleted 1 ")
    assert ages_left() == [29 * 24]


def test_dry_run_counts_and_deletes_nothing():
    for days in (100, 95, 10):
        journaled(age=timedelta(days=days))

    assert prune("--older-than", "90d", "--dry-run").startswith("Would delete 2 ")
    assert PbxRequest.objects.count() == 3


def test_nothing_to_delete():
    journaled(age=timedelta(days=1))

    assert prune().startswith("Deleted 0 ")
    assert PbxRequest.objects.count() == 1


def test_deletes_in_batches_without_loading_rows():
    for days in range(100, 107):
        journaled(age=timedelta(days=days))
    journaled(age=timedelta(days=3))

    with CaptureQueriesContext(connection) as queries:
        deleted = prune_journal(cutoff=timezone.now() - timedelta(days=90), batch_size=2)

    assert deleted == 7
    assert ages_left() == [72]
    sql = [q["sql"].upper() for q in queries]
    assert sum(s.startswith("DELETE") for s in sql) == 4  # batches of 2, 2, 2, 1
    assert not any('"BODY"' in s for s in sql)  # only ids are read


def test_call_events_stay_when_their_request_goes():
    call = Call.objects.create(callid="c1", direction="in", phone="+79201119613",
                               started_at=timezone.now() - timedelta(days=100))
    event = CallEvent.objects.create(call=call, event="INCOMING", received_at=call.started_at,
                                     request=journaled(age=timedelta(days=100)))

    prune("--older-than", "90d")

    event.refresh_from_db()
    assert event.request is None
    assert PbxRequest.objects.count() == 0


def deliver(client, body: bytes) -> None:  # noqa: ANN001
    response = client.post("/crm-api", body, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 200


def routing_facts(call: Call) -> tuple:
    call.refresh_from_db()
    return call.routed_to_id, call.route_reason, call.route_note, list(call.lookups.all())


def test_pruning_the_journal_changes_nothing_the_call_log_shows(client):
    agent = Agent.objects.create(extension="100")
    save_contact(name="Вася", responsible=agent, phones=["+79201119613"])
    deliver(client, CONTACT)
    deliver(client, INCOMING)
    call = Call.objects.get()
    before = routing_facts(call)
    assert before[:2] == (agent.pk, "responsible")

    assert prune_journal(cutoff=timezone.now() + timedelta(seconds=1)) == 2
    deliver(client, INCOMING)  # a repeat, after the pruning: the call is rebuilt

    assert routing_facts(call) == before


def test_a_lookup_whose_journal_row_is_pruned_still_routes_its_call(client):
    agent = Agent.objects.create(extension="100")
    save_contact(name="Вася", responsible=agent, phones=["+79201119613"])
    deliver(client, CONTACT)

    prune_journal(cutoff=timezone.now() + timedelta(seconds=1))
    deliver(client, INCOMING)

    call = Call.objects.get()
    assert (call.routed_to, call.route_reason) == (agent, "responsible")
    assert CallerLookup.objects.get().call == call


def lookup(*, age: timedelta, call: Call | None = None) -> CallerLookup:
    return CallerLookup.objects.create(
        received_at=timezone.now() - age, phone="79201119613", number="+79201119613",
        route_reason="unknown", call=call,
    )


def test_old_lookups_no_call_took_go_with_the_journal():
    call = Call.objects.create(callid="C1", started_at=timezone.now() - timedelta(days=100))
    taken = lookup(age=timedelta(days=100), call=call)
    untaken_old = lookup(age=timedelta(days=100))
    untaken_recent = lookup(age=timedelta(days=10))

    output = prune("--older-than", "90d")

    assert "Deleted 1 caller lookups received before " in output
    assert set(CallerLookup.objects.all()) == {taken, untaken_recent}
    assert untaken_old.pk not in CallerLookup.objects.values_list("pk", flat=True)


def test_a_lookup_a_call_may_still_take_is_never_pruned():
    ringing = lookup(age=timedelta(seconds=30))  # its INCOMING may be on its way

    assert prune_untied_lookups(cutoff=timezone.now()) == 0
    assert list(CallerLookup.objects.all()) == [ringing]


def test_a_bad_age_is_a_command_error():
    with pytest.raises(CommandError, match="is not an age"):
        prune("--older-than", "soon")
