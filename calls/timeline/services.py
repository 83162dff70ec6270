"""What a contact's card reads: the timeline, newest first, a page at a time, and the summary.

The timeline merges three sources: the contact's calls, their callbacks and the contact's
creation. It is paged by position, not by offset: a page is the PAGE entries just older (or
newer) than one entry's key, read from each source by one query walking an index
(call_contact_started, callback_contact_created) from that key. The thousandth page of a
contact with 10 000 calls costs what the first does.
"""
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from enum import IntEnum

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.db.models import Q, QuerySet

from calls.callbacks.services import is_missed
from calls.dashboard.figures import clock
from calls.models import Call, Callback
from calls.recordings.services import can_listen
from calls.vocabulary import Direction
from contacts.models import Agent, Contact
from contacts.phones import normalize_phone

PAGE = 20
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class Rank(IntEnum):
    """Which comes first among entries of one instant (the greater is the newer)."""

    CREATED = 0
    CALL = 1
    CALLBACK = 2  # opened by its missed call: it follows it


@dataclass(frozen=True, order=True)
class Position:
    """An entry's place in the timeline; a page starts next to one. Also a URL token."""

    at: datetime
    rank: int
    pk: int

    @property
    def token(self) -> str:
        micro = (self.at - EPOCH) // timedelta(microseconds=1)
        return f"{micro}.{self.rank}.{self.pk}"

    @classmethod
    def parse(cls, token: str | None) -> "Position | None":
        """The position a token names; None for anything else (a page link mistyped)."""
        try:
            micro, rank, pk = (int(part) for part in (token or "").split("."))
            return cls(EPOCH + timedelta(microseconds=micro), Rank(rank), pk)
        except (ValueError, OverflowError):
            return None


@dataclass(frozen=True)
class CallEntry:
    """One of the contact's calls, with what the user may do with it."""

    call: Call
    may_listen: bool  # the recording's player is shown (calls.recordings.services.can_listen)
    may_call_back: bool  # a missed incoming call from a real number, to a user who may call
    rank: int = field(default=Rank.CALL, init=False)
    kind: str = field(default="call", init=False)

    @property
    def at(self) -> datetime:
        return self.call.started_at

    @property
    def position(self) -> Position:
        return Position(self.call.started_at, self.rank, self.call.pk)

    @property
    def is_missed(self) -> bool:
        return is_missed(self.call)

    @property
    def is_incoming(self) -> bool:
        return self.call.direction == Direction.IN

    @property
    def talk_time(self) -> str:
        """m:ss, or "" when nobody talked."""
        return clock(timedelta(seconds=self.call.duration)) if self.call.duration else ""


@dataclass(frozen=True)
class CallbackEntry:
    """A callback of the contact: opened by a missed call, perhaps closed by a later one."""

    callback: Callback
    rank: int = field(default=Rank.CALLBACK, init=False)
    kind: str = field(default="callback", init=False)

    @property
    def at(self) -> datetime:
        return self.callback.created_at

    @property
    def position(self) -> Position:
        return Position(self.callback.created_at, self.rank, self.callback.pk)

    @property
    def missed_at(self) -> datetime:
        return self.callback.missed_call.started_at

    @property
    def waited_until(self) -> datetime | None:
        """When the client's wait ended (the closing call's answer); None: open, or closed by
        hand (no call measured the wait)."""
        if self.callback.waited is None:
            return None
        return self.missed_at + self.callback.waited


@dataclass(frozen=True)
class CreatedEntry:
    """When the contact was made: by hand or import, or by the CRM as a lead for a caller.

    The contact does not store the call that made its lead: `call` is derived, as the latest
    incoming call from the lead's number that had started when the lead was made (leads are
    made by such a call, when it is answered or ends: calls/assembly.py, find_contact).
    """

    contact_id: int
    at: datetime
    lead_number: str | None  # set when the CRM made the contact as a lead
    call: Call | None
    rank: int = field(default=Rank.CREATED, init=False)
    kind: str = field(default="created", init=False)

    @property
    def position(self) -> Position:
        return Position(self.at, self.rank, self.contact_id)


Entry = CallEntry | CallbackEntry | CreatedEntry


@dataclass(frozen=True)
class TimelinePage:
    """A page of the timeline, newest first, and where the pages beside it start."""

    entries: list[Entry]
    older: Position | None  # the last entry's, when older entries exist
    newer: Position | None  # the first entry's, when newer entries exist


def _beyond(at: str, rank: int, position: Position | None, *, older: bool) -> Q:
    """Entries of one source (its date field `at`, its `rank`) older, or newer, than
    `position`: a range on `at` the index walks, then the tie broken by rank and id."""
    if position is None:
        return Q()
    before, strictly = ("lte", "lt") if older else ("gte", "gt")
    if rank == position.rank:
        return Q(**{f"{at}__{before}": position.at}) & (
            Q(**{f"{at}__{strictly}": position.at}) | Q(**{f"pk__{strictly}": position.pk})
        )
    ahead = rank < position.rank if older else rank > position.rank
    return Q(**{f"{at}__{before if ahead else strictly}": position.at})


