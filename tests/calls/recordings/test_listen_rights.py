"""One listening rule on every page that shows a recording or its PBX link: the call log and
a call's page, the recording's page, the journal, the CSV export and the API.

The call comes in through the real webhook: the lookup routes it to agent 101 (the contact's
responsible then), agent 100 answers it. Afterwards agent 105 becomes the responsible.
"""
import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client

from calls.models import Call, PbxRequest, Recording
from contacts.models import Agent, Contact
from contacts.services import save_contact
from tests.captures import ANSWERED, CALLID, COMPLETED, CONTACT, INCOMING
from tests.conftest import token_client

pytestmark = pytest.mark.django_db

LINK_MARK = "f92H16GAUDE7R10EMOLYYw"  # in the link, raw or URL-encoded
STAFF_PERMISSIONS = ["view_call", "view_recording", "view_pbxrequest", "view_contact"]
MAY_LISTEN = {"superuser", "listen-all", "answered", "routed-to"}
EVERYONE = ["superuser", "listen-all", "answered", "routed-to", "responsible-today",
            "other-agent", "viewer"]


def webhook(client: Client, body: bytes) -> None:
    response = client.post("/crm-api", data=body,
                           content_type="application/x-www-form-urlencoded")
    assert response.status_code == 200


@pytest.fixture
def call(client: Client) -> Call:
    for extension in ("100", "101", "105", "106"):
        Agent.objects.create(extension=extension)
    contact = save_contact(name="Вася", phones=["+79201119613"],
                           responsible=Agent.objects.get(extension="101"))
    for body in (CONTACT, INCOMING, ANSWERED, COMPLETED):
        webhook(client, body)
    Contact.objects.filter(pk=contact.pk).update(
        responsible=Agent.objects.get(extension="105"))
    # Not archived yet (the PBX's host is not allowed here): the player offers the PBX's link.
    Recording.objects.filter(call__callid=CALLID).update(status=Recording.Status.PENDING)
    call = Call.objects.get(callid=CALLID)
    assert (call.agent.extension, call.routed_to.extension) == ("100", "101")
    return call


def user(who: str) -> User:
    if who == "superuser":
        return User.objects.create_superuser("root", password=None)
    person = User.objects.create_user(who, is_staff=True)
    codenames = [*STAFF_PERMISSIONS, *(["listen_all_recordings"] if who == "listen-all" else [])]
    person.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    extension = {"answered": "100", "routed-to": "101", "responsible-today": "105",
                 "other-agent": "106"}.get(who)
    if extension:
        Agent.objects.filter(extension=extension).update(user=person)
    return person


def logged_in(person: User) -> Client:
    client = Client()
    client.force_login(person)
    return client


def page(client: Client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200
    if response.streaming:
        return b"".join(response.streaming_content).decode("utf-8-sig")
    return response.content.decode()


def call_page(person: User, call: Call) -> str:
    return page(logged_in(person), f"/admin/calls/call/{call.pk}/change/")


def call_log(person: User, call: Call) -> str:
    return page(logged_in(person), "/admin/calls/call/")


def recording_page(person: User, call: Call) -> str:
    return page(logged_in(person), f"/admin/calls/recording/{call.recording.pk}/change/")


def journal_row(person: User, call: Call) -> str:
    entry = PbxRequest.objects.get(event="COMPLETED", callid=CALLID)
    return page(logged_in(person), f"/admin/calls/pbxrequest/{entry.pk}/change/")


def export(person: User, call: Call) -> str:
    return page(logged_in(person), "/admin/calls/call/export/")


def api_calls(person: User, call: Call) -> str:
    response = token_client(person).get("/api/calls/")
    assert response.status_code == 200
    return response.content.decode()


def api_call(person: User, call: Call) -> str:
    response = token_client(person).get(f"/api/calls/{CALLID}/")
    assert response.status_code == 200
    return response.content.decode()


SURFACES = [call_page, call_log, recording_page, journal_row, export, api_calls, api_call]


@pytest.mark.parametrize("surface", SURFACES, ids=lambda surface: surface.__name__)
@pytest.mark.parametrize("who", EVERYONE)
def test_the_link_shows_exactly_to_who_may_listen(call, who, surface):
    shown = surface(user(who), call)

    assert (LINK_MARK in shown) == (who in MAY_LISTEN)


def test_the_journal_keeps_the_link_for_who_may_hear_it(call):
    entry = PbxRequest.objects.get(event="COMPLETED", callid=CALLID)

    assert LINK_MARK in entry.body  # hidden on the page only: re-processing needs it


def test_a_journal_row_without_a_call_shows_its_link_to_listen_all_only(call):
    PbxRequest.objects.filter(event="COMPLETED").update(call=None)

    assert LINK_MARK in journal_row(user("listen-all"), call)
    assert LINK_MARK not in journal_row(user("answered"), call)


def test_assigning_oneself_a_contact_opens_none_of_its_past_calls(call):
    """Even with "Can assign contacts", taking a client over gives their routing, not the
    recordings of calls others had with them."""
    taker = user("other-agent")
    taker.user_permissions.add(*Permission.objects.filter(
        codename__in=["change_contact", "assign_contact"]))

    api = token_client(taker)

    response = api.patch(f"/api/contacts/{call.contact_id}/", {"responsible": "106"},
                         format="json")

    assert response.status_code == 200
    assert Contact.objects.get(pk=call.contact_id).responsible.extension == "106"
    assert LINK_MARK not in api.get(f"/api/calls/{CALLID}/").content.decode()
    assert LINK_MARK not in call_page(taker, call)
