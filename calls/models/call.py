"""A call and what it is made of: its events as the PBX sent them, the caller lookup that
routed it, the line it came in on and its result."""
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
    # No index of its own: call_contact_started's (contact, started_at) index starts with it.
    contact = models.ForeignKey(
        "contacts.Contact",
        verbose_name=_("contact"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="calls",
        db_index=False,
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
    # Bumped by each event's rebuild, which writes only the revision it read: two events of one
    # call processed at once never overwrite each other (calls/assembly.py).
    revision = models.PositiveIntegerField(default=0, db_default=0, editable=False)

    class Meta:
        ordering = ["-started_at", "-id"]
        indexes = [
            # "Calls with this number, newest first": routing by last talk, the pop-up's history.
            models.Index(fields=["phone", "started_at"], name="call_phone_started"),
            # "The contact's calls, newest first": the contact's card, a page at a time.
            models.Index(fields=["contact", "started_at"], name="call_contact_started"),
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
            # The lookup that carried a call's callid: few do, so the index keeps only them
            # (on every row, SQLite's statistics said a callid matched them all and it
            # scanned the table).
            models.Index(fields=["callid"], condition=~models.Q(callid=""),
                         name="callerlookup_callid_carried"),
        ]
        verbose_name = _("caller lookup")
        verbose_name_plural = _("caller lookups")

    def __str__(self) -> str:
        return f"{self.received_at:%Y-%m-%d %H:%M:%S} {format_phone(self.number) or self.phone}"
