"""The XVB PBX webhook protocol: raw form bodies in, typed commands out.

This is the only module that knows the PBX's field names and words
(see `shared/pbx-protocol.md`); it maps them into the call log's words (calls/vocabulary.py).
It does no I/O and touches no database.
"""
import enum
import re
from dataclasses import dataclass
from urllib.parse import parse_qsl, unquote_plus, urlsplit

from calls.vocabulary import Direction, Outcome

ACCESS_CODE_FIELD = "access_code"
ACCESS_CODE_HEADER = "HTTP_X_XVB_AC"  # `X-XVB-AC` as it appears in a WSGI environ
REDACTED = "[redacted]"
MAX_FIELDS = 200

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_CALLID = re.compile(r"[\x21-\x7e]{1,128}")
_FIELD_LIMITS = {"phone": 64, "ext": 32, "line_number": 64, "status": 64, "record_link": 2000}


class PbxProtocolError(ValueError):
    """A request that is not a well-formed PBX webhook; the message says why."""


class EventKind(enum.StrEnum):
    """The call events we act on, under their canonical names."""

    INCOMING = "INCOMING"
    OUTGOING = "OUTGOING"
    ANSWERED = "ANSWERED"
    COMPLETED = "COMPLETED"


# Vendor event words, compared in upper case; the family calls the queue pickup ACCEPTED.
EVENT_KINDS: dict[str, EventKind] = {
    "INCOMING": EventKind.INCOMING,
    "OUTGOING": EventKind.OUTGOING,
    "ANSWERED": EventKind.ANSWERED,
    "ACCEPTED": EventKind.ANSWERED,
    "COMPLETED": EventKind.COMPLETED,
}
DIRECTIONS: dict[str, Direction] = {"in": Direction.IN, "out": Direction.OUT}
START_DIRECTIONS = {EventKind.INCOMING: Direction.IN, EventKind.OUTGOING: Direction.OUT}


# COMPLETED `status`, lower-cased. "Not answered" depends on the direction (see outcome_for).
_NOT_ANSWERED = "not_answered"
STATUS_OUTCOMES: dict[str, str] = {
    "success": Outcome.ANSWERED,
    "missed": _NOT_ANSWERED,
    "cancel": _NOT_ANSWERED,
    "cancelled": _NOT_ANSWERED,
    "noanswer": _NOT_ANSWERED,
    "busy": Outcome.BUSY,
    "notavailable": Outcome.FAILED,
    "notallowed": Outcome.FAILED,
    "notfound": Outcome.FAILED,
}


def outcome_for(*, status: str, direction: str | None, completed: bool) -> Outcome:
    """Normalize a call's raw PBX status into an Outcome."""
    if not completed:
        return Outcome.IN_PROGRESS
    outcome = STATUS_OUTCOMES.get(status.strip().lower(), Outcome.UNKNOWN)
    if outcome == _NOT_ANSWERED:
        # Without a direction (COMPLETED may come alone) "missed" is the PBX's own word.
        return Outcome.NO_ANSWER if direction == Direction.OUT else Outcome.MISSED
    return Outcome(outcome)


@dataclass(frozen=True)
class ContactLookup:
    """`cmd=contact`: who is calling, and who is their manager?"""

    phone: str
    callid: str = ""
    line_number: str = ""


@dataclass(frozen=True)
class PbxEvent:
    """`cmd=event` with an event we act on (stored as a calls.models.CallEvent row)."""

    callid: str
    kind: EventKind
    direction: Direction | None
    phone: str
    ext: str
    line_number: str
    status: str
    duration: int | None
    record_link: str  # "" unless it is an http(s) URL
    # Fields that were unusable and left out, with why; the event itself still counts, so a
    # call is not left unfinished over a malformed detail (the journal keeps the raw value).
    refused: tuple[str, ...] = ()


@dataclass(frozen=True)
class IgnoredCommand:
    """A command or event we do not act on; kept in the journal and acknowledged."""

    cmd: str
    event: str
    reason: str


PbxCommand = ContactLookup | PbxEvent | IgnoredCommand


@dataclass(frozen=True)
class WebhookForm:
    """A decoded webhook body: the last value of each field, and every access code sent."""

    fields: dict[str, str]
    access_codes: tuple[str, ...]


# Charsets a form body may declare: ASCII-compatible ones only, so that field names (and the
# access code) read the same in the raw body as in the decoded form.
CHARSETS = {
    "utf-8": "utf-8", "utf8": "utf-8", "us-ascii": "ascii", "ascii": "ascii",
    "iso-8859-1": "latin-1", "latin-1": "latin-1", "latin1": "latin-1",
    "windows-1251": "cp1251", "cp1251": "cp1251", "koi8-r": "koi8-r",
}


def charset_of(content_type: str) -> str:
    """The charset named in a Content-Type header, defaulting to UTF-8."""
    for param in content_type.split(";")[1:]:
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset" and value.strip():
            return value.strip().strip('"').lower()
    return "utf-8"


