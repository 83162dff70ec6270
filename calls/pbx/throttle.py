"""Wrong access codes throttled per source, in the database so that every app server shares it.

A source is an IPv4 address, or an IPv6 /64 (what one host usually gets: counting single
IPv6 addresses would let one host try 2**64 codes). After PBX_THROTTLE_FAILURES wrong or
missing codes in a window of PBX_THROTTLE_MINUTES that began with the first of them, the
source is answered 429 until the window ends, without its access code being compared: a
correct code that still passed would tell a guesser when it had found the code.
"""
import ipaddress
import logging
import math
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import DatabaseError, connection
from django.db.models import QuerySet

from calls.models import WebhookThrottle
from xvbcrm.db import CompiledQuery

logger = logging.getLogger(__name__)

UNKNOWN_SOURCE = "unknown"  # requests without a usable address share one count


def source_of(remote_addr: str | None) -> str:
    """The throttled source of a client address: the IPv4 address, or the IPv6 /64."""
    try:
        address = ipaddress.ip_address(remote_addr or "")
    except ValueError:
        return UNKNOWN_SOURCE
    if address.version == 6:
        if address.ipv4_mapped:  # ::ffff:203.0.113.5 is 203.0.113.5
            return str(address.ipv4_mapped)
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


def _window() -> timedelta:
    return timedelta(minutes=settings.PBX_THROTTLE_MINUTES)


def _enabled() -> bool:
    return settings.PBX_THROTTLE_FAILURES > 0


def _table() -> str:
    return connection.ops.quote_name(WebhookThrottle._meta.db_table)


def _when(moment: datetime) -> object:
    return connection.ops.adapt_datetimefield_value(moment)


def _throttled_query(source: str, failures: int, since: datetime) -> QuerySet:
    return WebhookThrottle.objects.filter(
        source=source, failures__gte=failures, window_start__gt=since
    ).values_list("window_start")[:1]


# Compiled once (and prepared on PostgreSQL): every webhook, the caller lookup too, runs it.
_THROTTLED = CompiledQuery(
    _throttled_query, source="192.0.2.255", failures=987_654_321,
    since=datetime(2000, 1, 2, 3, 4, 5, 6789, tzinfo=UTC),
)


def retry_after(*, source: str, now: datetime) -> int | None:
    """Seconds until `source` may try a code again; None when it is not throttled (one read)."""
    if not _enabled():
        return None
    row = _THROTTLED.fetch_one(
        source=source, failures=settings.PBX_THROTTLE_FAILURES, since=now - _window()
    )
    if row is None:
        return None
    return max(1, math.ceil((row[0] + _window() - now).total_seconds()))


def record_failure(*, source: str, now: datetime) -> int:
    """Count one wrong or missing code from `source`; its failures in the current window.

    One INSERT ... ON CONFLICT DO UPDATE (PostgreSQL and SQLite alike): concurrent failures on
    any number of app servers each add one, with no read-modify-write between them. A window
    that has ended starts again at this failure.
    """
    if not _enabled():
        return 0
    table = _table()
    expired = f"{table}.window_start <= %s"
    sql = (
        f"INSERT INTO {table} (source, failures, window_start, refused) VALUES (%s, 1, %s, 0) "
        "ON CONFLICT (source) DO UPDATE SET "
        f"failures = CASE WHEN {expired} THEN 1 ELSE {table}.failures + 1 END, "
        f"refused = CASE WHEN {expired} THEN 0 ELSE {table}.refused END, "
        f"window_start = CASE WHEN {expired} THEN %s ELSE {table}.window_start END "
        "RETURNING failures"
    )
    cutoff = _when(now - _window())
    with connection.cursor() as cursor:
        cursor.execute(sql, [source, _when(now), cutoff, cutoff, cutoff, _when(now)])
        return cursor.fetchone()[0]


def count_refused(*, source: str) -> int:
    """Count one request refused with 429 from `source`; how many were in this window."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {_table()} SET refused = refused + 1 WHERE source = %s RETURNING refused",
            [source],
        )
        row = cursor.fetchone()
    return row[0] if row else 0


def note_failure(*, source: str, now: datetime) -> None:
    """`record_failure`, logging (not raising) a database error, and the moment a source
    becomes throttled."""
    try:
        failures = record_failure(source=source, now=now)
    except DatabaseError:
        logger.exception("Could not count a wrong access code")
        return
    if failures == settings.PBX_THROTTLE_FAILURES:
        logger.warning(
            "PBX webhook: %s throttled for %d min after %d wrong access codes",
            source, settings.PBX_THROTTLE_MINUTES, failures,
        )


def note_refused(*, source: str) -> int:
    """`count_refused`, logging (not raising) a database error (then 0: journal the request)."""
    try:
        return count_refused(source=source)
    except DatabaseError:
        logger.exception("Could not count a throttled PBX request")
        return 0


def prune_throttles(*, now: datetime) -> int:
    """Delete the rows of windows that have ended (they throttle nothing); how many."""
    deleted, _ = WebhookThrottle.objects.filter(window_start__lte=now - _window()).delete()
    return deleted
