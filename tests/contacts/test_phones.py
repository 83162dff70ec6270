"""Phone numbers as people type them and as the PBX sends them, normalized to E.164."""
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from contacts.phones import (
    _normalize_parsed,
    format_phone,
    line_spellings,
    lookup_spellings,
    normalize_phone,
    pbx_digits,
)


@pytest.mark.parametrize(
    "raw",
    ["+7 920 111-96-13", "8 (920) 111 96 13", "9201119613", "79201119613", " 8-920-111-96-13 "],
)
def test_russian_formats_normalize_to_e164(raw):
    assert normalize_phone(raw) == "+79201119613"


@pytest.mark.parametrize(
    ("raw", "e164"),
    [("380441234567", "+380441234567"), ("12025550123", "+12025550123")],
)
def test_foreign_numbers_in_pbx_digit_form_get_their_own_country(raw, e164):
    assert normalize_phone(raw) == e164


@pytest.mark.parametrize(
    ("raw", "region", "e164"),
    [("044 123 45 67", "UA", "+380441234567"), ("(202) 555-0123", "US", "+12025550123")],
)
def test_region_argument_reads_national_numbers_of_that_country(raw, region, e164):
    assert normalize_phone(raw, region=region) == e164


def test_default_region_comes_from_settings(settings):
    settings.PHONE_DEFAULT_REGION = "UA"

    assert normalize_phone("044 123 45 67") == "+380441234567"


@pytest.mark.parametrize("raw", ["100", "anonymous", "", "   ", "7" * 65])
def test_what_cannot_be_a_phone_number_is_none(raw):
    assert normalize_phone(raw) is None


def test_a_number_padded_past_64_characters_is_none():
    padded = "+7" + " " * 53 + "9201119613"

    assert len(padded) == 65
    assert normalize_phone(padded.replace(" ", "", 1)) == "+79201119613"
    assert normalize_phone(padded) is None


@pytest.mark.parametrize(
    ("e164", "shown"),
    [
        ("+79201119613", "+7 920 111-96-13"),
        ("+380441234567", "+380 44 123 4567"),
        ("+12025550123", "+1 202-555-0123"),
    ],
)
def test_format_phone_shows_the_international_form(e164, shown):
    assert format_phone(e164) == shown


@pytest.mark.parametrize("stored", ["anonymous", "79201119613", "+"])
def test_format_phone_keeps_what_is_not_e164(stored):
    assert format_phone(stored) == stored


# normalize_phone reads Russian numbers in their common shapes without phonenumbers' parser
# (contacts.phones._russian_e164); the general way must give the same answer for every one.
_SHAPES = (
    "+7{}", "+7 {} {}-{}-{}", "8{}", "8 ({}) {}-{}-{}", "7{}", "{}", "{} {} {} {}", "8-{}-{}{}{}",
)


def _shaped(shape: str, national: str) -> str:
    if shape.count("{}") == 1:
        return shape.format(national)
    return shape.format(national[:3], national[3:6], national[6:8], national[8:])


def _general(raw: str) -> str | None:
    return _normalize_parsed(raw.strip(), "RU")


@pytest.mark.parametrize("shape", _SHAPES)
def test_every_area_code_in_every_russian_shape_agrees_with_the_general_parser(shape):
    # Every first three digits (valid, invalid, 0…, 7…, 8…, 810…, Kazakhstan's 7…) with
    # endings that make numbers valid in some areas and not in others.
    for area in range(1000):
        for ending in ("1119613", "0000000", "5550123", "9999999"):
            raw = _shaped(shape, f"{area:03d}{ending}")
            assert normalize_phone(raw) == _general(raw), raw


@settings(max_examples=2000, deadline=None, database=None)  # no .hypothesis/ folder
@given(
    shape=st.sampled_from(_SHAPES),
    national=st.text(alphabet="0123456789", min_size=10, max_size=10),
    padding=st.sampled_from(["", " ", "  ", "\t"]),
)
def test_russian_shapes_agree_with_the_general_parser(shape, national, padding):
    raw = f"{padding}{_shaped(shape, national)}{padding}"

    assert normalize_phone(raw) == _general(raw)


@settings(max_examples=2000, deadline=None, database=None)  # no .hypothesis/ folder
@given(raw=st.text(alphabet="0123456789+-() 78", max_size=20))
def test_any_digits_and_separators_agree_with_the_general_parser(raw):
    stripped = raw.strip()
    expected = _general(stripped) if stripped and len(stripped) <= 64 else None

    assert normalize_phone(raw) == expected


def test_numbers_that_look_russian_but_are_not_go_the_general_way():
    assert normalize_phone("81012025550123") == "+12025550123"  # 810: dialling abroad
    assert normalize_phone("+7 700 123 4567") == "+77001234567"  # Kazakhstan shares +7
    assert normalize_phone("3210000000") == _general("3210000000")


# --- the PBX's spellings -------------------------------------------------------------------


def test_the_pbx_takes_international_digits_without_plus():
    assert pbx_digits("+79201119613") == "79201119613"


def test_a_lookup_may_spell_a_number_internationally_or_nationally():
    assert lookup_spellings("+79201119613") == [
        "79201119613", "+79201119613", "9201119613", "89201119613", "09201119613",
    ]


def test_a_number_that_is_not_e164_is_looked_up_as_it_is():
    assert lookup_spellings("anonymous") == ["anonymous"]


@pytest.mark.parametrize(("sent", "spellings"), [
    ("74950000000", ["74950000000", "+74950000000"]),
    (" +74950000000 ", ["+74950000000", "74950000000"]),
])
def test_a_line_matches_with_or_without_plus(sent, spellings):
    assert line_spellings(sent) == spellings
