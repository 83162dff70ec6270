"""The webhook's doors over real HTTP: the access code and the methods it answers."""
import io

import pytest
from django.core.checks import run_checks
from django.core.management import call_command

from calls.models import Call, CallEvent
from tests.calls.pbx.test_webhook_errors import NO_CODE, journal, raw_request
from tests.captures import INCOMING

pytestmark = pytest.mark.django_db(transaction=True)


# --- the access code -------------------------------------------------------------------------


def test_wrong_access_code_is_refused_with_403(pbx_post):
    response = pbx_post(INCOMING.replace(b"10019", b"10018"))

    assert response.status == 403
    assert response.json() == {"error": "wrong access code"}


def test_wrong_access_code_is_journaled_as_rejected_and_creates_no_call(pbx_post):
    pbx_post(INCOMING.replace(b"10019", b"10018"))

    entry = journal()
    assert entry.outcome == "rejected"
    assert entry.response_status == 403
    assert entry.callid == "DVzqd2I5zmRev0vLvxVevw"
    assert "access_code=[redacted]" in entry.body
    assert "10018" not in entry.body
    assert not Call.objects.exists()
    assert not CallEvent.objects.exists()


def test_missing_access_code_is_refused_with_403(pbx_post):
    response = pbx_post(NO_CODE)

    assert response.status == 403
    assert response.json() == {"error": "missing access code"}
    assert journal().outcome == "rejected"
    assert not Call.objects.exists()


def test_empty_access_code_is_refused_with_403(pbx_post):
    response = pbx_post(b"access_code=&" + NO_CODE)

    assert response.status == 403


def test_right_header_with_wrong_body_code_is_refused(pbx_post):
    response = pbx_post(
        INCOMING.replace(b"10019", b"10018"), extra_headers="X-XVB-AC: 10019\r\n"
    )

    assert response.status == 403
    assert not Call.objects.exists()


def test_right_body_code_with_wrong_header_is_refused(pbx_post):
    response = pbx_post(INCOMING, extra_headers="X-XVB-AC: 10018\r\n")

    assert response.status == 403
    assert not Call.objects.exists()


def test_right_body_code_with_empty_header_is_refused(pbx_post):
    response = pbx_post(INCOMING, extra_headers="X-XVB-AC: \r\n")

    assert response.status == 403


def test_a_second_wrong_body_code_is_refused(pbx_post):
    response = pbx_post(INCOMING + b"&access_code=10018")

    assert response.status == 403


def test_right_header_and_body_code_are_accepted(pbx_post):
    response = pbx_post(INCOMING, extra_headers="X-XVB-AC: 10019\r\n")

    assert response.status == 200
    assert Call.objects.filter(callid="DVzqd2I5zmRev0vLvxVevw").exists()


def test_right_header_code_alone_is_accepted(pbx_post):
    response = pbx_post(NO_CODE, extra_headers="X-XVB-AC: 10019\r\n")

    assert response.status == 200
    assert Call.objects.filter(callid="DVzqd2I5zmRev0vLvxVevw").exists()


def test_header_code_is_redacted_in_the_journal(pbx_post):
    pbx_post(NO_CODE, extra_headers="X-XVB-AC: 10019\r\n")

    assert journal().headers["HTTP_X_XVB_AC"] == "[redacted]"


def test_unconfigured_access_code_refuses_an_empty_code(pbx_post, settings):
    settings.PBX_ACCESS_CODE = ""

    response = pbx_post(b"access_code=&" + NO_CODE, extra_headers="X-XVB-AC: \r\n")

    assert response.status == 403
    assert "PBX_ACCESS_CODE" in response.json()["error"]
    assert journal().outcome == "rejected"
    assert not Call.objects.exists()


def test_unconfigured_access_code_refuses_a_request_without_code(pbx_post, settings):
    settings.PBX_ACCESS_CODE = ""

    response = pbx_post(NO_CODE)

    assert response.status == 403


def test_check_warns_when_the_access_code_is_not_configured(settings):
    settings.PBX_ACCESS_CODE = ""
    stderr = io.StringIO()

    call_command("check", stdout=io.StringIO(), stderr=stderr)

    assert "calls.W001" in stderr.getvalue()


def test_check_is_quiet_when_the_access_code_is_configured():
    assert "calls.W001" not in {message.id for message in run_checks()}


# --- methods ---------------------------------------------------------------------------------


def test_get_is_refused_with_405(live_server):
    response = raw_request(live_server, "GET /crm-api HTTP/1.1\nHost: localhost\n\n")

    assert response.status == 405
    assert response.headers["allow"] == "POST"
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    assert "error" in response.json()
    assert journal().outcome == "invalid"


def test_put_is_refused_with_405(live_server):
    response = raw_request(
        live_server,
        "PUT /crm-api HTTP/1.1\nHost: localhost\n"
        f"Content-Type: application/x-www-form-urlencoded\nContent-Length: {len(INCOMING)}\n\n",
        INCOMING,
    )

    assert response.status == 405
    assert response.headers["allow"] == "POST"
    assert "error" in response.json()
    assert not Call.objects.exists()
