"""The dashboard's figures, aggregated by the database: calls per day, per agent, busiest hours.

Days and hours are those of the active time zone. No call row is loaded into Python: every
figure is a GROUP BY of the database (a handful of queries whatever the period), over the
rollup of past days and today's calls (calls/dashboard/totals.py).
"""
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db.models import Count, F, Q, Window
from django.db.models.functions import RowNumber
from django.utils.timesince import timesince

from calls.dashboard.periods import DEFAULT_PERIOD, Period
from calls.dashboard.totals import CallTotals, call_totals
from calls.models import Callback
from contacts.models import Agent


@dataclass(frozen=True)
class DayFigures:
    """Calls started on one local day; "incoming" excludes the missed ones, so parts add up."""

    day: date
    incoming: int = 0
    outgoing: int = 0
    missed: int = 0

    @property
    def total(self) -> int:
        return self.incoming + self.outgoing + self.missed


@dataclass(frozen=True)
class AgentFigures:
    """One row of the per-agent table; `agent` None gathers the calls of no agent."""

    agent: Agent | None
    calls: int = 0
    answered: int = 0
    average_talk: timedelta | None = None
    median_callback: timedelta | None = None
    open_callbacks: int = 0

    @property
    def answered_rate(self) -> float | None:
        """Answered calls in percent of the agent's calls."""
        return 100 * self.answered / self.calls if self.calls else None

    @property
    def average_talk_display(self) -> str:
        """Average talk time as m:ss (h:mm:ss past an hour)."""
        return clock(self.average_talk)

    @property
    def median_callback_display(self) -> str:
        """The median wait for a callback in the active language ("1 hour, 5 minutes")."""
        return human_duration(self.median_callback)


def clock(value: timedelta | None) -> str:
    if value is None:
        return "—"
    seconds = round(value.total_seconds())
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"


def human_duration(value: timedelta | None) -> str:
    if value is None:
        return "—"
    if value < timedelta(minutes=1):
        return clock(value)
    origin = datetime(2000, 1, 1)
    return timesince(origin, origin + value, depth=2)


@dataclass(frozen=True)
class Dashboard:
    """Everything the dashboard page shows for one period."""

    period: Period
    days: list[DayFigures]
    agents: list[AgentFigures]
    hours: list[list[int]]  # [ISO weekday - 1][hour]: calls started

    @property
    def incoming(self) -> int:
        return sum(day.incoming for day in self.days)

    @property
    def outgoing(self) -> int:
        return sum(day.outgoing for day in self.days)

    @property
    def missed(self) -> int:
        return sum(day.missed for day in self.days)

    @property
    def total(self) -> int:
        return sum(day.total for day in self.days)


def daily_figures(period: Period, totals: CallTotals | None = None) -> list[DayFigures]:
    """Calls per local day of the period, every day present (zeros included)."""
    totals = totals or call_totals(period)
    return [
        DayFigures(day, *totals.by_day[day]) if day in totals.by_day else DayFigures(day=day)
        for day in period.dates()
    ]


def busiest_hours(period: Period, totals: CallTotals | None = None) -> list[list[int]]:
    """Calls started per local weekday (Monday first) and hour: a 7 × 24 grid."""
    return (totals or call_totals(period)).hours


def median_callback_waits(period: Period) -> dict[int | None, timedelta]:
    """Per agent, the median wait of the callbacks of the period that were closed.

    Portable and bounded: window functions rank each agent's waits in SQL (SQLite and
    PostgreSQL alike) and only the one or two middle values per agent come back.
    """
    by_agent = [F("agent_id")]
    middle = (
        Callback.objects.filter(
            created_at__gte=period.start, created_at__lt=period.end, waited__isnull=False
        )
        .order_by()
        .annotate(
            position=Window(RowNumber(), partition_by=by_agent,
                            order_by=[F("waited").asc(), F("id").asc()]),
            size=Window(Count("id"), partition_by=by_agent),
        )
        .filter(position__gte=(F("size") + 1) / 2, position__lte=F("size") / 2 + 1)
        .values_list("agent_id", "waited")
    )
    values: dict[int | None, list[timedelta]] = defaultdict(list)
    for agent_id, waited in middle:
        values[agent_id].append(waited)
    return {agent_id: sum(waits, timedelta()) / len(waits) for agent_id, waits in values.items()}


def agent_figures(period: Period, totals: CallTotals | None = None) -> list[AgentFigures]:
    """The per-agent table: calls of the period by the agent who talked (or the one the CRM
    routed the call to, when nobody did), callbacks by the agent they are assigned to."""
    totals = totals or call_totals(period)
    by_agent = {who: sums for who, sums in totals.by_agent.items() if sums[0]}
    medians = median_callback_waits(period)
    open_callbacks = dict(
        Callback.objects.filter(closed_at=None).order_by().values("agent_id")
        .annotate(count=Count("id")).values_list("agent_id", "count")
    )
    shown = set(by_agent) | set(medians) | set(open_callbacks)
    agents = {
        agent.pk: agent
        for agent in Agent.objects.filter(Q(pk__in=shown - {None}) | Q(is_active=True))
    }
    rows = [
        _agent_row(agents.get(pk), by_agent.get(pk), medians.get(pk), open_callbacks.get(pk, 0))
        for pk in [*agents, *([None] if None in shown else [])]
    ]
    return sorted(rows, key=_agent_order)


def _agent_row(
    agent: Agent | None, sums: list[int] | None, median: timedelta | None, open_callbacks: int
) -> AgentFigures:
    calls, answered, talked, talk_seconds = sums or (0, 0, 0, 0)
    return AgentFigures(
        agent=agent,
        calls=calls,
        answered=answered,
        average_talk=timedelta(seconds=talk_seconds / talked) if talked else None,
        median_callback=median,
        open_callbacks=open_callbacks,
    )


def _agent_order(row: AgentFigures) -> tuple:
    """Busiest first; the calls of no agent last."""
    return (row.agent is None, -row.calls, row.agent.extension if row.agent else "")


def dashboard(*, days: int = DEFAULT_PERIOD, today: date | None = None) -> Dashboard:
    """All of the dashboard's figures for the last `days` days (today included)."""
    period = Period.ending(days=days, today=today)
    totals = call_totals(period)
    return Dashboard(
        period=period,
        days=daily_figures(period, totals),
        agents=agent_figures(period, totals),
        hours=busiest_hours(period, totals),
    )
