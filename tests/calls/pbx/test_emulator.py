"""The PBX emulator driving a live CRM: makeCall, outbound and inbound calls, recordings."""
import io
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import wave
from collections.abc import Iterator
from urllib.parse import urlencode, urlsplit

import pytest
from django.conf import settings as django_settings
from django.core.management import CommandError, call_command

from calls.models import Call, PbxRequest
from calls.pbx.emulator import (
    EmulatorConfig,
    PbxEmulator,
    check_make_call,
    loopback_address,
    new_callid,
)
from contacts.models import Agent
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


def test_a_recording_of_a_call_it_did_not_place_is_served_too(emulator):
    # Every recording is the same tone: the emulator `make run` starts serves the links of
    # the calls a short-lived `make inbound` emulator placed (see --recordings-from).
    with urllib.request.urlopen(f"{emulator.url}recordings/{new_callid()}.wav", timeout=5) as r:
        assert (r.status, r.headers["Content-Type"]) == (200, "audio/wav")
        assert r.read() == emulator.wav


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
def test_malformed_recording_paths_are_not_found(emulator, path):
    with pytest.raises(urllib.error.HTTPError) as error:
        urllib.request.urlopen(f"{emulator.url}{path}", timeout=5)

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


# --- recording links pointing at another emulator (`make inbound`) ---------------------------


def answered_inbound(pbx: PbxEmulator) -> Call:
    placed = pbx.place_inbound(6, numbers=(STRANGER,))
    answered = [call for call in placed if call.status == "Success"]
    assert answered  # seed 7 gives a mix
    return Call.objects.get(callid=answered[0].callid)


def test_recordings_from_sets_the_base_of_the_recording_links(live_server):
    pbx = start_emulator(live_server, recordings_from="http://127.0.0.1:8001")
    try:
        call = answered_inbound(pbx)
    finally:
        pbx.shutdown()

    assert call.record_link == f"http://127.0.0.1:8001/recordings/{call.callid}.wav"


def test_recordings_from_another_emulator_play_after_this_one_stopped(live_server, emulator):
    helper = start_emulator(live_server, recordings_from=emulator.url)
    try:
        call = answered_inbound(helper)
    finally:
        helper.shutdown()

    assert call.record_link.startswith(emulator.url)
    with urllib.request.urlopen(call.record_link, timeout=5) as response:
        assert response.headers["Content-Type"] == "audio/wav"


def test_recordings_from_also_sets_the_links_of_outbound_calls(live_server):
    pbx = start_emulator(live_server, recordings_from="http://127.0.0.1:8001/")
    try:
        call = outbound_call(pbx)
    finally:
        pbx.shutdown()

    assert call.record_link == f"http://127.0.0.1:8001/recordings/{call.callid}.wav"


def test_command_recordings_from_pbx_url_links_the_settings_emulator(live_server, settings):
    settings.PBX_URL = "http://127.0.0.1:8001/"
    out = io.StringIO()

    call_command(
        "pbx_emulator", "--port", "0", "--crm-url", f"{live_server.url}/crm-api",
        "--pace", "0.01", "--inbound", "4", "--seed", "3", "--numbers", STRANGER,
        "--recordings-from", "PBX_URL", "--exit", stdout=out,
    )

    links = set(Call.objects.exclude(record_link="").values_list("record_link", flat=True))
    assert links
    assert all(link.startswith("http://127.0.0.1:8001/recordings/") for link in links)
    assert "Recording links point at http://127.0.0.1:8001/" in out.getvalue()
    assert "PBX_TOKEN=" not in out.getvalue()  # a helper: nothing for the CRM to set


@pytest.mark.parametrize("pbx_url", ["", "https://vpbx18.example.com/"])
def test_command_recordings_from_pbx_url_needs_an_emulator_there(settings, pbx_url):
    settings.PBX_URL = pbx_url

    with pytest.raises(CommandError, match="not at an emulator on this machine"):
        call_command("pbx_emulator", "--port", "0", "--recordings-from", "PBX_URL", "--exit")


def test_command_recordings_from_needs_an_http_url():
    with pytest.raises(CommandError, match="needs an http"):
        call_command("pbx_emulator", "--port", "0", "--recordings-from", "127.0.0.1:8001")


# --- --from-settings: the emulator `make run` starts -----------------------------------------


