"""The journal of every PBX request (an audit log only), and the webhook's throttle."""
from django.db import models
from django.utils.translation import gettext_lazy as _


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
        "calls.Call",
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
