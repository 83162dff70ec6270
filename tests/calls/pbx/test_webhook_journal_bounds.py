"""A refused request keeps a bounded journal row, whatever it sent: a flood cannot grow the
database by the largest accepted body (or more) per request."""
import json

import pytest

from calls.models import PbxRequest
from calls.pbx.journal import REFUSED_BODY_HEAD
from tests.captures import CONTACT, INCOMING
from tests.conftest import send_raw

pytestmark = pytest.mark.django_db(transaction=True)

# Characters a refused request may leave in its row, all text columns together: well under
# the 16 KiB body alone that such a row kept before.
ROW_BOUND = 6 * 1024
WRONG = INCOMING.replace(b"10019", b"10018")
FULL = 16 * 1024


def padded(body: bytes, size: int = FULL) -> bytes:
    body += b"&padding="
    return body + b"x" * (size - len(body))


def stored_chars(entry: PbxRequest) -> int:
    text = (
        entry.method, entry.body, json.dumps(entry.headers, ensure_ascii=False), entry.cmd,
        entry.event, entry.callid, entry.phone, entry.response_body, entry.error,
    )
    return sum(len(value) for value in text)


def request_bytes(body: bytes, *, method: str = "POST", headers: str = "") -> bytes:
    head = (
        f"{method} /crm-api HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
        f"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {len(body)}\r\n"
        f"{headers}\r\n"
    )
    return head.encode("latin-1") + body


MANY_HEADERS = "".join(f"X-Filler-{n}: {'v' * 4000}\r\n" for n in range(90))
REFUSALS = {
    "wrong code": (request_bytes(padded(WRONG)), 403),
    "missing code": (request_bytes(padded(INCOMING.replace(b"access_code=10019&", b""))), 403),
    "oversized body": (request_bytes(padded(WRONG, 100 * 1024)), 400),
    "undecodable bytes": (request_bytes(b"\xff" * FULL), 400),
    "a long method": (request_bytes(padded(WRONG), method="X" * 4000), 405),
    "many long headers": (request_bytes(WRONG, headers=MANY_HEADERS), 403),
    "long fields": (request_bytes(padded(INCOMING.replace(b"callid=", b"callid=" + b"c" * 9000))),
                    400),
}


@pytest.mark.parametrize("raw_status", REFUSALS.values(), ids=REFUSALS.keys())
def test_a_refused_request_leaves_a_bounded_row_with_its_size(live_server, raw_status):
    raw, status = raw_status

    response = send_raw(live_server.url, raw)

    assert response.status == status
    assert response.json()["error"]
    entry = PbxRequest.objects.get()
    assert stored_chars(entry) <= ROW_BOUND
    assert entry.body_bytes == len(raw.partition(b"\r\n\r\n")[2])
    assert entry.response_status == status


def test_a_throttled_request_leaves_a_bounded_row(live_server, settings):
    settings.PBX_THROTTLE_FAILURES = 1
    send_raw(live_server.url, request_bytes(WRONG))

    response = send_raw(live_server.url, request_bytes(padded(INCOMING), headers=MANY_HEADERS))

    assert response.status == 429
    entry = PbxRequest.objects.get(outcome="throttled")
    assert stored_chars(entry) <= ROW_BOUND
    assert entry.body_bytes == FULL


def test_the_head_of_a_refused_body_is_kept(pbx_post):
    pbx_post(padded(WRONG))

    entry = PbxRequest.objects.get()
    assert len(entry.body) == REFUSED_BODY_HEAD
    assert entry.body.startswith("access_code=[redacted]&cmd=event&callid=DVzqd2I5zmRev0vLvxVevw")
    assert entry.callid == "DVzqd2I5zmRev0vLvxVevw"


def test_headers_past_the_budget_are_counted(live_server):
    send_raw(live_server.url, request_bytes(WRONG, headers=MANY_HEADERS))

    headers = PbxRequest.objects.get().headers
    assert headers["left_out"].endswith("more headers")
    assert headers["HTTP_HOST"] == "localhost"


def test_the_head_is_cut_after_the_code_is_redacted(pbx_post):
    """A code straddling the cut is not half kept."""
    secret = b"S" * 60
    body = b"pad=" + b"a" * (REFUSED_BODY_HEAD - 20) + b"&access_code=" + secret + b"&cmd=x"

    pbx_post(body)

    entry = PbxRequest.objects.get()
    assert "SSSS" not in entry.body
    assert entry.body_bytes == len(body)


def test_an_accepted_request_keeps_its_whole_body(pbx_post):
    body = padded(CONTACT, 4 * 1024)

    assert pbx_post(body).status == 200

    entry = PbxRequest.objects.get()
    assert entry.body == body.decode().replace("10019", "[redacted]")
    assert entry.body_bytes == len(body)
