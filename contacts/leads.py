"""Leads: the contact the CRM makes, once per number, for an unknown caller."""
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from contacts.models import Agent, Contact, ContactPhone
from contacts.phones import format_phone, normalize_phone
from contacts.services import find_contact_by_phone


def ignored_numbers() -> set[str]:
    """LEADS_IGNORE_NUMBERS in E.164 (written in any format; unparsable ones kept as written)."""
    return {
        normalize_phone(number) or number.strip() for number in settings.LEADS_IGNORE_NUMBERS
    }


def wants_lead(e164: str) -> bool:
    """Whether a call from this number may make a lead: leads on, E.164, not ignored."""
    return (
        settings.LEADS_ENABLED
        and e164.startswith("+")
        and normalize_phone(e164) == e164
        and e164 not in ignored_numbers()
    )


def adopt_lead(*, contact_id: int, agent: Agent) -> bool:
    """Make `agent` the responsible of a lead that has none; True when it did."""
    updated = Contact.objects.filter(pk=contact_id, is_lead=True, responsible=None).update(
        responsible=agent
    )
    return bool(updated)


def ensure_lead(*, phone: str, agent: Agent | None = None) -> Contact | None:
    """The contact for an unknown caller's number: the owner if any, else its one lead.

    Concurrent first calls from one number make one lead: `lead_number` is unique, and the
    loser of the race reuses the winner's. The answering `agent`, when given, becomes the
    responsible of a lead that has none. None when leads are off or the number is ignored.
    """
    if not wants_lead(phone):
        return None
    contact = find_contact_by_phone(phone)
    if contact is None:
        try:
            with transaction.atomic():
                contact = Contact.objects.create(
                    name=_("Lead %(phone)s") % {"phone": format_phone(phone)},
                    is_lead=True,
                    lead_number=phone,
                    responsible=agent,
                )
                ContactPhone.objects.create(contact=contact, number=phone)
            return contact
        except IntegrityError:  # a concurrent first call made it in the meantime
            contact = Contact.objects.filter(lead_number=phone, phones__number=phone).first()
            if contact is None:  # the lead made for it no longer has the number: leave it be
                return None
    needs_responsible = contact.is_lead and contact.responsible_id is None
    if agent is not None and needs_responsible and adopt_lead(contact_id=contact.pk, agent=agent):
        contact.responsible = agent
    return contact


def complete_leads(contacts: QuerySet[Contact]) -> int:
    """Mark leads as completed contacts; `lead_number` stays, so no second lead is ever made."""
    return contacts.filter(is_lead=True).update(is_lead=False)
