"""The protocol document's captures, sent byte for byte over HTTP to a live server."""
import pytest

from calls.models import Call, PbxRequest
from contacts.models import Agent
from contacts.services import save_contact
from tests.captures import ANSWERED_CAPTURE, COMPLETED, CONTACT, INCOMING

pytestmark = pytest.mark.django_db(transaction=True)


def test_incoming_capture_creates_an_incoming_call(pbx_post):
    response = pbx_post(INCOMING)

    assert response.status == 200
    assert response.json() == {"ok": True}
    call = Call.objects.get(callid="DVzqd2I5zmRev0vLvxVevw")
    assert call.direction == "in"
    assert call.phone == "+79201119613"
    assert call.outcome == "in_progress"


def test_answered_capture_with_header_code_sets_the_agent(pbx_post):
    response = pbx_post(ANSWERED_CAPTURE, extra_headers="X-XVB-AC: 10019\r\n")

    assert response.status == 200
    call = Call.objects.get(callid="gZAoszZQZI_A6HDwYnKxPg")
    assert call.agent.extension == "100"
    assert call.answered_at is not None
    assert Agent.objects.filter(extension="100").exists()


def test_completed_capture_finishes_the_call_with_its_recording(pbx_post):
    pbx_post(INCOMING)
    response = pbx_post(COMPLETED)

    assert response.status == 200
    call = Call.objects.get(callid="DVzqd2I5zmRev0vLvxVevw")
    assert call.outcome == "answered"
    assert call.status == "Success"
    assert call.duration == 16
    assert call.record_link == (
        "https://vpbx18-dev/ui/msg_download/120/10019/f92H16GAUDE7R10EMOLYYw.mp3"
    )
    assert call.agent.extension == "100"
    assert call.ended_at is not None


def test_contact_capture_answers_name_and_responsible(pbx_post):
    agent = Agent.objects.create(extension="100", name="Ivan")
    save_contact(name="Вася", company="Рога и Копыта", responsible=agent,
                 phones=["+79201119613"])

    response = pbx_post(CONTACT)

    assert response.status == 200
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    assert response.json() == {"contact_name": "Вася/Рога и Копыта", "responsible": "100"}


def test_contact_capture_for_a_stranger_answers_empty_object(pbx_post):
    response = pbx_post(CONTACT)

    assert response.status == 200
    assert response.body == b"{}"


def test_trailing_slash_path_is_served_too(pbx_post):
    response = pbx_post(CONTACT, path="/crm-api/")

    assert response.status == 200


def test_every_capture_is_journaled_with_the_code_redacted(pbx_post):
    for body in (INCOMING, ANSWERED_CAPTURE, COMPLETED, CONTACT):
        pbx_post(body)

    entries = PbxRequest.objects.order_by("id")
    assert [e.cmd for e in entries] == ["event", "event", "event", "contact"]
    assert all(e.outcome == "accepted" for e in entries)
    assert all("10019" not in e.body.split("msg_download")[0] for e in entries)
    assert all("access_code=[redacted]" in e.body for e in entries)
    # The stranger's answered call made a lead, and the lookup routes to who answered it.
    assert entries.last().response_body == (
        '{"contact_name": "Lead +7 920 111-96-13", "responsible": "100"}'
    )
