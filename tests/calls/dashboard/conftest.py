"""Fixtures of the dashboard's tests: two agents, and staff users with and without the right."""
import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client

from contacts.models import Agent


@pytest.fixture
def agents() -> tuple[Agent, Agent]:
    return (Agent.objects.create(extension="101", name="Анна"),
            Agent.objects.create(extension="102", name="Борис"))


@pytest.fixture
def viewer(client: Client) -> Client:
    """A staff user who may view calls, and nothing else."""
    user = User.objects.create_user("viewer", password="pw", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_call"))
    client.force_login(user)
    return client


@pytest.fixture
def stranger(client: Client) -> Client:
    """A staff user without the calls' view permission."""
    user = User.objects.create_user("stranger", password="pw", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_contact"))
    client.force_login(user)
    return client
