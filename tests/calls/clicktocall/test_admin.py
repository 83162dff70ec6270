"""Click-to-call in the admin: "Call" beside a contact's numbers, the "Call" list action,
"Call back" on missed calls. All post with CSRF, need "Can place calls" and end in a message."""
import re

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client
from django.utils import timezone

from calls.assembly import record_event
from calls.models import Call, CallAttempt
from calls.pbx import protocol
from calls.pbx.emulator_http import Reply
from contacts.models import Agent, Contact
from contacts.services import save_contact
from tests.calls.conftest import PBX_TOKEN
from tests.html import tags

pytestmark = pytest.mark.django_db

PLACE = "/admin/calls/callattempt/place/"
CONTACTS = "/admin/contacts/contact/"
CALLS = "/admin/calls/call/"


def staff(username: str, *codenames: str, extension: str | None = "100") -> User:
    user = User.objects.create_user(username, password="pw", is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    if extension:
        Agent.objects.create(extension=extension, name=username, user=user)
    return User.objects.get(pk=user.pk)


MANAGER_PERMS = ("place_calls", "view_contact", "change_contact", "view_call")


@pytest.fixture
def manager() -> User:
    return staff("manager", *MANAGER_PERMS)


@pytest.fixture
def browser(client: Client, manager: User) -> Client:
    client.force_login(manager)
    return client


@pytest.fixture
def contact() -> Contact:
    return save_contact(name="Вася", company="Рога и Копыта", phones=["+79201119613",
                                                                       "+74951234567"])


def messages_of(response) -> list[str]:  # noqa: ANN001
    return [str(message) for message in response.context["messages"]]


def call_buttons(response) -> list[dict[str, str]]:  # noqa: ANN001
    return [b for b in tags(response, "button") if b.get("formaction") == PLACE]


def deliver(**fields: str) -> Call:
    command = protocol.parse_command({"cmd": "event", **fields})
    return record_event(event=command, received_at=timezone.now()).call


def missed_call(callid: str = "missed-1", phone: str = "79201119613") -> Call:
    deliver(callid=callid, type="in", event="INCOMING", phone=phone, line_number="74950000000")
    return deliver(callid=callid, event="COMPLETED", status="missed", phone=phone, duration="0")


# --- the contact page -----------------------------------------------------------------------

def test_contact_page_has_a_call_button_beside_each_number(browser, contact):
    page = browser.get(f"{CONTACTS}{contact.pk}/change/")

    buttons = call_buttons(page)
    assert [b["value"] for b in buttons] == ["+79201119613", "+74951234567"]
    assert all(b["type"] == "submit" and b["formmethod"] == "post" for b in buttons)


def test_pressing_call_rings_the_agent_then_the_client(browser, contact, pbx):
    page = f"{CONTACTS}{contact.pk}/change/"

    response = browser.post(PLACE, {"to": "+79201119613"}, HTTP_REFERER=f"http://testserver{page}")

    assert response.status_code == 302
    assert response["Location"] == f"http://testserver{page}"
    assert pbx.received == [
        {"cmd": "makeCall", "token": PBX_TOKEN, "from": "100", "to": "79201119613"}
    ]
    shown = browser.get(page)
    assert messages_of(shown) == ["Calling +7 920 111-96-13 from 100…"]
    attempt = CallAttempt.objects.get()
    assert (attempt.user.username, attempt.result) == ("manager", "ok")


def test_the_button_posts_the_page_own_csrf_token(manager, contact, pbx):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(manager)

    forged = browser.post(PLACE, {"to": "+79201119613"})
    assert forged.status_code == 403
    assert pbx.received == []

    page = browser.get(f"{CONTACTS}{contact.pk}/change/")
    token = next(i["value"] for i in tags(page, "input") if i["name"] == "csrfmiddlewaretoken")
    pressed = browser.post(PLACE, {"csrfmiddlewaretoken": token, "to": "+79201119613"})
    assert pressed.status_code == 302
    assert len(pbx.received) == 1


def test_a_get_places_no_call(browser, pbx):
    assert browser.get(PLACE, {"to": "+79201119613"}).status_code == 405
    assert pbx.received == []


def test_a_double_click_places_one_call(browser, contact, pbx):
    browser.post(PLACE, {"to": "+79201119613"}, follow=True)
    second = browser.post(PLACE, {"to": "8 920 111-96-13"}, follow=True)

    assert len(pbx.received) == 1
    assert messages_of(second) == ["+7 920 111-96-13 is being called already."]


def test_pbx_refusal_is_a_message_not_an_error_page(browser, contact, pbx):
    pbx.switches.make_call_reply = Reply.error(401)

    response = browser.post(PLACE, {"to": "+79201119613"}, follow=True)

    assert response.status_code == 200
    assert messages_of(response) == ["The PBX refused the call: Invalid token."]
    assert CallAttempt.objects.get().result == CallAttempt.Result.REFUSED


def test_unconfigured_pbx_is_a_message(browser, contact, settings):
    settings.PBX_URL = ""

    response = browser.post(PLACE, {"to": "+79201119613"}, follow=True)

    assert messages_of(response) == [
        "Click-to-call is not configured: set PBX_URL and PBX_TOKEN."
    ]


def test_not_a_phone_is_a_message(browser, pbx):
    response = browser.post(PLACE, {"to": "call me"}, follow=True)

    assert messages_of(response) == ["“call me” is not a phone number."]
    assert pbx.received == []


def test_going_back_never_leaves_the_site(browser, pbx):
    response = browser.post(
        PLACE, {"to": "+79201119613", "next": "https://evil.example/"},
        HTTP_REFERER="https://evil.example/x",
    )

    assert response["Location"] == "/admin/"


def test_without_permission_there_is_no_button_and_no_call(client, contact, pbx):
    user = staff("clerk", "view_contact", "change_contact", "view_call")
    client.force_login(user)

    page = client.get(f"{CONTACTS}{contact.pk}/change/")
    assert call_buttons(page) == []

    response = client.post(PLACE, {"to": "+79201119613"}, follow=True)
    assert response.status_code == 200
    assert messages_of(response) == ["You do not have permission to place calls."]
    assert pbx.received == []
    assert not CallAttempt.objects.exists()


def test_a_user_without_an_agent_is_sent_to_link_one(client, contact, pbx):
    user = staff("boss", *MANAGER_PERMS, "change_agent", "view_agent", extension=None)
    client.force_login(user)

    response = client.post(PLACE, {"to": "+79201119613"}, follow=True)

    (message,) = messages_of(response)
    assert message.startswith("Your user is not linked to an active agent")
    assert 'href="/admin/contacts/agent/"' in response.content.decode()
    assert pbx.received == []


def test_a_user_without_an_agent_nor_rights_over_agents_is_told_whom_to_ask(client, pbx):
    user = staff("newbie", *MANAGER_PERMS, extension=None)
    client.force_login(user)

    response = client.post(PLACE, {"to": "+79201119613"}, follow=True)

    (message,) = messages_of(response)
    assert "Ask an administrator to link your user to an agent." in message


def test_an_inactive_agent_does_not_ring(client, manager, pbx):
    Agent.objects.filter(user=manager).update(is_active=False)
    client.force_login(manager)

    response = client.post(PLACE, {"to": "+79201119613"}, follow=True)

    assert "not linked to an active agent" in messages_of(response)[0]
    assert pbx.received == []


def test_russian_users_read_russian(browser, contact, pbx):
    response = browser.post(
        PLACE, {"to": "+79201119613"}, follow=True, HTTP_ACCEPT_LANGUAGE="ru"
    )

    assert messages_of(response) == ["Звоним на +7 920 111-96-13 с номера 100…"]


# --- the contact list action -----------------------------------------------------------------

def act(browser: Client, *contacts: Contact) -> list[str]:
    response = browser.post(
        CONTACTS,
        {"action": "call_contact", "_selected_action": [c.pk for c in contacts]},
        follow=True,
    )
    assert response.status_code == 200
    return messages_of(response)


def test_the_call_action_calls_the_one_selected_contact_first_number(browser, contact, pbx):
    assert act(browser, contact) == ["Calling +7 920 111-96-13 from 100…"]
    assert [r["to"] for r in pbx.received] == ["79201119613"]


def test_the_call_action_wants_exactly_one_contact(browser, contact, pbx):
    other = save_contact(name="Петя", phones=["+79201110000"])

    assert act(browser, contact, other) == [
        "Select exactly one contact to call (selected: 2)."
    ]
    assert pbx.received == []


def test_the_call_action_on_a_contact_without_numbers(browser, pbx):
    mute = save_contact(name="Без номера", phones=[])

    assert act(browser, mute) == ["Без номера has no phone number to call."]


def test_the_call_action_is_offered_only_to_who_may_call(client, manager, contact):
    clerk = staff("clerk", "view_contact", "change_contact", extension="101")
    client.force_login(clerk)
    action_form = client.get(CONTACTS).context["action_form"]
    assert action_form is None or "call_contact" not in dict(action_form.fields["action"].choices)
    client.force_login(manager)
    choices = dict(client.get(CONTACTS).context["action_form"].fields["action"].choices)
    assert "call_contact" in choices


# --- "Call back" in the call log ---------------------------------------------------------------

def test_missed_calls_have_call_back_answered_ones_do_not(browser, pbx):
    missed_call("missed-1", "79201119613")
    deliver(callid="ok-1", type="in", event="INCOMING", phone="74951234567")
    deliver(callid="ok-1", type="in", event="ANSWERED", phone="74951234567", ext="100")
    deliver(callid="ok-1", event="COMPLETED", status="Success", phone="74951234567",
            duration="30")

    log = browser.get(CALLS)

    buttons = call_buttons(log)
    assert [(b["value"], re.sub(r"\s+", " ", b.get("class", ""))) for b in buttons] == [
        ("+79201119613", "button xvb-call xvb-call-compact")  # an icon in the call log
    ]


def test_call_back_from_the_call_page(browser, pbx):
    call = missed_call()
    page = f"{CALLS}{call.pk}/change/"

    assert [b["value"] for b in call_buttons(browser.get(page))] == ["+79201119613"]
    response = browser.post(PLACE, {"to": call.phone}, HTTP_REFERER=f"http://testserver{page}",
                            follow=True)

    assert messages_of(response) == ["Calling +7 920 111-96-13 from 100…"]
    assert response.redirect_chain[-1][0] == f"http://testserver{page}"


def test_no_call_back_button_without_permission(client, pbx):
    missed_call()
    client.force_login(staff("auditor", "view_call"))

    assert call_buttons(client.get(CALLS)) == []
