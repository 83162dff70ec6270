"""The state of the PBX link, for the admin's "PBX integration" page: settings and journal.

Every journal query is bounded: the newest rows by the `received_at` index, or a count over
the last 24 hours only, so the page stays cheap on a journal of millions of rows.
"""
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit, urlunsplit

from django.conf import settings
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from calls.models import PbxRequest
from calls.pbx.protocol import REDACTED

Handling = PbxRequest.Handling

WINDOW = timedelta(hours=24)
# Requests that did not go through, listed with their reasons; the others went through
# (or are still going through).
PROBLEMS = (Handling.REJECTED, Handling.THROTTLED, Handling.INVALID, Handling.FAILED)
NOT_PROBLEMS = tuple(value for value in Handling.values if value not in PROBLEMS)
MAX_PROBLEMS = 50
# How many of the newest requests are read to see how long a run of refusals has lasted.
RECENT = 20
# Only what the page shows: the journal's bodies and headers stay in the database.
SHOWN_FIELDS = (
    "id", "received_at", "remote_addr", "method", "cmd", "event", "outcome", "response_status",
    "error",
)


@dataclass(frozen=True)
class Diagnosis:
    """What the page says first: one headline and what to do about it."""

    code: str  # stable, for tests and templates
    level: str  # the admin's message level: "error", "warning" or "success"
    headline: str | Promise
    hint: str | Promise = ""


NO_ACCESS_CODE = Diagnosis(
    "no_access_code", "error",
    _("PBX_ACCESS_CODE is not set in the CRM: every request from the PBX is refused."),
    _("Set PBX_ACCESS_CODE to the access code shown in the PBX's integration settings and "
      "restart the CRM."),
)
NO_REQUESTS = Diagnosis(
    "no_requests", "warning",
    _("No request from the PBX yet: paste the WebHook URL into the PBX's integration "
      "settings."),
    _("Then make a test call: its requests appear here within a minute."),
)
WRONG_ACCESS_CODE = Diagnosis(
    "wrong_access_code", "error",
    _("The PBX's last request had a wrong access code: set the same access code in the PBX "
      "and in PBX_ACCESS_CODE."),
    _("Requests with a wrong or missing access code are refused with 403 and not processed: "
      "calls are not being logged."),
)
THROTTLED = Diagnosis(
    "throttled", "error",
    _("The PBX's last request was refused with 429: too many wrong access codes came from its "
      "address."),
    _("Set the same access code in the PBX and in PBX_ACCESS_CODE. The refusals end "
      "PBX_THROTTLE_MINUTES after the first wrong code, or at once when the address's row under "
      "Webhook throttles is deleted."),
)
REFUSED_WHILE_UNSET = Diagnosis(
    "refused_while_unset", "warning",
    _("The PBX's last request was refused because PBX_ACCESS_CODE was not set at the time."),
    _("It is set now: make a test call to check that the access codes match."),
)
LAST_FAILED = Diagnosis(
    "last_failed", "error",
    _("The CRM failed to process the PBX's last request."),
    _("See the error below; once its cause is fixed, failed requests can be re-processed "
      "from the journal."),
)
LAST_INVALID = Diagnosis(
    "last_invalid", "warning",
    _("The last request to the WebHook URL was not a valid PBX request."),
    _("Check that the PBX posts to the WebHook URL exactly as shown above."),
)
WORKING = Diagnosis(
    "working", "success",
    _("The link works: the PBX's last request was processed."),
)


@dataclass(frozen=True)
class HandlingCount:
    """How many requests of the last 24 hours ended one way."""

    outcome: str
    label: str | Promise
    count: int


