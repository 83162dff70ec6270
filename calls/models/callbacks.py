"""A callback owed to a client whose call was missed."""
from django.db import models
from django.utils.translation import gettext_lazy as _

from contacts.models import Agent
from contacts.phones import format_phone


class Callback(models.Model):
    """A missed incoming call the client waits to be called back about; one open per number."""

    phone = models.CharField(_("client phone"), max_length=64)
    # No index of its own: callback_contact_created's (contact, created_at) index starts with it.
    contact = models.ForeignKey(
        "contacts.Contact", verbose_name=_("contact"), on_delete=models.SET_NULL, null=True,
        blank=True, related_name="callbacks", db_index=False,
    )
    agent = models.ForeignKey(
        Agent, verbose_name=_("agent"), on_delete=models.SET_NULL, null=True, blank=True,
        related_name="callbacks",
    )
    missed_call = models.ForeignKey(
        "calls.Call", verbose_name=_("missed call"), on_delete=models.CASCADE, related_name="+"
    )
    created_at = models.DateTimeField(_("created"), db_index=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    closed_by = models.ForeignKey(
        "calls.Call", verbose_name=_("closed by call"), on_delete=models.SET_NULL, null=True,
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
        indexes = [
            models.Index(fields=["agent", "closed_at"], name="callback_agent_open"),
            # "The contact's callbacks, newest first": the contact's card, a page at a time.
            models.Index(fields=["contact", "created_at"], name="callback_contact_created"),
        ]
        verbose_name = _("callback")
        verbose_name_plural = _("callbacks")

    def __str__(self) -> str:
        return format_phone(self.phone)

    @property
    def is_open(self) -> bool:
        return self.closed_at is None


# --- the dashboard's rollup of past local days (calls/dashboard/rollup.py fills and reads it)
