"""The dashboard's figures, aggregated by the database: calls per day, per agent, busiest hours.

Days and hours are those of the active time zone. No call row is loaded into Python: every
figure is a GROUP BY of the database (a handful of queries whatever the period).

Past days are rolled up: the first view that needs a past day counts its calls once per
(day, agent) and (day, hour) into `CallDayStat` and `CallHourStat`, under a `CallStatDay`
marker of the active zone; later views add up those few rows, and today's calls live. A call
that changes afterwards drops the marker of its day (`forget_days_of`, from `rebuild_call`),
so the next view counts that day again.
"""
import math
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal

from django.db import IntegrityError, connection, transaction
from django.db.models import (
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
    Sum,
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

from calls.callbacks.services import MISSED
from calls.models import Agent, Call, Callback, CallDayStat, CallHourStat, CallStatDay

PERIODS = (7, 30, 90, 365)  # days, selectable on the page
DEFAULT_PERIOD = 30
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


IS_INCOMING = Q(direction=Call.Direction.IN) & ~MISSED  # answered or not, missed excepted
IS_OUTGOING = Q(direction=Call.Direction.OUT)
ROLLUP_BATCH_DAYS = 31  # past days counted per query and per transaction
ROLLUP_ATTEMPTS = 3  # rounds of rolling up when concurrent views roll up the same days


@dataclass
class CallTotals:
    """Calls of a period added up per day, per agent and per weekday and hour."""

    by_day: dict[date, list[int]]  # incoming, outgoing, missed
    by_agent: dict[int | None, list[int]]  # calls, answered, talked, talk seconds
    hours: list[list[int]]  # [ISO weekday - 1][hour]

    @classmethod
    def empty(cls) -> "CallTotals":
        return cls(by_day=defaultdict(lambda: [0, 0, 0]),
                   by_agent=defaultdict(lambda: [0, 0, 0, 0]),
                   hours=[[0] * 24 for _ in range(7)])

    def add_day(self, day: date, incoming: int, outgoing: int, missed: int) -> None:
        totals = self.by_day[day]
        totals[0] += incoming
        totals[1] += outgoing
        totals[2] += missed

    def add_agent(self, who: int | None, calls: int, answered: int, talked: int,
                  talk_seconds: int | None) -> None:
        totals = self.by_agent[who]
        totals[0] += calls
        totals[1] += answered
        totals[2] += talked
        totals[3] += talk_seconds or 0

    def add_hour(self, day: date, hour: int, calls: int) -> None:
        self.hours[day.isoweekday() - 1][hour] += calls


def call_totals(period: Period) -> CallTotals:
    """The period's calls added up: past days from the rollup (made if missing), today live."""
    totals = CallTotals.empty()
    today = timezone.localdate()
    if period.first_day < today:
        last = min(period.last_day, today - timedelta(days=1))
        _add_rolled_up(totals, _span(period.first_day, last))
    if period.last_day >= today:
        _add_live(totals, _span(max(period.first_day, today), period.last_day))
    return totals


def _span(first_day: date, last_day: date) -> Period:
    return Period.ending(days=(last_day - first_day).days + 1, today=last_day)


def _counted(period: Period, calls: QuerySet[Call]) -> QuerySet:
    """Per local day and hour and the credited agent (who talked, else routed to): the sums."""
    return (
        calls.annotate(
            day=local_part("day", period), hour=local_part("hour", period),
            who=Coalesce("agent_id", "routed_to_id"),
        )
        .values("day", "hour", "who")
        .annotate(
            calls=Count("id"),
            incoming=Count("id", filter=IS_INCOMING),
            outgoing=Count("id", filter=IS_OUTGOING),
            missed=Count("id", filter=MISSED),
            answered=Count("id", filter=IS_ANSWERED),
            talked=Count("duration", filter=IS_ANSWERED),
            talk_seconds=Sum("duration", filter=IS_ANSWERED),
        )
    )


def _add_live(totals: CallTotals, period: Period) -> None:
    for row in _counted(period, calls_in(period)):
        totals.add_day(row["day"], row["incoming"], row["outgoing"], row["missed"])
        totals.add_agent(row["who"], row["calls"], row["answered"], row["talked"],
                         row["talk_seconds"])
        totals.add_hour(row["day"], row["hour"], row["calls"])


def _add_rolled_up(totals: CallTotals, period: Period) -> None:
    """Add the rollup's sums for the past days of `period`, rolling up the days it lacks.

    The days' markers are read last, with the sums per day: a day forgotten meanwhile is
    missing, so rolled up again and read again, never counted as empty.
    """
    zone = timezone.get_current_timezone_name()
    for _ in range(ROLLUP_ATTEMPTS):
        by_agent, by_hour, by_day = _rolled_up(zone, period)
        missing = sorted(set(period.dates()) - {row["day"] for row in by_day})
        if not missing:
            break
        _roll_up(zone, missing)
    else:
        by_agent, by_hour, by_day = _rolled_up(zone, period)
    for row in by_day:
        totals.add_day(row["day"], row["incoming"] or 0, row["outgoing"] or 0,
                       row["missed"] or 0)
    for row in by_agent:
        totals.add_agent(row["agent_id"], row["calls"], row["answered"], row["talked"],
                         row["talk_seconds"])
    for row in by_hour:
        totals.add_hour(row["day"], row["hour"], row["calls"])


def _rolled_up(zone: str, period: Period) -> tuple[list[dict], list[dict], list[dict]]:
    """Sums per agent, per day and hour, and per rolled-up day (every one, zeros included)."""
    of_days = {"stat_day__time_zone": zone, "stat_day__day__gte": period.first_day,
               "stat_day__day__lte": period.last_day}
    by_agent = (
        CallDayStat.objects.filter(**of_days).order_by().values("agent_id").annotate(
            calls=Sum("calls"), answered=Sum("answered"), talked=Sum("talked"),
            talk_seconds=Sum("talk_seconds"),
        )
    )
    by_hour = (
        CallHourStat.objects.filter(**of_days).order_by()
        .values("hour", day=F("stat_day__day")).annotate(calls=Sum("calls"))
    )
    by_day = (
        CallStatDay.objects.filter(
            time_zone=zone, day__gte=period.first_day, day__lte=period.last_day
        )
        .order_by().values("day").annotate(
            incoming=Sum("agent_stats__incoming"), outgoing=Sum("agent_stats__outgoing"),
            missed=Sum("agent_stats__missed"),
        )
    )
    return list(by_agent), list(by_hour), list(by_day)


def _roll_up(zone: str, days: list[date]) -> None:
    """Count the calls of these past days into the rollup, a batch of days per transaction.

    While a batch is counted no call may change, so a late event either lands before the
    count or finds the marker and forgets the day: PostgreSQL is asked for a SHARE lock on the
    calls (readers pass, writers wait), SQLite's IMMEDIATE transactions already take the
    database's write lock. A batch another view rolled up first fails on the markers' unique
    constraint and is left to it.
    """
    for index in range(0, len(days), ROLLUP_BATCH_DAYS):
        batch = days[index:index + ROLLUP_BATCH_DAYS]
        try:
            with transaction.atomic():
                _roll_up_batch(zone, batch)
        except IntegrityError:
            continue


def _roll_up_batch(zone: str, days: list[date]) -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"LOCK TABLE {connection.ops.quote_name(Call._meta.db_table)} "
                           "IN SHARE MODE")
    now = timezone.now()
    markers = {
        marker.day: marker
        for marker in CallStatDay.objects.bulk_create(
            CallStatDay(time_zone=zone, day=day, start=_local_midnight(day),
                        end=_local_midnight(day + timedelta(days=1)), computed_at=now)
            for day in days
        )
    }
    runs = Q()  # the batch's days as ranges of consecutive days, for the started_at index
    first = days[0]
    for day, after in zip(days, [*days[1:], None], strict=True):
        if after != day + timedelta(days=1):
            runs |= Q(started_at__gte=markers[first].start, started_at__lt=markers[day].end)
            first = after
    by_agent: dict[tuple[date, int | None], CallDayStat] = {}
    by_hour: dict[tuple[date, int], CallHourStat] = {}
    for row in _counted(_span(days[0], days[-1]), Call.objects.filter(runs).order_by()):
        day = row["day"]
        if day not in markers:  # a day between two batched ones: not for this batch
            continue
        stat = by_agent.setdefault(
            (day, row["who"]), CallDayStat(stat_day=markers[day], agent_id=row["who"])
        )
        stat.calls += row["calls"]
        stat.incoming += row["incoming"]
        stat.outgoing += row["outgoing"]
        stat.missed += row["missed"]
        stat.answered += row["answered"]
        stat.talked += row["talked"]
        stat.talk_seconds += row["talk_seconds"] or 0
        hour = by_hour.setdefault(
            (day, row["hour"]), CallHourStat(stat_day=markers[day], hour=row["hour"])
        )
        hour.calls += row["calls"]
    CallDayStat.objects.bulk_create(by_agent.values(), batch_size=2000)
    CallHourStat.objects.bulk_create(by_hour.values(), batch_size=2000)


def forget_days_of(*moments: datetime | None) -> None:
    """Forget the rolled-up days (of any time zone) holding these moments: a call that started
    then has changed. One query that finds nothing unless the day was rolled up already."""
    days = Q()
    for moment in moments:
        if moment is not None:
            days |= Q(start__lte=moment, end__gt=moment)
    if days:
        CallStatDay.objects.filter(days).delete()


def forget_rollup() -> None:
    """Forget every rolled-up day (the next views roll them up again)."""
    CallStatDay.objects.all().delete()


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
