"""Routing policy of the caller lookup, and handing its decision on to the call it preceded."""
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import connection
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from calls.callbacks.services import TALKED
from calls.models import Call, CallerLookup, RouteReason
from contacts.models import display_name
from contacts.services import caller_row
from xvbcrm.db import CompiledQuery

# A lookup belongs to the INCOMING received at most this long after it ...
LOOKUP_WINDOW = timedelta(minutes=2)
# ... or, when the PBX's two requests cross on the wire, at most this long before it.
LOOKUP_LATE = timedelta(seconds=10)
NOTE_LIMIT = 500  # the length of route_note on Call and CallerLookup


@dataclass(frozen=True)
class Candidate:
    """An agent the policy considers, with what decides whether it may get the call."""

    agent_id: int
    extension: str
    is_active: bool
    is_away: bool

    @property
    def available(self) -> bool:
        return self.is_active and not self.is_away


@dataclass(frozen=True)
class LastTalk:
    """The newest answered call with a number: its agent and when it began."""

    agent: Candidate
    started_at: datetime


@dataclass(frozen=True)
class Routing:
    """The lookup's answer and why: kept as a CallerLookup, then copied onto the call."""

    payload: dict[str, str]
    reason: str
    agent_id: int | None = None
    note: str = ""


def _responsible_note(agent: Candidate) -> str:
    if not agent.is_active:
        return _("responsible %(extension)s is inactive") % {"extension": agent.extension}
    if agent.is_away:
        return _("responsible %(extension)s is away") % {"extension": agent.extension}
    return _("responsible %(extension)s is available") % {"extension": agent.extension}


def _last_talk_note(talk: LastTalk) -> str:
    values = {
        "extension": talk.agent.extension,
        "date": timezone.localdate(talk.started_at).isoformat(),
    }
    if not talk.agent.is_active:
        return _("last talked with %(extension)s on %(date)s, who is inactive") % values
    if talk.agent.is_away:
        return _("last talked with %(extension)s on %(date)s, who is away") % values
    return _("last talked with %(extension)s on %(date)s") % values


def _last_talk_query(number: str, since: datetime) -> QuerySet[Call]:
    return (
        Call.objects.filter(phone=number, started_at__gte=since, agent__isnull=False)
        .filter(TALKED)
        .order_by("-started_at")
        .values_list(
            "agent_id", "agent__extension", "agent__is_active", "agent__is_away", "started_at"
        )[:1]
    )


# Compiled once: the lookup's second query, for unknown callers and unavailable responsibles.
_LAST_TALK = CompiledQuery(
    _last_talk_query, number="+0", since=datetime(2000, 1, 2, 3, 4, 5, 6789, tzinfo=UTC)
)


def last_talk(e164: str, *, since: datetime) -> LastTalk | None:
    """The newest answered call with this number since `since`: one probe of call_phone_started."""
    row = _LAST_TALK.fetch_one(number=e164, since=since)
    if row is None:
        return None
    *agent, started_at = row
    return LastTalk(agent=Candidate(*agent), started_at=started_at)


def route_lookup(e164: str | None, *, now: datetime | None = None) -> Routing:
    """Whom the PBX should ring for a caller: the responsible, else the last talker, else none.

    The common case (a contact whose responsible is available) costs one query; the step by
    the last talk costs one more. An unknown caller who talked with an agent lately reaches
    that agent too.
    """
    row = caller_row(e164) if e164 else None
    notes = []
    payload: dict[str, str] = {}
    if row is not None:
        payload["contact_name"] = display_name(row.name, row.company)
        if row.responsible_id is None:
            notes.append(_("no responsible agent"))
        else:
            responsible = Candidate(
                row.responsible_id, row.responsible_extension,
                bool(row.responsible_is_active), bool(row.responsible_is_away),
            )
            notes.append(_responsible_note(responsible))
            if responsible.available:
                return _routing(payload, RouteReason.RESPONSIBLE, responsible, notes)
    else:
        notes.append(_("unknown number"))
    if e164:
        days = settings.ROUTING_LAST_TALKED_DAYS
        since = (now or timezone.now()) - timedelta(days=days)
        talk = last_talk(e164, since=since)
        if talk is None:
            notes.append(
                ngettext(
                    "no answered call in the last %(days)d day",
                    "no answered call in the last %(days)d days",
                    days,
                ) % {"days": days}
            )
        else:
            notes.append(_last_talk_note(talk))
            if talk.agent.available:
                return _routing(payload, RouteReason.LAST_TALKED, talk.agent, notes)
    reason = RouteReason.NONE if row is not None else RouteReason.UNKNOWN
    return _routing(payload, reason, None, notes)


def _routing(
    payload: dict[str, str], reason: str, agent: Candidate | None, notes: list[str]
) -> Routing:
    if agent is not None:
        payload = {**payload, "responsible": agent.extension}
    return Routing(
        payload=payload,
        reason=reason,
        agent_id=agent.agent_id if agent else None,
        note="; ".join(notes)[:NOTE_LIMIT],
    )


# --- the lookup's decision, kept and handed to the call it preceded --------------------------


