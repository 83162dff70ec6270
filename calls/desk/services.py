"""The agent's desk: the live calls an agent's pop-up shows, and the away/back switch.

Everything lives in the database (no process memory), so any app server behind a load
balancer answers a poll the same way; a poll with no live call costs one indexed query.
"""
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import F, Q, QuerySet, Window
from django.db.models.functions import RowNumber
from django.utils import timezone

from calls.models import Call
from contacts.agents import mark_away
from contacts.models import Agent, Contact, ContactPhone
from contacts.phones import format_phone
from contacts.services import OWNER_ORDER

# A call whose COMPLETED never came stays "in progress" for ever; past this it is not live.
STALE_AFTER = timedelta(hours=2)
HISTORY_LENGTH = 5


@dataclass(frozen=True)
class LiveCall:
    """One ringing or answered call, as the agent's pop-up shows it."""

    call: Call
    phone_display: str
    contact: Contact | None
    responsible: Agent | None
    answered: bool
    history: list[Call]

    @property
    def callid(self) -> str:
        return self.call.callid


def live_calls_query(*, agent: Agent, now: datetime | None = None) -> QuerySet[Call]:
    """The agent's live calls: routed to them while ringing, answered by them afterwards.

    A ringing call (no answering agent yet) belongs to the agent the caller lookup routed it
    to; once an agent answers, only to that agent. Outgoing calls have no pop-up.
    """
    since = (now or timezone.now()) - STALE_AFTER
    return (
        Call.objects.filter(outcome=Call.Outcome.IN_PROGRESS, started_at__gte=since)
        .filter(Q(agent=agent) | Q(agent=None, routed_to=agent))
        .exclude(direction=Call.Direction.OUT)
        .order_by("started_at", "id")
    )


def live_calls(*, agent: Agent, now: datetime | None = None) -> list[LiveCall]:
    """The agent's live calls with what the pop-up shows; at most three queries."""
    calls = list(
        live_calls_query(agent=agent, now=now).select_related("contact__responsible")
    )
    if not calls:
        return []
    contacts = _contacts_by_phone(
        {call.phone for call in calls if call.contact_id is None and call.phone.startswith("+")}
    )
    history = _history({call.phone for call in calls if call.phone}, {c.pk for c in calls})
    result = []
    for call in calls:
        contact = call.contact or contacts.get(call.phone)
        result.append(
            LiveCall(
                call=call,
                phone_display=format_phone(call.phone),
                contact=contact,
                responsible=contact.responsible if contact else None,
                answered=call.agent_id is not None or call.answered_at is not None,
                history=history.get(call.phone, []) if call.phone else [],
            )
        )
    return result


def _contacts_by_phone(phones: set[str]) -> dict[str, Contact]:
    """Contacts made for these numbers since their calls began (e.g. from the pop-up)."""
    if not phones:
        return {}
    found: dict[str, Contact] = {}
    rows = (
        ContactPhone.objects.filter(number__in=phones)
        .select_related("contact__responsible")
        .order_by(*OWNER_ORDER)  # the contact the lookup answers wins
    )
    for row in rows:
        found.setdefault(row.number, row.contact)
    return found


def _history(phones: set[str], exclude: set[int]) -> dict[str, list[Call]]:
    """The last HISTORY_LENGTH other calls with each number, newest first, in one query."""
    if not phones:
        return {}
    ranked = (
        Call.objects.filter(phone__in=phones)
        .exclude(pk__in=exclude)
        .annotate(
            rank=Window(
                RowNumber(),
                partition_by=[F("phone")],
                order_by=[F("started_at").desc(), F("id").desc()],
            )
        )
        .filter(rank__lte=HISTORY_LENGTH)
        .select_related("agent")
        .order_by("phone", "rank")
    )
    history: dict[str, list[Call]] = {}
    for call in ranked:
        history.setdefault(call.phone, []).append(call)
    return history


def set_away(*, agent: Agent, away: bool, now: datetime | None = None) -> Agent:
    """Mark the agent away or back; marking an away agent away again keeps `away_since`."""
    if away == agent.is_away:
        return agent
    mark_away(agent, away=away, now=now)
    agent.save(update_fields=["is_away", "away_since"])
    return agent
