"""The REST API for contacts: `/api/contacts/`, phones in any format in and E.164 out."""
import pytest
from django.contrib.auth.models import Permission
from rest_framework.test import APIClient

from contacts.models import Agent, Contact, ContactPhone
from contacts.services import save_contact
from tests.conftest import token_client

pytestmark = pytest.mark.django_db

CONTACT_FIELDS = {"id", "name", "company", "email", "notes", "phones", "responsible"}


@pytest.fixture
def vasya() -> Contact:
    agent = Agent.objects.create(extension="100", name="Ivan")
    return save_contact(
        name="Вася", company="Рога и Копыта", email="vasya@example.com", notes="VIP",
        responsible=agent, phones=["+79201119613", "+74951234567"],
    )


@pytest.fixture
def petya() -> Contact:
    return save_contact(name="Петя", phones=["+79035550101"])


def url(contact: Contact) -> str:
    return f"/api/contacts/{contact.id}/"


def test_list_is_paginated_by_name(api, vasya, petya):
    response = api.get("/api/contacts/")

    assert response.status_code == 200
    assert response.json()["count"] == 2
    assert [row["name"] for row in response.json()["results"]] == ["Вася", "Петя"]


def test_contact_fields(api, vasya):
    row = api.get(url(vasya)).json()

    assert set(row) == CONTACT_FIELDS
    assert row == {
        "id": vasya.id, "name": "Вася", "company": "Рога и Копыта",
        "email": "vasya@example.com", "notes": "VIP",
        "phones": ["+79201119613", "+74951234567"], "responsible": "100",
    }


def test_contact_without_responsible_has_null(api, petya):
    assert api.get(url(petya)).json()["responsible"] is None


@pytest.mark.parametrize("typed", ["8 (920) 111-96-13", "+7 920 111-96-13", "79201119613"])
def test_filter_by_phone_in_any_format(api, vasya, petya, typed):
    rows = api.get("/api/contacts/", {"phone": typed}).json()["results"]

    assert [row["id"] for row in rows] == [vasya.id]


def test_filter_by_an_unknown_phone_finds_nothing(api, vasya):
    assert api.get("/api/contacts/", {"phone": "hello"}).json()["results"] == []


def test_create_stores_phones_in_e164(api):
    response = api.post(
        "/api/contacts/",
        {"name": "Оля", "company": "ООО Ромашка", "phones": ["8 (920) 111-96-13", "4951234567"]},
        format="json",
    )

    assert response.status_code == 201
    assert response.json()["phones"] == ["+79201119613", "+74951234567"]
    contact = Contact.objects.get(pk=response.json()["id"])
    assert sorted(contact.phones.values_list("number", flat=True)) == [
        "+74951234567", "+79201119613",
    ]


def test_create_collapses_one_number_in_two_formats(api):
    response = api.post(
        "/api/contacts/",
        {"name": "Оля", "phones": ["8 (920) 111-96-13", "+79201119613"]},
        format="json",
    )

    assert response.status_code == 201
    assert response.json()["phones"] == ["+79201119613"]


def test_create_without_phones(api):
    response = api.post("/api/contacts/", {"name": "Оля"}, format="json")

    assert response.status_code == 201
    assert response.json()["phones"] == []


def test_create_with_a_new_responsible_extension_creates_the_agent(api):
    response = api.post(
        "/api/contacts/", {"name": "Оля", "phones": ["+79201119613"], "responsible": "205"},
        format="json",
    )

    assert response.status_code == 201
    assert response.json()["responsible"] == "205"
    assert Contact.objects.get().responsible == Agent.objects.get(extension="205")


def test_a_non_phone_is_a_400_with_the_field_error(api):
    response = api.post(
        "/api/contacts/", {"name": "Оля", "phones": ["+79201119613", "hello"]}, format="json"
    )

    assert response.status_code == 400
    assert response["Content-Type"].startswith("application/json")
    assert set(response.json()) == {"phones"}
    assert "hello" in str(response.json()["phones"])
    assert not Contact.objects.exists()


def test_an_invalid_request_creates_no_agent(api):
    response = api.post(
        "/api/contacts/", {"name": "Оля", "phones": ["hello"], "responsible": "205"},
        format="json",
    )

    assert response.status_code == 400
    assert not Agent.objects.exists()


