"""Property-based tests of the webhook: whatever the PBX (or anybody) sends, never a 5xx,
a JSON answer with an `error` for what is refused, and exactly one journal row per request."""
import json
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import quote

import pytest
from django.conf import settings as django_settings
from django.db import transaction
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from calls.models import PbxRequest
from tests.conftest import ACCESS_CODE, send_raw

# No example database: it would leave a `.hypothesis/` folder in the work tree.
FAST = settings(
    max_examples=150, deadline=None, database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
LIVE = settings(FAST, max_examples=25)

JSON = "application/json; charset=utf-8"
FORM = "application/x-www-form-urlencoded"

# --- what a body is made of -----------------------------------------------------------------

callids = st.one_of(
    st.sampled_from(["DVzqd2I5zmRev0vLvxVevw", "gZAoszZQZI_A6HDwYnKxPg", "a", "x" * 128]),
    st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1,
            max_size=140),
    st.text(max_size=20),
    st.just(""),
)
phones = st.one_of(
    st.sampled_from([
        "79201119613", "+7 920 111-96-13", "8 (920) 111 96 13", "9201119613", "380441234567",
        "100", "anonymous", "+", "", "+" + "9" * 70, "٧٩٢٠١١١٩٦١٣", "７９２０１１１９６１３",
    ]),
    st.from_regex(r"\+?[0-9 ()\-]{0,40}", fullmatch=True),
    st.text(max_size=80),
)
extensions = st.one_of(st.sampled_from(["", "100", "101", " 102 ", "x" * 33]),
                       st.text(max_size=40))
durations = st.one_of(
    st.sampled_from(["", "16", "0", "-1", "1e400", "nan", "inf", "-inf", "16.6", "١٦",
                     "1e9", "999999999", "0x10", " 7 "]),
    st.integers(min_value=-(10**12), max_value=10**12).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(str),
    st.text(max_size=40),
)
statuses = st.one_of(
    st.sampled_from(["Success", "missed", "Missed", "Cancel", "Busy", "NotAvailable",
                     "NotAllowed", "NotFound", "NoAnswer", "", "s" * 65]),
    st.text(max_size=70),
)
record_links = st.one_of(
    st.sampled_from([
        "https://vpbx18-dev/ui/msg_download/120/10019/f92H16GAUDE7R10EMOLYYw.mp3",
        "javascript:alert(1)", "http://[::1", "http://a:99999999/x", "https:///nohost",
        "http://пример.рф/запись.mp3", "ftp://example.com/a.mp3", "http://e.x/" + "a" * 2100,
        "",
    ]),
    st.text(max_size=100).map(lambda tail: "https://pbx.example/" + tail),
    st.text(max_size=60),
)
words = st.one_of(
    st.sampled_from(["event", "contact", "EVENT", "Contact", "history", "rating", ""]),
    st.text(max_size=40),
)
events = st.one_of(
    st.sampled_from(["INCOMING", "OUTGOING", "ANSWERED", "ACCEPTED", "COMPLETED", "completed",
                     "CANCELLED", "TRANSFERRED", ""]),
    st.text(max_size=40),
)
types = st.one_of(st.sampled_from(["in", "out", "IN", "", "sideways"]), st.text(max_size=10))
access_codes = st.sampled_from([ACCESS_CODE] * 6 + ["", "10018", "1001９", ACCESS_CODE + " "])

FIELD_VALUES = {
    "cmd": words, "event": events, "callid": callids, "phone": phones, "ext": extensions,
    "duration": durations, "status": statuses, "record_link": record_links, "type": types,
    "line_number": phones,
}
field_names = st.one_of(st.sampled_from(sorted(FIELD_VALUES)), st.text(max_size=12))


