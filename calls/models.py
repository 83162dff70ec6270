"""Calls with their event timeline and caller lookups, and the journal of every PBX request."""
from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from calls.pbx.protocol import is_safe_link
from calls.vocabulary import Direction, Outcome
from contacts.models import Agent
from contacts.phones import format_phone


class Line(models.Model):
    """A company number clients dial (`line_number` in the PBX's events)."""

    number = models.CharField(
        _("number"), max_length=64, unique=True,
        help_text=_("As the PBX sends it: international digits without “+”."),
    )
    name = models.CharField(_("name"), max_length=200, blank=True)
    default_agent = models.ForeignKey(
        Agent, verbose_name=_("default agent"), on_delete=models.SET_NULL, null=True,
        blank=True, related_name="+",
        help_text=_("Gets the callbacks of missed calls from callers with no responsible."),
    )

    class Meta:
        ordering = ["number"]
        verbose_name = _("line")
        verbose_name_plural = _("lines")

    def __str__(self) -> str:
        return f"{self.number} {self.name}".strip()


class CallResult(models.Model):
    """One entry of the short, editable list of call results ("sale", "no interest", …)."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["position", "name"]
        verbose_name = _("call result")
        verbose_name_plural = _("call results")

    def __str__(self) -> str:
        return self.name


class RouteReason(models.TextChoices):
    """Why the lookup answered the extension it did (or none)."""

    RESPONSIBLE = "responsible", _("the contact's responsible agent")
    LAST_TALKED = "last_talked", _("the agent who last talked with this number")
    NONE = "none", _("nobody available: the PBX routes by its own plan")
    UNKNOWN = "unknown", _("unknown caller: the PBX routes by its own plan")


class Call(models.Model):
    """One PBX call (one `callid`), assembled from its events in whatever order they came."""

    # The call log's words (calls/vocabulary.py), reachable as Call.Direction, Call.Outcome.
    Direction = Direction
    Outcome = Outcome

    callid = models.CharField(_("PBX call id"), max_length=128, unique=True)
    direction = models.CharField(
        _("direction"), max_length=3, choices=Direction.choices, blank=True
    )
    phone = models.CharField(
        _("client phone"), max_length=64, blank=True, db_index=True,
        help_text=_("E.164 when the number parses, otherwise as the PBX sent it."),
    )
    line_number = models.CharField(_("dialled line"), max_length=64, blank=True)
    contact = models.ForeignKey(
        "contacts.Contact",
        verbose_name=_("contact"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="calls",
    )
    agent = models.ForeignKey(
        Agent,
        verbose_name=_("agent"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="calls",
    )
    status = models.CharField(_("PBX status"), max_length=64, blank=True)
    outcome = models.CharField(
        _("outcome"), max_length=16, choices=Outcome.choices, default=Outcome.IN_PROGRESS,
        db_index=True,
    )
    duration = models.PositiveIntegerField(_("talk time, s"), null=True, blank=True)
    record_link = models.URLField(_("recording"), max_length=2000, blank=True)
    started_at = models.DateTimeField(
        _("started"), db_index=True,
        help_text=_("When the first event of this call reached the CRM."),
    )
    answered_at = models.DateTimeField(_("answered"), null=True, blank=True)
    ended_at = models.DateTimeField(_("ended"), null=True, blank=True)
    # What the caller lookup answered for this call (tied to it by number and time).
    routed_to = models.ForeignKey(
        Agent, verbose_name=_("routed to"), on_delete=models.SET_NULL, null=True, blank=True,
        related_name="+",
    )
    route_reason = models.CharField(
        _("routing"), max_length=16, choices=RouteReason.choices, blank=True
    )
    route_note = models.CharField(_("routing steps"), max_length=500, blank=True)
    # Filled in by the agent.
    note = models.TextField(_("note"), blank=True)
    result = models.ForeignKey(
        CallResult, verbose_name=_("result"), on_delete=models.PROTECT, null=True, blank=True,
        related_name="calls",
    )

    class Meta:
        ordering = ["-started_at", "-id"]
        indexes = [
            # "Calls with this number, newest first": routing by last talk, the pop-up's history.
            models.Index(fields=["phone", "started_at"], name="call_phone_started"),
            # The desk's poll: calls in progress that started lately (stale ones pile up).
            models.Index(fields=["outcome", "started_at"], name="call_outcome_started"),
        ]
        verbose_name = _("call")
        verbose_name_plural = _("calls")

    def __str__(self) -> str:
        return f"{self.get_direction_display() or '?'} {format_phone(self.phone) or '-'}"

    @property
    def recording_url(self) -> str:
        """The recording link, only when it is safe to put in a page."""
        return self.record_link if is_safe_link(self.record_link) else ""


class CallEvent(models.Model):
    """One PBX event of a call, as it arrived; (call, event) is unique, so repeats do nothing."""

    call = models.ForeignKey(
        Call, verbose_name=_("call"), on_delete=models.CASCADE, related_name="events"
    )
    event = models.CharField(_("event"), max_length=16)
    received_at = models.DateTimeField(_("received"))
    direction = models.CharField(_("direction"), max_length=3, blank=True)
    phone = models.CharField(_("phone"), max_length=64, blank=True)
    ext = models.CharField(_("extension"), max_length=32, blank=True)
    line_number = models.CharField(_("dialled line"), max_length=64, blank=True)
    status = models.CharField(_("PBX status"), max_length=64, blank=True)
    duration = models.PositiveIntegerField(_("talk time, s"), null=True, blank=True)
    record_link = models.URLField(_("recording"), max_length=2000, blank=True)
    request = models.ForeignKey(
        "calls.PbxRequest",
        verbose_name=_("PBX request"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        ordering = ["received_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["call", "event"], name="callevent_unique_per_call"),
        ]
        verbose_name = _("call event")
        verbose_name_plural = _("call events")

    def __str__(self) -> str:
        return self.event


class PbxRequest(models.Model):
    """The journal: every request that reached the webhook, an audit log only (what the calls
    show lives on Call, CallEvent and CallerLookup, so pruning it changes none of them)."""

    class Handling(models.TextChoices):
        """How the webhook handled a request (not what became of a call: that is Outcome)."""

        RECEIVED = "received", _("received (being processed)")
        ACCEPTED = "accepted", _("accepted")
        DUPLICATE = "duplicate", _("duplicate")
        IGNORED = "ignored", _("ignored")
        REJECTED = "rejected", _("rejected")
        THROTTLED = "throttled", _("throttled (429)")
        INVALID = "invalid", _("invalid")
        FAILED = "failed", _("failed")

    received_at = models.DateTimeField(_("received"), db_index=True)
    remote_addr = models.GenericIPAddressField(_("remote address"), null=True, blank=True)
    method = models.CharField(_("method"), max_length=16)
    headers = models.JSONField(_("headers"), default=dict, blank=True)
    body = models.TextField(_("body"), blank=True, help_text=_("access_code redacted"))
    # A refused request keeps only the head of its body: this is how large the body was.
    body_bytes = models.PositiveIntegerField(_("body size, bytes"), null=True, blank=True)
    cmd = models.CharField(_("command"), max_length=32, blank=True, db_index=True)
    event = models.CharField(_("event"), max_length=32, blank=True)
    callid = models.CharField(_("PBX call id"), max_length=128, blank=True, db_index=True)
    phone = models.CharField(_("phone"), max_length=64, blank=True)
    outcome = models.CharField(
        _("outcome"), max_length=16, choices=Handling.choices, default=Handling.RECEIVED,
        db_index=True,
    )
    response_status = models.PositiveSmallIntegerField(_("response code"), null=True, blank=True)
    response_body = models.TextField(_("our answer"), blank=True)
    error = models.TextField(_("error"), blank=True)
    call = models.ForeignKey(
        Call,
        verbose_name=_("call"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="requests",
    )
    processed_at = models.DateTimeField(_("processed"), null=True, blank=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        indexes = [
            # The journal searched by number (the admin's search), newest first.
            models.Index(fields=["phone", "received_at"], name="pbxrequest_phone_received"),
        ]
        verbose_name = _("PBX request")
        verbose_name_plural = _("PBX requests (journal)")

    def __str__(self) -> str:
        what = " ".join(part for part in (self.cmd, self.event, self.callid) if part)
        return f"{self.received_at:%Y-%m-%d %H:%M:%S} {what or self.method}"


class CallerLookup(models.Model):
    """A caller lookup's routing decision: whom the CRM told the PBX to ring, and why; handed
    to the incoming call it preceded (calls/routing.py ties them)."""

    received_at = models.DateTimeField(_("received"))
    phone = models.CharField(_("phone"), max_length=64, blank=True)  # as the PBX sent it
    number = models.CharField(_("number"), max_length=64, blank=True)  # E.164, "" if unparsed
    callid = models.CharField(_("PBX call id"), max_length=128, blank=True, db_index=True)
    routed_to = models.ForeignKey(
        Agent, verbose_name=_("routed to"), on_delete=models.SET_NULL, null=True, blank=True,
        related_name="+",
    )
    route_reason = models.CharField(_("routing"), max_length=16, choices=RouteReason.choices)
    route_note = models.CharField(_("routing steps"), max_length=500, blank=True)
    call = models.ForeignKey(
        Call, verbose_name=_("call"), on_delete=models.SET_NULL, null=True, blank=True,
        related_name="lookups",
    )

    class Meta:
        ordering = ["-received_at", "-id"]
        indexes = [
            # The lookup that preceded an INCOMING: same number, moments before.
            models.Index(fields=["number", "received_at"], name="callerlookup_number_received"),
        ]
        verbose_name = _("caller lookup")
        verbose_name_plural = _("caller lookups")

    def __str__(self) -> str:
        return f"{self.received_at:%Y-%m-%d %H:%M:%S} {format_phone(self.number) or self.phone}"


class CallAttempt(models.Model):
    """One click-to-call request to the PBX (makeCall), whatever became of it."""

    class Result(models.TextChoices):
        OK = "ok", _("ok")
        NOT_CONFIGURED = "not_configured", _("not configured")
        UNREACHABLE = "unreachable", _("PBX unreachable")
        REFUSED = "refused", _("PBX refused")
        BROKEN = "broken", _("PBX failed")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="call_attempts",
    )
    extension = models.CharField(_("extension"), max_length=32)
    phone = models.CharField(_("client phone"), max_length=64)
    created_at = models.DateTimeField(_("created"), auto_now_add=True, db_index=True)
    result = models.CharField(_("result"), max_length=16, choices=Result.choices, db_index=True)
    error = models.TextField(_("error"), blank=True)
    pbx_answer = models.TextField(_("PBX answer"), blank=True)
    pbx_callid = models.CharField(_("PBX call id"), max_length=128, blank=True, db_index=True)
    call = models.ForeignKey(
        Call,
        verbose_name=_("call"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="attempts",
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        # Serves linking: the unlinked attempt for (extension, phone) in a recent window.
        indexes = [
            models.Index(fields=["extension", "phone", "created_at"], name="callattempt_match"),
        ]
        permissions = [
            ("place_calls", _("Can place calls")),
            # Ringing someone else's phone first (`from` in the API): a supervisor's right.
            ("call_from_any_extension", _("Can call from any extension")),
        ]
        verbose_name = _("call attempt")
        verbose_name_plural = _("call attempts")

    def __str__(self) -> str:
        return f"{self.extension} → {format_phone(self.phone)}"


class Callback(models.Model):
    """A missed incoming call the client waits to be called back about; one open per number."""

    phone = models.CharField(_("client phone"), max_length=64)
    contact = models.ForeignKey(
        "contacts.Contact", verbose_name=_("contact"), on_delete=models.SET_NULL, null=True,
        blank=True, related_name="callbacks",
    )
    agent = models.ForeignKey(
        Agent, verbose_name=_("agent"), on_delete=models.SET_NULL, null=True, blank=True,
        related_name="callbacks",
    )
    missed_call = models.ForeignKey(
        Call, verbose_name=_("missed call"), on_delete=models.CASCADE, related_name="+"
    )
    created_at = models.DateTimeField(_("created"), db_index=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    closed_by = models.ForeignKey(
        Call, verbose_name=_("closed by call"), on_delete=models.SET_NULL, null=True,
        blank=True, related_name="+",
    )
    waited = models.DurationField(
        _("client waited"), null=True, blank=True,
        help_text=_("From the missed call to the answered call that closed the task."),
    )

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["phone"], condition=models.Q(closed_at=None),
                name="callback_one_open_per_phone",
            ),
        ]
        indexes = [models.Index(fields=["agent", "closed_at"], name="callback_agent_open")]
        verbose_name = _("callback")
        verbose_name_plural = _("callbacks")

    def __str__(self) -> str:
        return format_phone(self.phone)

    @property
    def is_open(self) -> bool:
        return self.closed_at is None


# --- the dashboard's rollup of past local days (calls/dashboard/rollup.py fills and reads it)


class CallStatDay(models.Model):
    """A past local day, in one time zone, whose calls are rolled up; its rows go with it."""

    time_zone = models.CharField(max_length=64)
    day = models.DateField()
    # The day's bounds: a call whose start moves into or out of them makes the day stale.
    start = models.DateTimeField(db_index=True)
    end = models.DateTimeField()
    computed_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["time_zone", "day"], name="callstatday_unique"),
        ]
        verbose_name = _("rolled-up day")
        verbose_name_plural = _("rolled-up days")

    def __str__(self) -> str:
        return f"{self.day} {self.time_zone}"


def forget_stat_days(collector, field, sub_objs, using) -> None:  # noqa: ANN001
    """A rolled-up agent deleted: forget the days they had calls on, recomputed on the next
    view (their calls now count for the agent they were routed to, or for nobody)."""
    days = CallStatDay.objects.using(using).filter(pk__in={row.stat_day_id for row in sub_objs})
    collector.collect(days, source=field.remote_field.model, fail_on_restricted=False)


class CallDayStat(models.Model):
    """The calls of one rolled-up day credited to one agent (who talked, else routed to)."""

    stat_day = models.ForeignKey(
        CallStatDay, on_delete=models.CASCADE, related_name="agent_stats"
    )
    agent = models.ForeignKey(
        Agent, on_delete=forget_stat_days, null=True, blank=True, related_name="+"
    )
    calls = models.PositiveIntegerField(default=0)
    incoming = models.PositiveIntegerField(default=0)  # answered or not, missed excepted
    outgoing = models.PositiveIntegerField(default=0)
    missed = models.PositiveIntegerField(default=0)
    answered = models.PositiveIntegerField(default=0)
    talked = models.PositiveIntegerField(default=0)  # answered with a talk time
    talk_seconds = models.PositiveBigIntegerField(default=0)

    class Meta:
        verbose_name = _("rolled-up calls of a day")
        verbose_name_plural = _("rolled-up calls of days")

    def __str__(self) -> str:
        return f"{self.stat_day} {self.agent_id or '-'}"


class CallHourStat(models.Model):
    """The calls started in one local hour of a rolled-up day."""

    stat_day = models.ForeignKey(CallStatDay, on_delete=models.CASCADE, related_name="+")
    hour = models.PositiveSmallIntegerField()
    calls = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("rolled-up calls of an hour")
        verbose_name_plural = _("rolled-up calls of hours")

    def __str__(self) -> str:
        return f"{self.stat_day} {self.hour}:00"


# --- recordings: our archived copy of each call's recording, and who listened ----------------


class Recording(models.Model):
    """Our copy of one call's recording, downloaded from its `record_link` by a worker."""

    class Status(models.TextChoices):
        PENDING = "pending", _("not archived yet")
        ARCHIVED = "archived", _("archived")
        LOST = "lost", _("recording lost")
        REFUSED = "refused", _("refused")
        DELETED = "deleted", _("deleted (retention)")

    call = models.OneToOneField(
        Call, verbose_name=_("call"), on_delete=models.CASCADE, related_name="recording"
    )
    source_url = models.URLField(_("PBX link"), max_length=2000)
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.PENDING,
        db_index=True,
    )
    file = models.FileField(_("file"), max_length=500, blank=True)
    size = models.PositiveBigIntegerField(_("size, bytes"), null=True, blank=True)
    sha256 = models.CharField(_("SHA-256"), max_length=64, blank=True)
    content_type = models.CharField(_("content type"), max_length=100, blank=True)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    first_attempt_at = models.DateTimeField(_("first attempt"), null=True, blank=True)
    last_attempt_at = models.DateTimeField(_("last attempt"), null=True, blank=True)
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    error = models.TextField(_("error"), blank=True)
    archived_at = models.DateTimeField(_("archived"), null=True, blank=True, db_index=True)
    deleted_at = models.DateTimeField(_("deleted"), null=True, blank=True)
    # The worker downloading it now, until when: set by one conditional UPDATE, so two workers
    # never download or store the same recording; a crashed worker's claim runs out.
    claimed_by = models.CharField(_("claimed by"), max_length=64, blank=True)
    claimed_until = models.DateTimeField(_("claimed until"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        permissions = [("listen_all_recordings", _("Can listen to all recordings"))]
        verbose_name = _("recording")
        verbose_name_plural = _("recordings")

    def __str__(self) -> str:
        return f"{self.call} ({self.get_status_display()})"


class RecordingListen(models.Model):
    """One listen to (or download of) our copy of a recording: who, when, from where."""

    class Kind(models.TextChoices):
        PLAY = "play", _("played")
        DOWNLOAD = "download", _("downloaded")

    recording = models.ForeignKey(
        Recording, verbose_name=_("recording"), on_delete=models.CASCADE,
        related_name="listens",
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("user"), on_delete=models.SET_NULL, null=True,
        blank=True, related_name="recording_listens",
    )
    username = models.CharField(_("username"), max_length=150, blank=True)
    at = models.DateTimeField(_("when"), db_index=True)
    client_address = models.GenericIPAddressField(_("from address"), null=True, blank=True)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    # Plays: the 30-minute slot, so a browser's many range requests make one row per slot.
    slot = models.PositiveIntegerField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["recording", "user", "slot"], condition=models.Q(kind="play"),
                name="recordinglisten_one_play_per_slot",
            ),
        ]
        verbose_name = _("recording listen")
        verbose_name_plural = _("recording listens")

    def __str__(self) -> str:
        return f"{self.username or '-'} {self.get_kind_display()} {self.at:%Y-%m-%d %H:%M}"


class WebhookThrottle(models.Model):
    """Wrong access codes from one source (an IPv4 address, an IPv6 /64) in the current window.

    Kept in the database so that every app server counts the same failures; one row per
    source, updated by one atomic upsert per failure (calls/pbx/throttle.py).
    """

    source = models.CharField(_("source"), max_length=64, unique=True)
    failures = models.PositiveIntegerField(_("wrong access codes"))
    window_start = models.DateTimeField(_("first failure of the window"), db_index=True)
    refused = models.PositiveIntegerField(
        _("requests refused with 429"), default=0,
        help_text=_("Only the first few per window are journaled."),
    )

    class Meta:
        verbose_name = _("webhook throttle")
        verbose_name_plural = _("webhook throttles")

    def __str__(self) -> str:
        return f"{self.source}: {self.failures}"
