"""Callback tasks: opened by a missed incoming call, closed when the client is reached."""
import logging
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from calls.models import Call, Callback, Line
from contacts.models import Agent
from contacts.phones import line_spellings
from xvbcrm.db import CompiledQuery

logger = logging.getLogger(__name__)

# Incoming calls nobody talked on: the client is waiting for a call back.
MISSED_OUTCOMES = (Call.Outcome.MISSED, Call.Outcome.NO_ANSWER, Call.Outcome.BUSY)
MISSED = Q(direction=Call.Direction.IN, outcome__in=MISSED_OUTCOMES)


def is_missed(call: Call) -> bool:
    """Whether the client called and nobody talked with them: MISSED, for one call."""
    return call.direction == Call.Direction.IN and call.outcome in MISSED_OUTCOMES


# Somebody talked with the client: a finished call says so by its outcome (an outgoing call
# gets ANSWERED when the agent's own phone picks up, then may end Busy); a call in progress
# only when it is incoming and an agent picked up.
TALKED = Q(outcome=Call.Outcome.ANSWERED) | Q(
    outcome=Call.Outcome.IN_PROGRESS, direction=Call.Direction.IN, answered_at__isnull=False
)


def is_answered(call: Call) -> bool:
    """Whether somebody talked with the client on this call (so far): TALKED, for one call."""
    if call.outcome == Call.Outcome.ANSWERED:
        return True
    return (
        call.outcome == Call.Outcome.IN_PROGRESS
        and call.direction == Call.Direction.IN
        and call.answered_at is not None
    )


def assignee_for(call: Call) -> Agent | None:
    """Who gets a missed call's callback: the contact's active responsible, else the line's
    active default agent, else nobody."""
    contact = call.contact
    if contact is not None and contact.responsible_id is not None:
        agent = contact.responsible
        if agent.is_active:
            return agent
    if call.line_number:
        line = (
            Line.objects.filter(number__in=line_spellings(call.line_number))
            .select_related("default_agent")
            .first()
        )
        if line is not None and line.default_agent and line.default_agent.is_active:
            return line.default_agent
    return None


def _closing_calls(phone: str, *, after: Call) -> Q:
    """Answered calls with this number, either way, that began after the missed one did."""
    return Q(phone=phone, started_at__gt=after.started_at) & ~Q(pk=after.pk) & TALKED


def _answer_time(call: Call) -> datetime:
    return call.answered_at or call.started_at


def open_callback(*, call: Call) -> Callback | None:
    """The open callback for a missed incoming call's number, opened unless one is open.

    Called once, when the call becomes missed (calls/assembly.py). When the client was
    already reached by a later answered call (its events came first), the task is recorded
    closed by it, so the time waited still counts. Two or three statements: the later answered
    call, the INSERT, and, when the number has an open task already, that task.
    """
    if not is_missed(call) or not call.phone:
        return None
    now = timezone.now()
    callback = Callback(
        phone=call.phone, contact=call.contact, agent=assignee_for(call), missed_call=call,
        created_at=now,
    )
    reached = (
        Call.objects.filter(_closing_calls(call.phone, after=call)).order_by("started_at").first()
    )
    if reached is not None:
        callback.closed_at = now
        callback.closed_by = reached
        callback.waited = max(_answer_time(reached) - call.started_at, timedelta(0))
    try:
        with transaction.atomic():
            callback.save()
    except IntegrityError:  # one open per number: an earlier missed call opened it
        return Callback.objects.filter(phone=call.phone, closed_at=None).first()
    return callback if callback.is_open else None


class OpenCallback(NamedTuple):
    """A number's open callback (one at most), with its missed call's start."""

    id: int
    missed_call_id: int | None
    missed_at: datetime | None


UNREAD = object()  # not read beforehand: close_callbacks reads it


OPEN_CALLBACK_COLUMNS = ("id", "missed_call_id", "missed_call__started_at")  # OpenCallback's


def open_callback_columns(phone: Any) -> tuple[QuerySet, ...]:
    """OpenCallback's values for a number (a value or an OuterRef), each one column: as
    subqueries, they come with another query's rows (the call an event reads)."""
    open_of = Callback.objects.filter(phone=phone, closed_at=None)
    return tuple(open_of.values(column)[:1] for column in OPEN_CALLBACK_COLUMNS)


# Compiled once, as every answered call whose number was not read with it asks.
_OPEN_CALLBACK = CompiledQuery(
    lambda phone: Callback.objects.filter(phone=phone, closed_at=None)
    .values_list(*OPEN_CALLBACK_COLUMNS)[:1],
    phone="~phone~",
)


def close_callbacks(*, call: Call, known: OpenCallback | None | object = UNREAD) -> int:
    """Close the open callback of this number when `call` reached the client; how many closed.

    Any answered call, incoming or outgoing, that began after the missed call closes it; the
    client waited from the missed call's start to this call's answer. `known`: the number's
    open callback (None: none), when it was read with the call. An UPDATE when the number has
    an open callback, after a SELECT when it was not read.
    """
    if not call.phone or not is_answered(call):
        return 0
    if known is UNREAD:
        row = _OPEN_CALLBACK.fetch_one(phone=call.phone)
        known = None if row is None else OpenCallback(*row)
    if known is None:
        return 0
    if known.missed_call_id == call.pk or known.missed_at is None:
        return 0
    if known.missed_at >= call.started_at:
        return 0
    return Callback.objects.filter(pk=known.id, closed_at=None).update(
        closed_at=timezone.now(), closed_by=call, waited=_answer_time(call) - known.missed_at,
    )


def close_callback(callback: Callback, *, by_user: AbstractBaseUser | None) -> bool:
    """Close a callback by hand (no call reached the client, so no time waited is recorded).

    The model has no field for the user; who closed it goes to the log. False when it was
    closed already.
    """
    now = timezone.now()
    closed = Callback.objects.filter(pk=callback.pk, closed_at=None).update(closed_at=now)
    if closed:
        callback.closed_at = now
        logger.info("Callback %s for %s closed by hand by %s", callback.pk, callback.phone, by_user)
    return bool(closed)
