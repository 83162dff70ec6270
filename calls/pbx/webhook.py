"""The PBX webhook: journal the request, authenticate, parse, dispatch, answer."""
import ipaddress
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.utils import timezone
from django.utils.crypto import constant_time_compare

from calls.models import PbxRequest
from calls.pbx import journal, protocol, throttle
from calls.pbx.journal import Handled, WebhookRequest
from calls.routing import route_lookup
from calls.services import record_event
from contacts.phones import normalize_phone

logger = logging.getLogger(__name__)

Handling = PbxRequest.Handling
ERROR_LIMIT = 300  # characters of an error message


def _authenticate(form: protocol.WebhookForm, header_code: str | None) -> str:
    """An error message, or "" when the request carries the right access code."""
    expected = settings.PBX_ACCESS_CODE
    if not expected:  # never compare against an empty secret
        return "the webhook is disabled: PBX_ACCESS_CODE is not configured in the CRM"
    offered = list(form.access_codes)
    if header_code is not None:
        offered.append(header_code)
    if not offered:
        return "missing access code"
    if not all(constant_time_compare(code, expected) for code in offered):
        return "wrong access code"
    return ""


def _handle_lookup(
    command: protocol.ContactLookup, *, entry: PbxRequest | None, received_at: datetime
) -> Handled:
    route = route_lookup(normalize_phone(command.phone), now=received_at)
    return Handled(outcome=Handling.ACCEPTED, payload=route.payload, route=route)


def _handle_event(
    command: protocol.PbxEvent, *, entry: PbxRequest | None, received_at: datetime
) -> Handled:
    result = record_event(event=command, received_at=received_at, request=entry)
    note = "; ".join(f"left out: {problem}" for problem in command.refused)
    if result.duplicate:
        return Handled(
            outcome=Handling.DUPLICATE, payload={"ok": True, "duplicate": True},
            call=result.call, error=note,
        )
    return Handled(outcome=Handling.ACCEPTED, payload={"ok": True}, call=result.call, error=note)


def _handle_ignored(
    command: protocol.IgnoredCommand, *, entry: PbxRequest | None, received_at: datetime
) -> Handled:
    return Handled(outcome=Handling.IGNORED, payload={"ok": True, "ignored": command.reason})


@dataclass(frozen=True)
class Route:
    """How one kind of command is processed, and what the PBX gets if processing fails."""

    handler: Callable[..., Handled]
    # Events are written in one transaction with their journal row. The lookup only reads,
    # and stays outside one: on SQLite an IMMEDIATE transaction would queue the waiting
    # caller behind every webhook being written.
    in_transaction: bool
    # The caller is waiting during a lookup: on failure it answers "unknown" (`{}`) at once,
    # even unjournaled, and the PBX routes by its own plan. Anything else gets a 500 (or a
    # 503 when it cannot be journaled) so that a retrying PBX delivers it again.
    failure_status: int
    failure_payload: dict[str, Any]
    # On SQLite, how long the journal writes may wait for the write lock (None: the busy
    # timeout). The lookup answers even unjournaled, so it waits briefly, not 20 s.
    max_lock_wait: float | None = None
    # Stored before it is processed (what it writes must never be lost), or, for what only
    # reads (the lookup), stored once with its answer: one write instead of two while the
    # caller waits.
    journal_first: bool = True

    @property
    def needs_journal(self) -> bool:
        """Whether it must be refused (503) when it cannot be journaled first."""
        return self.failure_status != 200


HANDLERS: dict[type, Route] = {
    # One journal write of at most 0.4 s: the same worst case as the two of 0.2 s before.
    protocol.ContactLookup: Route(
        _handle_lookup, False, 200, {}, max_lock_wait=0.4, journal_first=False
    ),
    protocol.PbxEvent: Route(_handle_event, True, 500, {"error": "internal error"}),
    protocol.IgnoredCommand: Route(_handle_ignored, False, 500, {"error": "internal error"}),
}


