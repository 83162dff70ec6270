"""The journal of PBX requests: what a row keeps of a request, writing and closing rows,
what a failed row re-processes, and retention (old rows go in small batches)."""
import json
import logging
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl

from django.db import DatabaseError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from calls.models import Call, PbxRequest
from calls.pbx import protocol
from xvbcrm.db import insert_row

logger = logging.getLogger(__name__)

Handling = PbxRequest.Handling

UNITS = {"h": "hours", "d": "days", "w": "weeks"}
BATCH_SIZE = 1000
SECRET_HEADERS = {protocol.ACCESS_CODE_HEADER, "HTTP_AUTHORIZATION", "HTTP_COOKIE"}
# A refused request's journal row is bounded, whatever was sent: a flood of wrong codes must
# not grow the database by PBX_MAX_BODY_BYTES a request. It keeps the head of the body (and
# the body's size) and headers up to a budget; the webhook bounds its error messages.
REFUSED_BODY_HEAD = 1024  # characters
REFUSED_HEADERS_BUDGET = 2048  # characters of names and values
REFUSED_HEADER_VALUE = 256  # characters of one header's value


@dataclass(frozen=True)
class WebhookRequest:
    """What the view read off the HTTP request (what a row stores), nothing Django-specific."""

    method: str
    body: bytes
    oversized: bool
    content_type: str
    meta_headers: dict[str, str]  # WSGI names: HTTP_X_XVB_AC, ...
    remote_addr: str | None
    body_size: int | None = None  # bytes received, when more than `body` holds (oversized)

    @property
    def size(self) -> int:
        return len(self.body) if self.body_size is None else self.body_size


@dataclass(frozen=True)
class Handled:
    """What processing one request came to."""

    outcome: str
    payload: dict[str, Any]
    status: int = 200
    error: str = ""
    call: Call | None = field(default=None, compare=False)
    retry_after: int | None = None  # seconds, for a 429's Retry-After
    wrong_code: bool = field(default=False, compare=False)  # counts toward the throttle


def escape_nul(text: str) -> str:
    """PostgreSQL refuses NUL in text and JSON columns: store it as a visible `\\x00`."""
    return text.replace("\x00", "\\x00")


def journal_text(body: bytes, content_type: str, *, head: int | None = None) -> str:
    """The body as text for the journal: undecodable bytes escaped, secrets redacted; with
    `head`, only its first `head` characters (cut after redacting: no code is half kept)."""
    codec = protocol.CHARSETS.get(protocol.charset_of(content_type), "utf-8")
    return protocol.redact_body(escape_nul(body.decode(codec, "backslashreplace")))[:head]


def journal_headers(meta_headers: dict[str, str], *, budget: int | None = None) -> dict[str, str]:
    """The headers for the journal, secrets redacted; with `budget`, at most that many
    characters of names and values (the count of those left out is kept)."""
    value_limit = 500 if budget is None else REFUSED_HEADER_VALUE
    headers = {
        escape_nul(name)[:value_limit]: (
            protocol.REDACTED if name in SECRET_HEADERS else escape_nul(value)[:value_limit]
        )
        for name, value in meta_headers.items()
    }
    if budget is None:
        return headers
    kept: dict[str, str] = {}
    for name, value in headers.items():
        budget -= len(name) + len(value)
        if budget < 0:
            break
        kept[name] = value
    if len(kept) < len(headers):
        kept["left_out"] = f"{len(headers) - len(kept)} more headers"
    return kept


def journal_summary(text: str) -> dict[str, str]:
    """The indexed fields (cmd, event, callid, phone) of a journaled body."""
    try:
        pairs = parse_qsl(text, keep_blank_values=True, errors="replace", max_num_fields=None)
    except ValueError:
        pairs = []
    return protocol.summary_fields(dict(pairs))


def new_entry(
    request: WebhookRequest, received_at: datetime, handled: Handled | None = None
) -> PbxRequest:
    """The request's journal row, not stored yet; with `handled`, closed with its answer.

    A refused request (4xx) keeps a bounded row: the head of its body, headers to a budget.
    """
    refused = handled is not None and 400 <= handled.status < 500
    text = journal_text(
        request.body, request.content_type, head=REFUSED_BODY_HEAD if refused else None
    )
    entry = PbxRequest(
        received_at=received_at,
        remote_addr=request.remote_addr,
        method=request.method[:16],
        headers=journal_headers(
            request.meta_headers, budget=REFUSED_HEADERS_BUDGET if refused else None
        ),
        body=text,
        body_bytes=request.size,
        **journal_summary(text),
    )
    if handled is not None:
        _fill_answer(entry, handled)
    return entry


