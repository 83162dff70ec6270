"""The admin of the call log, the agents and the PBX request journal, as a superuser sees it."""
from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client

from calls.assembly import record_event
from calls.models import Call, CallResult, Recording
from calls.pbx import protocol
from contacts.models import Agent
from contacts.services import save_contact
from tests.html import link_targets, tags

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
RECORDING = "https://vpbx18-dev/ui/msg_download/120/10019/f92H16GAUDE7R10EMOLYYw.mp3"
CALLS = "/admin/calls/call/"
JOURNAL = "/admin/calls/pbxrequest/"
FORM = "application/x-www-form-urlencoded"


def shown(response) -> list[str]:  # noqa: ANN001
    """The callids of the changelist rows, in the order shown."""
    return [call.callid for call in response.context["cl"].result_list]


def deliver(minutes: int, **fields: str) -> Call:
    """Record one PBX event (built by the protocol parser) `minutes` after T0."""
    command = protocol.parse_command({"cmd": "event", **fields})
    return record_event(event=command, received_at=T0 + timedelta(minutes=minutes)).call


def answered_call(callid: str, phone: str, *, minutes: int, ext: str = "100") -> Call:
    deliver(minutes, callid=callid, event="INCOMING", type="in", phone=phone)
    return deliver(minutes + 1, callid=callid, event="COMPLETED", phone=phone, status="Success",
                   duration="16", ext=ext, record_link=RECORDING)


@pytest.fixture
def three_calls() -> dict[str, Call]:
    """An answered call by 100 from a known contact, a missed one, an outgoing one by 101."""
    save_contact(name="Вася", company="Рога и Копыта", phones=["+79201119613"])
    answered = answered_call("A-answered", "79201119613", minutes=0)
    deliver(10, callid="B-missed", event="INCOMING", type="in", phone="79035550101")
    missed = deliver(11, callid="B-missed", event="COMPLETED", phone="79035550101",
                     status="missed")
    outgoing = deliver(20, callid="C-out", event="OUTGOING", type="out", phone="79161234567",
                       ext="101")
    return {"answered": answered, "missed": missed, "out": outgoing}


def webhook(client: Client, body: bytes) -> int:
    """POST a webhook body through the real view; the answer's status code."""
    return client.post("/crm-api", data=body, content_type=FORM).status_code


# --- the call log -----------------------------------------------------------------------------

def test_call_changelist_renders_newest_first(admin_client, three_calls):
    response = admin_client.get(CALLS)

    assert response.status_code == 200
    assert shown(response) == ["C-out", "B-missed", "A-answered"]


def test_call_changelist_shows_readable_phone_contact_and_agent_links(admin_client, three_calls):
    call = three_calls["answered"]

    response = admin_client.get(CALLS)

    content = response.content.decode()
    assert "+7 920 111-96-13" in content
    hrefs = link_targets(response)
    assert f"/admin/contacts/contact/{call.contact_id}/change/" in hrefs
    assert f"/admin/contacts/agent/{call.agent_id}/change/" in hrefs


@pytest.mark.parametrize("typed", ["8 (920) 111-96-13", "+7 920 111 96 13", "9201119613"])
def test_call_search_by_phone_in_another_format(admin_client, three_calls, typed):
    response = admin_client.get(CALLS, {"q": typed})

    assert response.status_code == 200
    assert shown(response) == ["A-answered"]


def test_call_search_by_callid(admin_client, three_calls):
    assert shown(admin_client.get(CALLS, {"q": "B-missed"})) == ["B-missed"]


def test_call_filter_by_direction(admin_client, three_calls):
    assert shown(admin_client.get(CALLS, {"direction__exact": "out"})) == ["C-out"]


def test_call_filter_by_outcome(admin_client, three_calls):
    assert shown(admin_client.get(CALLS, {"outcome__exact": "missed"})) == ["B-missed"]


def test_call_filter_by_agent(admin_client, three_calls):
    agent = Agent.objects.get(extension="101")

    assert shown(admin_client.get(CALLS, {"agent__id__exact": agent.pk})) == ["C-out"]