@dataclass(frozen=True)
class IntegrationStatus:
    """Everything the "PBX integration" page shows; never a secret's value."""

    webhook_url: str
    access_code_configured: bool
    pbx_url_configured: bool
    pbx_address: str  # PBX_URL without credentials, query or fragment; "" if not http(s)
    pbx_token_configured: bool
    now: datetime
    since: datetime  # start of the counted window
    last_request: PbxRequest | None
    refused_in_a_row: int  # newest requests refused for the access code (RECENT at most)
    refused_since: datetime | None  # when the first of them arrived
    counts: tuple[HandlingCount, ...]  # every handling, in the order of PbxRequest.Handling
    problems: tuple[PbxRequest, ...]  # rejected/invalid/failed, newest first, MAX_PROBLEMS
    problem_count: int  # all of them in the window

    @property
    def diagnosis(self) -> Diagnosis | None:
        """The one thing to fix first (or that all is well); None with nothing to say."""
        if not self.access_code_configured:
            return NO_ACCESS_CODE
        last = self.last_request
        if last is None:
            return NO_REQUESTS
        if last.outcome == Handling.THROTTLED:
            return THROTTLED
        if is_refused_for_access_code(last):
            return REFUSED_WHILE_UNSET if _code_was_unset(last) else WRONG_ACCESS_CODE
        if last.outcome == Handling.FAILED:
            return LAST_FAILED
        if last.outcome == Handling.INVALID:
            return LAST_INVALID
        if last.outcome in (Handling.ACCEPTED, Handling.DUPLICATE, Handling.IGNORED):
            return WORKING
        return None

    @property
    def refused_run_capped(self) -> bool:
        """Whether the run of refusals may be longer than the RECENT requests read."""
        return self.refused_in_a_row >= RECENT

    @property
    def total(self) -> int:
        """All requests of the last 24 hours."""
        return sum(item.count for item in self.counts)


def is_refused_for_access_code(entry: PbxRequest) -> bool:
    """Whether the webhook refused `entry` for its access code (the only reason for a 403), or
    for its source's wrong codes before (429)."""
    if entry.outcome == Handling.THROTTLED:
        return True
    return entry.outcome == Handling.REJECTED and entry.response_status == 403


def _code_was_unset(entry: PbxRequest) -> bool:
    # The webhook names the setting only when it refuses because the CRM has no code at all.
    return "PBX_ACCESS_CODE" in entry.error


def public_address(url: str) -> str:
    """`url` without user:password@, query string and fragment; "" unless http(s) with a host."""
    try:
        parts = urlsplit(url.strip())
        hostname = parts.hostname
    except ValueError:
        return ""
    if parts.scheme.lower() not in ("http", "https") or not hostname:
        return ""
    address = urlunsplit((parts.scheme, parts.netloc.rpartition("@")[2], parts.path, "", ""))
    token = settings.PBX_TOKEN
    return address.replace(token, REDACTED) if token else address


def _counts(since: datetime) -> tuple[HandlingCount, ...]:
    # One conditional count per outcome rather than GROUP BY outcome: with no grouping to
    # satisfy, the only index that helps is `received_at`, so only the window is read (a
    # GROUP BY lets SQLite walk the whole `outcome` index instead).
    found = PbxRequest.objects.filter(received_at__gte=since).aggregate(
        **{value: Count("id", filter=Q(outcome=value)) for value in Handling.values}
    )
    return tuple(
        HandlingCount(outcome=value, label=label, count=found[value])
        for value, label in Handling.choices
    )


def _refused_run(recent: list[PbxRequest]) -> list[PbxRequest]:
    """The newest requests, up to the first one not refused for its access code."""
    run = []
    for entry in recent:
        if not is_refused_for_access_code(entry):
            break
        run.append(entry)
    return run


def integration_status(*, webhook_url: str, now: datetime | None = None) -> IntegrationStatus:
    """The PBX link's settings and the journal's recent history (at most three bounded queries)."""
    now = now or timezone.now()
    since = now - WINDOW
    journal = PbxRequest.objects.only(*SHOWN_FIELDS).order_by("-received_at", "-id")
    recent = list(journal[:RECENT])
    refused = _refused_run(recent)
    counts = _counts(since)
    problem_count = sum(item.count for item in counts if item.outcome in PROBLEMS)
    # Written as "not OK" so that no `outcome` index can be chosen: walking `received_at`
    # backwards stops after MAX_PROBLEMS rows and never leaves the window, however many
    # refusals the journal has kept from before.
    problems = tuple(
        journal.filter(received_at__gte=since).exclude(outcome__in=NOT_PROBLEMS)[:MAX_PROBLEMS]
        if problem_count
        else ()
    )
    return IntegrationStatus(
        webhook_url=webhook_url,
        access_code_configured=bool(settings.PBX_ACCESS_CODE),
        pbx_url_configured=bool(settings.PBX_URL),
        pbx_address=public_address(settings.PBX_URL) if settings.PBX_URL else "",
        pbx_token_configured=bool(settings.PBX_TOKEN),
        now=now,
        since=since,
        last_request=recent[0] if recent else None,
        refused_in_a_row=len(refused),
        refused_since=refused[-1].received_at if refused else None,
        counts=counts,
        problems=problems,
        problem_count=problem_count,
    )
