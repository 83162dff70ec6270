"""Bad input over real HTTP: every request is answered in JSON, journaled, and never a 500."""

import pytest

from calls.models import Call, PbxRequest
from calls.pbx.journal import WebhookRequest
from calls.pbx.webhook import handle_webhook
from tests.captures import INCOMING
from tests.conftest import send_raw

pytestmark = pytest.mark.django_db(transaction=True)

NO_CODE = b"cmd=event&callid=DVzqd2I5zmRev0vLvxVevw&type=in&event=INCOMING&phone=79201119613"


def journal() -> PbxRequest:
    """The one journal row the test's request left."""
    return PbxRequest.objects.get()


def raw_request(live_server, head: str, body: bytes = b""):  # noqa: ANN001, ANN201
    """Send a hand-written request head (CRLF line ends added) and body."""
    return send_raw(live_server.url, head.replace("\n", "\r\n").encode("ascii") + body)


# --- bodies the form parser refuses ----------------------------------------------------------


def test_oversized_body_gets_a_400_answer_not_a_reset(pbx_post, settings):
    body = INCOMING + b"&padding=" + b"x" * (100 * 1024)
    assert len(body) > settings.PBX_MAX_BODY_BYTES

    response = pbx_post(body)

    assert response.status == 400
    assert "too large" in response.json()["error"]
    assert not Call.objects.exists()


def test_oversized_body_is_journaled_truncated(pbx_post, settings):
    pbx_post(INCOMING + b"&padding=" + b"x" * (100 * 1024))

    entry = journal()
    assert entry.outcome == "invalid"
    assert entry.response_status == 400
    assert entry.callid == "DVzqd2I5zmRev0vLvxVevw"
    assert entry.body.count("x") < settings.PBX_MAX_BODY_BYTES


def test_body_at_the_size_limit_is_accepted(pbx_post, settings):
    body = INCOMING + b"&padding="
    body += b"x" * (settings.PBX_MAX_BODY_BYTES - len(body))

    response = pbx_post(body)

    assert response.status == 200


@pytest.mark.parametrize(
    ("body", "kept"),
    [
        (INCOMING.replace(b"79201119613", b"%FF"), "phone=%FF"),
        (INCOMING.replace(b"79201119613", b"\xff\xfe"), "phone=\\xff\\xfe"),
    ],
    ids=["percent-FF", "raw-FF"],
)
def test_undecodable_bytes_are_refused_and_journaled(pbx_post, body, kept):
    response = pbx_post(body)

    assert response.status == 400
    assert "not valid utf-8" in response.json()["error"]
    entry = journal()
    assert entry.outcome == "invalid"
    assert kept in entry.body
    assert entry.callid == "DVzqd2I5zmRev0vLvxVevw"
    assert not Call.objects.exists()


def test_unknown_charset_is_refused(live_server):
    response = raw_request(
        live_server,
        "POST /crm-api HTTP/1.1\nHost: localhost\n"
        "Content-Type: application/x-www-form-urlencoded; charset=x-nonsense\n"
        f"Content-Length: {len(INCOMING)}\n\n",
        INCOMING,
    )

    assert response.status == 400
    assert "charset" in response.json()["error"]


@pytest.mark.parametrize(
    ("charset", "phone"), [("utf-7", b"+2AA-"), ("unicode_escape", rb"\ud800")]
)
def test_a_charset_decoding_to_lone_surrogates_is_refused(live_server, charset, phone):
    body = INCOMING.replace(b"79201119613", phone)
    response = raw_request(
        live_server,
        "POST /crm-api HTTP/1.1\nHost: localhost\n"
        f"Content-Type: application/x-www-form-urlencoded; charset={charset}\n"
        f"Content-Length: {len(body)}\n\n",
        body,
    )

    assert response.status == 400
    assert journal().outcome == "invalid"
    assert not Call.objects.exists()


def test_windows_1251_body_with_its_charset_is_accepted(live_server):
    body = "access_code=10019&cmd=contact&phone=79201119613&name=Вася".encode("cp1251")
    response = raw_request(
        live_server,
        "POST /crm-api HTTP/1.1\nHost: localhost\n"
        "Content-Type: application/x-www-form-urlencoded; charset=windows-1251\n"
        f"Content-Length: {len(body)}\n\n",
        body,
    )

    assert response.status == 200
    assert response.json() == {}


