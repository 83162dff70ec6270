"""The PBX emulator driving a live CRM: makeCall, outbound and inbound calls, recordings."""
import http.client
import io
import json
import threading
import time
import urllib.error
import urllib.request
import wave
from contextlib import AbstractContextManager
from urllib.parse import urlencode

import pytest

from calls.models import Call, PbxRequest
from calls.pbx.emulator import PbxEmulator, new_callid
from calls.pbx.emulator_http import Reply, check_make_call
from contacts.models import Agent
from contacts.services import save_contact
from tests.calls.conftest import PBX_TOKEN, running_pbx

pytestmark = pytest.mark.django_db(transaction=True)

TOKEN = PBX_TOKEN
KNOWN = "79201119613"
STRANGER = "79161234567"
GOOD_CALL = {"cmd": "makeCall", "token": TOKEN, "from": "100", "to": KNOWN}


def playing_to(live_server, **options: object) -> AbstractContextManager[PbxEmulator]:  # noqa: ANN001
    """An emulator like `live_pbx`, playing to the live server, with other options."""
    return running_pbx(crm_url=f"{live_server.url}/crm-api", pace=0.02, seed=7, **options)


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


def test_make_call_with_a_wrong_token_is_refused(live_pbx):
    status, answer = make_call(live_pbx, **{**GOOD_CALL, "token": "nope"})

    assert (status, answer) == (401, {"error": "Invalid token"})


@pytest.mark.parametrize(
    "fields",
    [
        {"cmd": "makeCall", "from": "100"},
        {"cmd": "hangup", "from": "100", "to": KNOWN},
        {"cmd": "makeCall", "from": "100", "to": "+7 920 111"},
    ],
)
def test_make_call_with_bad_parameters_is_refused(live_pbx, fields):
    status, answer = make_call(live_pbx, token=TOKEN, **fields)

    assert (status, answer) == (400, {"error": "Invalid parameters"})


def test_check_make_call_checks_the_token_before_the_parameters():
    assert check_make_call({"cmd": "bogus"}, token=TOKEN)[0] == 401


def test_make_call_answers_with_a_callid(live_pbx):
    status, answer = make_call(live_pbx, **GOOD_CALL)

    assert status == 200
    assert len(answer["uuid"]) == 22
    assert live_pbx.join(timeout=10)


def test_outbound_call_lands_in_the_crm_answered(live_pbx):
    call = outbound_call(live_pbx)

    assert call.direction == "out"
    assert call.outcome == "answered"
    assert call.agent.extension == "100"
    assert call.phone == "+79201119613"
    assert call.duration > 0
    assert call.record_link == live_pbx.recording_url(call.callid)
    assert call.record_link.startswith(live_pbx.url)


def test_outbound_recording_is_a_playable_wav(live_pbx):
    call = outbound_call(live_pbx)

    with urllib.request.urlopen(call.record_link, timeout=5) as response:
        assert response.headers["Content-Type"] == "audio/wav"
        data = response.read()
        assert int(response.headers["Content-Length"]) == len(data)
    with wave.open(io.BytesIO(data)) as recording:
        assert recording.getnchannels() == 1
        assert recording.getnframes() / recording.getframerate() >= 1


def test_a_recording_of_a_call_it_did_not_place_is_served_too(live_pbx):
    # Every recording is the same tone: the emulator `make run` starts serves the links of
    # the calls a short-lived `make inbound` emulator placed (see --recordings-from).
    with urllib.request.urlopen(f"{live_pbx.url}recordings/{new_callid()}.wav", timeout=5) as r:
        assert (r.status, r.headers["Content-Type"]) == (200, "audio/wav")
        assert r.read() == live_pbx.wav


@pytest.mark.parametrize(
    "path",
    [
        "recordings/",
        "recordings/.wav",
        "recordings/nosuchcall.mp3",
        "recordings/nosuchcall.wav/more",
        "recordings/no%20such%20call.wav",
        "recordings/..%2Fsecret.wav",
        f"recordings/{'x' * 65}.wav",
        "nosuchcall.wav",
        "",
    ],
)
def test_malformed_recording_paths_are_not_found(live_pbx, path):
    with pytest.raises(urllib.error.HTTPError) as error:
        urllib.request.urlopen(f"{live_pbx.url}{path}", timeout=5)

    assert error.value.code == 404


def test_webhooks_look_like_the_real_pbx(live_pbx):
    outbound_call(live_pbx)

    requests = list(PbxRequest.objects.all())
    assert [r.outcome for r in requests] == ["accepted"] * 3
    for request in requests:
        assert request.headers["HTTP_TE"] == "deflate,gzip;q=0.3"
        assert request.headers["HTTP_CONNECTION"] == "TE, close"
        assert "HTTP_X_XVB_AC" in request.headers
        assert "access_code=" in request.body


def test_duplicated_shuffled_delivery_ends_with_the_same_call(live_server):
    with playing_to(live_server, duplicates=True, shuffle=True) as pbx:
        call = outbound_call(pbx)

    assert (call.direction, call.outcome, call.agent.extension) == ("out", "answered", "100")
    assert call.phone == "+79201119613"
    assert call.record_link == pbx.recording_url(call.callid)
    assert PbxRequest.objects.filter(outcome="duplicate").count() == 3


@pytest.fixture
def known_contact() -> Agent:
    manager = Agent.objects.create(extension="200", name="Manager")
    save_contact(name="Вася", company="Рога и Копыта", responsible=manager, phones=["+" + KNOWN])
    return manager