@pytest.mark.parametrize("extension", ["abc", "10 0", "١٠٠"])
def test_a_non_digit_extension_is_a_400(api, extension):
    response = api.post(
        "/api/contacts/", {"name": "Оля", "responsible": extension}, format="json"
    )

    assert response.status_code == 400
    assert set(response.json()) == {"responsible"}


def test_phones_must_be_a_list(api):
    response = api.post(
        "/api/contacts/", {"name": "Оля", "phones": "+79201119613"}, format="json"
    )

    assert response.status_code == 400
    assert set(response.json()) == {"phones"}


def test_put_replaces_the_contact(api, vasya):
    response = api.put(
        url(vasya),
        {"name": "Василий", "company": "", "email": "", "phones": ["8 903 555-01-01"],
         "responsible": "101"},
        format="json",
    )

    assert response.status_code == 200
    vasya.refresh_from_db()
    assert (vasya.name, vasya.company, vasya.email) == ("Василий", "", "")
    assert list(vasya.phones.values_list("number", flat=True)) == ["+79035550101"]
    assert vasya.responsible.extension == "101"
    assert response.json()["phones"] == ["+79035550101"]


def test_patch_of_phones_only_keeps_the_other_fields(api, vasya):
    response = api.patch(url(vasya), {"phones": ["+7 (903) 555-01-01"]}, format="json")

    assert response.status_code == 200
    assert response.json() == {
        "id": vasya.id, "name": "Вася", "company": "Рога и Копыта",
        "email": "vasya@example.com", "notes": "VIP", "phones": ["+79035550101"],
        "responsible": "100",
    }


def test_patch_without_phones_keeps_the_phones(api, vasya):
    response = api.patch(url(vasya), {"company": "ООО Ромашка"}, format="json")

    assert response.status_code == 200
    assert response.json()["phones"] == ["+79201119613", "+74951234567"]
    assert vasya.phones.count() == 2
    vasya.refresh_from_db()
    assert vasya.company == "ООО Ромашка"
    assert vasya.notes == "VIP"


@pytest.mark.parametrize("none", [None, ""])
def test_patch_responsible_null_or_empty_clears_it(api, vasya, none):
    response = api.patch(url(vasya), {"responsible": none}, format="json")

    assert response.status_code == 200
    vasya.refresh_from_db()
    assert vasya.responsible is None


def test_patch_with_a_bad_phone_changes_nothing(api, vasya):
    response = api.patch(url(vasya), {"name": "X", "phones": ["hello"]}, format="json")

    assert response.status_code == 400
    vasya.refresh_from_db()
    assert vasya.name == "Вася"
    assert vasya.phones.count() == 2


def test_delete_removes_the_contact_and_its_phones(api, vasya):
    response = api.delete(url(vasya))

    assert response.status_code == 204
    assert not Contact.objects.exists()
    assert not ContactPhone.objects.exists()


def test_user_without_view_permission_is_forbidden(django_user_model):
    user = django_user_model.objects.create_user("clerk", password="x", is_staff=True)

    assert token_client(user).get("/api/contacts/").status_code == 403


def test_view_permission_does_not_allow_writing(django_user_model):
    user = django_user_model.objects.create_user("clerk", password="x")
    user.user_permissions.add(Permission.objects.get(codename="view_contact"))
    client = token_client(user)

    assert client.get("/api/contacts/").status_code == 200
    assert client.post("/api/contacts/", {"name": "Оля"}, format="json").status_code == 403
    assert not Contact.objects.exists()


def test_anonymous_cannot_create():
    response = APIClient().post("/api/contacts/", {"name": "Оля"}, format="json")

    assert response.status_code in (401, 403)
    assert not Contact.objects.exists()


def test_list_queries_are_bounded(api, django_assert_max_num_queries):
    for number in range(50):
        agent = Agent.objects.create(extension=str(200 + number))
        save_contact(name=f"Client {number:02}", responsible=agent,
                     phones=[f"+7920111{number:04}", f"+7495111{number:04}"])

    with django_assert_max_num_queries(5):
        response = api.get("/api/contacts/")

    assert response.json()["results"][0]["phones"] == ["+79201110000", "+74951110000"]


def test_browsable_api_renders(admin_client, vasya):
    response = admin_client.get(url(vasya), HTTP_ACCEPT="text/html")

    assert response.status_code == 200
    assert "+79201119613" in response.content.decode()