def test_call_page_has_the_audio_player(admin_client, three_calls):
    call = three_calls["answered"]

    response = admin_client.get(f"{CALLS}{call.pk}/change/")

    assert response.status_code == 200
    assert "<audio controls" in response.content.decode()
    audio = tags(response, "audio")
    assert [attrs["src"] for attrs in audio] == [RECORDING]
    assert "controls" in audio[0]


def test_call_page_has_the_event_timeline(admin_client, three_calls):
    call = three_calls["answered"]

    response = admin_client.get(f"{CALLS}{call.pk}/change/")

    content = response.content.decode()
    assert 'id="events-group"' in content
    assert "INCOMING" in content
    assert "COMPLETED" in content


def test_call_changelist_has_a_player_per_recorded_call(admin_client, three_calls):
    response = admin_client.get(CALLS)

    assert [attrs["src"] for attrs in tags(response, "audio")] == [RECORDING]


@pytest.fixture
def evil_call() -> Call:
    """A call whose stored record_link is a script URL (put there behind the parser's back)."""
    call = deliver(0, callid="E-evil", event="INCOMING", type="in", phone="79201119613")
    Call.objects.filter(pk=call.pk).update(record_link="javascript:alert(1)")
    return call


def test_script_link_is_not_rendered_on_the_changelist(admin_client, evil_call):
    response = admin_client.get(CALLS)

    assert response.status_code == 200
    assert shown(response) == ["E-evil"]
    assert tags(response, "audio") == []
    assert not [url for url in link_targets(response) if "alert(1)" in url]


def test_script_link_is_not_rendered_on_the_call_page(admin_client, evil_call):
    response = admin_client.get(f"{CALLS}{evil_call.pk}/change/")

    assert response.status_code == 200
    assert tags(response, "audio") == []
    assert not [url for url in link_targets(response) if "alert(1)" in url]


def test_calls_cannot_be_added(admin_client):
    assert admin_client.get(f"{CALLS}add/").status_code == 403


def test_calls_cannot_be_deleted(admin_client, three_calls):
    call = three_calls["answered"]

    assert admin_client.get(f"{CALLS}{call.pk}/delete/").status_code == 403
    assert admin_client.post(f"{CALLS}{call.pk}/delete/", {"post": "yes"}).status_code == 403
    options = tags(admin_client.get(CALLS), "option")
    assert not [attrs for attrs in options if attrs.get("value") == "delete_selected"]
    assert Call.objects.count() == 3


def form_data(page) -> dict[str, str]:  # noqa: ANN001
    """What the browser would post back: the page's inputs with their values."""
    data = {i["name"]: i.get("value", "") for i in tags(page, "input") if i.get("name")}
    data.pop("_addanother", None)
    data.pop("_continue", None)
    return data


def test_call_page_changes_only_the_note_and_the_result(admin_client, three_calls):
    call = three_calls["answered"]
    sale = CallResult.objects.create(name="Sale")
    url = f"{CALLS}{call.pk}/change/"
    page = admin_client.get(url)

    data = {**form_data(page), "callid": "changed", "outcome": "missed",
            "note": "Wants a quote", "result": str(sale.pk)}
    post = admin_client.post(url, data)

    assert post.status_code == 302, post.content.decode()[:2000]
    call.refresh_from_db()
    assert (call.callid, call.outcome) == ("A-answered", "answered")
    assert (call.note, call.result) == ("Wants a quote", sale)


def test_retired_results_are_not_offered(admin_client, three_calls):
    CallResult.objects.create(name="Sale")
    CallResult.objects.create(name="Old", is_active=False)
    page = admin_client.get(f"{CALLS}{three_calls['answered'].pk}/change/")

    offered = page.context["adminform"].form.fields["result"].queryset
    assert [result.name for result in offered] == ["Sale"]


@pytest.fixture
def fifty_calls() -> None:
    """50 answered calls, each with its own contact and agent (an N+1 would show)."""
    for number in range(50):
        phone = f"7920111{number:04}"
        save_contact(name=f"Client {number}", phones=[f"+{phone}"])
        answered_call(f"call-{number:02}", phone, minutes=2 * number, ext=str(200 + number))


