"""Clients, their phone numbers, and the agents answering them."""
from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


def display_name(name: str, company: str) -> str:
    """`Name/Company` (just `Name` without a company), the form the PBX shows to the agent."""
    return f"{name}/{company}" if company else name


class Agent(models.Model):
    """A person answering phones, known to the PBX by an internal extension."""

    extension = models.CharField(_("extension"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=200, blank=True)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="agent",
    )
    is_active = models.BooleanField(_("active"), default=True)
    is_away = models.BooleanField(
        _("away"), default=False,
        help_text=_("Away agents get no calls routed to them by the CRM."),
    )
    away_since = models.DateTimeField(_("away since"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        # Made in the calls app and moved here with its rows where they were.
        db_table = "calls_agent"
        ordering = ["extension"]
        verbose_name = _("agent")
        verbose_name_plural = _("agents")

    def __str__(self) -> str:
        return f"{self.extension} {self.name}".strip()


class Contact(models.Model):
    """A client of the company, with the manager (agent) responsible for them."""

    name = models.CharField(_("name"), max_length=200)
    company = models.CharField(_("company"), max_length=200, blank=True)
    email = models.EmailField(_("email"), blank=True)
    notes = models.TextField(_("notes"), blank=True)
    responsible = models.ForeignKey(
        Agent,
        verbose_name=_("responsible agent"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="contacts",
    )
    is_lead = models.BooleanField(
        _("lead"), default=False, db_index=True,
        help_text=_("Made by the CRM from an unknown caller's first call; untick once completed."),
    )
    # The number a lead was made for: unique, so concurrent first calls make one lead.
    lead_number = models.CharField(
        _("lead made for number"), max_length=32, null=True, blank=True, unique=True,
        editable=False,
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        # The contact list's order: a page of a million contacts without sorting them all.
        indexes = [models.Index(fields=["name", "id"], name="contact_name_id")]
        # Who is responsible decides where the client's calls ring: a right of its own.
        permissions = [("assign_contact", _("Can assign contacts"))]
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")

    def __str__(self) -> str:
        return f"{self.name} ({self.company})" if self.company else self.name

    @property
    def display_name(self) -> str:
        """`Name/Company`, the form the PBX shows to the agent."""
        return display_name(self.name, self.company)


class ContactPhone(models.Model):
    """One phone number of a contact, stored in E.164 so a lookup is an exact indexed match."""

    # No index of its own: contactphone_unique's (contact, number) index starts with it.
    contact = models.ForeignKey(
        Contact, verbose_name=_("contact"), on_delete=models.CASCADE, related_name="phones",
        db_index=False,
    )
    number = models.CharField(_("phone number"), max_length=32)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["contact", "number"], name="contactphone_unique"),
        ]
        # (number, contact) serves the lookup, "first contact with this number", in one probe.
        indexes = [models.Index(fields=["number", "contact"], name="contactphone_lookup")]
        verbose_name = _("phone number")
        verbose_name_plural = _("phone numbers")

    def __str__(self) -> str:
        return self.number
