"""The header search's service: a number in any format (exact on E.164), a name or a company,
each kind shown only with its permission, capped, and an empty or short query refused."""
import pytest
from django.contrib.auth.models import User

from calls.models import Call
from calls.search.services import SHOWN, calls_matching, search
from contacts.models import Contact
from tests.calls.search.conftest import PHONE, a_call, staff_with

pytestmark = pytest.mark.django_db


def names(found) -> list[str]:  # noqa: ANN001
    return [row.contact.name for row in found.rows]


def callids(found) -> list[str]:  # noqa: ANN001
    return [row.call.callid for row in found.rows]


@pytest.mark.parametrize("typed", [
    "+7 920 111-96-13", "8 (920) 111-96-13", "79201119613", "9201119613", " 8-920-111-96-13 ",
])
def test_a_number_in_any_format_finds_its_contact_and_calls(
    typed: str, viewer: User, vasya: Contact, petya: Contact
) -> None:
    a_call("mine", contact=vasya)
    a_call("other", phone="+79211234567", contact=petya)

    results = search(user=viewer, query=typed)

    assert results.problem is None and results.phone == PHONE
    assert names(results.contacts) == ["Вася Пупкин"]
    assert callids(results.calls) == ["mine"]
    assert results.calls.rows[0].phone_display == "+7 920 111-96-13"
    assert results.contacts.rows[0].phones == ["+7 920 111-96-13"]


def test_a_number_is_matched_exactly_not_as_a_part(viewer: User, vasya: Contact) -> None:
    a_call("mine", contact=vasya)

    results = search(user=viewer, query="+7 920 111-96-14")

    assert results.problem is None
    assert results.contacts.rows == [] and results.calls.rows == []


def test_a_call_of_an_unknown_number_is_found_by_its_number(viewer: User) -> None:
    a_call("stranger", phone="+79030000001")

    results = search(user=viewer, query="8 903 000 00 01")

    assert results.contacts.rows == []
    assert callids(results.calls) == ["stranger"]


@pytest.mark.parametrize("typed", ["вася", "ПУПКИН", "Вася Пупк"])
def test_a_name_finds_the_contact_and_its_calls(
    typed: str, viewer: User, vasya: Contact, petya: Contact
) -> None:
    a_call("mine", contact=vasya)
    a_call("petya's", phone="+79211234567", contact=petya)

    results = search(user=viewer, query=typed)

    assert results.phone is None
    assert names(results.contacts) == ["Вася Пупкин"]
    assert callids(results.calls) == ["mine"]


def test_a_company_finds_the_contact(viewer: User, vasya: Contact, petya: Contact) -> None:
    results = search(user=viewer, query="ромашка")

    assert names(results.contacts) == ["Петя Иванов"]


def test_contacts_only_with_view_contact(vasya: Contact) -> None:
    a_call("mine", contact=vasya)
    user = staff_with("contacts-only", "view_contact")

    results = search(user=user, query=PHONE)

    assert names(results.contacts) == ["Вася Пупкин"]
    assert results.calls is None


def test_calls_only_with_view_call(vasya: Contact) -> None:
    a_call("mine", contact=vasya)
    user = staff_with("calls-only", "view_call")

    results = search(user=user, query="Вася")

    assert results.contacts is None
    assert callids(results.calls) == ["mine"]


def test_nothing_without_either_permission(vasya: Contact) -> None:
    results = search(user=staff_with("nobody"), query="Вася")

    assert results.contacts is None and results.calls is None


@pytest.mark.parametrize("typed", ["", "   ", '""'])
def test_an_empty_query_is_refused_with_a_message(typed: str, viewer: User,
                                                  vasya: Contact) -> None:
    results = search(user=viewer, query=typed)

    assert results.problem
    assert results.contacts is None and results.calls is None


@pytest.mark.parametrize("typed", ["В", "Ва", "Ва Пу", "12"])
def test_a_query_too_short_for_the_index_is_refused(typed: str, viewer: User,
                                                   vasya: Contact) -> None:
    results = search(user=viewer, query=typed)

    assert "3" in results.problem
    assert results.contacts is None and results.calls is None


def test_results_are_capped_newest_calls_first(viewer: User, vasya: Contact) -> None:
    for n in range(SHOWN + 5):
        a_call(f"c{n:02d}", contact=vasya, minutes_ago=n)

    results = search(user=viewer, query="Пупкин")

    assert len(results.calls.rows) == SHOWN and results.calls.more
    assert callids(results.calls)[:2] == ["c00", "c01"]
    assert not results.contacts.more


def test_many_contacts_are_capped_in_name_order(viewer: User) -> None:
    from contacts.services import save_contact

    for n in range(SHOWN + 1):
        save_contact(name=f"Клиент {n:02d}", company="Тест", phones=[])

    results = search(user=viewer, query="клиент")

    assert len(results.contacts.rows) == SHOWN and results.contacts.more
    assert names(results.contacts)[0] == "Клиент 00"


def test_the_call_log_search_finds_a_pbx_call_id(vasya: Contact) -> None:
    a_call("DVzqd2I5zmRev0vLvxVevw", contact=vasya)
    a_call("other")

    found = calls_matching(Call.objects.all(), "DVzqd2I5zmRev0vLvxVevw")

    assert [call.callid for call in found] == ["DVzqd2I5zmRev0vLvxVevw"]