def test_call_changelist_queries_are_bounded(admin_client, fifty_calls,
                                             django_assert_max_num_queries):
    with django_assert_max_num_queries(10):
        response = admin_client.get(CALLS)

    assert len(shown(response)) == 50


def test_call_page_queries_are_bounded(admin_client, fifty_calls, django_assert_max_num_queries):
    call = Call.objects.get(callid="call-07")

    with django_assert_max_num_queries(10):
        assert admin_client.get(f"{CALLS}{call.pk}/change/").status_code == 200


# --- agents -----------------------------------------------------------------------------------

def test_agent_changelist_lists_agents(admin_client, three_calls):
    Agent.objects.filter(extension="100").update(name="Иван")

    response = admin_client.get("/admin/contacts/agent/")

    assert response.status_code == 200
    assert [agent.extension for agent in response.context["cl"].result_list] == ["100", "101"]
    assert "Иван" in response.content.decode()


def test_agent_changelist_queries_are_bounded(admin_client, fifty_calls,
                                              django_assert_max_num_queries):
    with django_assert_max_num_queries(10):
        response = admin_client.get("/admin/contacts/agent/")

    assert len(response.context["cl"].result_list) == 50


def test_call_search_by_a_numeric_callid(admin_client, three_calls):
    deliver(30, callid="1234567890", event="INCOMING", type="in", phone="79035550199")

    assert shown(admin_client.get(CALLS, {"q": "1234567890"})) == ["1234567890"]


def test_an_admin_marks_an_agent_away_and_back(admin_client):
    agent = Agent.objects.create(extension="100", name="Anna")
    url = f"/admin/contacts/agent/{agent.pk}/change/"
    data = {"extension": "100", "name": "Anna", "is_active": "on", "_save": "Save"}

    admin_client.post(url, {**data, "is_away": "on"})
    agent.refresh_from_db()
    assert agent.is_away and agent.away_since is not None

    admin_client.post(url, data)
    agent.refresh_from_db()
    assert (agent.is_away, agent.away_since) == (False, None)


def test_call_log_counts_no_further_than_the_cap(admin_client, monkeypatch):
    from xvbcrm.admin import CappedCountPaginator

    monkeypatch.setattr(CappedCountPaginator, "COUNT_CAP", 3)
    monkeypatch.setattr("calls.admin.CallAdmin.list_per_page", 2)
    for n in range(6):
        deliver(n, callid=f"C-{n}", type="in", event="INCOMING", phone="79201119613")
    response = admin_client.get(CALLS)
    assert response.context["cl"].result_count == 4  # the cap and one: "more than the cap"
    assert shown(admin_client.get(CALLS, {"p": "2"})) == ["C-3", "C-2"]


def test_call_log_filter_offers_an_agent_without_calls(admin_client):
    Agent.objects.create(extension="177", name="Новичок")
    deliver(0, callid="C-1", type="in", event="INCOMING", phone="79201119613")
    response = admin_client.get(CALLS)
    agent = Agent.objects.get(extension="177")
    assert f"agent__id__exact={agent.pk}" in response.content.decode()


def test_an_archived_recording_plays_from_the_crm_not_the_pbx(admin_client, three_calls):
    call = three_calls["answered"]
    # The COMPLETED event asked for the copy; a worker has made it.
    Recording.objects.filter(call=call).update(status="archived", content_type="audio/mpeg",
                                               size=10)

    response = admin_client.get(f"{CALLS}{call.pk}/change/")

    assert [attrs["src"] for attrs in tags(response, "audio")] == [f"/recordings/{call.pk}/"]
    assert RECORDING not in response.content.decode()


def test_who_may_not_listen_gets_no_player(client, three_calls):
    from django.contrib.auth.models import Permission, User

    clerk = User.objects.create_user("clerk", password="pw", is_staff=True)
    clerk.user_permissions.add(Permission.objects.get(codename="view_call"))
    client.force_login(clerk)

    response = client.get(CALLS)

    assert tags(response, "audio") == []
    assert RECORDING not in response.content.decode()
