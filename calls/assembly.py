"""Call assembly: each PBX event is added to its call, the call is derived again from all of its
events, and then what follows a call runs, step by step (BEFORE_SAVE, AFTER_SAVE).

An event costs few round trips: one read of the call with its events, the derived call written
once (an INSERT for a new call, else an UPDATE of the revision read), one INSERT of the event,
and only the steps that this event changed something for. What those steps need to know is in
`Change`. Two events of one call processed at once never overwrite each other: the second one's
write finds the call changed (its INSERT meets the callid, its UPDATE another revision), and it
reads the call again.
"""
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import OuterRef, Subquery

from calls.callbacks.services import (
    UNREAD,
    OpenCallback,
    close_callbacks,
    is_answered,
    is_missed,
    open_callback,
    open_callback_columns,
)
from calls.clicktocall.services import link_attempt
from calls.dashboard.rollup import forget_days_of
from calls.models import Call, CallEvent, PbxRequest
from calls.pbx import protocol
from calls.recordings.services import request_archiving
from calls.routing import LOOKUP_LATE, claim_lookup, pick_lookup, tie_lookup
from calls.vocabulary import Direction, Outcome
from contacts.agents import ensure_agent
from contacts.leads import adopt_lead, ensure_lead
from contacts.models import Agent, Contact
from contacts.phones import normalize_phone
from contacts.services import find_contact_by_phone
from xvbcrm.db import CompiledQuery, insert_row, instances, model_columns


@dataclass(frozen=True)
class EventResult:
    call: Call
    duplicate: bool


@dataclass(frozen=True)
class Change:
    """A call just derived again from its events, with what it was before and what its events
    said beyond it: the steps that follow act only on what changed for them."""

    call: Call
    event: protocol.PbxEvent
    received_at: datetime
    started_before: datetime | None  # the call's start before this event (None: a new call)
    answered_before: bool  # somebody had talked with the client already
    missed_before: bool  # an incoming call nobody talked on
    record_link_before: str
    incoming_at: datetime | None  # when its INCOMING event was received
    completed: bool  # whether its COMPLETED event was received
    latest_before: datetime | None  # when the newest of its other events was received
    number_callback: OpenCallback | None | object  # its number's open one, read with it


def read_call(event: protocol.PbxEvent) -> "StoredCall | None":
    """What record_event reads first, read beforehand: outside the event's transaction it
    holds no write lock (SQLite has one for the whole database), and what changes meanwhile
    is caught by the call's write (its revision, or the callid its INSERT meets). A call's
    start reads nothing: nearly always its first event, the call is written without a read."""
    return None if event.kind in protocol.START_DIRECTIONS else _stored_call(event.callid)


@dataclass(frozen=True)
class StoredCall:
    call: Call
    events: list[CallEvent]
    number_callback: OpenCallback | None  # the open one of the call's number, when read
    values: dict[str, object]  # the call's columns as read: its write sets only what changed



def record_event(
    *,
    event: protocol.PbxEvent,
    received_at: datetime,
    request: PbxRequest | Callable[[Call], PbxRequest] | None = None,
    stored: "StoredCall | None | object" = UNREAD,
) -> EventResult:
    """Add one PBX event to its call; a repeat of an event the call has changes nothing.

    `request`: the journal row the event came in (or a function that stores it, given the call,
    called just before the event's row is written: the webhook writes its row once, closed).
    `stored`: what `read_call` read for the event, when it was read beforehand.

    All or nothing: in a transaction of its own, or in the caller's (no savepoint of its own:
    the webhook wraps it in one)."""
    with transaction.atomic(savepoint=False):
        if stored is UNREAD:
            stored = read_call(event)
        while True:
            if stored is None:
                call, events = Call(callid=event.callid, started_at=received_at), []
                number_callback, read_values = UNREAD, None
            else:
                call, events = stored.call, stored.events
                number_callback, read_values = stored.number_callback, stored.values
                if any(known.event == event.kind for known in events):  # a repeated delivery
                    return EventResult(call=call, duplicate=True)
            new_event = CallEvent(
                call=call, event=event.kind, received_at=received_at,
                direction=event.direction or "", phone=event.phone, ext=event.ext,
                line_number=event.line_number, status=event.status, duration=event.duration,
                record_link=event.record_link,
                request=None if callable(request) else request,
            )
            if rebuild_call(call, [*events, new_event], event=event, received_at=received_at,
                            number_callback=number_callback, read_values=read_values):
                break
            # Stored, or changed, since it was read: a repeated delivery, or a concurrent one.
            stored = _stored_call(event.callid)
            if stored is None:
                raise IntegrityError(f"call {event.callid!r} is stored without its events")
        new_event.call = call
        if callable(request):
            new_event.request = request(call)
        insert_row(new_event)
    return EventResult(call=call, duplicate=False)


