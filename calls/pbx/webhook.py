"""The PBX webhook: authenticate, parse, then one of two paths.

A caller lookup is answered, then journaled once; an event is journaled, processed and its
journal row closed in one transaction, answered after the commit.
"""
import ipaddress
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.utils import timezone
from django.utils.crypto import constant_time_compare

from calls.assembly import UNREAD, read_call, record_event
from calls.models import Call, PbxRequest
from calls.pbx import journal, protocol, throttle
from calls.pbx.journal import Handled, WebhookRequest
from calls.routing import Routing, caller_lookup, route_lookup
from contacts.phones import normalize_phone
from xvbcrm.db import insert_rows

logger = logging.getLogger(__name__)

Handling = PbxRequest.Handling
ERROR_LIMIT = 300  # characters of an error message
INTERNAL_ERROR = {"error": "internal error"}  # a failed event: 500, and the PBX retries
# On SQLite, how long a lookup's one write transaction (its decision, its journal row) may
# wait for the write lock: the caller is waiting, and is answered even unjournaled (the PBX
# then routes by its own plan).
LOOKUP_LOCK_WAIT = 0.4  # seconds


def handle_webhook(request: WebhookRequest) -> Handled:
    """Answer one webhook request; every request is journaled (beyond a throttled source's
    first few in a window, only counted).

    A source throttled for wrong access codes is answered 429 first, after one read. Checking
    (method, size, bytes, access code, form) is pure and comes next; a refusal is stored once,
    with its answer. Then one of two paths: a lookup (it only reads, and a caller is waiting)
    is answered, then journaled once; an event is journaled and processed in one transaction,
    a command we ignore journaled with its answer.
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
    if isinstance(checked, protocol.ContactLookup):
        return _answer_lookup(request, checked, received_at)
    return _journal_then_process(request, checked, received_at)


def reprocess(entry: PbxRequest) -> Handled:
    """Process a journaled event that failed once more (its access code was checked then)."""
    return _process(journal.replayable_command(entry), entry, entry.received_at)


def _refuse(handling: str, status: int, message: str, **extra: Any) -> Handled:
    message = message[:ERROR_LIMIT]  # messages may quote what was sent
    return Handled(
        outcome=handling, payload={"error": message}, status=status, error=message, **extra
    )


def _failure(what: str, exc: Exception, *, payload: dict[str, Any], status: int) -> Handled:
    logger.exception("Processing a PBX %s failed", what)
    return Handled(
        outcome=Handling.FAILED, payload=payload, status=status,
        error=f"{type(exc).__name__}: {exc}",
    )


# --- a lookup: answered, then journaled once -----------------------------------------------


def _answer_lookup(
    request: WebhookRequest, command: protocol.ContactLookup, received_at: datetime
) -> Handled:
    """Whom the PBX should ring; then its decision is kept (a CallerLookup) and the request
    journaled once, with its answer.

    It reads outside a transaction (on SQLite an IMMEDIATE one would queue the waiting caller
    behind every webhook being written), then writes those two rows in one. On failure the caller
    is answered "unknown" (`{}`) at once, even unjournaled, and the PBX routes by its own plan.
    """
    number = normalize_phone(command.phone)
    with _lock_wait(LOOKUP_LOCK_WAIT):
        try:
            routing = route_lookup(number, now=received_at)
        except Exception as exc:
            handled = _failure("lookup", exc, payload={}, status=200)
            if isinstance(exc, DatabaseError) and connection.connection is None:
                # The database could not even be reached (maybe after the connect timeout):
                # the waiting caller gets its answer now, not after a second attempt.
                logger.error("Could not journal a PBX request: the database is unreachable")
                return handled
            journal.open_entry(request, received_at, handled)
            return handled
        handled = Handled(outcome=Handling.ACCEPTED, payload=routing.payload)
        _keep(command, number, routing, journal.new_entry(request, received_at, handled))
    return handled


def _keep(
    command: protocol.ContactLookup, number: str | None, routing: Routing, entry: PbxRequest
) -> None:
    """Write the lookup's decision and its journal row, all or none: on PostgreSQL in one
    statement (one round trip), on SQLite in one transaction (one wait for the lock). When
    that fails the caller is answered all the same."""
    lookup = caller_lookup(
        phone=command.phone, number=number, callid=command.callid, routing=routing,
        received_at=entry.received_at,
    )
    try:
        insert_rows(lookup, entry)
    except DatabaseError:
        logger.exception("Could not journal a PBX request")


# --- an event: journaled, processed and its row closed, in one transaction -----------------


def _journal_then_process(
    request: WebhookRequest,
    command: protocol.PbxEvent | protocol.IgnoredCommand,
    received_at: datetime,
) -> Handled:
    """Process the event and store the request with how it ended, in one transaction: one
    commit (one fsync, one wait for SQLite's write lock), the journal row written once, closed,
    just before the event's own row that refers to it. Nothing it brings is lost: the answer
    goes out after the commit, an event whose processing raised is kept as failed in that
    commit (500, so that the PBX delivers it again), and when the transaction itself fails the
    request is stored as failed on its own, or the PBX gets a 503."""
    if isinstance(command, protocol.IgnoredCommand):
        handled = _ignored(command)
        if journal.open_entry(request, received_at, handled) is None:
            return _cannot_store()
        return handled

    def journaled(handled: Handled) -> PbxRequest:
        entry = journal.new_entry(request, received_at, handled)
        journal.insert_entry(entry)
        return entry

    stored = _read_beforehand(command)
    try:
        with transaction.atomic():
            handled = _record_or_fail(command, journaled, received_at, stored)
            if handled.outcome != Handling.ACCEPTED:  # a repeat, or a failure undone: no row yet
                journaled(handled)
        return handled
    except DatabaseError as exc:
        handled = _failure("event", exc, payload=INTERNAL_ERROR, status=500)
    # Nothing was stored (the connection died, the lock wait ran out): keep it as failed.
    if journal.open_entry(request, received_at, handled) is None:
        return _cannot_store()
    return handled


def _cannot_store() -> Handled:
    # Not journaled means it could be lost: let the PBX deliver it again.
    return _refuse(Handling.FAILED, 503, "the CRM cannot store requests right now")


def _read_beforehand(command: protocol.PbxEvent) -> object:
    """The event's call read before its transaction, which then holds SQLite's write lock the
    shorter; if that read fails, the transaction reads again (and keeps the failure)."""
    try:
        return read_call(command)
    except Exception:
        logger.warning("Reading call %s before its event failed", command.callid, exc_info=True)
        return UNREAD


def _record_or_fail(
    command: protocol.PbxEvent, journaled: Callable[[Handled], PbxRequest], received_at: datetime,
    stored: object,
) -> Handled:
    """The event recorded (in a savepoint) with its journal row, or the failure that undid
    both."""
    try:
        with transaction.atomic():
            return _record(
                command, received_at,
                request=lambda call: journaled(_accepted(command, call)), stored=stored,
            )
    except Exception as exc:
        return _failure("event", exc, payload=INTERNAL_ERROR, status=500)


def _process(
    command: protocol.PbxEvent | protocol.IgnoredCommand,
    entry: PbxRequest | None,
    received_at: datetime,
) -> Handled:
    """A journaled event processed again: recorded in one transaction with the closing of its
    row; on failure the row says so. A command we do not act on is acknowledged."""
    if isinstance(command, protocol.IgnoredCommand):
        handled = _ignored(command)
        journal.close_entry_quietly(entry, handled)
        return handled
    try:
        with transaction.atomic():
            handled = _record(command, received_at, request=entry)
            journal.close_entry(entry, handled)
        return handled
    except Exception as exc:
        handled = _failure("event", exc, payload=INTERNAL_ERROR, status=500)
    # Outside the try: an answer already computed stands even if journaling fails.
    journal.close_entry_quietly(entry, handled)
    return handled


def _record(
    command: protocol.PbxEvent, received_at: datetime,
    request: PbxRequest | Callable[[Call], PbxRequest] | None, stored: object = UNREAD,
) -> Handled:
    result = record_event(event=command, received_at=received_at, request=request,
                          stored=stored)
    if result.duplicate:
        return Handled(
            outcome=Handling.DUPLICATE, payload={"ok": True, "duplicate": True},
            call=result.call, error=_note(command),
        )
    return _accepted(command, result.call)


def _accepted(command: protocol.PbxEvent, call: Call) -> Handled:
    return Handled(outcome=Handling.ACCEPTED, payload={"ok": True}, call=call, error=_note(command))


def _ignored(command: protocol.IgnoredCommand) -> Handled:
    return Handled(outcome=Handling.IGNORED, payload={"ok": True, "ignored": command.reason})


def _note(command: protocol.PbxEvent) -> str:
    return "; ".join(f"left out: {problem}" for problem in command.refused)


# --- checks before either path --------------------------------------------------------------


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
    if isinstance(checked, protocol.ContactLookup):
        return Handled(outcome=Handling.FAILED, payload={}, error="the database is unreachable")
    return _refuse(Handling.FAILED, 503, "the CRM cannot store requests right now")