def decode_form(body: bytes, *, charset: str = "utf-8") -> WebhookForm:
    """Decode an `application/x-www-form-urlencoded` body, refusing bytes that don't decode."""
    codec = CHARSETS.get(charset.strip().lower())
    if codec is None:
        raise PbxProtocolError(f"unsupported charset {charset[:40]!r}; send UTF-8")
    try:
        pairs = parse_qsl(
            body.decode(codec),
            keep_blank_values=True,
            encoding=codec,
            errors="strict",
            max_num_fields=MAX_FIELDS,
        )
    except UnicodeError as exc:
        raise PbxProtocolError(f"the body is not valid {charset} form data") from exc
    except ValueError as exc:
        raise PbxProtocolError(f"too many fields (the limit is {MAX_FIELDS})") from exc
    fields = dict(pairs)
    codes = tuple(value for key, value in pairs if key == ACCESS_CODE_FIELD)
    return WebhookForm(fields=fields, access_codes=codes)


def redact_body(text: str) -> str:
    """Return a raw form body with every `access_code` value replaced, all else verbatim."""
    parts = text.split("&")
    for index, part in enumerate(parts):
        key = part.split("=", 1)[0]
        if unquote_plus(key, errors="replace").strip() == ACCESS_CODE_FIELD:
            parts[index] = f"{key}={REDACTED}"
    return "&".join(parts)


# Where a recording's link travels: COMPLETED events, and the family's `cmd=history`.
RECORDING_LINK_FIELDS = ("record_link", "link")


def hide_recording_links(text: str) -> str:
    """A raw form body with its recording links' values replaced, for who may not listen."""
    parts = text.split("&")
    for index, part in enumerate(parts):
        key = part.split("=", 1)[0]
        if unquote_plus(key, errors="replace").strip() in RECORDING_LINK_FIELDS:
            parts[index] = f"{key}={REDACTED}"
    return "&".join(parts)


def is_safe_link(url: str) -> bool:
    """True for an absolute http(s) URL with a host, the only links we store or render."""
    if not url or _CONTROL.search(url) or " " in url or len(url) > _FIELD_LIMITS["record_link"]:
        return False
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return parts.scheme.lower() in ("http", "https") and bool(parts.hostname)


def _text(fields: dict[str, str], name: str) -> str:
    value = fields.get(name, "").strip()
    if _CONTROL.search(value):
        raise PbxProtocolError(f"field {name!r} contains control characters")
    if len(value) > _FIELD_LIMITS.get(name, 128):
        raise PbxProtocolError(f"field {name!r} is too long")
    return value


def _duration(fields: dict[str, str]) -> tuple[int | None, str]:
    """Talk time in whole seconds, or None and why the value was left out."""
    raw = _text(fields, "duration")
    if not raw:
        return None, ""
    try:
        seconds = round(float(raw))
    except (ValueError, OverflowError):
        return None, f"duration {raw[:32]!r} is not a number of seconds"
    if not 0 <= seconds < 10**9:
        return None, f"duration {raw[:32]!r} is out of range"
    return seconds, ""


def _callid(fields: dict[str, str], *, required: bool) -> str:
    callid = fields.get("callid", "").strip()
    if not callid:
        if required:
            raise PbxProtocolError("an event needs a callid")
        return ""
    if not _CALLID.fullmatch(callid):
        raise PbxProtocolError("field 'callid' must be 1-128 visible ASCII characters")
    return callid


def _parse_event(fields: dict[str, str]) -> PbxCommand:
    callid = _callid(fields, required=True)
    word = _text(fields, "event")
    kind = EVENT_KINDS.get(word.upper())
    if kind is None:
        return IgnoredCommand(
            cmd="event",
            event=word,
            reason=f"event {word!r} is not one we act on" if word else "event has no name",
        )
    type_word = _text(fields, "type").lower()
    direction = DIRECTIONS.get(type_word) or START_DIRECTIONS.get(kind)
    raw_link = fields.get("record_link", "").strip()
    record_link = raw_link if is_safe_link(raw_link) else ""
    duration, duration_problem = _duration(fields)
    refused = (
        duration_problem,
        "record_link is not an http(s) URL" if raw_link and not record_link else "",
    )
    return PbxEvent(
        callid=callid,
        kind=kind,
        direction=direction,
        phone=_text(fields, "phone"),
        ext=_text(fields, "ext"),
        line_number=_text(fields, "line_number"),
        status=_text(fields, "status"),
        duration=duration,
        record_link=record_link,
        refused=tuple(problem for problem in refused if problem),
    )


def _parse_contact(fields: dict[str, str]) -> PbxCommand:
    return ContactLookup(
        phone=_text(fields, "phone"),
        callid=_callid(fields, required=False),
        line_number=_text(fields, "line_number"),
    )


PARSERS = {"event": _parse_event, "contact": _parse_contact}


def parse_command(fields: dict[str, str]) -> PbxCommand:
    """Turn a decoded webhook body into a typed command, or raise PbxProtocolError."""
    cmd = fields.get("cmd", "").strip()
    if not cmd:
        raise PbxProtocolError("missing 'cmd'")
    parser = PARSERS.get(cmd.lower())
    if parser is None:
        return IgnoredCommand(
            cmd=cmd, event=fields.get("event", ""), reason=f"command {cmd!r} is not one we act on"
        )
    return parser(fields)


def summary_fields(fields: dict[str, str]) -> dict[str, str]:
    """The fields the journal indexes (cmd, event, callid, phone), made safe to store."""
    return {
        name: _CONTROL.sub("", fields.get(name, ""))[:limit]
        for name, limit in (("cmd", 32), ("event", 32), ("callid", 128), ("phone", 64))
    }
