"""Fill locale/ru/LC_MESSAGES/django.po from ru_translations.py; fail on an untranslated string."""
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from ru_translations import RU  # noqa: E402

PO = Path(__file__).parent / "ru" / "LC_MESSAGES" / "django.po"
ENTRY = re.compile(r'^msgid ((?:".*"\n)+)msgstr ((?:".*"\n)+)', re.M)
# A plural entry: msgid, msgid_plural, then msgstr[0..3] (Russian has four forms).
PLURAL = re.compile(
    r'^msgid ((?:".*"\n)+)msgid_plural ((?:".*"\n)+)((?:msgstr\[\d\] (?:".*"\n)+)+)', re.M
)


def unquote(block: str) -> str:
    return "".join(
        line[1:-1].replace('\\"', '"').replace("\\n", "\n") for line in block.splitlines()
    )


def quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"\n'


def unfuzzy(text: str) -> str:
    """Drop makemessages' guesses: every msgstr comes from RU, and msgfmt skips fuzzy ones."""
    lines = []
    for line in text.splitlines(keepends=True):
        if line.startswith("#| "):  # the previous msgid a fuzzy guess was made from
            continue
        if line.startswith("#, "):
            flags = [flag.strip() for flag in line[3:].split(",") if flag.strip() != "fuzzy"]
            if not flags:
                continue
            line = "#, " + ", ".join(flags) + "\n"
        lines.append(line)
    return "".join(lines)


def main() -> int:
    text = unfuzzy(PO.read_text(encoding="utf-8"))
    missing = []

    def fill(match: re.Match) -> str:
        msgid = unquote(match.group(1))
        if not msgid:
            return match.group(0)
        if msgid not in RU:
            missing.append(msgid)
            return match.group(0)
        return f"msgid {match.group(1)}msgstr {quote(RU[msgid])}"

    def fill_plural(match: re.Match) -> str:
        msgid = unquote(match.group(1))
        forms = RU.get(msgid)
        if not isinstance(forms, tuple) or len(forms) != 4:
            missing.append(f"{msgid} (plural: four forms wanted)")
            return match.group(0)
        translated = "".join(f"msgstr[{n}] {quote(form)}" for n, form in enumerate(forms))
        return f"msgid {match.group(1)}msgid_plural {match.group(2)}{translated}"

    text = ENTRY.sub(fill, text)
    text = PLURAL.sub(fill_plural, text)
    text = text.replace('"Language: \\n"', '"Language: ru\\n"')
    PO.write_text(text, encoding="utf-8")
    for msgid in missing:
        print(f"untranslated: {msgid!r}", file=sys.stderr)
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