@pytest.mark.parametrize(
    "body",
    [
        INCOMING.replace(b"79201119613", b"7920%001119613"),
        INCOMING.replace(b"79201119613", b"7920\x001119613"),
        INCOMING.replace(b"DVzqd2I5zmRev0vLvxVevw", b"DVzqd2I5%00"),
        INCOMING.replace(b"DVzqd2I5zmRev0vLvxVevw", b"DVzqd2I5\x00"),
        INCOMING.replace(b"event=INCOMING", b"event=INCOMING%00"),
        b"access_code=10019&cmd=contact&phone=7920\x00",
    ],
    ids=["phone-%00", "phone-NUL", "callid-%00", "callid-NUL", "event-%00", "lookup-NUL"],
)
def test_nul_in_a_field_is_refused_with_400_and_journaled(pbx_post, body):
    response = pbx_post(body)

    assert response.status == 400
    assert "error" in response.json()
    entry = journal()
    assert entry.outcome == "invalid"
    assert "\x00" not in entry.body
    assert not Call.objects.exists()


def test_raw_nul_is_kept_escaped_in_the_journal(pbx_post):
    pbx_post(INCOMING.replace(b"79201119613", b"7920\x001119613"))

    assert "phone=7920\\x001119613" in journal().body


@pytest.mark.parametrize(
    "body",
    [INCOMING + b"&note=%00", INCOMING + b"&note=\x00", INCOMING + b"&n%00te=1"],
    ids=["%00", "NUL", "NUL-in-name"],
)
def test_nul_in_a_field_we_do_not_read_is_accepted(pbx_post, body):
    response = pbx_post(body)

    assert response.status == 200
    assert journal().outcome == "accepted"
    assert Call.objects.filter(callid="DVzqd2I5zmRev0vLvxVevw").exists()


@pytest.mark.parametrize("cmd", [b"ev%00ent", b"ev\x00ent"], ids=["%00", "NUL"])
def test_nul_in_the_cmd_is_journaled_as_ignored(pbx_post, cmd):
    response = pbx_post(INCOMING.replace(b"cmd=event", b"cmd=" + cmd))

    assert response.status == 200
    entry = journal()
    assert entry.outcome == "ignored"
    assert entry.cmd.startswith("ev")
    assert "\x00" not in entry.cmd
    assert not Call.objects.exists()


def test_nul_in_a_header_value_is_journaled_escaped(pbx_post):
    response = pbx_post(INCOMING, extra_headers="X-Note: a\x00b\r\n")

    assert response.status == 200
    assert journal().headers["HTTP_X_NOTE"] == "a\\x00b"


def test_nul_in_a_header_name_is_journaled_escaped():
    # The test server drops such a header line, so this one goes straight to the service.
    handled = handle_webhook(
        WebhookRequest(
            method="POST",
            body=INCOMING,
            oversized=False,
            content_type="application/x-www-form-urlencoded",
            meta_headers={"HTTP_X_N\x00TE": "1"},
            remote_addr="127.0.0.1",
        )
    )

    assert handled.status == 200
    assert journal().headers == {"HTTP_X_N\\x00TE": "1"}


def test_two_thousand_fields_are_refused_and_journaled(pbx_post):
    response = pbx_post(INCOMING + b"&x=1" * 2000)

    assert response.status == 400
    assert "too many fields" in response.json()["error"]
    entry = journal()
    assert entry.outcome == "invalid"
    assert entry.callid == "DVzqd2I5zmRev0vLvxVevw"
    assert not Call.objects.exists()


def test_missing_cmd_is_refused_with_400(pbx_post):
    response = pbx_post(INCOMING.replace(b"cmd=event&", b""))

    assert response.status == 400
    assert response.json() == {"error": "missing 'cmd'"}
    assert journal().outcome == "invalid"


def test_event_without_callid_is_refused_with_400(pbx_post):
    response = pbx_post(INCOMING.replace(b"callid=DVzqd2I5zmRev0vLvxVevw&", b""))

    assert response.status == 400
    assert "callid" in response.json()["error"]
    assert journal().outcome == "invalid"
    assert not Call.objects.exists()


def test_garbage_duration_still_completes_the_call(pbx_post):
    response = pbx_post(
        INCOMING.replace(b"event=INCOMING", b"event=COMPLETED&status=Success&duration=-5")
    )

    assert response.status == 200
    call = Call.objects.get()
    assert call.outcome == "answered"
    assert call.duration is None
    assert "left out: duration '-5' is out of range" in journal().error


