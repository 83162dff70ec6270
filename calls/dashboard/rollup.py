"""The rollup of past days under the dashboard's figures.

The first view that needs a past day counts its calls once per (day, agent) and (day, hour)
into `CallDayStat` and `CallHourStat`, under a `CallStatDay` marker of the active zone; later
views add up those few rows, and today's calls live. A call that changes afterwards drops the
marker of its day (`forget_days_of`, from `rebuild_call`), so the next view counts that day
again.
"""
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db import IntegrityError, connection, transaction
from django.db.models import Count, F, Q, QuerySet, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from calls.callbacks.services import MISSED
from calls.dashboard.periods import Period, calls_in, local_midnight, local_part
from calls.models import Call, CallDayStat, CallHourStat, CallStatDay

IS_ANSWERED = Q(outcome=Call.Outcome.ANSWERED)
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
            CallStatDay(time_zone=zone, day=day, start=local_midnight(day),
                        end=local_midnight(day + timedelta(days=1)), computed_at=now)
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

