"""Our copy of a call's recording, and who listened to it."""
from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Recording(models.Model):
    """Our copy of one call's recording, downloaded from its `record_link` by a worker."""

    class Status(models.TextChoices):
        PENDING = "pending", _("not archived yet")
        ARCHIVED = "archived", _("archived")
        LOST = "lost", _("recording lost")
        REFUSED = "refused", _("refused")
        DELETED = "deleted", _("deleted (retention)")

    call = models.OneToOneField(
        "calls.Call", verbose_name=_("call"), on_delete=models.CASCADE, related_name="recording"
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
