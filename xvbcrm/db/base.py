"""Django's PostgreSQL backend (`ENGINE = "xvbcrm.db"`) with a health check that costs no round
trip when it can.

Django checks a kept connection before each request's first query by running `SELECT 1`:
a round trip to the server on every request, a sixth of a caller lookup's time. A server
that ended the session (a restart, `pg_terminate_backend`, an idle timeout) has sent its
goodbye or closed the socket, so the idle connection's socket is readable. So a connection
used moments ago (`QUIET_FOR`), idle, with nothing waiting on its socket and no error since,
is taken as usable; anything else is asked with `SELECT 1` as Django does. A peer that
vanished without a word (a crashed host) is then noticed within those seconds' worth of use.
"""
import select
import time

from django.db.backends.postgresql.base import DatabaseWrapper as PostgreSQLDatabaseWrapper
from psycopg import pq

# How recently the connection must have been used for the socket check alone to do.
QUIET_FOR = 5.0  # seconds


def _has_input(fileno: int) -> bool:
    """Whether the server sent something (or hung up) while the connection sat idle."""
    poller = select.poll()
    poller.register(fileno, select.POLLIN | select.POLLERR | select.POLLHUP)
    return bool(poller.poll(0))


class DatabaseWrapper(PostgreSQLDatabaseWrapper):
    used_at = float("-inf")  # monotonic time of the last cursor made on this connection

    def _prepare_cursor(self, cursor):  # noqa: ANN001, ANN202 -- Django's signature
        self.used_at = time.monotonic()
        return super()._prepare_cursor(cursor)

    def is_usable(self) -> bool:
        connection = self.connection
        if connection is None or connection.closed:
            return False
        if connection.pgconn.status != pq.ConnStatus.OK:
            return False
        quiet = (
            not self.errors_occurred
            and time.monotonic() - self.used_at < QUIET_FOR
            and connection.info.transaction_status == pq.TransactionStatus.IDLE
        )
        if quiet:
            try:
                quiet = not _has_input(connection.fileno())
            except (OSError, ValueError):
                return False
        return quiet or super().is_usable()
