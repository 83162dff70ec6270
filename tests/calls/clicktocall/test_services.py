"""Click-to-call: the recorded attempts, `POST /api/click-to-call/`, linking to the call."""
from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission, User
from django.core.management import call_command
from django.utils import timezone
from rest_framework.test import APIClient

from calls.assembly import record_event
from calls.clicktocall.services import (
    ClickToCallError,
    NoExtension,
    NotAPhone,
    NotYourExtension,
    place_call,
)
from calls.models import Call, CallAttempt
from calls.pbx import protocol
from calls.pbx.emulator_http import Reply
from contacts.models import Agent
from tests.calls.conftest import PBX_TOKEN, closed_port_url
from tests.conftest import token_client

pytestmark = pytest.mark.django_db

TOKEN = PBX_TOKEN
URL = "/api/click-to-call/"


@pytest.fixture
def caller() -> User:
    """A user with "Can place calls" and the active agent 100."""
    user = User.objects.create_user("manager", password="pw")
    user.user_permissions.add(Permission.objects.get(codename="place_calls"))
    Agent.objects.create(extension="100", name="Manager", user=user)
    return User.objects.get(pk=user.pk)  # fresh permission cache


@pytest.fixture
def api(caller: User) -> APIClient:
    return token_client(caller)


def deliver(**fields: str) -> Call:
    """Record one PBX event, received now."""
    command = protocol.parse_command({"cmd": "event", **fields})
    return record_event(event=command, received_at=timezone.now()).call


def stored_text(attempt: CallAttempt) -> str:
    return " ".join(str(getattr(attempt, f.attname)) for f in CallAttempt._meta.concrete_fields)


# --- place_call ---------------------------------------------------------------------------

def test_a_call_is_placed_from_the_user_own_extension(pbx, caller):
    attempt = place_call(user=caller, to="8 (920) 111-96-13")

    assert (attempt.extension, attempt.phone, attempt.result) == ("100", "+79201119613", "ok")
    assert attempt.pbx_callid == pbx.placed[0]
    assert pbx.received[0]["from"] == "100"
    assert pbx.received[0]["to"] == "79201119613"


def supervisor() -> User:
    """A user who may place calls from any extension, with no agent of their own."""
    user = User.objects.create_user("supervisor")
    user.user_permissions.add(*Permission.objects.filter(
        codename__in=["place_calls", "call_from_any_extension"]))
    return User.objects.get(pk=user.pk)


def test_another_extension_needs_the_permission(pbx, caller):
    with pytest.raises(NotYourExtension):
        place_call(user=caller, to="+79201119613", extension="205")

    assert pbx.received == []
    assert not CallAttempt.objects.exists()


def test_the_own_extension_may_be_named(pbx, caller):
    assert place_call(user=caller, to="+79201119613", extension=" 100 ").extension == "100"


def test_a_supervisor_calls_from_any_extension(pbx):
    assert place_call(user=supervisor(), to="+79201119613", extension="205").extension == "205"
    assert pbx.received[0]["from"] == "205"


def test_an_inactive_supervisor_may_not_name_an_extension(pbx):
    user = supervisor()
    User.objects.filter(pk=user.pk).update(is_active=False)

    with pytest.raises(ClickToCallError):
        place_call(user=User.objects.get(pk=user.pk), to="+79201119613", extension="205")


def test_not_a_phone_is_refused_before_the_pbx(pbx, caller):
    with pytest.raises(NotAPhone):
        place_call(user=caller, to="call me")

    assert pbx.received == []
    assert not CallAttempt.objects.exists()


def test_a_user_without_agent_has_no_extension(pbx):
    user = User.objects.create_user("nobody")

    with pytest.raises(NoExtension, match="not linked to an active agent"):
        place_call(user=user, to="+79201119613")


def test_an_inactive_agent_gives_no_extension(pbx, caller):
    Agent.objects.filter(user=caller).update(is_active=False)

    with pytest.raises(NoExtension):
        place_call(user=User.objects.get(pk=caller.pk), to="+79201119613")


def test_a_failed_attempt_is_recorded_with_its_error(pbx, caller):
    pbx.switches.make_call_reply = Reply.error(401)

    attempt = place_call(user=caller, to="+79201119613")

    assert CallAttempt.objects.get() == attempt
    assert attempt.result == CallAttempt.Result.REFUSED
    assert "Invalid token" in attempt.error
    assert attempt.pbx_answer == '{"error": "Invalid token"}'


