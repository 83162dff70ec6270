"""A click-to-call request to the PBX (makeCall) and what became of it."""
from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from contacts.phones import format_phone


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
        "calls.Call",
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
