"""The PBX emulator driving a live CRM: makeCall, outbound and inbound calls, recordings."""
import io
import json
import urllib.error
import urllib.request
import wave
from collections.abc import Iterator
from urllib.parse import urlencode

import pytest
from django.core.management import call_command

from calls.emulator import EmulatorConfig, PbxEmulator, check_make_call
from calls.models import Agent, Call, PbxRequest
from contacts.services import save_contact
from tests.conftest import ACCESS_CODE

pytestmark = pytest.mark.django_db(transaction=True)

TOKEN = "emulator-token"
KNOWN = "79201119613"
STRANGER = "79161234567"
GOOD_CALL = {"cmd": "makeCall", "token": TOKEN, "from": "100", "to": KNOWN}


def start_emulator(live_server, **options: object) -> PbxEmulator:  # noqa: ANN001
    config = EmulatorConfig(
        crm_url=f"{live_server.url}/crm-api", access_code=ACCESS_CODE, token=TOKEN,
        pace=0.02, seed=7, **options,
    )
    emulator = PbxEmulator(config, host="127.0.0.1", port=0, log=lambda line: None)
    emulator.start()
    return emulator


@pytest.fixture
def emulator(live_server) -> Iterator[PbxEmulator]:  # noqa: ANN001
    pbx = start_emulator(live_server)
    yield pbx
    pbx.shutdown()


