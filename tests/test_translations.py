"""The Russian interface: locale/ru/LC_MESSAGES/django.po translates every string of the code,
and the compiled .mo says the same."""
import re
import shutil
from pathlib import Path

import polib
import pytest
from django.core.management import call_command
from django.test import override_settings
from django.utils import translation

BASE_DIR = Path(__file__).resolve().parent.parent
PO_FILE = BASE_DIR / "locale" / "ru" / "LC_MESSAGES" / "django.po"
ENTRIES = [entry for entry in polib.pofile(str(PO_FILE)) if not entry.obsolete]
PLURALS = [entry for entry in ENTRIES if entry.msgid_plural]
# The folders the Makefile's `messages` target tells makemessages to leave out.
MAKEMESSAGES_IGNORES = [".venv", "tests", "benchmarks"]
# %(name)s, %s, %d, %% and {name}, {}: what the code fills in, or a literal percent sign.
PLACEHOLDER = re.compile(r"%(?:\([^)]*\))?[-#0 +]*\d*(?:\.\d+)?[a-z%]|\{[^{}]*\}", re.I)


def label(entry: polib.POEntry) -> str:
    """How a failure names an entry: its msgid, after its context if it has one."""
    return f"{entry.msgctxt}|{entry.msgid}" if entry.msgctxt else entry.msgid


def forms(entry: polib.POEntry) -> list[str]:
    """An entry's Russian text: its msgstr, or its plural forms in order."""
    if entry.msgid_plural:
        return [entry.msgstr_plural[n] for n in sorted(entry.msgstr_plural)]
    return [entry.msgstr]


def test_the_catalogue_has_no_fuzzy_entries():
    """makemessages marks its guesses fuzzy, and msgfmt leaves them out of the .mo: they would
    show in English. Check the guess in django.po and delete the `#, fuzzy` flag."""
    fuzzy = [label(entry) for entry in ENTRIES if "fuzzy" in entry.flags]
    assert fuzzy == [], "check these in django.po and drop their fuzzy flag"


def test_every_string_is_translated():
    """makemessages adds a new string with an empty msgstr: write its Russian in django.po."""
    untranslated = [label(entry) for entry in ENTRIES if "" in forms(entry)]
    assert untranslated == [], "translate these in django.po"


def test_the_compiled_catalogue_says_what_the_po_file_says():
    """django.mo is compiled from the current django.po (`make messages`)."""
    wrong = []
    with translation.override("ru"):
        for entry in ENTRIES:
            if entry.msgid_plural:
                continue
            if entry.msgctxt:
                text = translation.pgettext(entry.msgctxt, entry.msgid)
            else:
                text = translation.gettext(entry.msgid)
            if text != entry.msgstr:
                wrong.append((label(entry), text, entry.msgstr))
    assert wrong == [], "django.mo is older than django.po: `make messages` compiles it"


@pytest.mark.parametrize("entry", PLURALS, ids=label)
def test_plural_strings_take_the_russian_forms(entry):
    """1 and 21 take the first form (день), 2 the second (дня), 5 the third (дней)."""
    one, few, many, *_ = forms(entry)
    with translation.override("ru"):
        if entry.msgctxt:
            texts = [translation.npgettext(entry.msgctxt, entry.msgid, entry.msgid_plural, n)
                     for n in (1, 2, 5, 21)]
        else:
            texts = [translation.ngettext(entry.msgid, entry.msgid_plural, n)
                     for n in (1, 2, 5, 21)]
    assert texts == [one, few, many, one], "`make messages` compiles django.po"


def test_translations_keep_the_placeholders():
    """A msgstr fills in the same values as its msgid: a missing or misspelt one would be a
    KeyError, or a value missing from the Russian text."""
    wrong = []
    for entry in ENTRIES:
        wanted = set(PLACEHOLDER.findall(entry.msgid + entry.msgid_plural))
        wrong += [(label(entry), text) for text in forms(entry)
                  if set(PLACEHOLDER.findall(text)) != wanted]
    assert wrong == [], "these msgstrs must fill in their msgid's placeholders, no others"


def copy_sources(directory: str, names: list[str]) -> set[str]:
    """What copytree leaves out: hidden and ignored folders, files makemessages does not read."""
    return {
        name for name in names
        if name.startswith(".") or name in MAKEMESSAGES_IGNORES or name == "__pycache__"
        or (Path(directory, name).is_file()
            and not name.endswith((".py", ".html", ".txt", ".po")))
    }


def test_the_catalogue_has_every_string_of_the_code(tmp_path, monkeypatch):
    """Adding a string to the code without `make messages` leaves it out of django.po, and
    Russian users would read it in English."""
    if not all(shutil.which(tool) for tool in ("xgettext", "msguniq", "msgmerge")):
        pytest.skip("makemessages needs GNU gettext (xgettext): `apt-get install gettext`")
    # makemessages writes the templates it reads as .py files beside them, and django.po:
    # it runs on a copy.
    project = tmp_path / "project"
    shutil.copytree(BASE_DIR, project, ignore=copy_sources)
    monkeypatch.chdir(project)
    with override_settings(LOCALE_PATHS=[project / "locale"]):
        call_command("makemessages", locale=["ru"], ignore_patterns=MAKEMESSAGES_IGNORES,
                     verbosity=0)

    current = polib.pofile(str(project / PO_FILE.relative_to(BASE_DIR)))
    committed = {(entry.msgctxt, entry.msgid) for entry in ENTRIES}
    new = [label(entry) for entry in current
           if not entry.obsolete and (entry.msgctxt, entry.msgid) not in committed]
    assert new == [], "`make messages`, then translate these in django.po"
