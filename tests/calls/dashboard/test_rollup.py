"""The dashboard's rollup of past days: the same figures as counting the calls, kept right
when a call changes late, when an agent goes, in another time zone and under concurrent views."""
import random
import threading
from collections import defaultdict
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.utils import timezone

from calls.assembly import record_event
from calls.dashboard import figures
from calls.dashboard.periods import Period
from calls.models import Call, CallDayStat, CallStatDay
from calls.pbx import protocol
from contacts.models import Agent

pytestmark = pytest.mark.django_db

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
    """The figures counted call by call in Python, as the dashboard defines them."""
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


@pytest.fixture
def team() -> list[Agent]:
    return [Agent.objects.create(extension=str(101 + n), name=f"Агент {n}") for n in range(3)]


def test_rolled_up_figures_equal_the_calls_counted_one_by_one(team) -> None:
    seed_calls(team)

    cold = figures.dashboard(days=30)
    assert CallStatDay.objects.count() == 29  # every past day of the period, today live
    warm = figures.dashboard(days=30)

    for board in (cold, warm):
        assert_same(board, counted(30))
    assert_same(figures.dashboard(days=7), counted(7))
    assert cold.total == Call.objects.exclude(direction="").count()


def test_a_period_inside_the_rolled_up_days_reads_no_call(team, django_assert_num_queries) -> None:
    seed_calls(team)
    figures.dashboard(days=30)

    # Three of the rollup, one for today's calls, three for callbacks and agents.
    with django_assert_num_queries(7):
        figures.dashboard(days=30)


def test_today_is_counted_live(team) -> None:
    figures.dashboard(days=7)
    Call.objects.create(callid="now", started_at=timezone.now(), direction="out",
                        outcome="answered", agent=team[0], duration=10)

    assert figures.dashboard(days=7).days[-1].outgoing == 1


def send(kind: protocol.EventKind, received_at: datetime, *, status: str = "",
         duration: int | None = None) -> Call:
    """One PBX event of the call "late-1", through the webhook's own service."""
    event = protocol.PbxEvent(
        callid="late-1", kind=kind, direction=Call.Direction.IN, phone="+79201119613",
        ext="101", line_number="", status=status, duration=duration, record_link="",
    )
    return record_event(event=event, received_at=received_at).call


def test_a_late_event_forgets_its_day_and_the_next_view_is_right() -> None:
    yesterday = ago(1)
    send(protocol.EventKind.INCOMING, local(yesterday, 12))
    send(protocol.EventKind.ANSWERED, local(yesterday, 12, 1))
    before = {row.agent.extension: row for row in figures.dashboard(days=7).agents if row.agent}
    assert before["101"].average_talk is None
    assert CallStatDay.objects.filter(day=yesterday).exists()

    send(protocol.EventKind.COMPLETED, local(yesterday, 12, 3), status="success", duration=120)

    assert not CallStatDay.objects.filter(day=yesterday).exists()
    after = {row.agent.extension: row for row in figures.dashboard(days=7).agents if row.agent}
    assert after["101"].average_talk == timedelta(seconds=120)
    assert_same(figures.dashboard(days=7), counted(7))


def test_a_call_whose_start_moves_to_another_day_forgets_both() -> None:
    two_days_ago, yesterday = ago(2), ago(1)
    # COMPLETED alone: answered 20 minutes before it came, so the call starts the day before.
    call = send(protocol.EventKind.COMPLETED, local(yesterday, 0, 10), status="success",
                duration=1200)
    assert timezone.localdate(call.started_at) == two_days_ago
    assert [day.total for day in figures.dashboard(days=3).days] == [1, 0, 0]

    # Then the queue's ANSWERED, received after midnight: the call starts on that day.
    call = send(protocol.EventKind.ANSWERED, local(yesterday, 0, 5))

    assert timezone.localdate(call.started_at) == yesterday
    assert [day.total for day in figures.dashboard(days=3).days] == [0, 1, 0]


def test_days_of_another_time_zone_are_rolled_up_apart(team) -> None:
    seed_calls(team)
    moscow = figures.dashboard(days=30)
    in_utc = _counted_in(UTC, 30)
    with timezone.override(UTC):
        assert_same(figures.dashboard(days=30), in_utc)

    assert set(CallStatDay.objects.values_list("time_zone", flat=True)) == {
        "Europe/Moscow", "UTC"
    }
    assert_same(figures.dashboard(days=30), counted(30))
    assert figures.dashboard(days=30).days == moscow.days
    with timezone.override(UTC):
        assert figures.dashboard(days=30).days == in_utc[0]


def _counted_in(zone: ZoneInfo, days: int) -> tuple:
    with timezone.override(zone):
        return counted(days)


def test_a_late_event_forgets_the_day_in_every_time_zone() -> None:
    yesterday = ago(2)
    send(protocol.EventKind.INCOMING, local(yesterday, 12))
    figures.dashboard(days=7)
    with timezone.override(UTC):
        figures.dashboard(days=7)
    assert CallStatDay.objects.filter(day=yesterday).count() == 2

    send(protocol.EventKind.COMPLETED, local(yesterday, 12, 2), status="missed")

    assert not CallStatDay.objects.filter(day=yesterday).exists()
    with timezone.override(UTC):
        assert_same(figures.dashboard(days=7), _counted_in(UTC, 7))


def test_deleting_an_agent_forgets_their_days(team) -> None:
    anna, boris, _ = team
    Call.objects.create(callid="d1", started_at=local(ago(3), 10), direction="in",
                        outcome="missed", routed_to=anna, phone="+79201119613")
    Call.objects.create(callid="d2", started_at=local(ago(3), 11), direction="in",
                        outcome="answered", agent=anna, routed_to=boris, duration=30,
                        phone="+79201119613")
    figures.dashboard(days=7)

    anna.delete()

    board = figures.dashboard(days=7)
    rows = {row.agent: row.calls for row in board.agents if row.calls}
    assert rows == {boris: 1, None: 1}
    assert_same(board, counted(7))


@pytest.mark.django_db(transaction=True)
def test_concurrent_first_views_roll_up_each_day_once(team) -> None:
    seed_calls(team, days=40, count=300)
    views = 4
    start = threading.Barrier(views)
    boards: list[figures.Dashboard] = []
    errors: list[BaseException] = []

    def view() -> None:
        try:
            start.wait()
            boards.append(figures.dashboard(days=30))
        except BaseException as error:  # noqa: BLE001 - reported by the test below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=view) for _ in range(views)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    expected = counted(30)
    for board in boards:
        assert_same(board, expected)
    assert CallStatDay.objects.count() == 29
    assert CallStatDay.objects.values("day").distinct().count() == 29
    past = Period.ending(days=29, today=ago(1))
    rolled_up = sum(CallDayStat.objects.values_list("calls", flat=True))
    assert rolled_up == Call.objects.filter(
        started_at__gte=past.start, started_at__lt=past.end
    ).count()