# The call with its events, agent and contact (with the contact's responsible), and its
# number's open callback: one query, compiled once (building it was a fifth of an event's
# time), its rows made into models.
_STORED_CALL_MODELS = (CallEvent, Call, Agent, Contact, Agent)
_STORED_CALL = CompiledQuery(
    lambda callid: CallEvent.objects.filter(call__callid=callid).values_list(
        *model_columns(CallEvent), *model_columns(Call, "call"),
        *model_columns(Agent, "call__agent"), *model_columns(Contact, "call__contact"),
        *model_columns(Agent, "call__contact__responsible"),
        *(Subquery(query) for query in open_callback_columns(OuterRef("call__phone"))),
    ),
    callid="~callid~",
)


def _stored_call(callid: str) -> StoredCall | None:
    """The call with this callid and its events, in one query; None for a call not seen yet
    (every stored call has an event)."""
    stored = None
    for row in _STORED_CALL.fetch_all(callid=callid):
        *columns, callback_id, missed_call_id, missed_at = row
        event, call, agent, contact, responsible = instances(columns, *_STORED_CALL_MODELS)
        if stored is None:
            call.agent = agent
            call.contact = contact
            if contact is not None:
                contact.responsible = responsible
            number_callback = None if callback_id is None else OpenCallback(
                callback_id, missed_call_id, missed_at
            )
            stored = StoredCall(call, [], number_callback, _columns(call))
        event.call = stored.call
        stored.events.append(event)
    return stored


def _first(*values: str) -> str:
    return next((value for value in values if value), "")


def rebuild_call(
    call: Call, events: list[CallEvent], *, event: protocol.PbxEvent, received_at: datetime,
    number_callback: OpenCallback | None | object = UNREAD,
    read_values: dict[str, object] | None = None,
) -> bool:
    """Derive the call from all of its events, so arrival order never matters; run what follows
    (BEFORE_SAVE and AFTER_SAVE, each step idempotent) and write the call once. `events`: the
    stored ones, then the new one; `number_callback` and `read_values`: what was read with
    the call (StoredCall). False when the call was stored or changed by another delivery
    meanwhile (nothing of it is written then)."""
    new = call.pk is None
    change_before = {
        "started_before": None if new else call.started_at,
        "answered_before": not new and is_answered(call),
        "missed_before": not new and is_missed(call),
        "record_link_before": "" if new else call.record_link,
    }
    by_kind = {known.event: known for known in events}
    start = by_kind.get(protocol.EventKind.INCOMING) or by_kind.get(protocol.EventKind.OUTGOING)
    answered = by_kind.get(protocol.EventKind.ANSWERED)
    completed = by_kind.get(protocol.EventKind.COMPLETED)
    in_order = [known for known in (start, answered, completed) if known is not None]

    direction = _first(*(known.direction for known in in_order))
    raw_phone = _first(*(known.phone for known in in_order))
    extension = _first(
        completed.ext if completed else "",
        answered.ext if answered else "",
        start.ext if start and direction == Direction.OUT else "",
    ).strip()

    call.direction = direction
    call.phone = normalize_phone(raw_phone) or raw_phone if raw_phone else ""
    call.line_number = _first(*(known.line_number for known in in_order))
    call.status = completed.status if completed else ""
    call.duration = completed.duration if completed else None
    call.record_link = completed.record_link if completed else ""
    call.ended_at = completed.received_at if completed else None
    call.outcome = protocol.outcome_for(
        status=call.status, direction=direction, completed=completed is not None
    )
    call.answered_at = answered.received_at if answered else None
    if call.answered_at is None and call.outcome == Outcome.ANSWERED and call.duration:
        # No queue pickup event (a direct or outgoing call): answered when the talk began.
        call.answered_at = call.ended_at - timedelta(seconds=call.duration)
    # The first receipt, or the derived answer time when that came earlier still.
    call.started_at = min(
        [known.received_at for known in events] + ([call.answered_at] if call.answered_at else [])
    )
    if extension != (call.agent.extension if call.agent else ""):
        call.agent = ensure_agent(extension)
    if event.ext.strip() and event.ext.strip() != extension:
        ensure_agent(event.ext)  # the agent list fills itself with every extension seen
    change = Change(
        call=call, event=event, received_at=received_at,
        incoming_at=start.received_at if start and direction == Direction.IN else None,
        completed=completed is not None,
        latest_before=max((known.received_at for known in events[:-1]), default=None),
        number_callback=number_callback,
        **change_before,
    )
    for step in BEFORE_SAVE:
        step(change)
    if new:
        # The routing of the lookup the new call takes; claimed once the call is stored.
        lookup = pick_lookup(call, incoming_at=change.incoming_at) if change.incoming_at else None
        try:
            with transaction.atomic():
                insert_row(call, read_id=True)
        except IntegrityError:  # callid is unique
            call.pk = None
            return False
        if lookup is not None and not claim_lookup(call, lookup):
            _retie(change)  # a concurrent call from the number claimed it first
    elif not _write(call, read_values):
        return False
    for step in AFTER_SAVE:
        step(change)
    return True


