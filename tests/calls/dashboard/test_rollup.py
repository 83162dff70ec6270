"""The dashboard's rollup of past days: `manage.py rollup_calls` fills it, views read it and
count live only what it lacks; the figures equal the calls counted one by one, kept right
when a call changes late, when an agent goes, and in another time zone."""
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from calls.dashboard import figures
from calls.dashboard.periods import local_midnight
from calls.dashboard.rollup import forget_days_of, roll_up
from calls.models import Call, CallDayStat, CallStatDay
from calls.pbx import protocol
from contacts.models import Agent
from tests.calls.dashboard.counting import (
    UTC,
    ago,
    assert_same,
    counted,
    counted_in,
    local,
    seed_calls,
    send,
)

pytestmark = pytest.mark.django_db

PAST_DAYS = 364  # of the longest period (365 days, today included)


def roll_up_all() -> None:
    """The command as cron runs it, yesterday included whatever the hour."""
    roll_up(settle=timedelta(0))


@pytest.fixture
def team() -> list[Agent]:
    return [Agent.objects.create(extension=str(101 + n), name=f"Агент {n}") for n in range(3)]


def test_the_command_rolls_up_every_past_day_of_the_year(team) -> None:
    seed_calls(team)
    out = StringIO()

    call_command("rollup_calls", stdout=out)

    days = CallStatDay.objects.filter(time_zone="Europe/Moscow", stale=False)
    assert days.count() in (PAST_DAYS - 1, PAST_DAYS)  # yesterday five minutes after midnight
    assert not days.filter(day__gte=timezone.localdate()).exists()
    assert "new" in out.getvalue()


def test_rolled_up_figures_equal_the_calls_counted_one_by_one(team) -> None:
    seed_calls(team)
    live = figures.dashboard(days=30)  # nothing rolled up yet: every day counted live

    roll_up_all()

    assert CallStatDay.objects.filter(stale=False).count() == PAST_DAYS
    for board in (live, figures.dashboard(days=30)):
        assert_same(board, counted(30))
    assert_same(figures.dashboard(days=7), counted(7))
    assert_same(figures.dashboard(days=365), counted(365))


def test_a_second_run_counts_nothing_and_changes_nothing(team) -> None:
    seed_calls(team)
    roll_up_all()
    rows = set(CallDayStat.objects.values_list("stat_day__day", "agent_id", "calls"))

    again = roll_up(settle=timedelta(0))

    assert (again.added, again.counted, again.left) == (0, 0, 0)
    assert set(CallDayStat.objects.values_list("stat_day__day", "agent_id", "calls")) == rows
    assert CallDayStat.objects.count() == len(rows)


def test_after_the_rollup_a_view_reads_no_call_of_a_past_day(
    team, django_assert_num_queries
) -> None:
    seed_calls(team)
    roll_up_all()
    before = figures.dashboard(days=30)
    # Past calls changed behind the rollup's back (no event): a view reading them would see it.
    Call.objects.filter(started_at__lt=local_midnight(timezone.localdate())).update(
        direction="out", outcome="failed", agent=None, routed_to=None
    )

    # The days, per day, per agent, per hour; today's calls; callbacks twice; the agents.
    with django_assert_num_queries(8), CaptureQueriesContext(connection) as queries:
        after = figures.dashboard(days=30)

    assert after.days == before.days
    assert after.hours == before.hours
    assert [(row.agent, row.calls) for row in after.agents] == [
        (row.agent, row.calls) for row in before.agents
    ]
    table = connection.ops.quote_name(Call._meta.db_table)
    assert sum(table in query["sql"] for query in queries.captured_queries) == 1  # today's


def test_today_is_counted_live(team) -> None:
    roll_up_all()
    Call.objects.create(callid="now", started_at=timezone.now(), direction="out",
                        outcome="answered", agent=team[0], duration=10)

    assert figures.dashboard(days=7).days[-1].outgoing == 1


