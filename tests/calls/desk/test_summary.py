"""The desk the admin's front page opens with: the agent's live calls, their open callbacks
(oldest first, a few and the count), today's figures as the dashboard counts them."""
from datetime import timedelta

import pytest
from django.contrib.auth.models import AnonymousUser, Permission, User
from django.utils import timezone

from calls.desk.summary import CALLBACKS_SHOWN, desk_summary
from calls.models import Call, Callback
from contacts.models import Agent

pytestmark = pytest.mark.django_db


def staff(username: str, *codenames: str, extension: str | None = None) -> User:
    user = User.objects.create_user(username, password="x", is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    if extension:
        Agent.objects.create(extension=extension, name=username.title(), user=user)
    return User.objects.get(pk=user.pk)  # no cached permissions


def call(callid: str, *, outcome: str = "answered", agent: Agent | None = None,
         routed_to: Agent | None = None, ago: timedelta = timedelta(), direction: str = "in",
         phone: str = "+79201119613") -> Call:
    started = timezone.now() - ago
    return Call.objects.create(
        callid=callid, direction=direction, phone=phone, outcome=outcome, agent=agent,
        routed_to=routed_to, started_at=started,
        answered_at=started if outcome == "answered" else None,
    )


def callback(phone: str, agent: Agent | None, *, closed: bool = False,
             ago: timedelta = timedelta(minutes=5)) -> Callback:
    missed = call(f"missed-{phone}-{closed}", outcome="missed", routed_to=agent, ago=ago,
                  phone=phone)
    return Callback.objects.create(
        phone=phone, agent=agent, missed_call=missed, created_at=missed.started_at,
        closed_at=timezone.now() if closed else None,
    )


@pytest.fixture
def alice() -> User:
    return staff("alice", "view_call", "view_callback", extension="100")


def test_the_agents_live_calls(alice: User) -> None:
    bob = Agent.objects.create(extension="101", name="Bob")
    call("ringing", outcome="in_progress", routed_to=alice.agent)
    call("bob's", outcome="in_progress", routed_to=bob, phone="+79211234567")

    desk = desk_summary(user=alice)

    assert [live.callid for live in desk.live] == ["ringing"]
    assert desk.live[0].phone_display == "+7 920 111-96-13"


def test_the_agents_open_callbacks_oldest_first(alice: User) -> None:
    bob = Agent.objects.create(extension="101", name="Bob")
    newer = callback("+79030000001", alice.agent, ago=timedelta(minutes=1))
    older = callback("+79030000002", alice.agent, ago=timedelta(hours=1))
    callback("+79030000003", alice.agent, closed=True)
    callback("+79030000004", bob)
    callback("+79030000005", None)

    desk = desk_summary(user=alice)

    assert desk.open_callbacks == [older, newer]
    assert desk.open_callback_count == 2


def test_a_few_open_callbacks_shown_all_counted(alice: User) -> None:
    for n in range(CALLBACKS_SHOWN + 2):
        callback(f"+7903000001{n}", alice.agent)

    desk = desk_summary(user=alice)

    assert len(desk.open_callbacks) == CALLBACKS_SHOWN
    assert desk.open_callback_count == CALLBACKS_SHOWN + 2


def test_todays_figures_as_the_dashboard_counts_them(alice: User) -> None:
    bob = Agent.objects.create(extension="101", name="Bob")
    call("mine", agent=alice.agent)
    call("bob's", agent=bob)
    call("missed", outcome="missed", routed_to=alice.agent)
    call("out", direction="out", outcome="no_answer", agent=alice.agent)
    call("yesterday", agent=alice.agent, ago=timedelta(days=1, hours=1))

    today = desk_summary(user=alice).today

    assert (today.calls, today.answered, today.missed) == (4, 2, 1)
    assert (today.my_calls, today.my_answered) == (3, 1)


def test_no_figures_without_the_dashboards_permission() -> None:
    user = staff("carol", extension="102")
    callback("+79030000001", user.agent)

    desk = desk_summary(user=user)

    assert desk.today is None
    assert desk.open_callback_count == 1


def test_a_manager_with_no_agent_gets_the_figures_only() -> None:
    call("someone's")

    desk = desk_summary(user=staff("manager", "view_call"))

    assert desk.agent is None and desk.live == [] and desk.open_callbacks == []
    assert desk.today.calls == 1 and desk.today.my_calls is None


def test_nothing_for_a_user_with_no_agent_and_no_figures() -> None:
    assert desk_summary(user=staff("clerk", "view_contact")) is None
    assert desk_summary(user=AnonymousUser()) is None