def _columns(call: Call) -> dict[str, object]:
    return {
        field.attname: getattr(call, field.attname)
        for field in Call._meta.concrete_fields
        if not field.primary_key
    }


def _write(call: Call, read: dict[str, object] | None) -> bool:
    """UPDATE the call if it still has the revision read (one statement), bumping it: the
    columns that differ from those `read` with it (all of them, when not given)."""
    fields = {
        name: value for name, value in _columns(call).items()
        if read is None or read[name] != value
    }
    fields["revision"] = call.revision + 1
    if not Call.objects.filter(pk=call.pk, revision=call.revision).update(**fields):
        return False
    call.revision += 1
    return True


# --- what follows a call, in order -----------------------------------------------------------


def find_contact(change: Change) -> None:
    """The contact owning the number; for an unknown incoming caller, the lead: made when the
    call is answered (its agent responsible) or, unanswered, when it ends."""
    call = change.call
    if call.contact_id is not None or not call.phone.startswith("+"):
        return
    answered = is_answered(call)
    if call.direction == Direction.IN and (answered or change.completed):
        call.contact = ensure_lead(phone=call.phone, agent=call.agent if answered else None)
        if call.contact is not None:
            return
    call.contact = find_contact_by_phone(call.phone)


def adopt_as_lead(change: Change) -> None:
    """A lead with no responsible gets the agent who answered its caller."""
    call = change.call
    contact = call.contact
    if call.direction != Direction.IN or call.agent is None or not is_answered(call):
        return
    if contact is None or not contact.is_lead or contact.responsible_id is not None:
        return
    if adopt_lead(contact_id=contact.pk, agent=call.agent):
        contact.responsible = call.agent


def tie_routing(change: Change) -> None:
    """A stored incoming call takes the routing of the caller lookup that preceded it (a new
    call's is picked in rebuild_call and claimed once the call is stored). A call left untied
    looks again at its next events, until one came after every lookup that could count had
    arrived (LOOKUP_LATE)."""
    if change.incoming_at is None or change.started_before is None:
        return
    late = change.incoming_at + LOOKUP_LATE
    if change.latest_before is not None and change.latest_before > late:
        return  # looked already, when every lookup that could count was in
    tie_lookup(change.call, incoming_at=change.incoming_at)


def _retie(change: Change) -> None:
    call = change.call
    call.routed_to_id, call.route_reason, call.route_note = None, "", ""
    tie_lookup(call, incoming_at=change.incoming_at)
    call.save(update_fields=["routed_to", "route_reason", "route_note"])


def link_click_to_call(change: Change) -> None:
    """An outgoing call's start event: the click-to-call attempt that caused it."""
    event = change.event
    if event.kind in protocol.START_DIRECTIONS and event.direction == Direction.OUT:
        link_attempt(call=change.call, event=event, received_at=change.received_at)


def archive_recording(change: Change) -> None:
    """A call with a new record_link: its recording is archived (in the worker)."""
    if change.call.record_link != change.record_link_before:
        request_archiving(call=change.call)


def refresh_dashboard(change: Change) -> None:
    """The dashboard's rollup forgets the days the call left and entered."""
    forget_days_of(change.started_before, change.call.started_at)


def follow_callbacks(change: Change) -> None:
    """A call that just became missed opens a callback; one that just reached the client
    closes the open one of its number."""
    call = change.call
    if not change.missed_before:
        open_callback(call=call)
    if not change.answered_before:
        close_callbacks(call=call, known=change.number_callback)


# Steps that may change the call run before it is written (once); the others after.
BEFORE_SAVE: tuple[Callable[[Change], None], ...] = (
    find_contact,
    adopt_as_lead,
    tie_routing,
)
AFTER_SAVE: tuple[Callable[[Change], None], ...] = (
    link_click_to_call,
    archive_recording,
    refresh_dashboard,
    follow_callbacks,  # after the contact: a missed call's callback is for the lead it made
)
