"""Agent's move from calls to contacts (contacts 0006, calls 0011): rows, links and rights stay."""
from collections.abc import Iterator

import pytest
from django.apps.registry import Apps
from django.contrib.auth.models import Group, User
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from calls.models import Call, Callback, Line
from contacts.models import Agent, Contact

BEFORE = {"calls": "0009_webhook_throttle", "contacts": "0005_assign_permission"}
AFTER = {"calls": "0011_agent_moved_to_contacts", "contacts": "0006_agent"}


def migrate(to: dict[str, str]) -> Apps:
    """Migrate calls and contacts to `to`, every other app to its latest; the models then."""
    executor = MigrationExecutor(connection)
    targets = [(app, to.get(app, name)) for app, name in executor.loader.graph.leaf_nodes()]
    executor.migrate(targets)
    ContentType.objects.clear_cache()
    return executor.loader.project_state(targets).apps


@pytest.fixture
def before_the_move(transactional_db: None) -> Iterator[Apps]:
    """The database before the move; back to the latest migrations afterwards."""
    try:
        yield migrate(BEFORE)
    finally:
        migrate({})


def test_agents_their_links_and_the_groups_rights_survive_the_move(before_the_move):
    old = before_the_move
    old_type, _ = old.get_model("contenttypes", "ContentType").objects.get_or_create(
        app_label="calls", model="agent"
    )
    change_agent, _ = old.get_model("auth", "Permission").objects.get_or_create(
        content_type=old_type, codename="change_agent", defaults={"name": "Can change agent"}
    )
    user = old.get_model("auth", "User").objects.create(username="boss")
    group = old.get_model("auth", "Group").objects.create(name="supervisors")
    group.permissions.add(change_agent)
    user.groups.add(group)
    agent = old.get_model("calls", "Agent").objects.create(extension="101", name="Вася", user=user)
    contact = old.get_model("contacts", "Contact").objects.create(name="Петя", responsible=agent)
    now = timezone.now()
    call = old.get_model("calls", "Call").objects.create(
        callid="c1", started_at=now, agent=agent, routed_to=agent
    )
    old.get_model("calls", "Line").objects.create(number="74950000000", default_agent=agent)
    old.get_model("calls", "Callback").objects.create(
        contact=contact, agent=agent, missed_call=call, phone="+79201119613", created_at=now
    )

    migrate(AFTER)

    moved = Agent.objects.get(pk=agent.pk)
    assert (moved.extension, moved.name, moved.user_id) == ("101", "Вася", user.pk)
    assert Contact.objects.get(pk=contact.pk).responsible == moved
    assert Call.objects.filter(agent=moved, routed_to=moved).count() == 1
    assert Line.objects.get().default_agent == moved
    assert Callback.objects.get().agent == moved
    assert ContentType.objects.get_for_model(Agent).pk == old_type.pk
    assert not ContentType.objects.filter(app_label="calls", model="agent").exists()
    assert list(Group.objects.get(pk=group.pk).permissions.all()) == [
        ContentType.objects.get_for_model(Agent).permission_set.get(codename="change_agent")
    ]
    assert User.objects.get(pk=user.pk).has_perm("contacts.change_agent")


def test_migrating_back_returns_the_content_type_to_calls(before_the_move):
    agent_type = ContentType.objects.get(app_label="calls", model="agent")
    migrate(AFTER)
    assert ContentType.objects.get(pk=agent_type.pk).app_label == "contacts"
    migrate(BEFORE)
    assert ContentType.objects.get(pk=agent_type.pk).app_label == "calls"
