"""xvbcrm/db/sqlite: a transaction's BEGIN IMMEDIATE is tried again until the write lock is
free, within the connection's busy timeout, instead of sleeping in SQLite's busy handler."""
import sqlite3

import pytest
from django.db import OperationalError, connection, connections, transaction

from contacts.models import Agent
from xvbcrm.db.sqlite import base

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif("connection.vendor != 'sqlite'"),
]


@pytest.fixture
def other_writer():
    """Another connection to the test database, holding the write lock until it lets go."""
    other = sqlite3.connect(connection.settings_dict["NAME"], timeout=0, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    yield other
    if other.in_transaction:
        other.rollback()
    other.close()


def busy_timeout() -> int:
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA busy_timeout")
        return cursor.fetchone()[0]


def test_the_project_serves_sqlite_through_its_backend():
    assert isinstance(connections["default"], base.DatabaseWrapper)


def test_a_writer_gets_the_lock_the_moment_the_other_lets_go(other_writer, monkeypatch):
    waited = busy_timeout()
    tries = []

    def sleep(seconds: float) -> None:  # the other writer commits while this one waits
        tries.append(seconds)
        other_writer.commit()

    monkeypatch.setattr(base.time, "sleep", sleep)

    with transaction.atomic():
        Agent.objects.create(extension="100")

    assert tries == [base.RETRY_EVERY]  # one failed try, then the lock
    assert Agent.objects.filter(extension="100").exists()
    assert busy_timeout() == waited  # other writes still wait as SQLite waits


def test_a_writer_gives_up_after_the_busy_timeout(other_writer, monkeypatch):
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA busy_timeout = 30")
    now = [0.0]
    monkeypatch.setattr(base.time, "monotonic", lambda: now[0])
    monkeypatch.setattr(base.time, "sleep", lambda seconds: now.__setitem__(0, now[0] + seconds))

    with pytest.raises(OperationalError, match="locked"), transaction.atomic():
        Agent.objects.create(extension="100")

    assert now[0] >= 0.030  # it kept trying for the whole busy timeout
    assert busy_timeout() == 30
    other_writer.rollback()
    assert not Agent.objects.exists()