def test_an_unreachable_pbx_is_recorded(settings, caller):
    settings.PBX_URL, settings.PBX_TOKEN = closed_port_url(), TOKEN

    attempt = place_call(user=caller, to="+79201119613")

    assert attempt.result == CallAttempt.Result.UNREACHABLE


@pytest.mark.parametrize(
    ("status", "payload"),
    [(200, {"uuid": "u1", "echo": TOKEN}), (401, {"error": f"Invalid token {TOKEN}"}),
     (500, {"token": TOKEN})],
)
def test_the_token_is_never_stored(pbx, caller, status, payload):
    pbx.switches.make_call_reply = Reply.json(status, payload)

    place_call(user=caller, to="+79201119613")

    assert TOKEN not in stored_text(CallAttempt.objects.get())


# --- linking to the call ------------------------------------------------------------------

def test_the_outgoing_start_event_links_the_attempt(pbx, caller):
    # No call id in the answer: matched by extension and number.
    pbx.switches.make_call_reply = Reply.json(200, {"result": "ok"})
    attempt = place_call(user=caller, to="+79201119613")

    call = deliver(callid="OUT-1", event="OUTGOING", type="out", ext="100", phone="79201119613")

    attempt.refresh_from_db()
    assert attempt.call == call


def test_the_pbx_call_id_links_the_attempt(pbx, caller):
    pbx.switches.make_call_reply = Reply.json(200, {"uuid": "OUT-2"})
    attempt = place_call(user=caller, to="+79201119613")

    deliver(callid="OUT-2", event="OUTGOING", type="out", ext="205", phone="79201119613")

    attempt.refresh_from_db()
    assert attempt.call.callid == "OUT-2"


def test_a_call_that_arrived_first_is_linked_at_once(pbx, caller):
    pbx.switches.make_call_reply = Reply.json(200, {"uuid": "OUT-3"})
    call = deliver(callid="OUT-3", event="OUTGOING", type="out", ext="100", phone="79201119613")

    assert place_call(user=caller, to="+79201119613").call == call


def test_another_number_is_not_linked(pbx, caller):
    pbx.switches.make_call_reply = Reply.json(200, {"result": "ok"})
    attempt = place_call(user=caller, to="+79201119613")

    deliver(callid="OUT-4", event="OUTGOING", type="out", ext="100", phone="79035550101")

    attempt.refresh_from_db()
    assert attempt.call is None


def test_an_old_attempt_is_not_linked(pbx, caller):
    pbx.switches.make_call_reply = Reply.json(200, {"result": "ok"})
    attempt = place_call(user=caller, to="+79201119613")
    CallAttempt.objects.update(created_at=timezone.now() - timedelta(minutes=3))

    deliver(callid="OUT-5", event="OUTGOING", type="out", ext="100", phone="79201119613")

    attempt.refresh_from_db()
    assert attempt.call is None


def test_an_incoming_call_is_not_linked(pbx, caller):
    pbx.switches.make_call_reply = Reply.json(200, {"result": "ok"})
    attempt = place_call(user=caller, to="+79201119613")

    deliver(callid="IN-1", event="INCOMING", type="in", ext="100", phone="79201119613")

    attempt.refresh_from_db()
    assert attempt.call is None


def test_a_refused_attempt_is_not_linked(pbx, caller):
    pbx.switches.make_call_reply = Reply.error(401)
    attempt = place_call(user=caller, to="+79201119613")

    deliver(callid="OUT-6", event="OUTGOING", type="out", ext="100", phone="79201119613")

    attempt.refresh_from_db()
    assert attempt.call is None


# --- the API ------------------------------------------------------------------------------

def test_api_places_a_call(pbx, api):
    response = api.post(URL, {"to": "8 920 111 96 13"}, format="json")

    assert response.status_code == 200
    body = response.json()
    assert body["id"] == CallAttempt.objects.get().id
    assert (body["from"], body["to"]) == ("100", "+79201119613")
    assert body["pbx_answer"] == {"uuid": pbx.placed[0]}


def test_api_takes_the_extension_from_a_supervisor(pbx):
    response = token_client(supervisor()).post(URL, {"to": "+79201119613", "from": "205"},
                                               format="json")

    assert response.json()["from"] == "205"
    assert pbx.received[0]["from"] == "205"


