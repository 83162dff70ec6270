"""`manage.py pbx_emulator`: inbound calls, recording links for another emulator, the
emulator `make run` starts (--from-settings), and the options of a PBX at its worst."""
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
from contextlib import contextmanager
from urllib.parse import urlencode, urlsplit

import pytest
from django.conf import settings as django_settings
from django.core.management import CommandError, call_command

from calls.models import Call
from calls.pbx.emulator import loopback_address
from tests.calls.conftest import PBX_TOKEN
from tests.conftest import ACCESS_CODE

pytestmark = pytest.mark.django_db(transaction=True)

TOKEN = PBX_TOKEN
KNOWN = "79201119613"
STRANGER = "79161234567"
GOOD_CALL = {"cmd": "makeCall", "token": TOKEN, "from": "100", "to": KNOWN}

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


@contextmanager
def settings_emulator_running(live_server, settings, *options: str) -> Iterator[str]:  # noqa: ANN001
    """`pbx_emulator --from-settings` as `make run` starts it: its own process, PBX_URL's port."""
    url = f"http://127.0.0.1:{free_port()}/"
    settings.PBX_URL, settings.PBX_TOKEN = url, TOKEN
    env = {**os.environ, "PBX_URL": url, "PBX_TOKEN": TOKEN, "PBX_ACCESS_CODE": ACCESS_CODE,
           "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [sys.executable, "manage.py", "pbx_emulator", "--from-settings",
         "--crm-url", f"{live_server.url}/crm-api", "--pace", "0.02", *options],
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


@pytest.fixture
def settings_emulator(live_server, settings) -> Iterator[str]:  # noqa: ANN001
    with settings_emulator_running(live_server, settings) as url:
        yield url


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


# --- a PBX at its worst: --slow, --refuse, --late-recordings ---------------------------------


def test_a_slow_refusing_emulator_with_late_recordings(live_server, settings):
    options = ("--slow", "0.2", "--refuse", "503", "--late-recordings", "1")
    with settings_emulator_running(live_server, settings, *options) as url:
        request = urllib.request.Request(url, data=urlencode(GOOD_CALL).encode(), method="POST")
        started = time.monotonic()
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=5)
        waited = time.monotonic() - started
        recording = f"{url}recordings/c1.wav"
        with pytest.raises(urllib.error.HTTPError) as late:
            urllib.request.urlopen(recording, timeout=5)
        with urllib.request.urlopen(recording, timeout=5) as response:
            ready = response.status

    assert (refused.value.code, json.loads(refused.value.read())) == (
        503, {"error": "Service Unavailable"}
    )
    assert waited >= 0.2
    assert (late.value.code, ready) == (404, 200)
    assert not Call.objects.exists()  # nothing was played to the CRM


def test_the_command_says_which_faults_it_plays():
    out = io.StringIO()

    call_command("pbx_emulator", "--port", "0", "--slow", "1.5", "--refuse", "401",
                 "--late-recordings", "2", "--exit", stdout=out)

    assert "Answering after 1.5 s." in out.getvalue()
    assert "Refusing every makeCall: 401." in out.getvalue()
    assert "Recordings: 404 for their first 2 downloads." in out.getvalue()


@pytest.mark.parametrize("status", ["200", "302", "499", "600"])
def test_refuse_needs_an_http_error_status(status):
    with pytest.raises(CommandError, match="needs an HTTP error status"):
        call_command("pbx_emulator", "--port", "0", "--refuse", status, "--exit")
