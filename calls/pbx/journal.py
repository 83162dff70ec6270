"""The journal of PBX requests: what a row keeps of a request, and retention (old rows go in
small batches)."""
import re
from datetime import datetime, timedelta
from urllib.parse import parse_qsl

from django.db import transaction

from calls.models import PbxRequest
from calls.pbx import protocol

UNITS = {"h": "hours", "d": "days", "w": "weeks"}
BATCH_SIZE = 1000
SECRET_HEADERS = {protocol.ACCESS_CODE_HEADER, "HTTP_AUTHORIZATION", "HTTP_COOKIE"}
# A refused request's journal row is bounded, whatever was sent: a flood of wrong codes must
# not grow the database by PBX_MAX_BODY_BYTES a request. It keeps the head of the body (and
# the body's size) and headers up to a budget; the webhook bounds its error messages.
REFUSED_BODY_HEAD = 1024  # characters
REFUSED_HEADERS_BUDGET = 2048  # characters of names and values
REFUSED_HEADER_VALUE = 256  # characters of one header's value


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

    Each batch is one short transaction on at most `batch_size` ids (the call events that
    point at them lose the link, the events stay), so webhooks keep being journaled while a
    large backlog is deleted, and no row is loaded beyond its id.
    """
    deleted = 0
    old = PbxRequest.objects.filter(received_at__lt=cutoff).order_by()
    while ids := list(old.values_list("pk", flat=True)[:batch_size]):
        with transaction.atomic():
            # Re-checked by the cutoff: a batch never deletes what is newer.
            _, per_model = old.filter(pk__in=ids).only("pk").delete()
        deleted += per_model.get(PbxRequest._meta.label, 0)
    return deleted
