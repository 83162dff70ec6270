"""The desk the admin's front page opens with: the agent's live calls and open callbacks, and
today's figures from the dashboard."""
from dataclasses import dataclass

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser

from calls.dashboard.figures import daily_figures
from calls.dashboard.periods import Period
from calls.dashboard.totals import call_totals
from calls.desk.services import LiveCall, live_calls
from calls.models import Callback
from contacts.models import Agent

FIGURES_PERMISSION = "calls.view_call"  # the dashboard's
CALLBACKS_SHOWN = 5  # the oldest open ones; the callbacks list has them all


@dataclass(frozen=True)
class TodayFigures:
    """Today's calls as the dashboard counts them, and the agent's share when there is one."""

    calls: int
    answered: int
    missed: int
    my_calls: int | None = None  # the agent's: who talked, else who the call was routed to
    my_answered: int | None = None


@dataclass(frozen=True)
class DeskSummary:
    """The front page's desk; parts the user has no business with are empty or None."""

    agent: Agent | None
    live: list[LiveCall]
    open_callbacks: list[Callback]  # the oldest CALLBACKS_SHOWN
    open_callback_count: int
    today: TodayFigures | None  # None: the user may not see call figures


def users_agent(user: AbstractBaseUser | AnonymousUser) -> Agent | None:
    """The agent the user is linked to, if any."""
    try:
        return user.agent
    except (Agent.DoesNotExist, AttributeError):
        return None


def today_figures(*, agent: Agent | None = None) -> TodayFigures:
    """Today's calls, answered and missed (the dashboard's sums), and the agent's own."""
    period = Period.ending(days=1)
    totals = call_totals(period)
    (day,) = daily_figures(period, totals)
    answered = sum(sums[1] for sums in totals.by_agent.values())
    mine = totals.by_agent.get(agent.pk, [0, 0, 0, 0]) if agent is not None else None
    return TodayFigures(
        calls=day.total, answered=answered, missed=day.missed,
        my_calls=mine[0] if mine else None, my_answered=mine[1] if mine else None,
    )


def desk_summary(*, user: AbstractBaseUser | AnonymousUser) -> DeskSummary | None:
    """What the front page's desk shows the user, or None when there is nothing for them:
    neither linked to an agent nor allowed to see the calls."""
    agent = users_agent(user)
    may_see_figures = user.has_perm(FIGURES_PERMISSION)
    if agent is None and not may_see_figures:
        return None
    live: list[LiveCall] = []
    callbacks: list[Callback] = []
    count = 0
    if agent is not None:
        live = live_calls(agent=agent)
        open_callbacks = Callback.objects.filter(agent=agent, closed_at=None)
        callbacks = list(
            open_callbacks.select_related("contact", "missed_call")
            .order_by("created_at", "id")[:CALLBACKS_SHOWN]
        )
        count = len(callbacks)
        if count == CALLBACKS_SHOWN:
            count = open_callbacks.count()
    return DeskSummary(
        agent=agent,
        live=live,
        open_callbacks=callbacks,
        open_callback_count=count,
        today=today_figures(agent=agent) if may_see_figures else None,
    )
