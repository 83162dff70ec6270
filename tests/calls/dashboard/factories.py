"""Calls and callbacks for the dashboard's tests, at set local times."""
from datetime import date, datetime, timedelta
from itertools import count
from zoneinfo import ZoneInfo

from calls.models import Call, Callback
from contacts.models import Agent

MOSCOW = ZoneInfo("Europe/Moscow")  # the settings' TIME_ZONE: UTC+3 all year
TODAY = date(2025, 5, 21)  # a Wednesday
_ids = count(1)


def at(day: date, clock: str, zone: ZoneInfo = MOSCOW) -> datetime:
    hour, minute = map(int, clock.split(":"))
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=zone)


def call(started_at: datetime, *, direction: str = "in", outcome: str = "answered",
         agent: Agent | None = None, duration: int | None = None, **fields: object) -> Call:
    return Call.objects.create(
        callid=f"c{next(_ids)}", direction=direction, outcome=outcome, agent=agent,
        duration=duration, started_at=started_at, phone=fields.pop("phone", "+79201119613"),
        **fields,
    )


def callback(agent: Agent | None, created_at: datetime, waited: timedelta | None,
             phone: str | None = None) -> Callback:
    missed = call(created_at, outcome="missed")
    return Callback.objects.create(
        phone=phone or f"+7920{next(_ids):07d}", agent=agent, missed_call=missed,
        created_at=created_at, waited=waited,
        closed_at=created_at + waited if waited is not None else None,
    )