@pytest.mark.parametrize("extension", ["205", "1000", "100 1", "*100"])
def test_api_refuses_another_extension_without_the_permission(pbx, api, extension):
    response = api.post(URL, {"to": "+79201119613", "from": extension}, format="json")

    assert response.status_code == 403
    assert "your own extension" in response.json()["error"]
    assert pbx.received == []


def test_api_accepts_the_own_extension_as_from(pbx, api):
    response = api.post(URL, {"to": "+79201119613", "from": "100"}, format="json")

    assert (response.status_code, response.json()["from"]) == (200, "100")


def test_api_refuses_a_non_phone(pbx, api):
    response = api.post(URL, {"to": "nope"}, format="json")

    assert response.status_code == 400
    assert "not a phone number" in response.json()["error"]


def test_api_refuses_a_user_without_agent(pbx):
    user = User.objects.create_user("loner")
    user.user_permissions.add(Permission.objects.get(codename="place_calls"))

    response = token_client(user).post(URL, {"to": "+79201119613"}, format="json")

    assert response.status_code == 400
    assert "not linked to an active agent" in response.json()["error"]


def test_api_needs_the_permission(pbx):
    user = User.objects.create_user("viewer", is_staff=True)
    Agent.objects.create(extension="101", user=user)

    response = token_client(user).post(URL, {"to": "+79201119613"}, format="json")

    assert response.status_code == 403
    assert pbx.received == []


def test_api_needs_authentication(pbx):
    response = APIClient().post(URL, {"to": "+79201119613"}, format="json")

    assert response.status_code in (401, 403)
    assert pbx.received == []


def test_api_accepts_session_auth(pbx, caller):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(caller)
    client.get("/admin/login/")  # sets the CSRF cookie
    csrf = client.cookies["csrftoken"].value

    response = client.post(URL, {"to": "+79201119613"}, format="json", HTTP_X_CSRFTOKEN=csrf)

    assert response.status_code == 200


def test_api_reports_a_refusal_as_502(pbx, api):
    pbx.switches.make_call_reply = Reply.error(401)

    response = api.post(URL, {"to": "+79201119613"}, format="json")

    assert response.status_code == 502
    assert "Invalid token" in response.json()["error"]


def test_api_reports_a_broken_pbx_as_502(pbx, api):
    pbx.switches.make_call_reply = Reply.json(500, {})

    assert api.post(URL, {"to": "+79201119613"}, format="json").status_code == 502


def test_api_reports_a_timeout_as_502(pbx, api, settings):
    settings.PBX_TIMEOUT = 0.3
    pbx.switches.slow = 60  # far past PBX_TIMEOUT; the test's end cuts it short

    response = api.post(URL, {"to": "+79201119613"}, format="json")

    assert response.status_code == 502
    assert "did not answer" in response.json()["error"]


def test_api_reports_a_missing_configuration_as_503(pbx, api, settings):
    settings.PBX_TOKEN = ""

    response = api.post(URL, {"to": "+79201119613"}, format="json")

    assert response.status_code == 503
    assert "PBX_URL and PBX_TOKEN" in response.json()["error"]


# --- the system check ---------------------------------------------------------------------

def test_check_warns_when_click_to_call_is_not_configured(settings, capsys):
    settings.PBX_URL, settings.PBX_TOKEN = "", ""

    call_command("check")

    assert "calls.W002" in capsys.readouterr().err


def test_check_is_quiet_when_configured(settings, capsys):
    settings.PBX_URL, settings.PBX_TOKEN = "http://pbx.example/", TOKEN

    call_command("check")

    assert "calls.W002" not in capsys.readouterr().err


# --- the admin ----------------------------------------------------------------------------

def test_admin_lists_attempts_read_only(pbx, caller, admin_client):
    pbx.switches.make_call_reply = Reply.error(401)
    place_call(user=caller, to="+79201119613")

    listing = admin_client.get("/admin/calls/callattempt/", {"result": "refused"})

    assert listing.status_code == 200
    assert "+7 920 111-96-13" in listing.content.decode()
    assert admin_client.get("/admin/calls/callattempt/add/").status_code == 403


def test_admin_finds_attempts_by_phone_in_any_format(pbx, caller, admin_client):
    place_call(user=caller, to="+79201119613")
    place_call(user=caller, to="+79035550101")

    listing = admin_client.get("/admin/calls/callattempt/", {"q": "8 920 111 96 13"})

    found = list(listing.context["cl"].result_list)
    assert found == [CallAttempt.objects.get(phone="+79201119613")]