@st.composite
def fields(draw: st.DrawFn) -> list[tuple[str, str]]:
    """A list of form fields, usually with the right access code and a command; keys may repeat."""
    pairs: list[tuple[str, str]] = []
    if draw(st.integers(0, 9)):  # mostly something we act on, so processing gets exercised
        pairs.append(("cmd", draw(st.sampled_from(["event", "contact"]))))
        if pairs[0][1] == "event":
            pairs.append(("callid", draw(callids)))
            pairs.append(("event", draw(events)))
    for name in draw(st.lists(field_names, max_size=12)):
        strategy = FIELD_VALUES.get(name, st.text(max_size=30))
        pairs.append((name, draw(strategy)))
    for code in draw(st.lists(access_codes, min_size=0, max_size=2)) or (
        [] if draw(st.booleans()) else [ACCESS_CODE]
    ):
        pairs.append(("access_code", code))
    return draw(st.permutations(pairs))


CODECS = ["utf-8", "cp1251", "koi8-r", "latin-1"]


def encode_pair(name: str, value: str, codec: str) -> bytes:
    def enc(text: str) -> str:
        return quote(text.encode(codec, "replace"), safe="")

    return f"{enc(name)}={enc(value)}".encode("ascii")


GARBAGE = st.sampled_from([
    b"%", b"%G1", b"%FF", b"%00", b"\x00", b"\xff\xfe", b"%ED%A0%80", b"&&", b"==", b";",
    b"+", b"%2", b"\r\n", b"cmd", b"access_code", b"\xd0", b"%D0",
])


@st.composite
def bodies(draw: st.DrawFn) -> tuple[bytes, str]:
    """A raw body and the codec it was written in: form fields, sometimes with garbage spliced
    in, sometimes plain random bytes."""
    codec = draw(st.sampled_from(CODECS))
    if draw(st.integers(0, 9)) == 0:
        return draw(st.binary(max_size=300)), codec
    parts = [encode_pair(name, value, codec) for name, value in draw(fields())]
    for _ in range(draw(st.integers(0, 3))):
        parts.insert(draw(st.integers(0, len(parts))), draw(GARBAGE))
    return b"&".join(parts), codec


charsets = st.one_of(
    st.sampled_from(["utf-8", "UTF-8", "utf8", "windows-1251", "cp1251", "koi8-r", "latin-1",
                     "iso-8859-1", "us-ascii", '"utf-8"', "utf-7", "unicode_escape", "utf-16",
                     "x-nonsense", "", "rot13", "idna", "punycode"]),
    # NUL included: Django's own request fails on it before any view, xvbcrm/wsgi_guard.py
    # (which the test client and live server use, see tests/conftest.py) lets it through.
    st.text(max_size=20),
    st.text(max_size=6).map(lambda charset: f"utf\x00{charset}"),
)
CHARSET_OF = {"utf-8": "utf-8", "cp1251": "windows-1251", "koi8-r": "koi8-r",
              "latin-1": "latin-1"}


@st.composite
def content_types(draw: st.DrawFn, codec: str) -> str:
    kind = draw(st.integers(0, 9))
    if kind <= 4:
        return f"{FORM}; charset={CHARSET_OF[codec]}" if codec != "utf-8" else FORM
    if kind <= 7:
        return f"{FORM}; charset={draw(charsets)}"
    return draw(st.sampled_from(["", "text/plain", "multipart/form-data; boundary=x",
                                 "multipart/form-data", "application/json", f"{FORM};;;=;",
                                 # RFC 2231 parameters, in a charset Python lacks or not
                                 f"{FORM}; charset*=x-nonsense''%41", f"{FORM}; a*=utf-8''%FF",
                                 "multipart/form-data; boundary=x; a*=x-nonsense''%41"]))


header_values = st.one_of(st.just(ACCESS_CODE), st.text(max_size=30))


# --- the properties --------------------------------------------------------------------------


@contextmanager
def rolled_back() -> Iterator[None]:
    """One example's writes, undone when it ends (inside the test's own transaction)."""
    with transaction.atomic():
        yield
        transaction.set_rollback(True)


def check_answer(status: int, content_type: str, content: bytes) -> dict:
    """The properties every answer has: no 5xx, JSON, an error message with every refusal."""
    assert status < 500, content
    assert content_type == JSON
    payload = json.loads(content.decode("utf-8"))
    assert isinstance(payload, dict)
    if status >= 400:
        assert isinstance(payload.get("error"), str)
        assert payload["error"]
    return payload


