"""The dashboard's figures, aggregated by the database: calls per day, per agent, busiest hours.

Days and hours are those of the active time zone. No call row is loaded into Python: every
figure is a GROUP BY of the database (a handful of queries whatever the period).
"""
import math
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal

from django.db import connection
from django.db.models import (
    Avg,
    Case,
    CharField,
    Count,
    DateField,
    ExpressionWrapper,
    F,
    Func,
    IntegerField,
    Q,
    QuerySet,
    Value,
    When,
    Window,
)
from django.db.models.functions import (
    Cast,
    Coalesce,
    ExtractHour,
    ExtractIsoWeekDay,
    RowNumber,
    TruncDate,
)
from django.utils import timezone
from django.utils.dates import WEEKDAYS_ABBR
from django.utils.timesince import timesince

from calls.models import Agent, Call, Callback

PERIODS = (7, 30, 90, 365)  # days, selectable on the page
DEFAULT_PERIOD = 30
# Incoming calls nobody talked on (the chart's "missed").
MISSED_OUTCOMES = (Call.Outcome.MISSED, Call.Outcome.NO_ANSWER, Call.Outcome.BUSY)
IS_MISSED = Q(direction=Call.Direction.IN, outcome__in=MISSED_OUTCOMES)
IS_ANSWERED = Q(outcome=Call.Outcome.ANSWERED)


def parse_period(value: str | None) -> int:
    """The period in days from a GET parameter; anything unexpected means the default."""
    try:
        days = int(value or "")
    except ValueError:
        return DEFAULT_PERIOD
    return days if days in PERIODS else DEFAULT_PERIOD


@dataclass(frozen=True)
class Period:
    """The last `days` local days, today included: [start, end) in the active time zone."""

    days: int
    first_day: date
    last_day: date
    start: datetime
    end: datetime

    @classmethod
    def ending(cls, *, days: int, today: date | None = None) -> "Period":
        last_day = today or timezone.localdate()
        first_day = last_day - timedelta(days=days - 1)
        return cls(
            days=days,
            first_day=first_day,
            last_day=last_day,
            start=_local_midnight(first_day),
            end=_local_midnight(last_day + timedelta(days=1)),
        )

    def dates(self) -> list[date]:
        return [self.first_day + timedelta(days=n) for n in range(self.days)]


