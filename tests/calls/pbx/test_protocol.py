"""The pure protocol module: form bodies in, typed commands out, outcomes normalized."""
import pytest

from calls.pbx import protocol
from calls.pbx.protocol import (
    ContactLookup,
    EventKind,
    IgnoredCommand,
    PbxEvent,
    PbxProtocolError,
    charset_of,
    decode_form,
    outcome_for,
    parse_command,
    redact_body,
)
from calls.vocabulary import Direction, Outcome

COMPLETED = {
    "cmd": "event",
    "event": "COMPLETED",
    "callid": "DVzqd2I5zmRev0vLvxVevw",
    "status": "Success",
    "duration": "16",
    "phone": "79201119613",
    "ext": "100",
    "record_link": "https://vpbx18-dev/ui/msg_download/120/10019/f92H16GAUDE7R10EMOLYYw.mp3",
}


def event(**changes: str) -> dict[str, str]:
    """A COMPLETED event's fields with some changed; a value of None removes the field."""
    fields = {**COMPLETED, **changes}
    return {name: value for name, value in fields.items() if value is not None}


# --- decode_form -----------------------------------------------------------------------------


def test_decode_form_reads_fields_and_access_code():
    form = decode_form(b"access_code=10019&cmd=contact&phone=79201119613")

    assert form.fields == {"access_code": "10019", "cmd": "contact", "phone": "79201119613"}
    assert form.access_codes == ("10019",)


def test_decode_form_decodes_percent_escaped_utf8():
    form = decode_form("name=Вася".encode())
    escaped = decode_form(b"name=%D0%92%D0%B0%D1%81%D1%8F")

    assert form.fields["name"] == "Вася"
    assert escaped.fields["name"] == "Вася"


def test_decode_form_decodes_plus_as_space_and_keeps_blank_values():
    form = decode_form(b"a=1+2&ext=&flag")

    assert form.fields == {"a": "1 2", "ext": "", "flag": ""}


def test_decode_form_keeps_every_access_code_sent():
    form = decode_form(b"access_code=1&access_code=2")

    assert form.access_codes == ("1", "2")
    assert form.fields["access_code"] == "2"


def test_decode_form_reads_an_escaped_access_code_field_name():
    form = decode_form(b"access%5Fcode=10019")

    assert form.access_codes == ("10019",)


@pytest.mark.parametrize("body", [b"phone=%FF", b"%FF=1", b"phone=%C3%28"])
def test_decode_form_refuses_undecodable_percent_escapes(body):
    with pytest.raises(PbxProtocolError, match="not valid utf-8"):
        decode_form(body)


def test_decode_form_refuses_raw_non_utf8_bytes():
    with pytest.raises(PbxProtocolError, match="not valid utf-8"):
        decode_form(b"cmd=event&phone=\xff\xfe")


def test_decode_form_accepts_the_field_limit():
    body = "&".join(f"f{i}=x" for i in range(protocol.MAX_FIELDS)).encode()

    assert len(decode_form(body).fields) == protocol.MAX_FIELDS


def test_decode_form_refuses_one_field_too_many():
    body = "&".join(f"f{i}=x" for i in range(protocol.MAX_FIELDS + 1)).encode()

    with pytest.raises(PbxProtocolError, match="too many fields"):
        decode_form(body)


def test_decode_form_refuses_thousands_of_fields():
    with pytest.raises(PbxProtocolError, match="too many fields"):
        decode_form(b"&".join([b"x=1"] * 2000))


def test_decode_form_reads_a_windows_1251_body():
    raw = "name=Вася".encode("cp1251")
    escaped = b"name=%C2%E0%F1%FF"

    assert decode_form(raw, charset="windows-1251").fields["name"] == "Вася"
    assert decode_form(escaped, charset="windows-1251").fields["name"] == "Вася"