def check_journal(before: int, status: int) -> None:
    """Exactly one new journal row, closed with the status the PBX got."""
    assert PbxRequest.objects.count() == before + 1
    entry = PbxRequest.objects.latest("id")
    assert entry.response_status == status
    assert entry.outcome != PbxRequest.Handling.RECEIVED
    assert entry.processed_at is not None
    assert f"access_code={ACCESS_CODE}" not in entry.body  # the secret is redacted


@pytest.mark.django_db
@FAST
@given(data=st.data())
def test_any_body_is_answered_in_json_without_5xx_and_journaled(data):
    body, codec = data.draw(bodies())
    content_type = data.draw(content_types(codec))
    headers = {}
    if data.draw(st.integers(0, 4)) == 0:
        headers["HTTP_X_XVB_AC"] = data.draw(header_values)
    if data.draw(st.booleans()):
        headers["HTTP_X_" + data.draw(st.from_regex(r"[A-Z]{1,8}", fullmatch=True))] = (
            data.draw(st.text(max_size=600))
        )
    client = Client()
    with rolled_back():
        before = PbxRequest.objects.count()
        response = client.generic("POST", "/crm-api", body, content_type=content_type,
                                  **headers)
        check_answer(response.status_code, response["Content-Type"], response.content)
        check_journal(before, response.status_code)


@pytest.mark.django_db
@FAST
@given(
    padding=st.integers(min_value=-3, max_value=3),
    filler=st.sampled_from([b"x", b"%", b"\x00", b"\xff", b"&", b"%41", b"&a="]),
    cmd=st.sampled_from([b"contact", b"event"]),
)
def test_bodies_near_the_size_limit(padding, filler, cmd):
    head = b"access_code=10019&cmd=" + cmd + b"&callid=near-limit&event=INCOMING&phone=79201119613"
    head += b"&padding="
    limit = django_settings.PBX_MAX_BODY_BYTES
    body = (head + filler * limit)[: limit + padding]
    with rolled_back():
        before = PbxRequest.objects.count()
        response = Client().generic("POST", "/crm-api", body, content_type=FORM)
        payload = check_answer(response.status_code, response["Content-Type"], response.content)
        check_journal(before, response.status_code)
        if padding > 0:
            assert response.status_code == 400
            assert "too large" in payload["error"]


@pytest.mark.django_db
@FAST
@given(
    name=st.sampled_from(sorted(FIELD_VALUES)),
    value=st.text(max_size=300),
    kind=st.sampled_from(["event", "contact"]),
)
def test_any_value_of_a_field_the_pbx_sends(name, value, kind):
    fields = {"access_code": ACCESS_CODE, "cmd": kind, "callid": "prop-call", "event": "COMPLETED",
              "phone": "79201119613", "type": "in"}
    fields[name] = value
    body = b"&".join(encode_pair(k, v, "utf-8") for k, v in fields.items())
    with rolled_back():
        before = PbxRequest.objects.count()
        response = Client().generic("POST", "/crm-api", body, content_type=FORM)
        check_answer(response.status_code, response["Content-Type"], response.content)
        check_journal(before, response.status_code)


# --- the same over real HTTP, raw bytes on the wire -----------------------------------------


@pytest.mark.django_db(transaction=True)
@LIVE
@given(data=st.data())
def test_raw_http_bodies_are_answered_in_json_and_journaled(live_server, data):
    body, codec = data.draw(bodies())
    content_type = data.draw(content_types(codec))
    head = (
        "POST /crm-api HTTP/1.1\r\nTE: deflate,gzip;q=0.3\r\nConnection: TE, close\r\n"
        f"Host: localhost\r\nContent-Length: {len(body)}\r\n"
    ).encode("ascii")
    head += b"Content-Type: " + content_type.encode("utf-8").translate(None, b"\r\n") + b"\r\n"
    if data.draw(st.booleans()):
        value = data.draw(st.binary(max_size=40)).translate(None, b"\r\n")
        head += b"X-XVB-AC: " + value + b"\r\n"
    request = head + b"\r\n" + body
    before = PbxRequest.objects.count()
    response = send_raw(live_server.url, request)
    check_answer(response.status, response.headers.get("content-type"), response.body)
    check_journal(before, response.status)
