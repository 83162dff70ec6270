"""The rollup's tests' yardstick: calls seeded over past days, and the dashboard's figures
counted call by call in Python, as the dashboard defines them."""
import random
from collections import defaultdict
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.utils import timezone

from calls.assembly import record_event
from calls.dashboard import figures
from calls.dashboard.periods import Period
from calls.models import Call
from calls.pbx import protocol
from contacts.models import Agent

UTC = ZoneInfo("UTC")


def local(day: date, hour: int, minute: int = 0) -> datetime:
    """A moment of a local day in the active zone."""
    return timezone.make_aware(datetime.combine(day, time(hour, minute)))


def ago(days: int) -> date:
    return timezone.localdate() - timedelta(days=days)


def seed_calls(agents: list[Agent], *, days: int = 12, count: int = 400) -> None:
    """Calls of every kind over the last `days` days, today included, some of nobody's."""
    rng = random.Random(7)
    for n in range(count):
        started = local(ago(rng.randrange(days)), rng.randrange(24), rng.randrange(60))
        if started > timezone.now():
            started -= timedelta(days=1)
        outcome = rng.choice(["answered", "answered", "missed", "no_answer", "busy", "failed"])
        Call.objects.create(
            callid=f"r{n}", phone="+79201119613", started_at=started, outcome=outcome,
            direction=rng.choice(["in", "in", "out", ""]),
            agent=rng.choice([*agents, None]), routed_to=rng.choice([*agents, None]),
            duration=rng.choice([None, rng.randint(1, 900)]) if outcome == "answered" else None,
        )


def counted(days: int) -> tuple[list[figures.DayFigures], dict, list[list[int]]]:
    """The figures of the last `days` days counted call by call."""
    period = Period.ending(days=days)
    zone = timezone.get_current_timezone()
    per_day: dict[date, list[int]] = defaultdict(lambda: [0, 0, 0])
    per_agent: dict[int | None, list] = defaultdict(lambda: [0, 0, []])
    hours = [[0] * 24 for _ in range(7)]
    for call in Call.objects.filter(started_at__gte=period.start, started_at__lt=period.end):
        moment = call.started_at.astimezone(zone)
        missed = call.direction == "in" and call.outcome in ("missed", "no_answer", "busy")
        if call.direction == "in":
            per_day[moment.date()][2 if missed else 0] += 1
        elif call.direction == "out":
            per_day[moment.date()][1] += 1
        row = per_agent[call.agent_id or call.routed_to_id]
        row[0] += 1
        if call.outcome == "answered":
            row[1] += 1
            if call.duration is not None:
                row[2].append(call.duration)
        hours[moment.isoweekday() - 1][moment.hour] += 1
    days_ = [figures.DayFigures(day, *per_day[day]) for day in period.dates()]
    agents = {
        who: (calls, answered, timedelta(seconds=sum(talks) / len(talks)) if talks else None)
        for who, (calls, answered, talks) in per_agent.items()
    }
    return days_, agents, hours


def counted_in(zone: ZoneInfo, days: int) -> tuple:
    with timezone.override(zone):
        return counted(days)


def shown(board: figures.Dashboard) -> tuple[list[figures.DayFigures], dict, list[list[int]]]:
    agents = {
        row.agent.pk if row.agent else None: (row.calls, row.answered, row.average_talk)
        for row in board.agents if row.calls
    }
    return board.days, agents, board.hours


def assert_same(board: figures.Dashboard, expected: tuple) -> None:
    days, agents, hours = shown(board)
    assert days == expected[0]
    assert agents.keys() == expected[1].keys()
    for who, (calls, answered, talk) in agents.items():
        assert (calls, answered) == expected[1][who][:2]
        assert talk == expected[1][who][2]
    assert hours == expected[2]


def send(kind: protocol.EventKind, received_at: datetime, *, callid: str = "late-1",
         status: str = "", duration: int | None = None) -> Call:
    """One PBX event of an incoming call, through the webhook's own service."""
    event = protocol.PbxEvent(
        callid=callid, kind=kind, direction=Call.Direction.IN, phone="+79201119613",
        ext="101", line_number="", status=status, duration=duration, record_link="",
    )
    return record_event(event=event, received_at=received_at).call
