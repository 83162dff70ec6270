"""Django's PostgreSQL backend with a health check that costs no round trip.

Django checks a kept connection before each request's first query by running `SELECT 1`:
a round trip to the server on every request, a sixth of a caller lookup's time. A server
that ended the session (a restart, `pg_terminate_backend`, an idle timeout) has sent its
goodbye or closed the socket, so the idle connection's socket is readable: only then is
the server asked. A connection that libpq already knows is broken fails at once.
"""
import select

from django.db.backends.postgresql.base import DatabaseWrapper as PostgreSQLDatabaseWrapper
from psycopg import pq


def _has_input(fileno: int) -> bool:
    """Whether the server sent something (or hung up) while the connection sat idle."""
    poller = select.poll()
    poller.register(fileno, select.POLLIN | select.POLLERR | select.POLLHUP)
    return bool(poller.poll(0))


class DatabaseWrapper(PostgreSQLDatabaseWrapper):
    def is_usable(self) -> bool:
        connection = self.connection
        if connection is None or connection.closed:
            return False
        if connection.pgconn.status != pq.ConnStatus.OK:
            return False
        if connection.info.transaction_status != pq.TransactionStatus.IDLE:
            return super().is_usable()
        try:
            idle_and_quiet = not _has_input(connection.fileno())
        except (OSError, ValueError):
            return False
        return idle_and_quiet or super().is_usable()
