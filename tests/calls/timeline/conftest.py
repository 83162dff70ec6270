"""A contact with a history: calls, callbacks, the contact's creation, at chosen times."""
from datetime import datetime, timedelta

import pytest
from django.contrib.auth.models import Permission, User
from django.utils import timezone

from calls.models import Call, Callback
from contacts.models import Agent, Contact, ContactPhone

PHONE = "+79201119613"


def at(minutes_ago: float) -> datetime:
    return timezone.now().replace(microsecond=0) - timedelta(minutes=minutes_ago)


def make_contact(*, minutes_ago: float = 10_000, lead: bool = False, phone: str = PHONE,
                 responsible: Agent | None = None) -> Contact:
    """A contact with one number, made `minutes_ago` (a lead made for it, if `lead`)."""
    contact = Contact.objects.create(
        name="Иван Петров", company="ООО Ромашка", responsible=responsible, is_lead=lead,
        lead_number=phone if lead else None,
    )
    ContactPhone.objects.create(contact=contact, number=phone)
    Contact.objects.filter(pk=contact.pk).update(created_at=at(minutes_ago))
    contact.refresh_from_db()
    return contact


def make_call(contact: Contact | None, minutes_ago: float, *, direction: str = "in",
              outcome: str = "answered", agent: Agent | None = None, phone: str = PHONE,
              **fields: object) -> Call:
    started = at(minutes_ago)
    return Call.objects.create(
        callid=f"c{Call.objects.count()}-{minutes_ago}", direction=direction, phone=phone,
        contact=contact, agent=agent, outcome=outcome, started_at=started,
        duration=fields.pop("duration", 65 if outcome == "answered" else None), **fields,
    )


def make_callback(missed: Call, *, closed_by: Call | None = None,
                  agent: Agent | None = None) -> Callback:
    """The callback the missed call opened, a second after it; closed by `closed_by`."""
    return Callback.objects.create(
        phone=missed.phone, contact=missed.contact, agent=agent, missed_call=missed,
        created_at=missed.started_at + timedelta(seconds=1),
        closed_at=closed_by.started_at if closed_by else None, closed_by=closed_by,
        waited=closed_by.started_at - missed.started_at if closed_by else None,
    )


def staff(username: str, *codenames: str, extension: str | None = None) -> User:
    """A staff user with these permissions, linked to an agent when `extension` is given."""
    user = User.objects.create_user(username, password=f"{username}-pw-1", is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    if extension:
        Agent.objects.create(extension=extension, name=username.title(), user=user)
    return User.objects.get(pk=user.pk)


AGENT_RIGHTS = ("view_contact", "change_contact", "view_call", "view_callback", "place_calls")


@pytest.fixture
def anna() -> User:
    """An agent who may see the contact, the call log and callbacks, and place calls."""
    return staff("anna", *AGENT_RIGHTS, extension="100")
