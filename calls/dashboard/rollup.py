"""The rollup of past days under the dashboard's figures, kept by `manage.py rollup_calls`.

Each closed local day (in the settings' TIME_ZONE) of the last year has a `CallStatDay` and,
once counted, its calls summed per agent (`CallDayStat`) and per hour (`CallHourStat`). The
command, run from cron, counts the days not counted yet and the stale ones, a few days per
transaction; views read those rows (calls/dashboard/totals.py) and count live only today and
a day the command has not reached. A call that changes afterwards marks its past days stale
(`forget_days_of`, one UPDATE on the event's path; none for a call of today).

Why a late change is never lost, while events keep coming during a count:
- a day is counted in one transaction that first locks its `CallStatDay` row: an event that
  marks it stale meanwhile waits for the count to commit, then marks it stale again; one that
  marked it before has committed its call before the count reads the calls;
- a new day's row is made stale first, in a transaction that waits for the transactions
  writing calls at that moment (PostgreSQL: SHARE lock on the calls' table, held for the
  moment of the insert): every later event finds the row. SQLite's IMMEDIATE transactions
  already keep any writer out of a transaction that writes.
Two runs at once do not count a day twice: the second skips the days the first has locked
(PostgreSQL) or waits for it (SQLite) and finds them counted.
"""
import logging
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db import OperationalError, connection, transaction
from django.db.models import Q
from django.utils import timezone

from calls.dashboard.periods import PERIODS, local_midnight
from calls.dashboard.totals import counted, rollup_zone
from calls.models import Call, CallDayStat, CallHourStat, CallStatDay

logger = logging.getLogger(__name__)

BATCH_DAYS = 7  # days counted per transaction (SQLite's writers wait for one)
# A day is counted this long after it closed: an event decided on another machine's clock
# just before midnight ("today: nothing to forget") has committed by then.
SETTLE = timedelta(minutes=5)
LOCK_TIMEOUT = "5s"  # PostgreSQL: how long new days wait for the call writers of the moment


@dataclass(frozen=True)
class Rolled:
    """What one run of the rollup did."""

    added: int  # days that had no row
    counted: int  # days counted (new or stale)
    left: int  # stale days left to the next run (another run or an event held them)


def roll_up(*, batch_days: int = BATCH_DAYS, settle: timedelta = SETTLE) -> Rolled:
    """Count every day of the last year closed `settle` ago not counted yet, and every stale
    one."""
    with timezone.override(timezone.get_default_timezone()):
        now = timezone.now()
        last = timezone.localdate(now - settle) - timedelta(days=1)
        first = timezone.localdate(now) - timedelta(days=max(PERIODS) - 1)
        zone = rollup_zone()
        # Another zone's days (TIME_ZONE changed) and days too old to show are of no use.
        CallStatDay.objects.filter(~Q(time_zone=zone) | Q(day__lt=first)).delete()
        added = _add_days(zone, first, last)
        stale = list(
            CallStatDay.objects.filter(time_zone=zone, day__gte=first, day__lte=last, stale=True)
            .order_by("day").values_list("day", flat=True)
        )
        done = 0
        for index in range(0, len(stale), batch_days):
            try:
                with transaction.atomic():
                    done += _count_days(zone, stale[index:index + batch_days])
            except OperationalError as error:  # a deadlock with an agent's deletion, say
                logger.warning("rollup: days left stale for the next run: %s", error)
    return Rolled(added=added, counted=done, left=len(stale) - done)


def _add_days(zone: str, first: date, last: date) -> int:
    """Make the missing days' rows, stale (to count), once the calls' writers of the moment
    have committed; how many were made."""
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    have = set(
        CallStatDay.objects.filter(time_zone=zone, day__gte=first, day__lte=last)
        .values_list("day", flat=True)
    )
    missing = [day for day in days if day not in have]
    if not missing:
        return 0
    now = timezone.now()
    try:
        with transaction.atomic():
            made = CallStatDay.objects.bulk_create(
                [CallStatDay(time_zone=zone, day=day, start=local_midnight(day),
                             end=local_midnight(day + timedelta(days=1)), computed_at=now,
                             stale=True)
                 for day in missing],
                ignore_conflicts=True,
            )
            _wait_for_call_writers()
    except OperationalError:
        logger.warning("rollup: the calls' writers held their lock over %s; days left for "
                       "the next run", LOCK_TIMEOUT)
        return 0
    return len(made)


def _wait_for_call_writers() -> None:
    """PostgreSQL: wait until every transaction writing calls now has ended (a SHARE lock
    lets readers pass and waits for writers; it is held until the commit, a moment later)."""
    if connection.vendor != "postgresql":
        return
    table = connection.ops.quote_name(Call._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
        cursor.execute(f"LOCK TABLE {table} IN SHARE MODE")


def _count_days(zone: str, days: list[date]) -> int:
    """Count the calls of these stale days into their rows; how many days were counted."""
    markers = {
        marker.day: marker
        for marker in CallStatDay.objects.select_for_update(skip_locked=True)
        .filter(time_zone=zone, day__in=days, stale=True).order_by("day")
    }
    if not markers:
        return 0
    days = sorted(markers)
    by_agent: dict[tuple[date, int | None], CallDayStat] = {}
    by_hour: dict[tuple[date, int], CallHourStat] = {}
    for row in counted(days):
        marker = markers[row["day"]]
        stat = by_agent.setdefault(
            (marker.day, row["who"]), CallDayStat(stat_day=marker, agent_id=row["who"])
        )
        stat.calls += row["calls"]
        stat.incoming += row["incoming"]
        stat.outgoing += row["outgoing"]
        stat.missed += row["missed"]
        stat.answered += row["answered"]
        stat.talked += row["talked"]
        stat.talk_seconds += row["talk_seconds"] or 0
        hour = by_hour.setdefault(
            (marker.day, row["hour"]), CallHourStat(stat_day=marker, hour=row["hour"])
        )
        hour.calls += row["calls"]
    ids = [marker.pk for marker in markers.values()]
    CallDayStat.objects.filter(stat_day_id__in=ids).delete()
    CallHourStat.objects.filter(stat_day_id__in=ids).delete()
    CallDayStat.objects.bulk_create(by_agent.values(), batch_size=2000)
    CallHourStat.objects.bulk_create(by_hour.values(), batch_size=2000)
    CallStatDay.objects.filter(pk__in=ids).update(stale=False, computed_at=timezone.now())
    return len(markers)


def forget_days_of(before: datetime | None, after: datetime | None) -> None:
    """Mark stale the rolled-up days holding these moments (a call that started then has
    changed): one UPDATE, or no query at all when both are today or later (counted live).

    Call it after writing the call, in the same transaction (see the module's docstring).
    """
    zone = timezone.get_default_timezone()
    today = timezone.make_aware(
        datetime.combine(timezone.localdate(timezone=zone), time.min), zone
    )
    days = Q()
    for moment in {before, after}:
        if moment is not None and moment < today:
            days |= Q(start__lte=moment, end__gt=moment)
    if days:
        CallStatDay.objects.filter(days).update(stale=True)


def forget_rollup() -> None:
    """Forget every rolled-up day (the next `roll_up` counts them again)."""
    CallStatDay.objects.all().delete()