def _local_midnight(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


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


def calls_in(period: Period) -> QuerySet[Call]:
    return Call.objects.filter(started_at__gte=period.start, started_at__lt=period.end).order_by()


LocalPart = Literal["day", "weekday", "hour"]


def local_part(part: LocalPart, period: Period) -> Func:
    """The local date, ISO weekday or hour of `started_at`, in the active time zone.

    PostgreSQL converts time zones natively. Django's SQLite functions convert each row in
    Python (about 8 µs a row: seconds on a year of calls), so on SQLite the UTC offsets the
    zone has during the period are written into the query and SQLite's own date functions
    shift the stored UTC text (its fraction cut off: SQLite would round 23:59:59.9999 up).
    """
    if connection.vendor != "sqlite":
        return {"day": TruncDate, "weekday": ExtractIsoWeekDay, "hour": ExtractHour}[part](
            "started_at"
        )
    utc = Func(F("started_at"), Value(1), Value(19), function="substr",
               output_field=CharField())
    shift = _sqlite_shift(period)
    if part == "day":
        return Func(utc, shift, function="date", output_field=DateField())
    if part == "hour":
        return Cast(Func(Value("%H"), utc, shift, function="strftime",
                         output_field=CharField()), IntegerField())
    sunday_first = Cast(Func(Value("%w"), utc, shift, function="strftime",
                             output_field=CharField()), IntegerField())
    return ExpressionWrapper((sunday_first + 6) % 7 + 1, output_field=IntegerField())


def _sqlite_shift(period: Period) -> Value | Case:
    """SQLite's date modifier ("+10800 seconds") for the zone's offset, one per offset change."""
    changes = offset_changes(period.start, period.end)
    modifier = [Value(f"{offset:+d} seconds") for _, offset in changes]
    if len(changes) == 1:
        return modifier[0]
    whens = [
        When(started_at__lt=changes[n + 1][0], then=modifier[n]) for n in range(len(changes) - 1)
    ]
    return Case(*whens, default=modifier[-1], output_field=CharField())


def offset_changes(start: datetime, end: datetime) -> list[tuple[datetime, int]]:
    """The active zone's UTC offset (seconds) from `start`, and from each change before `end`."""
    zone = timezone.get_current_timezone()

    def offset(moment: datetime) -> int:
        return int(moment.astimezone(zone).utcoffset().total_seconds())

    # Steps in UTC: arithmetic on local times would follow the wall clock.
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    changes = [(start, offset(start))]
    moment = start
    while moment < end:
        step = min(moment + timedelta(hours=6), end)
        if offset(step) != changes[-1][1]:
            # Offsets change on a quarter hour at the finest: find which one.
            quarter = moment
            while offset(quarter) == changes[-1][1]:
                quarter += timedelta(minutes=15)
            changes.append((quarter, offset(quarter)))
        moment = step
    return changes


def daily_figures(period: Period) -> list[DayFigures]:
    """Calls per local day of the period, every day present (zeros included)."""
    rows = (
        calls_in(period)
        .annotate(day=local_part("day", period))
        .values("day")
        .annotate(
            outgoing=Count("id", filter=Q(direction=Call.Direction.OUT)),
            missed=Count("id", filter=IS_MISSED),
            incoming=Count("id", filter=Q(direction=Call.Direction.IN) & ~IS_MISSED),
        )
    )
    found = {
        row["day"]: DayFigures(
            day=row["day"], incoming=row["incoming"], outgoing=row["outgoing"],
            missed=row["missed"],
        )
        for row in rows
    }
    return [found.get(day, DayFigures(day=day)) for day in period.dates()]


def busiest_hours(period: Period) -> list[list[int]]:
    """Calls started per local weekday (Monday first) and hour: a 7 × 24 grid."""
    grid = [[0] * 24 for _ in range(7)]
    rows = (
        calls_in(period)
        .annotate(weekday=local_part("weekday", period), hour=local_part("hour", period))
        .values("weekday", "hour")
        .annotate(calls=Count("id"))
    )
    for row in rows:
        grid[row["weekday"] - 1][row["hour"]] = row["calls"]
    return grid


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


def agent_figures(period: Period) -> list[AgentFigures]:
    """The per-agent table: calls of the period by the agent who talked (or the one the CRM
    routed the call to, when nobody did), callbacks by the agent they are assigned to."""
    calls = (
        calls_in(period)
        .annotate(who=Coalesce("agent_id", "routed_to_id"))
        .values("who")
        .annotate(
            calls=Count("id"),
            answered=Count("id", filter=IS_ANSWERED),
            average_talk=Avg("duration", filter=IS_ANSWERED),
        )
    )
    by_agent = {row["who"]: row for row in calls}
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
    agent: Agent | None, calls: dict | None, median: timedelta | None, open_callbacks: int
) -> AgentFigures:
    calls = calls or {}
    talk = calls.get("average_talk")
    return AgentFigures(
        agent=agent,
        calls=calls.get("calls", 0),
        answered=calls.get("answered", 0),
        average_talk=timedelta(seconds=talk) if talk is not None else None,
        median_callback=median,
        open_callbacks=open_callbacks,
    )


def _agent_order(row: AgentFigures) -> tuple:
    """Busiest first; the calls of no agent last."""
    return (row.agent is None, -row.calls, row.agent.extension if row.agent else "")


def dashboard(*, days: int = DEFAULT_PERIOD, today: date | None = None) -> Dashboard:
    """All of the dashboard's figures for the last `days` days (today included)."""
    period = Period.ending(days=days, today=today)
    return Dashboard(
        period=period,
        days=daily_figures(period),
        agents=agent_figures(period),
        hours=busiest_hours(period),
    )