def make_call(pbx: PbxEmulator, **fields: str) -> tuple[int, dict]:
    """POST a makeCall form to the emulator as the CRM's client does."""
    request = urllib.request.Request(
        pbx.url, data=urlencode(fields).encode(), method="POST",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def outbound_call(pbx: PbxEmulator) -> Call:
    status, answer = make_call(pbx, **GOOD_CALL)
    assert status == 200
    assert pbx.join(timeout=10)
    return Call.objects.get(callid=answer["uuid"])


def test_make_call_with_a_wrong_token_is_refused(emulator):
    status, answer = make_call(emulator, **{**GOOD_CALL, "token": "nope"})

    assert (status, answer) == (401, {"error": "Invalid token"})


@pytest.mark.parametrize(
    "fields",
    [
        {"cmd": "makeCall", "from": "100"},
        {"cmd": "hangup", "from": "100", "to": KNOWN},
        {"cmd": "makeCall", "from": "100", "to": "+7 920 111"},
    ],
)
def test_make_call_with_bad_parameters_is_refused(emulator, fields):
    status, answer = make_call(emulator, token=TOKEN, **fields)

    assert (status, answer) == (400, {"error": "Invalid parameters"})


def test_check_make_call_checks_the_token_before_the_parameters():
    assert check_make_call({"cmd": "bogus"}, token=TOKEN)[0] == 401


def test_make_call_answers_with_a_callid(emulator):
    status, answer = make_call(emulator, **GOOD_CALL)

    assert status == 200
    assert len(answer["uuid"]) == 22
    assert emulator.join(timeout=10)


def test_outbound_call_lands_in_the_crm_answered(emulator):
    call = outbound_call(emulator)

    assert call.direction == "out"
    assert call.outcome == "answered"
    assert call.agent.extension == "100"
    assert call.phone == "+79201119613"
    assert call.duration > 0
    assert call.record_link == emulator.recording_url(call.callid)
    assert call.record_link.startswith(emulator.url)


def test_outbound_recording_is_a_playable_wav(emulator):
    call = outbound_call(emulator)

    with urllib.request.urlopen(call.record_link, timeout=5) as response:
        assert response.headers["Content-Type"] == "audio/wav"
        data = response.read()
        assert int(response.headers["Content-Length"]) == len(data)
    with wave.open(io.BytesIO(data)) as recording:
        assert recording.getnchannels() == 1
        assert recording.getnframes() / recording.getframerate() >= 1


def test_unknown_recording_is_not_found(emulator):
    with pytest.raises(urllib.error.HTTPError) as error:
        urllib.request.urlopen(f"{emulator.url}recordings/nosuchcall.wav", timeout=5)

    assert error.value.code == 404


def test_webhooks_look_like_the_real_pbx(emulator):
    outbound_call(emulator)

    requests = list(PbxRequest.objects.all())
    assert [r.outcome for r in requests] == ["accepted"] * 3
    for request in requests:
        assert request.headers["HTTP_TE"] == "deflate,gzip;q=0.3"
        assert request.headers["HTTP_CONNECTION"] == "TE, close"
        assert "HTTP_X_XVB_AC" in request.headers
        assert "access_code=" in request.body


def test_duplicated_shuffled_delivery_ends_with_the_same_call(live_server):
    pbx = start_emulator(live_server, duplicates=True, shuffle=True)
    try:
        call = outbound_call(pbx)
    finally:
        pbx.shutdown()

    assert (call.direction, call.outcome, call.agent.extension) == ("out", "answered", "100")
    assert call.phone == "+79201119613"
    assert call.record_link == pbx.recording_url(call.callid)
    assert PbxRequest.objects.filter(outcome="duplicate").count() == 3


@pytest.fixture
def known_contact() -> Agent:
    manager = Agent.objects.create(extension="200", name="Manager")
    save_contact(name="Вася", company="Рога и Копыта", responsible=manager, phones=["+" + KNOWN])
    return manager


def test_inbound_calls_end_with_the_right_call_rows(emulator, known_contact):
    placed = emulator.place_inbound(6, numbers=(KNOWN, STRANGER))

    assert {call.status for call in placed} >= {"Success", "missed"}  # seed 7 gives a mix
    for placed_call in placed:
        call = Call.objects.get(callid=placed_call.callid)
        assert call.direction == "in"
        assert call.phone == "+" + placed_call.phone
        assert call.line_number == "74950000000"
        expected = {"Success": "answered", "missed": "missed", "Busy": "busy"}
        assert call.outcome == expected[placed_call.status]
        assert (call.agent.extension if call.agent else "") == placed_call.ext


def test_inbound_call_from_a_known_client_goes_to_the_responsible(emulator, known_contact):
    placed = emulator.place_inbound(6, numbers=(KNOWN, STRANGER))

    answered_known = [c for c in placed if c.phone == KNOWN and c.status == "Success"]
    answered_strangers = [c for c in placed if c.phone == STRANGER and c.status == "Success"]
    assert answered_known and answered_strangers
    assert {c.ext for c in answered_known} == {"200"}
    assert {c.ext for c in answered_strangers} <= {"100", "101", "102"}
    assert Call.objects.get(callid=answered_known[0].callid).agent == known_contact


def test_missed_inbound_call_has_no_agent_and_no_recording(emulator):
    placed = emulator.place_inbound(6, numbers=(STRANGER,))
    missed = [c for c in placed if c.status == "missed"]

    assert missed
    call = Call.objects.get(callid=missed[0].callid)
    assert (call.outcome, call.agent, call.record_link) == ("missed", None, "")
    assert not call.events.filter(event="ANSWERED").exists()


def test_command_places_inbound_calls_and_exits(live_server):
    out = io.StringIO()

    call_command(
        "pbx_emulator", "--port", "0", "--crm-url", f"{live_server.url}/crm-api",
        "--access-code", ACCESS_CODE, "--token", TOKEN, "--pace", "0.01",
        "--inbound", "2", "--seed", "1", "--exit", stdout=out,
    )

    assert "PBX_URL=http://127.0.0.1:" in out.getvalue()
    assert f"PBX_TOKEN={TOKEN}" in out.getvalue()
    assert Call.objects.filter(direction="in").exclude(outcome="in_progress").count() == 2


def test_command_generates_a_token_when_none_is_set(settings):
    settings.PBX_TOKEN = ""
    out = io.StringIO()

    call_command("pbx_emulator", "--port", "0", "--exit", stdout=out)

    token = out.getvalue().split("PBX_TOKEN=", 1)[1].split()[0]
    assert len(token) >= 16
