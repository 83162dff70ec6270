"""Phone numbers: normalized to E.164 once, where they enter the CRM, and the other
spellings the PBX sends and takes them in.

Not django-phonenumber-field (9.0): its form and serializer fields refuse what the PBX sends
(international digits without `+`: `380441234567`) and word their errors otherwise.
"""
import re

import phonenumbers
from django.conf import settings

_E164 = phonenumbers.PhoneNumberFormat.E164
_DIGITS_ONLY = re.compile(r"[0-9][0-9 ().\-\u00a0]*")
_NOT_DIGITS = str.maketrans("", "", " ().-\u00a0")
# Russian numbers in the shapes people and spreadsheets type them: `+7 920 111-96-13`,
# `8 (920) 1119613`, `79201119613`, `9201119613`. Their ten national digits are plain to see,
# so normalize_phone skips phonenumbers' general parser for them (half its cost: an import
# of a million rows spends most of its time here). Validity is still phonenumbers' own.
_RUSSIAN_SHAPE = re.compile(
    r"(\+7|[78])?[ -]?(?:\([0-9]{3}\)|[0-9]{3})[ -]?(?:[0-9][ -]?){6}[0-9]"
)
_RUSSIAN_IDD = "810"  # dialled without `+`, `810…` is an international number


def _parse(raw: str, region: str | None) -> phonenumbers.PhoneNumber | None:
    try:
        return phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        return None


def _is_possible(number: phonenumbers.PhoneNumber) -> bool:
    """Possible as dialled from anywhere (a local-only number such as `1234567` is not)."""
    reason = phonenumbers.is_possible_number_with_reason(number)
    return reason == phonenumbers.ValidationResult.IS_POSSIBLE


def _russian_e164(raw: str) -> str | None:
    """`raw` in E.164 if it has a Russian shape and phonenumbers finds it valid; None: parse
    it in full (tests/contacts/test_phones.py checks both ways agree)."""
    shape = _RUSSIAN_SHAPE.fullmatch(raw)
    if shape is None:
        return None
    digits = raw.translate(_NOT_DIGITS).lstrip("+")
    if shape.group(1) != "+7" and digits.startswith(_RUSSIAN_IDD):
        return None
    national = digits[-10:]
    if national[0] == "0":  # phonenumbers keeps a leading zero apart
        return None
    number = phonenumbers.PhoneNumber(country_code=7, national_number=int(national))
    return f"+7{national}" if phonenumbers.is_valid_number(number) else None


def normalize_phone(raw: str, *, region: str | None = None) -> str | None:
    """Return `raw` as E.164 (`+79201119613`), or None when it cannot be a phone number.

    Accepts what people type (`8 (920) 111-96-13`, `+7 920 111 96 13`, `9201119613`) and
    what the PBX sends (international digits without `+`: `79201119613`, `380441234567`).
    """
    raw = (raw or "").strip()
    if not raw or len(raw) > 64:
        return None
    region = region or settings.PHONE_DEFAULT_REGION
    if region == "RU" and (e164 := _russian_e164(raw)) is not None:
        return e164
    return _normalize_parsed(raw, region)


def _normalize_parsed(raw: str, region: str) -> str | None:
    """normalize_phone by phonenumbers' general parser (`raw` stripped, 64 characters at most)."""
    national = _parse(raw, region)
    if national is not None and phonenumbers.is_valid_number(national):
        return phonenumbers.format_number(national, _E164)
    if _DIGITS_ONLY.fullmatch(raw):
        # The PBX's international form without `+` (`380441234567`): accepted when valid.
        international = _parse("+" + raw.translate(_NOT_DIGITS), None)
        if international is not None and phonenumbers.is_valid_number(international):
            return phonenumbers.format_number(international, _E164)
    if national is not None and _is_possible(national):
        return phonenumbers.format_number(national, _E164)
    return None


def format_phone(e164: str) -> str:
    """Return a stored number in the readable international form (`+7 920 111-96-13`)."""
    number = _parse(e164, None) if e164.startswith("+") else None
    if number is None:
        return e164
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


# --- the PBX's spellings ------------------------------------------------------------------


def pbx_digits(e164: str) -> str:
    """A number as the PBX takes it (and mostly sends it): international digits, no `+`."""
    return e164.removeprefix("+")


def lookup_spellings(e164: str) -> list[str]:
    """How the PBX may have written this number in a lookup (the journal keeps it as sent):
    international digits with and without `+`, and national ones, alone or after `8` or `0`.

    Generous: a national `8…` is another country's number elsewhere, so a caller that must
    be sure compares `normalize_phone` of what it found.
    """
    if not e164.startswith("+"):
        return [e164]
    spellings = [pbx_digits(e164), e164]
    try:
        national = phonenumbers.national_significant_number(phonenumbers.parse(e164, None))
    except phonenumbers.NumberParseException:
        return spellings
    return spellings + [national, "8" + national, "0" + national]


def line_spellings(line_number: str) -> list[str]:
    """A dialled line as the PBX sends it, and as an admin may have typed it (with `+`)."""
    line_number = line_number.strip()
    digits = line_number.lstrip("+")
    return list(dict.fromkeys([line_number, digits, f"+{digits}"]))
