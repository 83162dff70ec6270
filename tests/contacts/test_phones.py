"""Phone numbers as people type them and as the PBX sends them, normalized to E.164."""
import pytest

from contacts.phones import format_phone, normalize_phone


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