def contact_calls(contact: Contact) -> QuerySet[Call]:
    """The contact's calls with what an entry shows (agent, result, recording)."""
    return Call.objects.filter(contact=contact).select_related("agent", "result", "recording")


def _read(contact: Contact, position: Position | None, *, older: bool, size: int,
          user: AbstractBaseUser | AnonymousUser, may_place_calls: bool) -> list[Entry]:
    """Up to `size` entries of each source beyond `position`, merged, nearest first."""
    order = ("-", "-") if older else ("", "")
    calls = (
        contact_calls(contact)
        .filter(_beyond("started_at", Rank.CALL, position, older=older))
        .order_by(f"{order[0]}started_at", f"{order[1]}id")[:size]
    )
    callbacks = (
        Callback.objects.filter(contact=contact)
        .filter(_beyond("created_at", Rank.CALLBACK, position, older=older))
        .select_related("missed_call", "closed_by")
        .order_by(f"{order[0]}created_at", f"{order[1]}id")[:size]
    )
    entries: list[Entry] = [
        CallEntry(
            call=call,
            may_listen=bool(call.record_link or getattr(call, "recording", None))
            and can_listen(user, call),
            may_call_back=may_place_calls and may_call_back(call),
        )
        for call in calls
    ]
    entries += [CallbackEntry(callback=callback) for callback in callbacks]
    created = Position(contact.created_at, Rank.CREATED, contact.pk)
    if position is None or (created < position if older else created > position):
        entries.append(CreatedEntry(contact_id=contact.pk, at=contact.created_at,
                                    lead_number=contact.lead_number, call=None))
    return sorted(entries, key=lambda entry: entry.position, reverse=older)


def timeline_page(
    *, contact: Contact, user: AbstractBaseUser | AnonymousUser, may_place_calls: bool,
    older: Position | None = None, newer: Position | None = None, size: int = PAGE,
) -> TimelinePage:
    """The page of entries just older than `older`, or just newer than `newer`, or the newest.

    A query for calls, one for callbacks, one for a lead's call when its entry is on the page,
    whatever the number of calls. Newer entries fewer than a page make the first page, full.
    """
    read = {"user": user, "may_place_calls": may_place_calls, "size": size + 1}
    if newer is not None and older is None:
        ahead = _read(contact, newer, older=False, **read)
        if len(ahead) > size:
            shown = _with_lead_call(contact, ahead[:size][::-1])
            return TimelinePage(shown, older=shown[-1].position, newer=shown[0].position)
    entries = _read(contact, older, older=True, **read)
    shown = _with_lead_call(contact, entries[:size])
    return TimelinePage(
        shown,
        older=shown[-1].position if len(entries) > size else None,
        newer=shown[0].position if older is not None and shown else None,
    )


def _with_lead_call(contact: Contact, entries: list[Entry]) -> list[Entry]:
    """The page's entries, its creation entry (if there) told the call that made the lead."""
    return [
        replace(entry, call=lead_call(contact)) if isinstance(entry, CreatedEntry) else entry
        for entry in entries
    ]


def may_call_back(call: Call) -> bool:
    """Whether a call gets "Call back": a missed incoming call from a real number (as the call
    log's, calls/admin.py CallAdmin.call_back); who may place calls is the caller's to check."""
    return is_missed(call) and normalize_phone(call.phone) is not None


def lead_call(contact: Contact) -> Call | None:
    """The call that made a lead, as near as it can be told (CreatedEntry says how)."""
    if not contact.lead_number:
        return None
    return (
        Call.objects.filter(
            phone=contact.lead_number, direction=Direction.IN, started_at__lte=contact.created_at
        )
        .order_by("-started_at", "-id")
        .first()
    )


@dataclass(frozen=True)
class CardSummary:
    """The card's header: whose client, lead or not, the last call, the open callbacks."""

    responsible: Agent | None
    is_lead: bool
    last_call: Call | None
    open_callbacks: int
    open_callback: Callback | None  # the oldest open one, the one to call back first


# Open callbacks of one contact: one per number at most (callback_one_open_per_phone).
OPEN_READ = 20


def card_summary(*, contact: Contact, page: TimelinePage | None = None) -> CardSummary:
    """The header of a contact's card, in two queries; one when `page`, the timeline's page
    shown with it, is the first (its newest call is the last call)."""
    return CardSummary(
        responsible=contact.responsible,
        is_lead=contact.is_lead,
        last_call=_last_call(contact, page),
        **_open_callbacks(contact),
    )


def _last_call(contact: Contact, page: TimelinePage | None) -> Call | None:
    if page is not None and page.newer is None:
        calls = [entry.call for entry in page.entries if isinstance(entry, CallEntry)]
        if calls or page.older is None:  # the newest call, or the whole timeline has none
            return calls[0] if calls else None
    return Call.objects.filter(contact=contact).order_by("-started_at", "-id").first()


def _open_callbacks(contact: Contact) -> dict[str, object]:
    open_callbacks = list(
        Callback.objects.filter(contact=contact, closed_at=None)
        .select_related("missed_call").order_by("created_at", "id")[:OPEN_READ]
    )
    return {"open_callbacks": len(open_callbacks),
            "open_callback": open_callbacks[0] if open_callbacks else None}