def insert_answered(entry: PbxRequest) -> None:
    """Store a row closed with its answer in one statement; it is never read back."""
    insert_row(entry)


def insert_entry(entry: PbxRequest) -> None:
    """Store a row in one statement, reading its id (the event's rows refer to it)."""
    insert_row(entry, read_id=True)


def open_entry(
    request: WebhookRequest, received_at: datetime, handled: Handled | None = None
) -> PbxRequest | None:
    """Store the request; with `handled`, already closed with its answer (one write). None
    when it cannot be stored (logged)."""
    entry = new_entry(request, received_at, handled)
    try:
        if handled is None:
            insert_entry(entry)  # its id is needed: the event's rows and the answer refer to it
        else:
            insert_answered(entry)
    except DatabaseError:
        logger.exception("Could not journal a PBX request")
        return None
    return entry


def _fill_answer(entry: PbxRequest, handled: Handled) -> list[str]:
    """Set how the request ended on its journal row; the names of the fields set."""
    entry.outcome = handled.outcome
    entry.response_status = handled.status
    entry.response_body = escape_nul(json.dumps(handled.payload, ensure_ascii=False))
    entry.error = escape_nul(handled.error)
    entry.call = handled.call
    entry.processed_at = timezone.now()
    return ["outcome", "response_status", "response_body", "error", "call", "processed_at"]


def close_entry(entry: PbxRequest | None, handled: Handled) -> None:
    if entry is None:
        return
    entry.save(update_fields=_fill_answer(entry, handled))


def close_entry_quietly(entry: PbxRequest | None, handled: Handled) -> None:
    """Close the journal row, logging (not raising) when the database is unavailable."""
    try:
        close_entry(entry, handled)
    except DatabaseError:
        logger.exception("Could not journal the result of a PBX request")


def replayable_command(entry: PbxRequest) -> protocol.PbxCommand:
    """The command a failed row holds, to be processed again; ValueError when there is none."""
    if entry.outcome != Handling.FAILED:
        raise ValueError(
            _("Only failed requests can be re-processed, not %(outcome)s ones.")
            % {"outcome": entry.get_outcome_display()}
        )
    form = protocol.decode_form(entry.body.encode("utf-8"))
    command = protocol.parse_command(form.fields)
    if isinstance(command, protocol.ContactLookup):
        raise ValueError(_("A caller lookup was answered at the time: there is nothing to redo."))
    return command


def parse_age(text: str) -> timedelta:
    """`90d`, `12h`, `2w` as a timedelta; ValueError for anything else."""
    match = re.fullmatch(r"\s*(\d+)\s*([hdw])\s*", text.lower())
    if not match or int(match[1]) == 0:
        raise ValueError(f"{text!r} is not an age such as 90d, 12h or 2w")
    return timedelta(**{UNITS[match[2]]: int(match[1])})


def count_journal_before(*, cutoff: datetime) -> int:
    """How many journaled requests were received before `cutoff`."""
    return PbxRequest.objects.filter(received_at__lt=cutoff).count()


def prune_journal(*, cutoff: datetime, batch_size: int = BATCH_SIZE) -> int:
    """Delete the journaled requests received before `cutoff`; how many were deleted.

    The journal is an audit log: what the call log shows (calls, their events, the caller
    lookups' routing) lives elsewhere and stays; call events that point at a deleted request
    lose the link. Each batch is one short transaction on at most `batch_size` ids, so
    webhooks keep being journaled while a large backlog is deleted, and no row is loaded
    beyond its id.
    """
    deleted = 0
    old = PbxRequest.objects.filter(received_at__lt=cutoff).order_by()
    while ids := list(old.values_list("pk", flat=True)[:batch_size]):
        with transaction.atomic():
            # Re-checked by the cutoff: a batch never deletes what is newer.
            _, per_model = old.filter(pk__in=ids).only("pk").delete()
        deleted += per_model.get(PbxRequest._meta.label, 0)
    return deleted
