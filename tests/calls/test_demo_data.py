"""`manage.py demo_data`: demo agents and contacts on a fresh database, nothing on one with data."""
import io
from collections.abc import Callable

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.utils import timezone

from calls.demo import DEMO_CONTACTS
from calls.models import Call, CallAttempt, PbxRequest
from calls.routing import route_lookup
from contacts.models import Agent, Contact, ContactPhone
from contacts.services import save_contact

pytestmark = pytest.mark.django_db


def demo_data(*args: str) -> str:
    out = io.StringIO()
    call_command("demo_data", *args, stdout=out)
    return out.getvalue()


def counts() -> tuple[int, ...]:
    return tuple(
        model.objects.count()
        for model in (Agent, Contact, ContactPhone, Call, PbxRequest, CallAttempt, User)
    )


def test_fresh_database_gets_three_named_agents(admin_user):
    demo_data()

    agents = list(Agent.objects.order_by("extension"))
    assert [agent.extension for agent in agents] == ["100", "101", "102"]
    assert all(agent.name and agent.is_active for agent in agents)


def test_fresh_database_gets_contacts_with_mobile_numbers_spread_over_the_agents(admin_user):
    demo_data()

    contacts = list(Contact.objects.order_by("id"))
    assert len(contacts) == len(DEMO_CONTACTS) >= 5
    numbers = [phone.number for contact in contacts for phone in contact.phones.all()]
    assert len(numbers) == len(set(numbers)) == len(contacts)
    assert all(number.startswith("+79") and len(number) == 12 for number in numbers)
    assert {contact.responsible.extension for contact in contacts} == {"100", "101", "102"}


def test_the_captures_caller_is_the_first_contact_and_answers_as_in_the_readme(admin_user):
    demo_data()

    first = Contact.objects.order_by("id").first()
    assert [phone.number for phone in first.phones.all()] == ["+79201119613"]
    assert route_lookup("+79201119613").payload == {
        "contact_name": "Вася/Рога и Копыта", "responsible": "100",
    }


def test_the_superuser_is_linked_to_agent_100(admin_user):
    out = demo_data()

    admin_user.refresh_from_db()
    assert admin_user.agent.extension == "100"
    assert Agent.objects.exclude(user=None).count() == 1
    assert "Demo data added" in out
    assert "linked to user admin" in out


def test_the_first_superuser_is_linked_by_default(django_user_model):
    first = django_user_model.objects.create_superuser("first", password="x")
    django_user_model.objects.create_superuser("second", password="x")
    django_user_model.objects.create_user("staff", password="x")

    demo_data()

    assert Agent.objects.get(extension="100").user == first


def test_user_option_picks_the_user_to_link(admin_user, django_user_model):
    manager = django_user_model.objects.create_user("manager", password="x")

    demo_data("--user", "manager")

    assert Agent.objects.get(extension="100").user == manager


def test_an_unknown_user_is_an_error_and_adds_nothing(admin_user):
    before = counts()

    with pytest.raises(CommandError, match="No user 'nobody'"):
        demo_data("--user", "nobody")

    assert counts() == before


def test_without_a_superuser_the_data_is_added_unlinked():
    out = demo_data()

    assert Agent.objects.count() == 3
    assert not Agent.objects.exclude(user=None).exists()
    assert "No superuser to link agent 100 to" in out


def _agent() -> None:
    Agent.objects.create(extension="555")


def _contact() -> None:
    save_contact(name="Клиент", phones=["+79161234567"])


def _call() -> None:
    Call.objects.create(callid="DVzqd2I5zmRev0vLvxVevw", started_at=timezone.now())


def _journal_row() -> None:
    PbxRequest.objects.create(received_at=timezone.now(), method="POST")


def _call_attempt() -> None:
    CallAttempt.objects.create(extension="555", phone="+79161234567", result="refused")


@pytest.mark.parametrize(
    "existing", [_agent, _contact, _call, _journal_row, _call_attempt],
    ids=["agent", "contact", "call", "journal row", "call attempt"],
)
def test_a_database_with_data_gets_nothing(admin_user, existing: Callable[[], None]):
    existing()
    before = counts()

    out = demo_data()

    assert counts() == before
    assert not hasattr(User.objects.get(pk=admin_user.pk), "agent")
    assert "The database has data" in out
    assert "no demo data added" in out


def test_a_second_run_adds_nothing(admin_user):
    demo_data()
    after_first = counts()

    out = demo_data()

    assert counts() == after_first
    assert "no demo data added" in out
