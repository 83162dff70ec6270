"""Who may set a contact's responsible agent: "Can assign contacts", in the admin and the API.

Changing it moves where the client's calls ring; without the right a user may change a
contact in every other way, and a contact they add has no responsible.
"""
import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client

from contacts.models import Agent, Contact
from contacts.services import may_assign, save_contact
from tests.conftest import token_client
from tests.html import all_tags

pytestmark = pytest.mark.django_db

CONTACTS = "/admin/contacts/contact/"
EDITOR = ["view_contact", "add_contact", "change_contact"]


def person(username: str, *codenames: str, extension: str | None = None) -> User:
    user = User.objects.create_user(username, is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    if extension:
        Agent.objects.create(extension=extension, user=user)
    return user


@pytest.fixture
def editor() -> User:
    """An agent (105) who may add and change contacts, not assign them."""
    return person("editor", *EDITOR, extension="105")


@pytest.fixture
def assigner() -> User:
    return person("lead", *EDITOR, "assign_contact", extension="106")


@pytest.fixture
def vasya() -> Contact:
    owner = Agent.objects.create(extension="100")
    return save_contact(name="Вася", phones=["+79201119613"], responsible=owner)


def responsible_of(contact: Contact) -> str | None:
    contact.refresh_from_db()
    return contact.responsible.extension if contact.responsible else None


# --- the admin ------------------------------------------------------------------------------


def logged_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def form(contact: Contact | None, **fields: object) -> dict:
    """The contact form's POST data (its numbers kept as they are)."""
    phones = list(contact.phones.all()) if contact else []
    data = {
        "name": contact.name if contact else "Оля", "company": "", "email": "", "notes": "",
        "phones-TOTAL_FORMS": str(len(phones)), "phones-INITIAL_FORMS": str(len(phones)),
        "phones-MIN_NUM_FORMS": "0", "phones-MAX_NUM_FORMS": "1000", **fields,
    }
    for index, phone in enumerate(phones):
        data[f"phones-{index}-id"] = str(phone.pk)
        data[f"phones-{index}-contact"] = str(contact.pk)
        data[f"phones-{index}-number"] = phone.number
    return data


def responsible_inputs(client: Client, url: str) -> list[dict]:
    response = client.get(url)
    assert response.status_code == 200
    return [attrs for name, attrs in all_tags(response)
            if name in ("select", "input") and attrs.get("name") == "responsible"]


def test_without_the_right_the_responsible_is_read_only(editor, vasya):
    client = logged_in(editor)

    assert responsible_inputs(client, f"{CONTACTS}{vasya.pk}/change/") == []
    assert responsible_inputs(client, f"{CONTACTS}add/") == []


def test_with_the_right_the_responsible_is_a_field(assigner, vasya):
    assert responsible_inputs(logged_in(assigner), f"{CONTACTS}{vasya.pk}/change/")


def test_an_editor_cannot_make_themselves_responsible_in_the_admin(editor, vasya):
    response = logged_in(editor).post(
        f"{CONTACTS}{vasya.pk}/change/",
        form(vasya, name="Василий", responsible=str(editor.agent.pk)),
    )

    assert response.status_code == 302
    vasya.refresh_from_db()
    assert vasya.name == "Василий"  # the rest of the contact is theirs to change
    assert responsible_of(vasya) == "100"


def test_a_contact_added_without_the_right_has_no_responsible(editor):
    response = logged_in(editor).post(
        f"{CONTACTS}add/", form(None, responsible=str(editor.agent.pk))
    )

    assert response.status_code == 302
    assert responsible_of(Contact.objects.get(name="Оля")) is None


def test_with_the_right_the_admin_assigns(assigner, vasya):
    response = logged_in(assigner).post(
        f"{CONTACTS}{vasya.pk}/change/", form(vasya, responsible=str(assigner.agent.pk))
    )

    assert response.status_code == 302
    assert responsible_of(vasya) == "106"


# --- the API --------------------------------------------------------------------------------


def url(contact: Contact) -> str:
    return f"/api/contacts/{contact.pk}/"


@pytest.mark.parametrize("method", ["patch", "put"])
@pytest.mark.parametrize("value", ["105", "", None])
def test_an_editor_cannot_change_the_responsible_through_the_api(editor, vasya, method, value):
    request = getattr(token_client(editor), method)

    response = request(url(vasya), {"name": "Вася", "responsible": value}, format="json")

    assert response.status_code == 403
    assert "Can assign contacts" in response.json()["error"]
    assert responsible_of(vasya) == "100"


def test_a_refused_assignment_creates_no_agent(editor, vasya):
    response = token_client(editor).patch(url(vasya), {"responsible": "555"}, format="json")

    assert response.status_code == 403
    assert not Agent.objects.filter(extension="555").exists()


def test_an_editor_may_send_the_responsible_back_unchanged(editor, vasya):
    """A PUT of the contact as read (its responsible included) changes the other fields."""
    client = token_client(editor)
    contact = client.get(url(vasya)).json()

    response = client.put(url(vasya), {**contact, "company": "Ромашка"}, format="json")

    assert response.status_code == 200
    assert (response.json()["company"], responsible_of(vasya)) == ("Ромашка", "100")


def test_an_editor_may_patch_other_fields(editor, vasya):
    response = token_client(editor).patch(url(vasya), {"notes": "VIP"}, format="json")

    assert response.status_code == 200
    assert responsible_of(vasya) == "100"


def test_an_editor_cannot_create_a_contact_with_a_responsible(editor):
    response = token_client(editor).post(
        "/api/contacts/", {"name": "Оля", "responsible": "105"}, format="json"
    )

    assert response.status_code == 403
    assert "error" in response.json()
    assert not Contact.objects.exists()


@pytest.mark.parametrize("fields", [{}, {"responsible": ""}, {"responsible": None}])
def test_an_editor_creates_contacts_without_a_responsible(editor, fields):
    response = token_client(editor).post(
        "/api/contacts/", {"name": "Оля", **fields}, format="json"
    )

    assert response.status_code == 201
    assert response.json()["responsible"] is None


def test_with_the_right_the_api_assigns(assigner, vasya):
    client = token_client(assigner)

    changed = client.patch(url(vasya), {"responsible": "106"}, format="json")
    created = client.post("/api/contacts/", {"name": "Оля", "responsible": "107"},
                          format="json")

    assert (changed.status_code, created.status_code) == (200, 201)
    assert responsible_of(vasya) == "106"
    assert created.json()["responsible"] == "107"


def test_an_inactive_superuser_may_not_assign():
    assert may_assign(User(is_active=True, is_superuser=True))
    assert not may_assign(User(is_active=False, is_superuser=True))


def test_the_import_command_says_it_assigns_unchecked():
    from contacts.management.commands.import_contacts import Command

    assert "Can assign contacts" in Command.help
    assert "responsible" in Command.help
