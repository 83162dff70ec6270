"""The caller lookup's answer, as the PBX receives it."""
import pytest

from calls.routing import route_lookup
from contacts.models import Agent
from contacts.services import find_contact_by_phone, save_contact

pytestmark = pytest.mark.django_db

NUMBER = "+79201119613"


def test_stranger_gets_empty_answer():
    assert route_lookup(NUMBER).payload == {}


def test_contact_with_company_and_active_agent():
    agent = Agent.objects.create(extension="100")
    save_contact(name="Вася", company="Рога и Копыта", responsible=agent, phones=[NUMBER])

    assert route_lookup(NUMBER).payload == {
        "contact_name": "Вася/Рога и Копыта", "responsible": "100",
    }


def test_contact_without_company_is_named_alone():
    save_contact(name="Вася", phones=[NUMBER])

    assert route_lookup(NUMBER).payload == {"contact_name": "Вася"}


def test_inactive_responsible_is_left_out():
    agent = Agent.objects.create(extension="100", is_active=False)
    save_contact(name="Вася", responsible=agent, phones=[NUMBER])

    assert route_lookup(NUMBER).payload == {"contact_name": "Вася"}


def test_shared_number_answers_the_contact_entered_first():
    first = save_contact(name="Первый", phones=[NUMBER])
    save_contact(name="Второй", phones=[NUMBER, "+79201119614"])

    assert route_lookup(NUMBER).payload == {"contact_name": "Первый"}
    assert find_contact_by_phone(NUMBER) == first


def test_second_number_of_a_contact_finds_it():
    save_contact(name="Вася", phones=["+74951234567", NUMBER])

    assert route_lookup(NUMBER).payload == {"contact_name": "Вася"}