# --- chart geometry: SVG coordinates the template draws as they are -------------------------


@dataclass(frozen=True)
class Bar:
    """One day's stacked bar; y grows downwards as in SVG."""

    figures: DayFigures
    x: float
    width: float
    segments: list[tuple[str, float, float]]  # (kind, y, height), bottom segment first
    label: bool  # whether the day gets a label under the axis


@dataclass(frozen=True)
class Tick:
    value: int
    y: float


@dataclass(frozen=True)
class DailyChart:
    width: int
    height: int
    left: int
    top: int
    bottom: int  # y of the x axis
    right: int
    bars: list[Bar]
    ticks: list[Tick]


STACK = ("incoming", "outgoing", "missed")  # bottom to top


def nice_ceiling(value: int) -> int:
    """The smallest 1, 2 or 5 times a power of ten at least `value` (at least 1)."""
    if value <= 1:
        return 1
    power = 10 ** math.floor(math.log10(value))
    return next(step * power for step in (1, 2, 5, 10) if step * power >= value)


def daily_chart(
    days: list[DayFigures], *, width: int = 900, height: int = 260, labels: int = 10
) -> DailyChart:
    """Stacked bars (incoming, outgoing, missed) of each day, with y ticks and a few labels."""
    left, right, top, bottom = 48, width - 8, 12, height - 28
    top_value = nice_ceiling(max((day.total for day in days), default=0))
    scale = (bottom - top) / top_value
    slot = (right - left) / max(len(days), 1)
    every = max(1, math.ceil(len(days) / labels))
    bars = []
    for index, day in enumerate(days):
        y = float(bottom)
        segments = []
        for kind in STACK:
            size = getattr(day, kind) * scale
            if size:
                y -= size
                segments.append((kind, round(y, 2), round(size, 2)))
        bars.append(Bar(
            figures=day,
            x=round(left + index * slot + slot * 0.1, 2),
            width=round(max(slot * 0.8, 0.5), 2),
            segments=segments,
            label=(len(days) - 1 - index) % every == 0,
        ))
    ticks = [
        Tick(value=value, y=round(bottom - value * scale, 2))
        for value in sorted({0, top_value // 2, top_value})
    ]
    return DailyChart(
        width=width, height=height, left=left, top=top, bottom=bottom, right=right,
        bars=bars, ticks=ticks,
    )


@dataclass(frozen=True)
class HeatCell:
    hour: int
    x: int
    calls: int
    level: int  # 0 (none) to 5 (the busiest)


@dataclass(frozen=True)
class HeatRow:
    label: str  # the weekday's short name, in the active language
    y: int
    cells: list[HeatCell]


@dataclass(frozen=True)
class HeatMap:
    width: int
    height: int
    left: int
    top: int
    cell_width: int
    cell_height: int
    rows: list[HeatRow]
    hours: list[tuple[int, int]]  # (hour, x of its label)


def heat_map(
    hours: list[list[int]], *, levels: int = 5, cell_width: int = 34, cell_height: int = 24
) -> HeatMap:
    """The weekday × hour grid with each cell's shade, relative to the busiest hour."""
    left, top = 40, 18
    busiest = max((calls for row in hours for calls in row), default=0)
    rows = [
        HeatRow(
            label=WEEKDAYS_ABBR[weekday],
            y=top + weekday * cell_height,
            cells=[
                HeatCell(
                    hour=hour, x=left + hour * cell_width, calls=calls,
                    level=math.ceil(levels * calls / busiest) if calls else 0,
                )
                for hour, calls in enumerate(row)
            ],
        )
        for weekday, row in enumerate(hours)
    ]
    return HeatMap(
        width=left + 24 * cell_width + 2, height=top + 7 * cell_height + 2, left=left, top=top,
        cell_width=cell_width, cell_height=cell_height, rows=rows,
        hours=[(hour, left + hour * cell_width + cell_width // 2) for hour in range(24)],
    )
