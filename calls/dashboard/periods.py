"""The dashboard's periods: whole local days of the active time zone, and the SQL that reads
a call's local day, weekday and hour (natively on PostgreSQL, by known UTC offsets on SQLite).
"""
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal

from django.db import connection
from django.db.models import (
    Case,
    CharField,
    DateField,
    ExpressionWrapper,
    F,
    Func,
    IntegerField,
    QuerySet,
    Value,
    When,
)
from django.db.models.functions import Cast, ExtractHour, ExtractIsoWeekDay, TruncDate
from django.utils import timezone

from calls.models import Call

PERIODS = (7, 30, 90, 365)  # days, selectable on the page
DEFAULT_PERIOD = 30


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
            start=local_midnight(first_day),
            end=local_midnight(last_day + timedelta(days=1)),
        )

    def dates(self) -> list[date]:
        return [self.first_day + timedelta(days=n) for n in range(self.days)]


def local_midnight(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))



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