@pytest.mark.parametrize(
    "charset", ["no-such-charset", "rot13", "base64", "utf-7", "unicode_escape", "utf-16", "cp500"]
)
def test_decode_form_refuses_charsets_that_are_not_ascii_compatible(charset):
    with pytest.raises(PbxProtocolError, match="charset"):
        decode_form(b"cmd=event", charset=charset)


def test_decode_form_refuses_an_escaped_lone_surrogate():
    with pytest.raises(PbxProtocolError, match="not valid"):
        decode_form(b"p=%ED%A0%80")


@pytest.mark.parametrize(
    ("content_type", "charset"),
    [
        ("application/x-www-form-urlencoded", "utf-8"),
        ("application/x-www-form-urlencoded; charset=windows-1251", "windows-1251"),
        ('application/x-www-form-urlencoded; CHARSET="UTF-8"', "utf-8"),
        ("application/x-www-form-urlencoded; charset=", "utf-8"),
        ("", "utf-8"),
    ],
)
def test_charset_of_reads_the_content_type_parameter(content_type, charset):
    assert charset_of(content_type) == charset


# --- redact_body -----------------------------------------------------------------------------


def test_redact_body_hides_the_access_code_and_keeps_the_rest_verbatim():
    body = "cmd=event&access_code=10019&record_link=https%3A%2F%2Fh%2F10019.mp3&ext="

    assert redact_body(body) == (
        "cmd=event&access_code=[redacted]&record_link=https%3A%2F%2Fh%2F10019.mp3&ext="
    )


def test_redact_body_hides_an_escaped_field_name():
    assert redact_body("access%5Fcode=10019&cmd=event") == "access%5Fcode=[redacted]&cmd=event"


def test_redact_body_hides_every_code():
    redacted = redact_body("access_code=1&cmd=x&access_code=2&access%5fcode=3")

    assert redacted == (
        "access_code=[redacted]&cmd=x&access_code=[redacted]&access%5fcode=[redacted]"
    )


def test_redact_body_hides_a_code_field_without_equals_sign():
    assert redact_body("cmd=x&access_code") == "cmd=x&access_code=[redacted]"


def test_redact_body_leaves_a_body_without_code_unchanged():
    body = "cmd=contact&phone=%2B7+920&&x=%FF\\xff"

    assert redact_body(body) == body


# --- parse_command: commands -----------------------------------------------------------------


def test_parse_command_reads_a_contact_lookup():
    command = parse_command({"cmd": "contact", "phone": "79201119613", "callid": "abc"})

    assert command == ContactLookup(phone="79201119613", callid="abc")


def test_parse_command_reads_the_cmd_case_insensitively():
    command = parse_command({"cmd": " Contact ", "phone": "79201119613"})

    assert isinstance(command, ContactLookup)


@pytest.mark.parametrize("fields", [{}, {"cmd": ""}, {"cmd": "  "}, {"phone": "79201119613"}])
def test_parse_command_refuses_a_missing_cmd(fields):
    with pytest.raises(PbxProtocolError, match="missing 'cmd'"):
        parse_command(fields)


@pytest.mark.parametrize("cmd", ["history", "rating", "makeCall"])
def test_parse_command_ignores_an_unknown_cmd(cmd):
    command = parse_command({"cmd": cmd, "callid": "abc", "rating": "5"})

    assert isinstance(command, IgnoredCommand)
    assert command.cmd == cmd


@pytest.mark.parametrize("word", ["CANCELLED", "TRANSFERRED", "RINGING", ""])
def test_parse_command_ignores_an_unknown_event(word):
    command = parse_command(event(event=word))

    assert isinstance(command, IgnoredCommand)
    assert command.event == word


# --- parse_command: events -------------------------------------------------------------------


def test_parse_command_reads_the_completed_capture():
    command = parse_command(COMPLETED)

    assert command == PbxEvent(
        callid="DVzqd2I5zmRev0vLvxVevw",
        kind=EventKind.COMPLETED,
        direction=None,
        phone="79201119613",
        ext="100",
        line_number="",
        status="Success",
        duration=16,
        record_link=COMPLETED["record_link"],
    )