def test_empty_body_is_refused_as_carrying_no_access_code(pbx_post):
    response = pbx_post(b"")

    assert response.status == 403
    assert response.json() == {"error": "missing access code"}
    assert journal().response_status == 403


# --- commands and events we don't act on -----------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        b"access_code=10019&cmd=history&type=in&status=Success&start=20240101T120000Z"
        b"&duration=16&wait=3&callid=DVzqd2I5zmRev0vLvxVevw&user=ivan&ext=100",
        b"access_code=10019&cmd=rating&callid=DVzqd2I5zmRev0vLvxVevw&rating=5&ext=100"
        b"&phone=79201119613",
    ],
    ids=["history", "rating"],
)
def test_unknown_cmd_is_acknowledged_and_journaled_as_ignored(pbx_post, body):
    response = pbx_post(body)

    assert response.status == 200
    assert response.json()["ok"] is True
    entry = journal()
    assert entry.outcome == "ignored"
    assert entry.callid == "DVzqd2I5zmRev0vLvxVevw"
    assert not Call.objects.exists()


@pytest.mark.parametrize("word", [b"CANCELLED", b"TRANSFERRED"])
def test_unknown_event_is_acknowledged_and_journaled_as_ignored(pbx_post, word):
    response = pbx_post(INCOMING.replace(b"INCOMING", word))

    assert response.status == 200
    assert response.json()["ok"] is True
    entry = journal()
    assert entry.outcome == "ignored"
    assert entry.event == word.decode()
    assert not Call.objects.exists()


def test_cancelled_leg_does_not_end_a_call(pbx_post):
    pbx_post(INCOMING)
    pbx_post(INCOMING.replace(b"INCOMING", b"CANCELLED"))

    assert Call.objects.get().outcome == "in_progress"


# --- record_link -----------------------------------------------------------------------------


def test_javascript_record_link_is_not_stored_but_journaled(pbx_post):
    body = (
        b"access_code=10019&cmd=event&event=COMPLETED&status=Success&duration=5"
        b"&callid=DVzqd2I5zmRev0vLvxVevw&phone=79201119613"
        b"&record_link=javascript%3Aalert(document.cookie)"
    )

    response = pbx_post(body)

    assert response.status == 200
    call = Call.objects.get()
    assert call.record_link == ""
    assert call.outcome == "answered"
    assert call.events.get().record_link == ""
    entry = journal()
    assert "record_link=javascript%3Aalert(document.cookie)" in entry.body
    assert "left out: record_link is not an http(s) URL" in entry.error


# --- every answer ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        INCOMING,
        NO_CODE,
        b"",
        b"\xff",
        b"access_code=10019",
        b"access_code=10019&cmd=event",
        b"access_code=10019&cmd=event&callid=%01",
        b"access_code=10019&cmd=contact&phone=79201119613",
        b"access_code=10019&cmd=contact&phone=anonymous",
        b"access_code=10019&cmd=contact",
        b"access_code=10019&cmd=history",
        b"access_code=10019&cmd=event&callid=a&event=WHATEVER",
        b"access_code=10019&cmd=event&callid=a&event=COMPLETED&duration=1e400",
        b"access_code=10019&cmd=event&callid=a&event=COMPLETED&status=" + b"s" * 65,
        b"access_code=10019&access_code=10019&cmd=event&callid=b&event=ANSWERED&ext=101",
        b"=&&&==&access_code=10019&cmd=event&callid=c&event=OUTGOING&phone=100",
        b"%%%&access_code=10019&cmd=event&callid=d&event=INCOMING&phone=%2B7+920+111-96-13",
    ],
)
def test_every_answer_is_json_and_never_a_500(pbx_post, body):
    response = pbx_post(body)

    assert response.status < 500
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    assert isinstance(response.json(), dict)
    entry = PbxRequest.objects.order_by("-id").first()
    assert entry.response_status == response.status
    assert entry.outcome != "received"


@pytest.mark.parametrize(
    "body", [NO_CODE, b"\xff", b"access_code=10019", b"access_code=10019&cmd=event"]
)
def test_every_refusal_carries_an_error_message(pbx_post, body):
    response = pbx_post(body)

    assert response.status >= 400
    assert response.json()["error"]


def test_scoped_ipv6_sender_is_journaled_without_its_zone(client):
    response = client.post(
        "/crm-api", data=INCOMING, content_type="application/x-www-form-urlencoded",
        REMOTE_ADDR="fe80::1%eth0",
    )

    assert response.status_code == 200
    assert journal().remote_addr == "fe80::1"
