"""Contact reads and writes: the caller lookup, saving a contact with its numbers."""
from collections.abc import Iterable

from django.db import transaction

from calls.models import Agent
from contacts.models import Contact, ContactPhone


def find_contact_by_phone(e164: str) -> Contact | None:
    """The contact owning an E.164 number, with its responsible agent, in one indexed query.

    When several contacts share the number, the one entered first (lowest id) wins, so the
    answer is the same on every call and does not change when a later duplicate is added.
    """
    row = (
        ContactPhone.objects.filter(number=e164)
        .select_related("contact__responsible")
        .order_by("contact_id")
        .first()
    )
    return row.contact if row else None


def lookup_answer(contact: Contact | None) -> dict[str, str]:
    """The PBX's answer for a caller: `{}` for a stranger, else name and responsible extension."""
    if contact is None:
        return {}
    answer = {"contact_name": contact.display_name}
    agent = contact.responsible
    if agent is not None and agent.is_active:
        answer["responsible"] = agent.extension
    return answer


@transaction.atomic
def save_contact(
    *,
    contact: Contact | None = None,
    name: str,
    company: str = "",
    email: str = "",
    notes: str | None = None,
    responsible: Agent | None = None,
    phones: Iterable[str],
) -> Contact:
    """Create or update a contact and set its numbers (already E.164) to exactly `phones`."""
    contact = contact or Contact()
    contact.name = name
    contact.company = company
    contact.email = email
    if notes is not None:
        contact.notes = notes
    contact.responsible = responsible
    contact.save()
    wanted = list(dict.fromkeys(phones))
    contact.phones.exclude(number__in=wanted).delete()
    have = set(contact.phones.values_list("number", flat=True))
    ContactPhone.objects.bulk_create(
        [ContactPhone(contact=contact, number=number) for number in wanted if number not in have]
    )
    return contact
