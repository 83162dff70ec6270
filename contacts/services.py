"""Contact reads and writes: the caller lookup, saving a contact with its numbers."""
from collections.abc import Iterable
from typing import NamedTuple

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.db import transaction
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from contacts.models import Agent, Contact, ContactPhone
from xvbcrm.db import CompiledQuery, instances, model_columns

# Which contact a number belongs to when several have it: a real contact before a lead the
# CRM made, then the one entered first, so the answer is the same on every call.
OWNER_ORDER = ("contact__is_lead", "contact_id")


def _owners_of(e164: str) -> QuerySet[ContactPhone]:
    """Rows of this number, first contact first: one probe of the (number, contact) index.

    When several contacts share the number, a real contact wins over a lead the CRM made,
    then the one entered first (lowest id), so the answer is the same on every call and
    does not change when a later duplicate is added.
    """
    return ContactPhone.objects.filter(number=e164).order_by(*OWNER_ORDER)


# The owner with its responsible, compiled once: every event of an unknown caller asks.
_OWNER = CompiledQuery(
    lambda number: _owners_of(number).values_list(
        *model_columns(Contact, "contact"), *model_columns(Agent, "contact__responsible")
    )[:1],
    number="+0",
)


def find_contact_by_phone(e164: str) -> Contact | None:
    """The contact owning an E.164 number, with its responsible agent, in one query."""
    row = _OWNER.fetch_one(number=e164)
    if row is None:
        return None
    contact, responsible = instances(row, Contact, Agent)
    contact.responsible = responsible
    return contact


class CallerRow(NamedTuple):
    """What the caller lookup reads about the contact owning a number, in one query."""

    contact_id: int
    name: str
    company: str
    responsible_id: int | None
    responsible_extension: str | None
    responsible_is_active: bool | None
    responsible_is_away: bool | None


_CALLER_COLUMNS = (
    "contact_id",
    "contact__name",
    "contact__company",
    "contact__responsible_id",
    "contact__responsible__extension",
    "contact__responsible__is_active",
    "contact__responsible__is_away",
)


# The lookup's query, compiled once (compiling it was most of a lookup's Python time).
_CALLER = CompiledQuery(
    lambda number: _owners_of(number).values_list(*_CALLER_COLUMNS)[:1], number="+0"
)


def caller_row(e164: str) -> CallerRow | None:
    """The first contact owning a number with its responsible agent's state (hot path)."""
    row = _CALLER.fetch_one(number=e164)
    return CallerRow(*row) if row else None


ASSIGN_PERMISSION = "contacts.assign_contact"


class AssignmentDenied(PermissionError):
    """The user may not change who is responsible for a contact."""


def may_assign(user: AbstractBaseUser | AnonymousUser) -> bool:
    """Whether `user` may set a contact's responsible agent ("Can assign contacts")."""
    return user.is_active and user.has_perm(ASSIGN_PERMISSION)


def check_assignment(
    *, user: AbstractBaseUser | AnonymousUser, contact: Contact | None, extension: str
) -> None:
    """Raise AssignmentDenied when saving `contact` (None: a new one) with the responsible
    `extension` ("" for nobody) would change its responsible and `user` may not assign.

    A new contact without the right gets nobody: its calls ring by last talk, so the agent
    working with the client gets them anyway, and nobody takes a caller's routing over by
    adding a contact for their number.
    """
    current = contact.responsible.extension if contact and contact.responsible else ""
    if extension != current and not may_assign(user):
        raise AssignmentDenied(
            _("You may not change who is responsible for a contact (“Can assign contacts”).")
        )


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
