"""Django's SQLite backend (`ENGINE = "xvbcrm.db.sqlite"`) whose writers take the write lock
as soon as it is free.

A transaction begins with `BEGIN IMMEDIATE` (settings: `transaction_mode`), which waits for
the database's one write lock. SQLite's own wait (its busy handler) sleeps 1, 2, 5, 10, 15,
20, 25 … up to 100 ms between tries, whether or not the lock came free meanwhile: with an
event holding the lock for a few milliseconds, the other worker slept through most of the
time it could have written, and two workers stored events barely faster than one. Here the
BEGIN is tried again every half millisecond, within the same limit (the connection's busy
timeout); everything else waits as SQLite waits.
"""
import time

from django.db.backends.sqlite3.base import DatabaseWrapper as SQLiteDatabaseWrapper
from django.db.utils import OperationalError

RETRY_EVERY = 0.0005  # seconds between tries of BEGIN IMMEDIATE


class DatabaseWrapper(SQLiteDatabaseWrapper):
    def _start_transaction_under_autocommit(self) -> None:
        if self.transaction_mode != "IMMEDIATE":
            super()._start_transaction_under_autocommit()
            return
        raw = self.connection
        (waits_ms,) = raw.execute("PRAGMA busy_timeout").fetchone()
        deadline = time.monotonic() + waits_ms / 1000
        raw.execute("PRAGMA busy_timeout = 0")  # each try fails at once while it is held
        try:
            while True:
                try:
                    self.cursor().execute("BEGIN IMMEDIATE")
                    return
                except OperationalError as exc:
                    if "locked" not in str(exc) or time.monotonic() >= deadline:
                        raise
                time.sleep(RETRY_EVERY)
        finally:
            raw.execute(f"PRAGMA busy_timeout = {waits_ms}")
