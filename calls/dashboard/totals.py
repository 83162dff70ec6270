"""The calls of a period added up for the dashboard: past days from the rollup, the rest live.

Past local days are read from the rows `manage.py rollup_calls` writes (calls/dashboard/
rollup.py): a few rows per day whatever the number of calls. Today, and a past day that is not
rolled up or is stale (the command has not run since it closed or since a late event changed
it), are counted from the calls themselves, in one query.
"""
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta

from django.db.models import Count, Q, QuerySet, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from calls.callbacks.services import MISSED
from calls.dashboard.periods import Period, local_midnight, local_part
from calls.models import Call, CallDayStat, CallHourStat, CallStatDay

IS_ANSWERED = Q(outcome=Call.Outcome.ANSWERED)
IS_INCOMING = Q(direction=Call.Direction.IN) & ~MISSED  # answered or not, missed excepted
IS_OUTGOING = Q(direction=Call.Direction.OUT)


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


def rollup_zone() -> str:
    """The time zone the rollup is kept in: the settings' TIME_ZONE, the one events run in."""
    return timezone.get_default_timezone_name()


def call_totals(period: Period) -> CallTotals:
    """The period's calls added up: rolled-up past days from the rollup, other days live."""
    totals = CallTotals.empty()
    rolled_up = _add_rolled_up(totals, period)
    _add_live(totals, [day for day in period.dates() if day not in rolled_up])
    return totals


def span(first_day: date, last_day: date) -> Period:
    return Period.ending(days=(last_day - first_day).days + 1, today=last_day)


def in_days(days: list[date]) -> Q:
    """Calls started on these local days: one range of `started_at` per run of days."""
    ranges = Q()
    first = days[0]
    for day, after in zip(days, [*days[1:], None], strict=True):
        if after != day + timedelta(days=1):
            ranges |= Q(started_at__gte=local_midnight(first),
                        started_at__lt=local_midnight(day + timedelta(days=1)))
            first = after
    return ranges


def counted(days: list[date]) -> QuerySet:
    """The calls of these local days per day, hour and credited agent (who talked, else routed
    to): the sums, one row per group."""
    return (
        Call.objects.filter(in_days(days)).order_by()
        .annotate(
            day=local_part("day", span(days[0], days[-1])),
            hour=local_part("hour", span(days[0], days[-1])),
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


def _add_live(totals: CallTotals, days: list[date]) -> None:
    if not days:
        return
    for row in counted(days):
        totals.add_day(row["day"], row["incoming"], row["outgoing"], row["missed"])
        totals.add_agent(row["who"], row["calls"], row["answered"], row["talked"],
                         row["talk_seconds"])
        totals.add_hour(row["day"], row["hour"], row["calls"])


def _add_rolled_up(totals: CallTotals, period: Period) -> set[date]:
    """Add the rollup's sums of the period's rolled-up days that are not stale; those days.

    The days are read first and their rows by their ids, so a day that turns stale meanwhile
    is read from its rows, as it was a moment before, and not counted live as well.
    """
    if timezone.get_current_timezone_name() != rollup_zone():
        return set()  # another zone's days have other bounds: counted live
    days = dict(
        CallStatDay.objects.filter(
            time_zone=rollup_zone(), day__gte=period.first_day,
            day__lt=min(period.last_day + timedelta(days=1), timezone.localdate()),
            stale=False,
        ).values_list("id", "day")
    )
    if not days:
        return set()
    rows = CallDayStat.objects.filter(stat_day_id__in=days).order_by()
    by_day = rows.values("stat_day_id").annotate(
        incoming=Sum("incoming"), outgoing=Sum("outgoing"), missed=Sum("missed")
    )
    for row in by_day:
        totals.add_day(days[row["stat_day_id"]], row["incoming"], row["outgoing"],
                       row["missed"])
    by_agent = rows.values("agent_id").annotate(
        calls=Sum("calls"), answered=Sum("answered"), talked=Sum("talked"),
        talk_seconds=Sum("talk_seconds"),
    )
    for row in by_agent:
        totals.add_agent(row["agent_id"], row["calls"], row["answered"], row["talked"],
                         row["talk_seconds"])
    hours = CallHourStat.objects.filter(stat_day_id__in=days).values_list(
        "stat_day_id", "hour", "calls"
    )
    for stat_day_id, hour, calls in hours:
        totals.add_hour(days[stat_day_id], hour, calls)
    return set(days.values())
