"""Migration 0012: the routing decisions kept on the journal's lookup rows become CallerLookups."""
from datetime import timedelta

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("calls", "0011_agent_moved_to_contacts")]
AFTER = [("calls", "0013_pbxrequest_without_routing")]


@pytest.fixture
def migrate():  # noqa: ANN201
    """Migrate to some state and return its apps; the latest state is restored afterwards."""

    def to(targets: list[tuple[str, str]]):  # noqa: ANN202
        executor = MigrationExecutor(connection)
        executor.migrate(targets)
        return executor.loader.project_state(targets).apps

    yield to
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())


def test_the_journal_s_routing_decisions_are_copied(migrate):
    old = migrate(BEFORE)
    agent = old.get_model("contacts", "Agent").objects.create(extension="100")
    call = old.get_model("calls", "Call").objects.create(
        callid="C1", direction="in", phone="+79201119613", started_at=timezone.now(),
        routed_to=agent, route_reason="responsible", route_note="responsible 100 is available",
    )
    journal = old.get_model("calls", "PbxRequest").objects
    at = timezone.now() - timedelta(minutes=1)
    common = {"received_at": at, "method": "POST", "cmd": "contact", "outcome": "accepted"}
    journal.create(**common, phone="79201119613", call=call, routed_to=agent,
                   route_reason="responsible", route_note="responsible 100 is available")
    journal.create(**common, phone="garbage", callid="C2", route_reason="unknown",
                   route_note="unknown number")
    journal.create(**{**common, "outcome": "failed"}, phone="79201119613")  # never answered
    journal.create(received_at=at, method="POST", cmd="event", callid="C1", call=call)

    new = migrate(AFTER)

    lookups = new.get_model("calls", "CallerLookup").objects.order_by("id")
    assert [
        (row.received_at, row.phone, row.number, row.callid, row.routed_to_id, row.route_reason,
         row.route_note, row.call_id)
        for row in lookups
    ] == [
        (at, "79201119613", "+79201119613", "", agent.pk, "responsible",
         "responsible 100 is available", call.pk),
        (at, "garbage", "", "C2", None, "unknown", "unknown number", None),
    ]