@pytest.mark.parametrize(
    ("word", "kind"),
    [
        ("INCOMING", EventKind.INCOMING),
        ("incoming", EventKind.INCOMING),
        ("OUTGOING", EventKind.OUTGOING),
        ("ANSWERED", EventKind.ANSWERED),
        ("ACCEPTED", EventKind.ANSWERED),
        ("accepted", EventKind.ANSWERED),
        ("COMPLETED", EventKind.COMPLETED),
        ("COMPLETEd", EventKind.COMPLETED),
        (" completed ", EventKind.COMPLETED),
    ],
)
def test_parse_command_maps_event_words_case_insensitively(word, kind):
    assert parse_command(event(event=word)).kind == kind


@pytest.mark.parametrize(("type_word", "direction"), [("in", Direction.IN), ("OUT", Direction.OUT)])
def test_parse_command_takes_the_direction_from_type(type_word, direction):
    assert parse_command(event(event="ANSWERED", type=type_word)).direction == direction


@pytest.mark.parametrize(
    ("word", "direction"), [("INCOMING", Direction.IN), ("OUTGOING", Direction.OUT)]
)
def test_parse_command_takes_the_direction_from_a_start_event_without_type(word, direction):
    assert parse_command(event(event=word, type=None)).direction == direction


def test_parse_command_prefers_type_over_the_start_event_name():
    assert parse_command(event(event="INCOMING", type="out")).direction == Direction.OUT


@pytest.mark.parametrize("type_word", [None, "", "sideways"])
def test_parse_command_leaves_the_direction_unknown_without_type(type_word):
    assert parse_command(event(event="COMPLETED", type=type_word)).direction is None


@pytest.mark.parametrize("callid", [None, "", "   "])
def test_parse_command_refuses_an_event_without_callid(callid):
    with pytest.raises(PbxProtocolError, match="needs a callid"):
        parse_command(event(callid=callid))


def test_parse_command_refuses_an_unknown_event_without_callid():
    with pytest.raises(PbxProtocolError, match="needs a callid"):
        parse_command(event(event="CANCELLED", callid=None))


@pytest.mark.parametrize("callid", ["has space", "tab\there", "nul\x00", "кириллица", "x" * 129])
def test_parse_command_refuses_a_bad_callid(callid):
    with pytest.raises(PbxProtocolError, match="callid"):
        parse_command(event(callid=callid))


def test_parse_command_accepts_a_128_character_callid():
    assert parse_command(event(callid="x" * 128)).callid == "x" * 128


def test_parse_command_refuses_a_bad_callid_on_a_contact_lookup():
    with pytest.raises(PbxProtocolError, match="callid"):
        parse_command({"cmd": "contact", "phone": "79201119613", "callid": "a b"})


@pytest.mark.parametrize("name", ["phone", "ext", "status", "line_number", "event", "type"])
@pytest.mark.parametrize("char", ["\x00", "\n", "\x1b", "\x7f"])
def test_parse_command_refuses_control_characters_in_fields(name, char):
    with pytest.raises(PbxProtocolError, match="control characters"):
        parse_command(event(**{name: f"1{char}2"}))


def test_parse_command_refuses_a_nul_in_a_lookup_phone():
    with pytest.raises(PbxProtocolError, match="control characters"):
        parse_command({"cmd": "contact", "phone": "7920\x00"})


def test_parse_command_refuses_an_overlong_field():
    with pytest.raises(PbxProtocolError, match="too long"):
        parse_command(event(ext="1" * 33))


def test_parse_command_ignores_control_characters_in_fields_it_does_not_read():
    assert isinstance(parse_command(event(comment="a\x00b")), PbxEvent)


@pytest.mark.parametrize(
    ("raw", "seconds"),
    [("16", 16), (" 16 ", 16), ("0", 0), ("16.6", 17), ("", None), (None, None)],
)
def test_parse_command_reads_the_duration(raw, seconds):
    assert parse_command(event(duration=raw)).duration == seconds