@pytest.mark.parametrize(
    ("url", "address"),
    [
        ("http://127.0.0.1:8001/", ("127.0.0.1", 8001)),
        ("http://localhost:9000", ("localhost", 9000)),
        ("http://127.0.0.2/", ("127.0.0.2", 80)),
        ("http://[::1]:8001/", ("::1", 8001)),
        ("https://127.0.0.1:8001/", None),
        ("http://10.0.0.5:8001/", None),
        ("http://vpbx18.example.com/", None),
        ("http://127.0.0.1:notaport/", None),
        ("", None),
    ],
)
def test_loopback_address(url, address):
    assert loopback_address(url) == address


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.parametrize(
    ("pbx_url", "said"),
    [
        ("https://vpbx18.example.com/", "PBX_URL points at https://vpbx18.example.com: "),
        ("http://user:secret@10.0.0.5:8001/path", "PBX_URL points at http://10.0.0.5:8001: "),
        ("https://127.0.0.1:8001/", "PBX_URL points at https://127.0.0.1:8001: "),
        ("", "PBX_URL is empty: "),
    ],
)
def test_from_settings_with_a_real_pbx_serves_nothing(settings, pbx_url, said):
    settings.PBX_URL, settings.PBX_TOKEN = pbx_url, TOKEN
    out = io.StringIO()

    # --exit would return after serving for a moment: the output shows it never began.
    call_command("pbx_emulator", "--from-settings", "--exit", stdout=out)

    assert said + "not starting the emulator" in out.getvalue()
    assert "emulator at" not in out.getvalue()
    assert "secret" not in out.getvalue()


def test_from_settings_without_a_token_serves_nothing(settings):
    settings.PBX_URL, settings.PBX_TOKEN = f"http://127.0.0.1:{free_port()}/", ""
    out = io.StringIO()

    call_command("pbx_emulator", "--from-settings", "--exit", stdout=out)

    assert "PBX_TOKEN is empty: not starting the emulator" in out.getvalue()
    assert "emulator at" not in out.getvalue()


@pytest.mark.parametrize("option", [("--port", "8002"), ("--host", "0.0.0.0"), ("--token", "t")])
def test_from_settings_takes_no_address_or_token_of_its_own(option):
    with pytest.raises(CommandError, match="leave out --host, --port and --token"):
        call_command("pbx_emulator", "--from-settings", *option, "--exit")


def test_from_settings_listens_at_pbx_url_and_keeps_the_token_to_itself(settings):
    port = free_port()
    settings.PBX_URL, settings.PBX_TOKEN = f"http://127.0.0.1:{port}/", TOKEN
    out = io.StringIO()

    call_command("pbx_emulator", "--from-settings", "--exit", stdout=out)

    assert f"XVB PBX emulator at http://127.0.0.1:{port}/" in out.getvalue()
    assert "The CRM's PBX_URL and PBX_TOKEN point here." in out.getvalue()
    assert TOKEN not in out.getvalue()


@pytest.fixture
def settings_emulator(live_server, settings) -> Iterator[str]:  # noqa: ANN001
    """`pbx_emulator --from-settings` as `make run` starts it: its own process, PBX_URL's port."""
    url = f"http://127.0.0.1:{free_port()}/"
    settings.PBX_URL, settings.PBX_TOKEN = url, TOKEN
    env = {**os.environ, "PBX_URL": url, "PBX_TOKEN": TOKEN, "PBX_ACCESS_CODE": ACCESS_CODE,
           "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [sys.executable, "manage.py", "pbx_emulator", "--from-settings",
         "--crm-url", f"{live_server.url}/crm-api", "--pace", "0.02"],
        cwd=django_settings.BASE_DIR, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 20
        while not listening(url):
            assert process.poll() is None, process.stdout.read()
            assert time.monotonic() < deadline, "the emulator did not start listening"
            time.sleep(0.05)
        yield url
    finally:
        process.terminate()  # what `make run`'s trap sends
        process.wait(timeout=10)
    assert not listening(url)


def listening(url: str) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname, parts.port), timeout=1):
            return True
    except OSError:
        return False


def test_from_settings_emulator_takes_the_crms_click_to_call(settings_emulator):
    request = urllib.request.Request(
        settings_emulator, data=urlencode(GOOD_CALL).encode(), method="POST",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        callid = json.loads(response.read())["uuid"]

    deadline = time.monotonic() + 10
    while not Call.objects.filter(callid=callid, outcome="answered").exists():
        assert time.monotonic() < deadline, "the call did not reach the CRM"
        time.sleep(0.05)
    call = Call.objects.get(callid=callid)
    assert call.record_link == f"{settings_emulator}recordings/{callid}.wav"
    with urllib.request.urlopen(call.record_link, timeout=5) as response:
        data = response.read()
    with wave.open(io.BytesIO(data)) as recording:
        assert recording.getnframes() > 0
