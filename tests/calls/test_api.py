"""The REST API for the call log and agents: `/api/calls/`, `/api/agents/`, auth, tokens."""
from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from django.contrib.auth.models import Permission, User
from django.core.management import call_command
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from calls.assembly import record_event
from calls.models import Call, Recording
from calls.pbx import protocol
from contacts.models import Agent
from contacts.services import save_contact
from tests.conftest import token_client

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
RECORDING = "https://vpbx18-dev/ui/msg_download/120/10019/f92H16GAUDE7R10EMOLYYw.mp3"
CALL_FIELDS = {
    "callid", "direction", "phone", "line_number", "status", "outcome", "duration",
    "record_link", "recording", "agent", "contact", "contact_name", "started_at", "answered_at",
    "ended_at",
}


def deliver(minutes: int, **fields: str) -> Call:
    """Record one PBX event (built by the protocol parser) `minutes` after T0."""
    command = protocol.parse_command({"cmd": "event", **fields})
    return record_event(event=command, received_at=T0 + timedelta(minutes=minutes)).call


def incoming(callid: str, phone: str, *, minutes: int = 0, line: str = "74950000000") -> Call:
    return deliver(minutes, callid=callid, event="INCOMING", type="in", phone=phone,
                   line_number=line)


def completed(callid: str, phone: str, *, minutes: int, status: str = "Success",
              ext: str = "", duration: str = "16", link: str = RECORDING) -> Call:
    return deliver(minutes, callid=callid, event="COMPLETED", phone=phone, status=status,
                   ext=ext, duration=duration, record_link=link)


@pytest.fixture
def three_calls() -> list[Call]:
    """An answered call by 100, a missed one, and an outgoing one by 101, oldest first."""
    incoming("A-answered", "79201119613", minutes=0)
    completed("A-answered", "79201119613", minutes=1, ext="100")
    incoming("B-missed", "79035550101", minutes=10)
    completed("B-missed", "79035550101", minutes=11, status="missed", link="")
    deliver(20, callid="C-out", event="OUTGOING", type="out", phone="79161234567", ext="101")
    return list(Call.objects.order_by("started_at"))


def callids(response) -> list[str]:  # noqa: ANN001
    return [row["callid"] for row in response.json()["results"]]


def test_call_list_is_paginated_newest_first(api, three_calls):
    response = api.get("/api/calls/")

    assert response.status_code == 200
    assert response.json()["count"] == 3
    assert callids(response) == ["C-out", "B-missed", "A-answered"]


def test_call_list_pages_hold_fifty(api):
    for number in range(51):
        incoming(f"call-{number:02}", "79201119613", minutes=number)

    first = api.get("/api/calls/").json()
    second = api.get(first["next"]).json()

    assert len(first["results"]) == 50
    assert [row["callid"] for row in second["results"]] == ["call-00"]


def test_call_has_exactly_the_fields_of_the_issue(api, three_calls):
    row = api.get("/api/calls/", {"callid": "A-answered"}).json()["results"][0]

    assert set(row) == CALL_FIELDS


def test_answered_call_fields(api, three_calls):
    contact = save_contact(name="Вася", company="Рога и Копыта", phones=["+79201119613"])
    incoming("D-known", "79201119613", minutes=30)
    completed("D-known", "79201119613", minutes=31, ext="100")

    row = api.get("/api/calls/", {"callid": "D-known"}).json()["results"][0]

    assert row["direction"] == "in"
    assert row["phone"] == "+79201119613"
    assert row["line_number"] == "74950000000"
    assert row["status"] == "Success"
    assert row["outcome"] == "answered"
    assert row["duration"] == 16
    assert row["record_link"] == RECORDING
    assert row["agent"] == "100"
    assert row["contact"] == contact.id
    assert row["contact_name"] == "Вася/Рога и Копыта"
    assert datetime.fromisoformat(row["started_at"]) == T0 + timedelta(minutes=30)
    assert datetime.fromisoformat(row["ended_at"]) == T0 + timedelta(minutes=31)
    assert datetime.fromisoformat(row["answered_at"]) == T0 + timedelta(minutes=31, seconds=-16)


def test_call_without_agent_or_contact_has_nulls(api, settings):
    settings.LEADS_ENABLED = False  # else the missed unknown caller gets a lead contact
    incoming("B-missed", "79035550101", minutes=10)
    completed("B-missed", "79035550101", minutes=11, status="missed", link="")

    row = api.get("/api/calls/", {"callid": "B-missed"}).json()["results"][0]

    assert row["agent"] is None
    assert row["contact"] is None
    assert row["contact_name"] is None
    assert row["answered_at"] is None
    assert row["record_link"] == ""


def test_unsafe_record_link_is_not_served(api):
    call = incoming("E-evil", "79201119613")
    Call.objects.filter(pk=call.pk).update(record_link="javascript:alert(1)")

    row = api.get("/api/calls/", {"callid": "E-evil"}).json()["results"][0]

    assert row["record_link"] == ""