def test_forgetting_a_call_of_today_costs_no_query(django_assert_num_queries) -> None:
    roll_up_all()
    midnight = local_midnight(timezone.localdate())

    with django_assert_num_queries(0):
        forget_days_of(midnight, timezone.now())
        forget_days_of(None, timezone.now())

    assert not CallStatDay.objects.filter(stale=True).exists()


def test_forgetting_a_past_day_is_one_update(django_assert_num_queries) -> None:
    roll_up_all()

    with django_assert_num_queries(1) as queries:
        forget_days_of(local(ago(3), 23, 59), timezone.now())

    assert queries.captured_queries[0]["sql"].startswith("UPDATE")
    assert list(CallStatDay.objects.filter(stale=True).values_list("day", flat=True)) == [ago(3)]


def test_a_late_event_makes_its_day_stale_and_the_next_run_counts_it_again() -> None:
    yesterday = ago(1)
    send(protocol.EventKind.INCOMING, local(yesterday, 12))
    send(protocol.EventKind.ANSWERED, local(yesterday, 12, 1))
    roll_up_all()
    assert not CallStatDay.objects.get(day=yesterday).stale

    send(protocol.EventKind.COMPLETED, local(yesterday, 12, 3), status="success", duration=120)

    assert CallStatDay.objects.get(day=yesterday).stale
    live = {row.agent.extension: row for row in figures.dashboard(days=7).agents if row.agent}
    assert live["101"].average_talk == timedelta(seconds=120)  # the stale day counted live
    assert roll_up(settle=timedelta(0)).counted == 1
    assert not CallStatDay.objects.get(day=yesterday).stale
    assert_same(figures.dashboard(days=7), counted(7))
    assert CallDayStat.objects.get(stat_day__day=yesterday).talk_seconds == 120


def test_a_call_whose_start_moves_to_another_day_makes_both_stale() -> None:
    two_days_ago, yesterday = ago(2), ago(1)
    # COMPLETED alone: answered 20 minutes before it came, so the call starts the day before.
    call = send(protocol.EventKind.COMPLETED, local(yesterday, 0, 10), status="success",
                duration=1200)
    assert timezone.localdate(call.started_at) == two_days_ago
    roll_up_all()
    assert [day.total for day in figures.dashboard(days=3).days] == [1, 0, 0]

    # Then the queue's ANSWERED, received after midnight: the call starts on that day.
    call = send(protocol.EventKind.ANSWERED, local(yesterday, 0, 5))

    assert timezone.localdate(call.started_at) == yesterday
    assert set(CallStatDay.objects.filter(stale=True).values_list("day", flat=True)) == {
        two_days_ago, yesterday
    }
    assert [day.total for day in figures.dashboard(days=3).days] == [0, 1, 0]
    roll_up_all()
    assert [day.total for day in figures.dashboard(days=3).days] == [0, 1, 0]


def test_another_time_zone_is_counted_live_and_its_old_days_go(team) -> None:
    seed_calls(team)
    roll_up_all()
    CallStatDay.objects.create(time_zone="UTC", day=ago(2), start=timezone.now(),
                               end=timezone.now(), computed_at=timezone.now())

    with timezone.override(UTC):
        assert_same(figures.dashboard(days=30), counted_in(UTC, 30))
    assert_same(figures.dashboard(days=30), counted(30))

    roll_up_all()
    assert set(CallStatDay.objects.values_list("time_zone", flat=True)) == {"Europe/Moscow"}


def test_deleting_an_agent_forgets_their_days(team) -> None:
    anna, boris, _ = team
    Call.objects.create(callid="d1", started_at=local(ago(3), 10), direction="in",
                        outcome="missed", routed_to=anna, phone="+79201119613")
    Call.objects.create(callid="d2", started_at=local(ago(3), 11), direction="in",
                        outcome="answered", agent=anna, routed_to=boris, duration=30,
                        phone="+79201119613")
    roll_up_all()

    anna.delete()

    board = figures.dashboard(days=7)
    rows = {row.agent: row.calls for row in board.agents if row.calls}
    assert rows == {boris: 1, None: 1}
    assert_same(board, counted(7))
    roll_up_all()
    assert_same(figures.dashboard(days=7), counted(7))
