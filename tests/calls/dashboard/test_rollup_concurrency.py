"""The rollup on the real database beside other runs, views and events: no day counted twice,
no change lost."""
import threading
import time
from collections import Counter
from datetime import timedelta

import pytest
from django.db import connection, transaction

from calls.dashboard import figures
from calls.dashboard.periods import Period
from calls.dashboard.rollup import Rolled, forget_days_of, roll_up
from calls.models import Call, CallDayStat, CallStatDay
from contacts.models import Agent
from tests.calls.dashboard.counting import ago, assert_same, counted, local, seed_calls

pytestmark = pytest.mark.django_db(transaction=True)

PAST_DAYS = 364


def in_threads(*actions) -> list:  # noqa: ANN002 - callables of no argument
    """Run the actions at once, each in a thread of its own with its own connection."""
    start = threading.Barrier(len(actions))
    results: list = []
    errors: list[BaseException] = []

    def run(action) -> None:  # noqa: ANN001
        try:
            start.wait()
            results.append(action())
        except BaseException as error:  # noqa: BLE001 - reported by the caller
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(action,)) for action in actions]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    return results


def test_two_runs_and_two_views_at_once_count_each_day_once() -> None:
    team = [Agent.objects.create(extension=str(101 + n), name=f"Агент {n}") for n in range(3)]
    seed_calls(team, days=40, count=300)

    def run() -> Rolled:
        return roll_up(batch_days=3, settle=timedelta(0))

    def view() -> figures.Dashboard:
        return figures.dashboard(days=30)

    results = in_threads(run, run, view, view)

    runs = [result for result in results if isinstance(result, Rolled)]
    assert sum(result.counted for result in runs) == PAST_DAYS
    assert CallStatDay.objects.filter(stale=False).count() == PAST_DAYS
    pairs = Counter(CallDayStat.objects.values_list("stat_day_id", "agent_id"))
    assert max(pairs.values()) == 1
    past = Period.ending(days=PAST_DAYS, today=ago(1))
    assert sum(CallDayStat.objects.values_list("calls", flat=True)) == Call.objects.filter(
        started_at__gte=past.start, started_at__lt=past.end
    ).count()
    expected = counted(30)
    for board in [*(r for r in results if isinstance(r, figures.Dashboard)),
                  figures.dashboard(days=30)]:
        assert_same(board, expected)


@pytest.mark.skipif("connection.vendor != 'postgresql'",
                    reason="SQLite: a writing transaction keeps every other writer out")
def test_a_new_day_waits_for_the_event_writing_a_call_of_it() -> None:
    agent = Agent.objects.create(extension="101", name="Анна")
    call = Call.objects.create(callid="late", started_at=local(ago(2), 10), direction="in",
                               outcome="missed", routed_to=agent, phone="+79201119613")
    outcome: list[Rolled] = []

    def run() -> None:
        outcome.append(roll_up(settle=timedelta(0)))
        connection.close()

    rollup = threading.Thread(target=run)

    with transaction.atomic():  # an event: the call answered, its day forgotten (no row yet)
        Call.objects.filter(pk=call.pk).update(outcome="answered", agent=agent, duration=40)
        forget_days_of(call.started_at, call.started_at)
        rollup.start()
        while rollup.is_alive() and not _waits_for_a_lock():
            time.sleep(0.01)
    rollup.join()

    assert outcome[0].counted == PAST_DAYS
    assert CallDayStat.objects.get(stat_day__day=ago(2)).answered == 1
    assert_same(figures.dashboard(days=7), counted(7))


def _waits_for_a_lock() -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_locks WHERE relation = %s::regclass AND NOT granted",
                       [Call._meta.db_table])
        return cursor.fetchone() is not None
