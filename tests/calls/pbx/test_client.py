"""The makeCall client against the PBX emulator, a real local HTTP server."""
import time

import pytest

from calls.pbx import client as pbx_client
from calls.pbx.emulator_http import Reply
from tests.calls.conftest import PBX_TOKEN, closed_port_url

TOKEN = PBX_TOKEN


def call() -> pbx_client.MakeCallResult:
    return pbx_client.make_call(extension="100", phone_e164="+79201119613")


def test_success_returns_the_answer_and_its_call_id(pbx):
    result = call()

    [callid] = pbx.placed
    assert result.answer == {"uuid": callid}
    assert result.callid == callid


@pytest.mark.parametrize("key", ["uuid", "callid", "call_id", "id"])
def test_call_id_is_read_from_any_known_key(pbx, key):
    pbx.switches.make_call_reply = Reply.json(200, {key: "X1"})

    assert call().callid == "X1"


def test_success_without_call_id(pbx):
    pbx.switches.make_call_reply = Reply.json(200, {"result": "ok"})

    assert call().callid == ""


def test_the_pbx_receives_exactly_the_makecall_form(pbx):
    call()

    assert pbx.received == [
        {"cmd": "makeCall", "token": TOKEN, "from": "100", "to": "79201119613"}
    ]


def test_invalid_token_is_refused_with_the_pbx_own_text(pbx, settings):
    settings.PBX_TOKEN = "not-the-pbx-token"

    with pytest.raises(pbx_client.PbxRefused, match="Invalid token"):
        call()


def test_invalid_parameters_is_refused(pbx):
    with pytest.raises(pbx_client.PbxRefused, match="Invalid parameters"):
        pbx_client.make_call(extension="no extension", phone_e164="+79201119613")


def test_4xx_without_json_is_refused_with_its_status(pbx):
    pbx.switches.make_call_reply = Reply(404, b"<h1>Not Found</h1>", "text/html")

    with pytest.raises(pbx_client.PbxRefused, match="HTTP 404"):
        call()


def test_500_is_broken(pbx):
    pbx.switches.make_call_reply = Reply.json(500, {"error": "oops"})

    with pytest.raises(pbx_client.PbxBroken, match="HTTP 500"):
        call()


def test_non_json_success_is_broken(pbx):
    pbx.switches.make_call_reply = Reply(200, b"<html>OK</html>", "text/html")

    with pytest.raises(pbx_client.PbxBroken, match="other than JSON"):
        call()


def test_json_that_is_not_an_object_is_broken(pbx):
    pbx.switches.make_call_reply = Reply.json(200, ["uuid"])

    with pytest.raises(pbx_client.PbxBroken):
        call()


def test_connection_refused_is_unreachable(settings):
    settings.PBX_URL, settings.PBX_TOKEN = closed_port_url(), TOKEN

    with pytest.raises(pbx_client.PbxUnreachable, match="Cannot connect"):
        call()


def test_a_silent_pbx_times_out_after_pbx_timeout(pbx, settings):
    settings.PBX_TIMEOUT = 0.3
    pbx.switches.slow = 60  # far past PBX_TIMEOUT; the test's end cuts it short
    started = time.monotonic()

    with pytest.raises(pbx_client.PbxUnreachable, match=r"within 0\.3 s"):
        call()

    assert time.monotonic() - started >= 0.3  # the timeout really elapsed
    assert len(pbx.received) == 1  # and was not retried


@pytest.mark.parametrize("missing", ["PBX_URL", "PBX_TOKEN"])
def test_not_configured(pbx, settings, missing):
    setattr(settings, missing, "")

    with pytest.raises(pbx_client.PbxNotConfigured):
        call()

    assert pbx.received == []


def test_the_token_never_appears_in_an_error_even_when_echoed(pbx):
    pbx.switches.make_call_reply = Reply.json(401, {"error": f"Invalid token {TOKEN}"})

    with pytest.raises(pbx_client.PbxRefused) as caught:
        call()

    assert TOKEN not in str(caught.value)
    assert TOKEN not in caught.value.answer