def _refuse(outcome: str, status: int, message: str, **extra: Any) -> Handled:
    message = message[:ERROR_LIMIT]  # messages may quote what was sent
    return Handled(
        outcome=outcome, payload={"error": message}, status=status, error=message, **extra
    )


def _failure(route: Route, command: protocol.PbxCommand, exc: Exception) -> Handled:
    logger.exception("Processing a PBX %s failed", type(command).__name__)
    return Handled(
        outcome=Handling.FAILED,
        payload=route.failure_payload,
        status=route.failure_status,
        error=f"{type(exc).__name__}: {exc}",
    )


def _process(
    command: protocol.PbxCommand, entry: PbxRequest | None, received_at: datetime
) -> Handled:
    """Run the command's handler; a failure is journaled and answered as its route says."""
    route = HANDLERS[type(command)]
    try:
        if route.in_transaction:
            with transaction.atomic():
                handled = route.handler(command, entry=entry, received_at=received_at)
                journal.close_entry(entry, handled)
            return handled
        handled = route.handler(command, entry=entry, received_at=received_at)
    except Exception as exc:
        handled = _failure(route, command, exc)
    # Outside the handler's try: an answer already computed stands even if journaling fails.
    journal.close_entry_quietly(entry, handled)
    return handled


def _answer_then_journal(
    request: WebhookRequest, command: protocol.PbxCommand, route: Route, received_at: datetime
) -> Handled:
    """A read-only command: answer it, then store the request with its answer at once."""
    try:
        handled = route.handler(command, entry=None, received_at=received_at)
    except Exception as exc:
        handled = _failure(route, command, exc)
        if isinstance(exc, DatabaseError) and connection.connection is None:
            # The database could not even be reached (maybe after the connect timeout):
            # the waiting caller gets its answer now, not after a second attempt.
            logger.error("Could not journal a PBX request: the database is unreachable")
            return handled
    journal.open_entry(request, received_at, handled)
    return handled


def _from_allowed_network(remote_addr: str | None) -> bool:
    """Whether the client is in PBX_ALLOWED_NETWORKS (any client when none are listed)."""
    if not settings.PBX_ALLOWED_NETWORKS:
        return True
    if remote_addr is None:
        return False
    address = ipaddress.ip_address(remote_addr)
    address = getattr(address, "ipv4_mapped", None) or address  # ::ffff:203.0.113.5
    return any(
        address in ipaddress.ip_network(network, strict=False)
        for network in settings.PBX_ALLOWED_NETWORKS
    )


def _check(request: WebhookRequest) -> protocol.PbxCommand | Handled:
    """The request's command, or the refusal it gets (source, method, size, bytes, access code,
    form)."""
    if not _from_allowed_network(request.remote_addr):
        return _refuse(
            Handling.REJECTED, 403,
            f"address {request.remote_addr or 'unknown'} is not in PBX_ALLOWED_NETWORKS",
        )
    if request.method != "POST":
        return _refuse(
            Handling.INVALID, 405, f"method {request.method[:16]} not allowed; use POST"
        )
    if request.oversized:
        limit = settings.PBX_MAX_BODY_BYTES
        return _refuse(Handling.INVALID, 400, f"body too large (the limit is {limit} bytes)")
    try:
        form = protocol.decode_form(request.body, charset=protocol.charset_of(request.content_type))
    except protocol.PbxProtocolError as exc:
        return _refuse(Handling.INVALID, 400, str(exc))
    auth_error = _authenticate(form, request.meta_headers.get(protocol.ACCESS_CODE_HEADER))
    if auth_error:
        return _refuse(
            Handling.REJECTED, 403, auth_error, wrong_code=bool(settings.PBX_ACCESS_CODE)
        )
    try:
        return protocol.parse_command(form.fields)
    except protocol.PbxProtocolError as exc:
        return _refuse(Handling.INVALID, 400, str(exc))