def caller_lookup(
    *, phone: str, number: str | None, callid: str, routing: Routing, received_at: datetime
) -> CallerLookup:
    """A lookup's decision, kept for the incoming call it precedes (not saved: the webhook
    writes it with its journal row in one statement)."""
    return CallerLookup(
        received_at=received_at,
        phone=phone,
        number=number or "",
        callid=callid,
        routed_to_id=routing.agent_id,
        route_reason=routing.reason,
        route_note=routing.note,
    )


# In the model's order of fields, as Model.from_db takes a subset of them.
_CANDIDATE_FIELDS = ("id", "received_at", "callid", "routed_to_id", "route_reason", "route_note")


def _candidates_query(*, callid: str, number: str, since: datetime, until: datetime,
                      call_id: int | None = None) -> QuerySet:
    """Lookups unclaimed (or claimed by call `call_id`) that carried the callid, or were made
    for the number between `since` and `until`; the one that carried it first (descending,
    the callid comes before ""), then the newest. Two index probes in one statement (UNION
    ALL): an OR of the two made SQLite scan every lookup ever kept."""
    claimable = Q(call=None) | Q(call=call_id) if call_id is not None else Q(call=None)
    lookups = CallerLookup.objects.filter(claimable).order_by()
    carried = lookups.filter(callid=callid).exclude(callid="")  # callerlookup_callid_carried
    near = lookups.filter(
        callid="", number=number, received_at__gte=since, received_at__lte=until
    )
    return (
        carried.values_list(*_CANDIDATE_FIELDS)
        .union(near.values_list(*_CANDIDATE_FIELDS), all=True)
        .order_by("-callid", "-received_at", "-id")[:5]
    )


# Compiled once (it runs for each event of an incoming call until one is tied): for a call not
# stored yet, and for a stored one.
_SAMPLES = {
    "callid": "~callid~", "number": "~number~",
    "since": datetime(2000, 1, 2, 3, 4, 5, 6789, tzinfo=UTC),
    "until": datetime(2000, 1, 3, 3, 4, 5, 6789, tzinfo=UTC),
}
_NEW_CALL_CANDIDATES = CompiledQuery(_candidates_query, **_SAMPLES)
_CANDIDATES = CompiledQuery(_candidates_query, **_SAMPLES, call_id=987654321)


def _lookup_candidates(call: Call, incoming_at: datetime) -> list[CallerLookup]:
    """Lookups that may have preceded this call, best first; unclaimed or ours. One query:
    the lookup that carried the call's callid, if any, else those of the number near its
    INCOMING."""
    values = {
        "callid": call.callid, "number": call.phone,
        "since": incoming_at - LOOKUP_WINDOW, "until": incoming_at + LOOKUP_LATE,
    }
    if call.pk is None:
        rows = _NEW_CALL_CANDIDATES.fetch_all(**values)
    else:
        rows = _CANDIDATES.fetch_all(**values, call_id=call.pk)
    lookups = [CallerLookup.from_db(connection.alias, _CANDIDATE_FIELDS, row) for row in rows]
    if lookups and lookups[0].callid == call.callid:
        return lookups[:1]
    return lookups


def prune_untied_lookups(*, cutoff: datetime) -> int:
    """Delete the lookups received before `cutoff` that no call took (a caller who hung up
    while it rang, a lookup the PBX sent for nothing): long past LOOKUP_WINDOW, no call can
    take them any more. The lookups calls took stay, as the calls' history. How many went."""
    cutoff = min(cutoff, timezone.now() - LOOKUP_WINDOW - LOOKUP_LATE)
    deleted, _ = CallerLookup.objects.filter(call=None, received_at__lt=cutoff).delete()
    return deleted


def pick_lookup(call: Call, *, incoming_at: datetime) -> CallerLookup | None:
    """The lookup a new incoming call takes, chosen as `tie_lookup` chooses, its routing copied
    onto the call (not saved, not claimed: the call is not stored yet)."""
    if call.route_reason or not call.phone:
        return None
    lookup = next(iter(_lookup_candidates(call, incoming_at)), None)
    if lookup is not None:
        _take_routing(call, lookup)
    return lookup


def _take_routing(call: Call, lookup: CallerLookup) -> None:
    call.routed_to_id = lookup.routed_to_id
    call.route_reason = lookup.route_reason
    call.route_note = lookup.route_note


def claim_lookup(call: Call, lookup: CallerLookup) -> bool:
    """Claim the lookup for the (stored) call, unless another call has it; claiming again is a
    no-op. One UPDATE."""
    return bool(
        CallerLookup.objects.filter(pk=lookup.pk)
        .filter(Q(call=None) | Q(call=call))
        .update(call=call)
    )


def tie_lookup(call: Call, *, incoming_at: datetime) -> bool:
    """Copy the routing of the lookup that preceded an incoming call onto it (not saved).

    The lookup is the one that carried the call's callid, else the newest one for the same
    number received within LOOKUP_WINDOW before the INCOMING. The lookup is claimed for the
    call, so that two calls from one number do not share a lookup; claiming again is a no-op,
    and a call already tied is left alone.
    """
    if call.route_reason or not call.phone:
        return False
    for lookup in _lookup_candidates(call, incoming_at):
        if claim_lookup(call, lookup):
            _take_routing(call, lookup)
            return True
    return False
