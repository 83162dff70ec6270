"""Click-to-call: place a call through the PBX for a user, and record every attempt."""
import json
import logging
import re
from datetime import datetime, timedelta

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Case, Q, Subquery, When
from django.utils import timezone
from django.utils.translation import gettext as _

from calls.models import Call, CallAttempt
from calls.pbx import client as pbx_client
from calls.pbx import protocol
from contacts.phones import normalize_phone

logger = logging.getLogger(__name__)

# How far apart an attempt and the start event of its call may be, either way.
LINK_WINDOW = timedelta(minutes=2)
_EXTENSION = re.compile(r"[\x21-\x7e]{1,32}")

RESULTS: dict[type[pbx_client.PbxClientError], str] = {
    pbx_client.PbxNotConfigured: CallAttempt.Result.NOT_CONFIGURED,
    pbx_client.PbxUnreachable: CallAttempt.Result.UNREACHABLE,
    pbx_client.PbxRefused: CallAttempt.Result.REFUSED,
    pbx_client.PbxBroken: CallAttempt.Result.BROKEN,
}


class ClickToCallError(ValueError):
    """A call that cannot even be asked for (not a phone, no extension); says why."""


class NotAPhone(ClickToCallError):
    """The number to call is not a phone number."""


class NoExtension(ClickToCallError):
    """No usable extension to ring."""


class NoAgent(NoExtension):
    """No extension given, and the user has no linked active agent to take it from."""


class NotYourExtension(ClickToCallError):
    """Another extension than the user's own, without "Can call from any extension"."""


ANY_EXTENSION_PERMISSION = "calls.call_from_any_extension"


def extension_of(user: AbstractBaseUser | None) -> str:
    """The extension of the user's own active agent; raises NoExtension."""
    # A missing reverse one-to-one raises an AttributeError subclass; anonymous users lack it.
    agent = getattr(user, "agent", None)
    if agent is None or not agent.is_active:
        raise NoAgent(
            _("Your user is not linked to an active agent, so there is no extension to ring.")
        )
    return agent.extension


def calling_extension(user: AbstractBaseUser | None, requested: str | None) -> str:
    """The extension a call of `user` rings: the user's own; another one (`requested`) only
    with "Can call from any extension" (a supervisor's); raises ClickToCallError."""
    requested = (requested or "").strip()
    if not requested:
        return extension_of(user)
    if user is not None and user.is_active and user.has_perm(ANY_EXTENSION_PERMISSION):
        return requested
    if requested != extension_of(user):
        raise NotYourExtension(
            _("You may call only from your own extension (“Can call from any extension”).")
        )
    return requested


# The two directions of one rule: an attempt and its call are the same call when the PBX's
# call id matches, or when the extension and number match within LINK_WINDOW.


def _find_call(*, callid: str, extension: str, phone: str) -> Call | None:
    """A call that reached the CRM before the PBX's answer to makeCall did."""
    if callid:
        call = Call.objects.filter(callid=callid).first()
        if call is not None:
            return call
    return (
        Call.objects.filter(
            direction=Call.Direction.OUT, phone=phone, agent__extension=extension,
            started_at__gte=timezone.now() - LINK_WINDOW, attempts=None,
        )
        .order_by("-started_at")
        .first()
    )


# Attempts whose makeCall may have started a call (one that timed out may still have rung).
_LINKABLE = [CallAttempt.Result.OK, CallAttempt.Result.UNREACHABLE, CallAttempt.Result.BROKEN]


def link_attempt(*, call: Call, event: protocol.PbxEvent, received_at: datetime) -> bool:
    """Tie an outgoing call's start event to the click-to-call attempt that caused it: the one
    the PBX named by its callid, else the newest one for the same extension and number near
    that moment. One UPDATE; True when an attempt was tied."""
    unlinked = CallAttempt.objects.filter(call=None, result__in=_LINKABLE)
    candidates = unlinked.filter(
        Q(pbx_callid=call.callid)
        | Q(extension=event.ext, phone=call.phone,
            created_at__range=(received_at - LINK_WINDOW, received_at + LINK_WINDOW))
    ).order_by(
        Case(When(pbx_callid=call.callid, then=0), default=1), "-created_at"
    )
    return bool(
        CallAttempt.objects.filter(pk__in=Subquery(candidates.values("pk")[:1]), call=None)
        .update(call=call)
    )


def place_call(
    *, user: AbstractBaseUser | None, to: str, extension: str | None = None
) -> CallAttempt:
    """Ask the PBX to connect `extension` (default: the user's own; another one needs "Can
    call from any extension") with `to`; never retried.

    Raises ClickToCallError before asking the PBX; a PBX failure is returned as an attempt
    whose `result` is not `ok` and whose `error` says what went wrong.
    """
    phone = normalize_phone(to)
    if phone is None:
        raise NotAPhone(_("“%(value)s” is not a phone number.") % {"value": to.strip()[:64]})
    extension = calling_extension(user, extension)
    if not _EXTENSION.fullmatch(extension):
        raise NoExtension(_("An extension is 1-32 visible characters without spaces."))
    attempt = CallAttempt(user=user, extension=extension, phone=phone)
    try:
        made = pbx_client.make_call(extension=extension, phone_e164=phone)
    except pbx_client.PbxClientError as exc:
        attempt.result = RESULTS[type(exc)]
        attempt.error = str(exc)
        attempt.pbx_answer = exc.answer
    else:
        attempt.result = CallAttempt.Result.OK
        answer = json.dumps(made.answer, ensure_ascii=False)
        attempt.pbx_answer = pbx_client.redact(answer)[: pbx_client.MAX_ANSWER_CHARS]
        attempt.pbx_callid = made.callid
        attempt.call = _find_call(callid=made.callid, extension=extension, phone=phone)
    attempt.save()
    logger.info(
        "makeCall %s -> %s by %s: %s %s", extension, phone, user, attempt.result, attempt.error
    )
    return attempt