def test_inbound_calls_end_with_the_right_call_rows(live_pbx, known_contact):
    placed = live_pbx.place_inbound(6, numbers=(KNOWN, STRANGER))

    assert {call.status for call in placed} >= {"Success", "missed"}  # seed 7 gives a mix
    for placed_call in placed:
        call = Call.objects.get(callid=placed_call.callid)
        assert call.direction == "in"
        assert call.phone == "+" + placed_call.phone
        assert call.line_number == "74950000000"
        expected = {"Success": "answered", "missed": "missed", "Busy": "busy"}
        assert call.outcome == expected[placed_call.status]
        assert (call.agent.extension if call.agent else "") == placed_call.ext


def test_inbound_call_from_a_known_client_goes_to_the_responsible(live_pbx, known_contact):
    placed = live_pbx.place_inbound(6, numbers=(KNOWN, STRANGER))

    answered_known = [c for c in placed if c.phone == KNOWN and c.status == "Success"]
    answered_strangers = [c for c in placed if c.phone == STRANGER and c.status == "Success"]
    assert answered_known and answered_strangers
    assert {c.ext for c in answered_known} == {"200"}
    assert {c.ext for c in answered_strangers} <= {"100", "101", "102"}
    assert Call.objects.get(callid=answered_known[0].callid).agent == known_contact


def test_missed_inbound_call_has_no_agent_and_no_recording(live_pbx):
    placed = live_pbx.place_inbound(6, numbers=(STRANGER,))
    missed = [c for c in placed if c.status == "missed"]

    assert missed
    call = Call.objects.get(callid=missed[0].callid)
    assert (call.outcome, call.agent, call.record_link) == ("missed", None, "")
    assert not call.events.filter(event="ANSWERED").exists()


# --- recording links pointing at another emulator (`make inbound`) ---------------------------


def answered_inbound(pbx: PbxEmulator) -> Call:
    placed = pbx.place_inbound(6, numbers=(STRANGER,))
    answered = [call for call in placed if call.status == "Success"]
    assert answered  # seed 7 gives a mix
    return Call.objects.get(callid=answered[0].callid)


def test_recordings_from_sets_the_base_of_the_recording_links(live_server):
    with playing_to(live_server, recordings_from="http://127.0.0.1:8001") as pbx:
        call = answered_inbound(pbx)

    assert call.record_link == f"http://127.0.0.1:8001/recordings/{call.callid}.wav"


def test_recordings_from_another_emulator_play_after_this_one_stopped(live_server, live_pbx):
    with playing_to(live_server, recordings_from=live_pbx.url) as helper:
        call = answered_inbound(helper)

    assert call.record_link.startswith(live_pbx.url)
    with urllib.request.urlopen(call.record_link, timeout=5) as response:
        assert response.headers["Content-Type"] == "audio/wav"


def test_recordings_from_also_sets_the_links_of_outbound_calls(live_server):
    with playing_to(live_server, recordings_from="http://127.0.0.1:8001/") as pbx:
        call = outbound_call(pbx)

    assert call.record_link == f"http://127.0.0.1:8001/recordings/{call.callid}.wav"




# --- switches: the PBX at its worst -----------------------------------------------------------


def download(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def test_without_a_webhook_url_make_call_places_a_call_and_plays_nothing(pbx):
    status, answer = make_call(pbx, **GOOD_CALL)

    assert (status, answer) == (200, {"uuid": pbx.placed[0]})
    assert pbx.received == [GOOD_CALL]
    assert pbx.join(timeout=0)
    assert not PbxRequest.objects.exists()


@pytest.mark.parametrize(
    ("status", "text"),
    [(401, "Invalid token"), (400, "Invalid parameters"), (503, "Service Unavailable")],
)
def test_a_make_call_reply_answers_every_call_and_places_none(pbx, status, text):
    pbx.switches.make_call_reply = Reply.error(status)

    assert make_call(pbx, **GOOD_CALL) == (status, {"error": text})
    assert (pbx.received, pbx.placed) == ([GOOD_CALL], [])


def test_a_slow_pbx_answers_after_its_pause(pbx):
    pbx.switches.slow = 0.3
    started = time.monotonic()

    status, _answer = make_call(pbx, **GOOD_CALL)

    assert status == 200
    assert time.monotonic() - started >= 0.3


def test_shutdown_cuts_a_slow_answer_short_and_places_no_call():
    with running_pbx() as pbx:
        pbx.switches.slow = 60
        outcome: list[object] = []
        asking = threading.Thread(target=lambda: outcome.append(asked(pbx)))
        asking.start()
        deadline = time.monotonic() + 10
        while not pbx.received:
            assert asking.is_alive(), outcome
            assert time.monotonic() < deadline, "the makeCall did not arrive"
            time.sleep(0.01)
    asking.join(10)

    assert not asking.is_alive()
    assert isinstance(outcome[0], http.client.RemoteDisconnected)
    assert pbx.placed == []


def asked(pbx: PbxEmulator) -> object:
    """makeCall's answer, or the exception instead."""
    try:
        return make_call(pbx, **GOOD_CALL)
    except urllib.error.URLError as error:
        return error.reason
    except OSError as error:
        return error


def test_a_late_recording_is_404_for_its_first_downloads_each(pbx):
    pbx.switches.late_recordings = 2
    first, second = pbx.recording_url("first"), pbx.recording_url("second")

    assert [download(first), download(first), download(second), download(first)] == [
        404, 404, 404, 200
    ]
    assert pbx.downloads == ["/recordings/first.wav"] * 2 + ["/recordings/second.wav",
                                                             "/recordings/first.wav"]


def test_late_recordings_fail_with_the_status_asked_for(pbx):
    pbx.switches.late_recordings, pbx.switches.late_status = 1, 503

    assert [download(pbx.recording_url("c1")) for _ in range(2)] == [503, 200]