@pytest.mark.parametrize("raw", ["abc", "16s", "nan", "inf", "1e400", "0x10"])
def test_parse_command_leaves_out_a_garbage_duration_but_keeps_the_event(raw):
    command = parse_command(event(duration=raw))

    assert command.duration is None
    assert command.status == "Success"
    assert [problem for problem in command.refused if "not a number" in problem]


@pytest.mark.parametrize("raw", ["-1", "-16", "1000000000", "1e9"])
def test_parse_command_leaves_out_a_duration_out_of_range(raw):
    command = parse_command(event(duration=raw))

    assert command.duration is None
    assert [problem for problem in command.refused if "out of range" in problem]


@pytest.mark.parametrize(
    "link",
    [
        "https://vpbx18-dev/ui/msg_download/120/10019/f.mp3",
        "http://pbx.example.com/rec.mp3?id=1&k=2",
        "HTTPS://PBX.EXAMPLE.COM/rec.mp3",
    ],
)
def test_parse_command_keeps_an_http_record_link(link):
    command = parse_command(event(record_link=link))

    assert command.record_link == link
    assert command.refused == ()


@pytest.mark.parametrize(
    "link",
    [
        "javascript:alert(1)",
        "JavaScript:alert(document.cookie)//https://x",
        "data:text/html,<script>alert(1)</script>",
        "ftp://pbx.example.com/rec.mp3",
        "file:///etc/passwd",
        "//pbx.example.com/rec.mp3",
        "/ui/msg_download/1.mp3",
        "https:///no-host",
        "https://exa mple.com/a.mp3",
        "https://example.com/\x00.mp3",
        "http://[::1",
        "not a link at all",
        "https://example.com/" + "a" * 2000,
    ],
)
def test_parse_command_refuses_an_unsafe_record_link(link):
    command = parse_command(event(record_link=link))

    assert command.record_link == ""
    assert command.refused == ("record_link is not an http(s) URL",)


def test_parse_command_treats_an_absent_record_link_as_nothing_recorded():
    command = parse_command(event(record_link=None))

    assert command.record_link == ""
    assert command.refused == ()


# --- outcome_for -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "direction", "outcome"),
    [
        ("Success", "in", Outcome.ANSWERED),
        ("success", "out", Outcome.ANSWERED),
        ("missed", "in", Outcome.MISSED),
        ("Missed", "in", Outcome.MISSED),
        ("MISSED", None, Outcome.MISSED),
        ("Cancel", "in", Outcome.MISSED),
        ("Cancel", "out", Outcome.NO_ANSWER),
        ("missed", "out", Outcome.NO_ANSWER),
        ("Cancel", None, Outcome.MISSED),
        ("Busy", "out", Outcome.BUSY),
        ("Busy", "in", Outcome.BUSY),
        ("NotAvailable", "out", Outcome.FAILED),
        ("NotAllowed", "out", Outcome.FAILED),
        ("NotFound", "out", Outcome.FAILED),
        (" notfound ", "out", Outcome.FAILED),
    ],
)
def test_outcome_for_a_completed_call(status, direction, outcome):
    assert outcome_for(status=status, direction=direction, completed=True) == outcome


@pytest.mark.parametrize("status", ["Exploded", "", "Success!"])
def test_outcome_for_an_unknown_status_is_unknown(status):
    assert outcome_for(status=status, direction="in", completed=True) == Outcome.UNKNOWN


@pytest.mark.parametrize("status", ["", "Success", "Busy"])
def test_outcome_for_a_call_not_completed_is_in_progress(status):
    assert outcome_for(status=status, direction="in", completed=False) == Outcome.IN_PROGRESS


def test_summary_fields_strip_control_characters_and_truncate():
    summary = protocol.summary_fields({"cmd": "ev\x00ent", "callid": "c" * 300, "phone": "\x1b7"})

    assert summary == {"cmd": "event", "event": "", "callid": "c" * 128, "phone": "7"}