@contextmanager
def _lock_wait(seconds: float | None) -> Iterator[None]:
    """Cap how long SQLite writes wait for the write lock (PostgreSQL writes do not queue)."""
    if seconds is None or connection.vendor != "sqlite":
        yield
        return
    _set_busy_timeout(seconds)
    try:
        yield
    finally:
        _set_busy_timeout(settings.SQLITE_BUSY_TIMEOUT)


def _set_busy_timeout(seconds: float) -> None:
    # A database that cannot be opened fails the journal next, which knows what to answer.
    try:
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA busy_timeout = {int(seconds * 1000)}")
    except DatabaseError:
        logger.exception("Could not set the SQLite busy timeout")


class DatabaseUnreachable(Exception):
    """The throttle's read could not even connect: this request tries the database no more."""


def _throttled(source: str, received_at: datetime) -> Handled | None:
    """The 429 for a source with too many wrong codes (its code is not compared), or None.

    A read that fails otherwise lets the request through: its code is still compared.
    """
    try:
        wait = throttle.retry_after(source=source, now=received_at)
    except DatabaseError as exc:
        if connection.connection is None:  # maybe after the whole connect timeout
            raise DatabaseUnreachable from exc
        logger.exception("Could not read the webhook throttle")
        return None
    if wait is None:
        return None
    return _refuse(
        Handling.THROTTLED, 429,
        f"too many wrong access codes from {source}; try again in {wait} s",
        retry_after=wait,
    )


def _unreachable(checked: protocol.PbxCommand | Handled) -> Handled:
    """The answer when the database cannot be reached: at once, not after another attempt.

    A waiting caller's lookup gets `{}`; what must be kept gets 503, so that a retrying PBX
    delivers it again; a refusal keeps its answer (none of them can be journaled).
    """
    logger.error("Could not journal a PBX request: the database is unreachable")
    if isinstance(checked, Handled):
        return checked
    route = HANDLERS[type(checked)]
    if route.needs_journal:
        return _refuse(Handling.FAILED, 503, "the CRM cannot store requests right now")
    return Handled(
        outcome=Handling.FAILED, payload=route.failure_payload, status=route.failure_status,
        error="the database is unreachable",
    )


def handle_webhook(request: WebhookRequest) -> Handled:
    """Answer one webhook request; every request is journaled (beyond a throttled source's
    first few in a window, only counted).

    A source throttled for wrong access codes is answered 429 first, after one read. Checking
    (method, size, bytes, access code, form) is pure and comes next, so that the
    journal row can be written the way the command needs: an event is stored before it is
    processed (nothing it brings may be lost); a refusal, or a lookup (it only reads, and a
    caller is waiting), is stored once, with its answer.
    """
    received_at = timezone.now()
    source = throttle.source_of(request.remote_addr)
    try:
        throttled = _throttled(source, received_at)
    except DatabaseUnreachable:
        return _unreachable(_check(request))
    if throttled is not None:
        if throttle.note_refused(source=source) <= settings.PBX_THROTTLE_JOURNAL_ROWS:
            journal.open_entry(request, received_at, throttled)
        return throttled
    checked = _check(request)
    if isinstance(checked, Handled):  # refused: the answer is known, so one write
        if checked.wrong_code:
            throttle.note_failure(source=source, now=received_at)
        journal.open_entry(request, received_at, checked)
        return checked
    route = HANDLERS[type(checked)]
    with _lock_wait(route.max_lock_wait):
        if not route.journal_first:
            return _answer_then_journal(request, checked, route, received_at)
        entry = journal.open_entry(request, received_at)
        if entry is None and route.needs_journal:
            # Not journaled means it could be lost: let the PBX deliver it again.
            return _refuse(Handling.FAILED, 503, "the CRM cannot store requests right now")
        return _process(checked, entry, received_at)


def reprocess(entry: PbxRequest) -> Handled:
    """Process a journaled request that failed once more (its access code was checked then)."""
    return _process(journal.replayable_command(entry), entry, entry.received_at)
