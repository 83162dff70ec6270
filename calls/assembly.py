"""Call assembly: each PBX event is added to its call, the call is derived again from all of its
events, and then what follows a call runs, step by step (AFTER_CALL)."""
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction

from calls.callbacks.services import close_callbacks, is_answered, open_callback
from calls.clicktocall.services import link_attempt
from calls.dashboard.rollup import forget_days_of
from calls.models import Call, CallEvent, PbxRequest
from calls.pbx import protocol
from calls.recordings.services import request_archiving
from calls.routing import tie_lookup
from calls.vocabulary import Direction, Outcome
from contacts.agents import ensure_agent
from contacts.leads import adopt_lead, ensure_lead
from contacts.phones import normalize_phone
from contacts.services import find_contact_by_phone


@dataclass(frozen=True)
class EventResult:
    call: Call
    duplicate: bool


@dataclass(frozen=True)
class Rebuilt:
    """A call just derived again from its events and saved, with what its events said beyond it."""

    call: Call
    started_before: datetime | None  # the call's start before this rebuild
    incoming_at: datetime | None  # when its INCOMING event was received
    completed: bool  # whether its COMPLETED event was received


def record_event(
    *, event: protocol.PbxEvent, received_at: datetime, request: PbxRequest | None = None
) -> EventResult:
    """Add one PBX event to its call; a repeat of an event the call has changes nothing."""
    with transaction.atomic():
        call = _call_for_update(event.callid, received_at)
        try:
            with transaction.atomic():
                CallEvent.objects.create(
                    call=call,
                    event=event.kind,
                    received_at=received_at,
                    direction=event.direction or "",
                    phone=event.phone,
                    ext=event.ext,
                    line_number=event.line_number,
                    status=event.status,
                    duration=event.duration,
                    record_link=event.record_link,
                    request=request,
                )
        except IntegrityError:  # (call, event) is unique: this is a repeated delivery
            return EventResult(call=call, duplicate=True)
        ensure_agent(event.ext)
        rebuild_call(call)
        if event.kind in protocol.START_DIRECTIONS and event.direction == Direction.OUT:
            # What follows this event rather than the call: the click-to-call that caused it.
            link_attempt(call=call, event=event, received_at=received_at)
    return EventResult(call=call, duplicate=False)


def _call_for_update(callid: str, received_at: datetime) -> Call:
    """The call with this callid, created if new, locked until the transaction ends."""
    try:
        return Call.objects.select_for_update().get(callid=callid)
    except Call.DoesNotExist:
        pass
    try:
        with transaction.atomic():
            return Call.objects.create(callid=callid, started_at=received_at)
    except IntegrityError:  # a concurrent delivery created it first
        return Call.objects.select_for_update().get(callid=callid)


def _first(*values: str) -> str:
    return next((value for value in values if value), "")


def rebuild_call(call: Call) -> None:
    """Derive the call from all of its events, so arrival order never matters; save it, then
    run the steps that follow a call (AFTER_CALL), each idempotent."""
    started_before = call.started_at  # the dashboard's rollup forgets the day it leaves
    events = list(call.events.all())
    by_kind = {event.event: event for event in events}
    start = by_kind.get(protocol.EventKind.INCOMING) or by_kind.get(protocol.EventKind.OUTGOING)
    answered = by_kind.get(protocol.EventKind.ANSWERED)
    completed = by_kind.get(protocol.EventKind.COMPLETED)
    in_order = [event for event in (start, answered, completed) if event is not None]

    direction = _first(*(event.direction for event in in_order))
    raw_phone = _first(*(event.phone for event in in_order))
    extension = _first(
        completed.ext if completed else "",
        answered.ext if answered else "",
        start.ext if start and direction == Direction.OUT else "",
    )

    call.direction = direction
    call.phone = normalize_phone(raw_phone) or raw_phone if raw_phone else ""
    call.line_number = _first(*(event.line_number for event in in_order))
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
        [event.received_at for event in events] + ([call.answered_at] if call.answered_at else [])
    )
    call.agent = ensure_agent(extension)
    if call.contact_id is None and call.phone.startswith("+"):
        call.contact = find_contact_by_phone(call.phone)
    call.save()
    rebuilt = Rebuilt(
        call=call,
        started_before=started_before,
        incoming_at=start.received_at if start and direction == Direction.IN else None,
        completed=completed is not None,
    )
    for step in AFTER_CALL:
        step(rebuilt)


# --- what follows a call, in order -----------------------------------------------------------


def tie_routing(rebuilt: Rebuilt) -> None:
    """An incoming call takes the routing of the caller lookup that preceded it."""
    if rebuilt.incoming_at is None:
        return
    if tie_lookup(rebuilt.call, incoming_at=rebuilt.incoming_at):
        rebuilt.call.save(update_fields=["routed_to", "route_reason", "route_note"])


def follow_lead(rebuilt: Rebuilt) -> None:
    """An unknown caller's lead: made when the call is answered (its agent responsible) or,
    unanswered, when it ends; a lead with no responsible gets the agent who answered."""
    call = rebuilt.call
    if call.direction != Direction.IN:
        return
    answered = is_answered(call)
    agent = call.agent if answered else None
    if call.contact_id is None:
        if (answered or rebuilt.completed) and call.phone.startswith("+"):
            call.contact = ensure_lead(phone=call.phone, agent=agent)
            call.save(update_fields=["contact"])
    elif agent is not None:
        adopt_lead(contact_id=call.contact_id, agent=agent)


def archive_recording(rebuilt: Rebuilt) -> None:
    """A call with a record_link: its recording is archived once the transaction commits."""
    request_archiving(call=rebuilt.call)


def refresh_dashboard(rebuilt: Rebuilt) -> None:
    """The dashboard's rollup forgets the days the call left and entered."""
    forget_days_of(rebuilt.started_before, rebuilt.call.started_at)


def follow_callbacks(rebuilt: Rebuilt) -> None:
    """A missed incoming call opens a callback; a call that reached the client closes one."""
    if rebuilt.call.direction == Direction.IN:
        open_callback(call=rebuilt.call)
    close_callbacks(call=rebuilt.call)


AFTER_CALL: tuple[Callable[[Rebuilt], None], ...] = (
    tie_routing,
    follow_lead,  # before the callbacks: a missed call's callback is for the lead it made
    archive_recording,
    refresh_dashboard,
    follow_callbacks,
)
