"""The makeCall client against a real local HTTP server standing in for the PBX."""
import time

import pytest

from calls.pbx import client as pbx_client
from tests.calls.conftest import PBX_TOKEN
from tests.calls.fake_pbx import closed_port_url

TOKEN = PBX_TOKEN


def call() -> pbx_client.MakeCallResult:
    return pbx_client.make_call(extension="100", phone_e164="+79201119613")


def test_success_returns_the_answer_and_its_call_id(fake_pbx):
    result = call()

    assert result.answer == {"uuid": "c0ffee-1"}
    assert result.callid == "c0ffee-1"


@pytest.mark.parametrize("key", ["uuid", "callid", "call_id", "id"])
def test_call_id_is_read_from_any_known_key(fake_pbx, key):
    fake_pbx.answer(200, {key: "X1"})

    assert call().callid == "X1"


def test_success_without_call_id(fake_pbx):
    fake_pbx.answer(200, {"result": "ok"})

    assert call().callid == ""


def test_the_pbx_receives_exactly_the_makecall_form(fake_pbx):
    call()

    assert fake_pbx.received == [
        {"cmd": "makeCall", "token": TOKEN, "from": "100", "to": "79201119613"}
    ]


def test_invalid_token_is_refused_with_the_pbx_own_text(fake_pbx):
    fake_pbx.answer(401, {"error": "Invalid token"})

    with pytest.raises(pbx_client.PbxRefused, match="Invalid token"):
        call()


def test_invalid_parameters_is_refused(fake_pbx):
    fake_pbx.answer(400, {"error": "Invalid parameters"})

    with pytest.raises(pbx_client.PbxRefused, match="Invalid parameters"):
        call()


def test_4xx_without_json_is_refused_with_its_status(fake_pbx):
    fake_pbx.status, fake_pbx.body = 404, b"<h1>Not Found</h1>"

    with pytest.raises(pbx_client.PbxRefused, match="HTTP 404"):
        call()


def test_500_is_broken(fake_pbx):
    fake_pbx.answer(500, {"error": "oops"})

    with pytest.raises(pbx_client.PbxBroken, match="HTTP 500"):
        call()


def test_non_json_success_is_broken(fake_pbx):
    fake_pbx.status, fake_pbx.body = 200, b"<html>OK</html>"

    with pytest.raises(pbx_client.PbxBroken, match="other than JSON"):
        call()


def test_json_that_is_not_an_object_is_broken(fake_pbx):
    fake_pbx.answer(200, ["uuid"])

    with pytest.raises(pbx_client.PbxBroken):
        call()


def test_connection_refused_is_unreachable(settings):
    settings.PBX_URL, settings.PBX_TOKEN = closed_port_url(), TOKEN

    with pytest.raises(pbx_client.PbxUnreachable, match="Cannot connect"):
        call()


def test_a_silent_pbx_times_out_after_pbx_timeout(fake_pbx):
    fake_pbx.hang = True
    started = time.monotonic()

    with pytest.raises(pbx_client.PbxUnreachable, match=r"within 0\.3 s"):
        call()

    assert time.monotonic() - started >= 0.3  # the timeout really elapsed
    assert len(fake_pbx.received) == 1  # and was not retried


@pytest.mark.parametrize("missing", ["PBX_URL", "PBX_TOKEN"])
def test_not_configured(fake_pbx, settings, missing):
    setattr(settings, missing, "")

    with pytest.raises(pbx_client.PbxNotConfigured):
        call()

    assert fake_pbx.received == []


def test_the_token_never_appears_in_an_error_even_when_echoed(fake_pbx):
    fake_pbx.answer(401, {"error": f"Invalid token {TOKEN}"})

    with pytest.raises(pbx_client.PbxRefused) as caught:
        call()

    assert TOKEN not in str(caught.value)
    assert TOKEN not in caught.value.answer
