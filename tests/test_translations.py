"""The Russian interface: every string of the catalogue reaches Russian users, compiled."""
import sys
from pathlib import Path

import pytest
from django.utils import translation

LOCALE = Path(__file__).resolve().parent.parent / "locale"
sys.path.insert(0, str(LOCALE))
from ru_translations import RU  # noqa: E402

SINGULAR = {msgid: text for msgid, text in RU.items() if isinstance(text, str)}
PLURAL = {msgid: forms for msgid, forms in RU.items() if isinstance(forms, tuple)}


def test_the_catalogue_has_no_fuzzy_entries():
    """msgfmt leaves fuzzy entries out of the .mo: they would show in English."""
    po = (LOCALE / "ru" / "LC_MESSAGES" / "django.po").read_text(encoding="utf-8")
    assert "fuzzy" not in po


@pytest.mark.parametrize("msgid", sorted(SINGULAR))
def test_every_string_is_russian_for_russian_users(msgid):
    with translation.override("ru"):
        assert translation.gettext(msgid) == SINGULAR[msgid]


@pytest.mark.parametrize("msgid", sorted(PLURAL))
def test_plural_strings_take_the_russian_forms(msgid):
    one, few, many, _ = PLURAL[msgid]
    with translation.override("ru"):
        assert [translation.ngettext(msgid, msgid, n) for n in (1, 3, 5)] == [one, few, many]
