""""My callbacks" in the admin: an agent lands on their own open callbacks, oldest first,
each with a "Call back" button."""
from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission, User
from django.utils import timezone

from calls.models import Call, Callback
from contacts.models import Agent
from tests.html import tags

pytestmark = pytest.mark.django_db

CALLBACKS = "/admin/calls/callback/"
PLACE = "/admin/calls/callattempt/place/"


def agent_user(username: str, extension: str, *codenames: str) -> User:
    user = User.objects.create_user(username, password="pw", is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    Agent.objects.create(extension=extension, name=username, user=user)
    return User.objects.get(pk=user.pk)


def callback(phone: str, agent: Agent | None, *, hours_ago: int, closed: bool = False
             ) -> Callback:
    at = timezone.now() - timedelta(hours=hours_ago)
    missed = Call.objects.create(callid=f"m{phone}{hours_ago}", direction="in", phone=phone,
                                 outcome="missed", started_at=at)
    return Callback.objects.create(
        phone=phone, agent=agent, missed_call=missed, created_at=at,
        closed_at=timezone.now() if closed else None,
        waited=timedelta(minutes=30) if closed else None,
    )


@pytest.fixture
def anna() -> User:
    return agent_user("anna", "100", "view_callback", "change_callback", "view_call",
                      "place_calls")


def test_an_agent_lands_on_their_own_open_callbacks_oldest_first(client, anna):
    other = Agent.objects.create(extension="101")
    newer = callback("+79201110001", anna.agent, hours_ago=1)
    older = callback("+79201110002", anna.agent, hours_ago=5)
    callback("+79201110003", other, hours_ago=3)
    callback("+79201110004", anna.agent, hours_ago=2, closed=True)
    client.force_login(anna)

    page = client.get(CALLBACKS)

    assert [c.pk for c in page.context["cl"].result_list] == [older.pk, newer.pk]
    buttons = [b for b in tags(page, "button") if b.get("formaction") == PLACE]
    assert [b["value"] for b in buttons] == ["+79201110002", "+79201110001"]


def test_all_callbacks_are_one_filter_away(client, anna):
    callback("+79201110001", anna.agent, hours_ago=1)
    callback("+79201110003", Agent.objects.create(extension="101"), hours_ago=3)
    callback("+79201110004", anna.agent, hours_ago=2, closed=True)
    client.force_login(anna)

    anyone = client.get(CALLBACKS, {"assignee": "all"})
    everything = client.get(CALLBACKS, {"assignee": "all", "state": "all"})

    assert len(anyone.context["cl"].result_list) == 2
    assert len(everything.context["cl"].result_list) == 3
    links = [a["href"] for a in tags(client.get(CALLBACKS), "a")]
    assert "?assignee=all" in links and "?state=all" in links


def test_a_user_without_an_agent_sees_everyone_open_callbacks(admin_client):
    callback("+79201110001", Agent.objects.create(extension="101"), hours_ago=1)

    page = admin_client.get(CALLBACKS)

    assert len(page.context["cl"].result_list) == 1


def test_a_callback_can_be_reassigned_not_invented(client, anna):
    task = callback("+79201110001", None, hours_ago=1)
    client.force_login(anna)

    assert client.get(f"{CALLBACKS}add/").status_code == 403
    page = client.get(f"{CALLBACKS}{task.pk}/change/")
    assert list(page.context["adminform"].form.fields) == ["agent"]


def test_callbacks_can_be_closed_by_hand(client, anna):
    task = callback("+79201110001", anna.agent, hours_ago=1)
    done = callback("+79201110002", anna.agent, hours_ago=2, closed=True)
    client.force_login(anna)

    response = client.post(f"{CALLBACKS}?state=open", {
        "action": "close_by_hand", "_selected_action": [task.pk, done.pk],
    }, follow=True)

    assert [str(m) for m in response.context["messages"]] == ["Callbacks closed: 1."]
    task.refresh_from_db()
    assert task.closed_at is not None and task.waited is None
