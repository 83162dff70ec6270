"""Fixtures for the header search: a known client with calls, users with some permissions."""
from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission, User
from django.utils import timezone

from calls.models import Call
from contacts.models import Agent, Contact
from contacts.services import save_contact

PHONE = "+79201119613"


def staff_with(username: str, *codenames: str) -> User:
    user = User.objects.create_user(username, password=f"{username}-pw-1", is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    return user


def a_call(callid: str, *, phone: str = PHONE, contact: Contact | None = None,
           minutes_ago: int = 0) -> Call:
    started = timezone.now() - timedelta(minutes=minutes_ago)
    return Call.objects.create(callid=callid, direction="in", phone=phone, outcome="answered",
                               contact=contact, started_at=started, answered_at=started)


@pytest.fixture
def vasya() -> Contact:
    agent = Agent.objects.create(extension="100", name="Анна")
    return save_contact(name="Вася Пупкин", company="Рога и Копыта", phones=[PHONE],
                        responsible=agent)


@pytest.fixture
def petya() -> Contact:
    return save_contact(name="Петя Иванов", company="ООО Ромашка", phones=["+79211234567"])


@pytest.fixture
def viewer() -> User:
    """Sees contacts and calls."""
    return staff_with("viewer", "view_contact", "view_call")