def test_the_api_plays_our_copy_once_archived(api):
    incoming("R-1", "79201119613", minutes=30)
    call = completed("R-1", "79201119613", minutes=31, ext="100")

    pending = api.get("/api/calls/", {"callid": "R-1"}).json()["results"][0]
    Recording.objects.filter(call=call).update(status="archived", content_type="audio/wav")
    archived = api.get("/api/calls/", {"callid": "R-1"}).json()["results"][0]

    assert pending["recording"] == {"status": "pending", "url": None}
    assert archived["recording"] == {
        "status": "archived", "url": f"http://testserver/recordings/{call.pk}/",
    }


def test_who_may_not_listen_gets_no_link_from_the_api(three_calls):
    clerk = User.objects.create_user("clerk")
    clerk.user_permissions.add(Permission.objects.get(codename="view_call"))

    rows = token_client(clerk).get("/api/calls/").json()["results"]

    assert rows and all(r["record_link"] == "" and r["recording"] is None for r in rows)


def test_filter_by_callid(api, three_calls):
    assert callids(api.get("/api/calls/", {"callid": "B-missed"})) == ["B-missed"]


@pytest.mark.parametrize(
    "typed", ["8 (920) 111-96-13", "+7 920 111 96 13", "9201119613", "79201119613"]
)
def test_filter_by_phone_in_any_format(api, three_calls, typed):
    assert callids(api.get("/api/calls/", {"phone": typed})) == ["A-answered"]


def test_filter_by_direction(api, three_calls):
    assert callids(api.get("/api/calls/", {"direction": "out"})) == ["C-out"]


def test_filter_by_outcome(api, three_calls):
    assert callids(api.get("/api/calls/", {"outcome": "missed"})) == ["B-missed"]


def test_filter_by_agent_extension(api, three_calls):
    assert callids(api.get("/api/calls/", {"agent": "101"})) == ["C-out"]


def test_filter_by_an_unknown_outcome_is_a_json_400(api, three_calls):
    response = api.get("/api/calls/", {"outcome": "exploded"})

    assert response.status_code == 400
    assert "outcome" in response.json()


def test_retrieve_a_call_by_callid(api, three_calls):
    response = api.get("/api/calls/A-answered/")

    assert response.status_code == 200
    assert response.json()["agent"] == "100"


def test_calls_are_read_only(api, three_calls):
    response = api.post("/api/calls/", {"callid": "X"}, format="json")

    assert response.status_code == 405
    assert Call.objects.count() == 3


def test_agents_list_ext_name_active(api, three_calls):
    Agent.objects.filter(extension="101").update(name="Пётр", is_active=False)

    response = api.get("/api/agents/")

    assert response.status_code == 200
    assert response.json()["results"] == [
        {"ext": "100", "name": "", "is_active": True},
        {"ext": "101", "name": "Пётр", "is_active": False},
    ]


@pytest.mark.parametrize("url", ["/api/calls/", "/api/agents/", "/api/contacts/"])
def test_anonymous_is_refused(url):
    response = APIClient().get(url)

    assert response.status_code in (401, 403)
    assert "detail" in response.json()


def test_wrong_token_is_refused():
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")

    assert client.get("/api/calls/").status_code == 401


def test_session_login_works(admin_user, three_calls):
    client = APIClient()
    client.force_login(admin_user)

    assert client.get("/api/calls/").status_code == 200


@pytest.mark.parametrize("url", ["/api/calls/", "/api/agents/"])
def test_user_without_view_permission_is_forbidden(django_user_model, url):
    user = django_user_model.objects.create_user("clerk", password="x", is_staff=True)

    assert token_client(user).get(url).status_code == 403


def test_user_with_view_permission_may_read_calls(django_user_model, three_calls):
    user = django_user_model.objects.create_user("clerk", password="x")
    user.user_permissions.add(Permission.objects.get(codename="view_call"))

    response = token_client(user).get("/api/calls/")

    assert response.status_code == 200
    assert response.json()["count"] == 3


def test_drf_create_token_command_makes_a_working_token(django_user_model, three_calls):
    django_user_model.objects.create_superuser("boss", password="x")
    out = StringIO()

    call_command("drf_create_token", "boss", stdout=out)

    key = Token.objects.get(user__username="boss").key
    assert key in out.getvalue()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert client.get("/api/calls/").status_code == 200


def test_call_list_queries_are_bounded(api, django_assert_max_num_queries):
    for number in range(50):
        phone = f"7920111{number:04}"
        save_contact(name=f"Client {number}", phones=[f"+{phone}"])
        incoming(f"call-{number:02}", phone, minutes=2 * number)
        completed(f"call-{number:02}", phone, minutes=2 * number + 1, ext=str(200 + number))

    with django_assert_max_num_queries(5):
        response = api.get("/api/calls/")

    assert [row["contact_name"] for row in response.json()["results"]][:2] == [
        "Client 49", "Client 48",
    ]


def test_browsable_api_renders(admin_client, three_calls):
    response = admin_client.get("/api/calls/", {"phone": "8 920 111 96 13"},
                                HTTP_ACCEPT="text/html")

    assert response.status_code == 200
    assert "A-answered" in response.content.decode()


@pytest.mark.parametrize("path", ["/api/calls/%00/", "/api/agents/%00/", "/api/calls/a%01b/"])
def test_control_characters_in_a_lookup_are_not_found(api, three_calls, path):
    assert api.get(path).status_code == 404
