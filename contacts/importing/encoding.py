"""The one encoding a contacts CSV file is read in, decided on the whole file before a row is
written.

UTF-8 (with or without a BOM) when the whole file is strict UTF-8. Otherwise an 8-bit Cyrillic
encoding (Windows-1251, KOI8-R, CP866), only when the whole file decodes in it, reads as Russian
text in it, and reads much better in it than in the others. Any of these decodes nearly any
bytes, so "reads as text" is measured: how likely the file's non-ASCII bytes are as Russian
letters (their frequencies in Russian text), whether they are letters or usual punctuation at
all, and whether they stand in words of their own rather than inside Latin words. A file that is
UTF-8 but for a few broken bytes, or too short to tell, stops with a message naming the line and
the `--encoding` to pass.

Each pass reads the file in blocks, so deciding costs no memory; only a file that is not UTF-8
is read a second time.
"""
import codecs
import io
import math
from collections import Counter
from dataclasses import dataclass, field
from typing import BinaryIO, NamedTuple

UTF8 = "utf-8-sig"  # strict UTF-8 that drops a leading BOM
CYRILLIC_8BIT = ("cp1251", "koi8_r", "cp866")  # tried, in this order on a tie, when not UTF-8
ENCODING_NAMES = {UTF8: "UTF-8", "cp1251": "Windows-1251", "koi8-r": "KOI8-R", "cp866": "CP866"}
_BLOCK = 1 << 16

# Russian letter frequencies (per cent, of the National Corpus); a Ukrainian or Belarusian letter
# counts as a rare one. How likely each non-ASCII character is in a Russian contacts file.
_LETTER_PERCENT = dict(zip(
    "оеаинтсрвлкмдпуяыьгзбчйхжшюцщэфъё",
    (10.97, 8.45, 8.01, 7.35, 6.70, 6.26, 5.47, 4.73, 4.54, 4.40, 3.49, 3.21, 2.98, 2.81, 2.62,
     2.01, 1.90, 1.74, 1.70, 1.65, 1.59, 1.44, 1.21, 0.97, 0.94, 0.73, 0.64, 0.48, 0.36, 0.32,
     0.26, 0.04, 0.20),
    strict=True,
))
_LOG_P = {
    **{c: math.log(0.97 * p / sum(_LETTER_PERCENT.values())) for c, p in _LETTER_PERCENT.items()},
    **dict.fromkeys("іїєґў", math.log(0.002)),
    **dict.fromkeys("«»—–№“”„‘’…•·\xa0©®°±§€", math.log(0.001)),  # punctuation, not box drawing
}
_LOG_P_OTHER = math.log(1e-6)  # box drawing, Latin-1 letters, Serbian letters...
# A decoding reads as text when nearly all its non-ASCII characters are Russian letters or usual
# punctuation, likely ones on average (measured on files of Russian names: the right decoding
# scores -2.8 to -3.7 a character, a wrong one -3.2 to -13), and few of them stand beside a
# Latin letter (as Latin-1 accents do).
_MIN_TEXT_SHARE = 0.95
_MIN_MEAN_LOG_P = -4.0
_MAX_BESIDE_LATIN_SHARE = 0.1
# ... and reads better than in any other encoding by this much (a likelihood ratio of e^10). A
# row or two is often too little (measured on files of Russian names: for one name and surname
# a margin of 0.6 to 16, from three rows up 17 and more; a wrong decoding ahead by up to 4; with
# no margin at all, 1.5% of one-word files were read wrong, with 5 none of 3000).
_MIN_MARGIN = 10.0
_ASCII = bytes(range(128))
# Bytes by class, to count pairs with bytes.count: a Latin letter, a non-ASCII byte, the rest.
_CLASSES = bytes(
    ord("a") if chr(b).isascii() and chr(b).isalpha() else ord("h") if b >= 0x80 else ord(" ")
    for b in range(256)
)


class EncodingError(Exception):
    """The file's encoding cannot be decided, or it does not decode in the one given."""


class _BadByte(NamedTuple):
    line: int
    byte: int


def choose_encoding(binary: BinaryIO, encoding: str | None = None) -> str:
    """The encoding to read the whole seekable file in: `encoding` if given (the file must
    decode in it), else as the module says; EncodingError when it cannot be decided."""
    start = binary.read(2)
    binary.seek(0)
    if encoding is None and start in (b"\xff\xfe", b"\xfe\xff"):
        raise EncodingError("The file looks like UTF-16: save it as CSV (UTF-8) instead.")
    if encoding is not None:
        return _given(binary, encoding)
    bad = _first_bad_byte(binary, UTF8)
    if bad is None:
        return UTF8
    evidence = _Evidence.of(binary)
    if evidence.utf8_characters >= evidence.utf8_errors:
        raise EncodingError(
            f"line {bad.line}: byte 0x{bad.byte:02X} is not UTF-8, though the rest of the file is"
            f" ({evidence.utf8_errors} broken in {evidence.utf8_characters} non-ASCII"
            " characters). Nothing was imported: fix the file, or pass its real encoding with"
            " --encoding."
        )
    return _cyrillic_8bit(evidence, bad)


def describe(encoding: str) -> str:
    """The encoding's name for people: Windows-1251 rather than cp1251."""
    name = codecs.lookup(encoding).name
    return ENCODING_NAMES.get(name, name)


def _given(binary: BinaryIO, encoding: str) -> str:
    """The codec for the `--encoding` given, once the whole file decodes in it."""
    try:
        name = codecs.lookup(encoding).name
        io.TextIOWrapper(io.BytesIO(), encoding=name)  # refuses codecs that are not text ones
    except LookupError:
        raise EncodingError(
            f"Unknown text encoding {encoding!r}: pass e.g. --encoding utf-8, cp1251 or koi8-r."
        ) from None
    if name == "utf-8":
        name = UTF8  # a BOM is not part of the first column's name
    bad = _first_bad_byte(binary, name)
    if bad is not None:
        raise EncodingError(
            f"line {bad.line}: byte 0x{bad.byte:02X} is not {describe(name)}: nothing was"
            " imported. Fix that line, or pass the file's real encoding with --encoding."
        )
    return name


def _first_bad_byte(binary: BinaryIO, encoding: str) -> _BadByte | None:
    """The line and value of the first byte the whole file does not strictly decode at."""
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    lines_before = 0
    try:
        while True:
            block = binary.read(_BLOCK)
            try:
                decoder.decode(block, final=not block)
            except UnicodeDecodeError as error:
                # error.object is this block after what the decoder kept of the one before:
                # part of a character, never a newline.
                line = lines_before + error.object.count(b"\n", 0, error.start) + 1
                return _BadByte(line, error.object[error.start])
            if not block:
                return None
            lines_before += block.count(b"\n")
    finally:
        binary.seek(0)


@dataclass
class _Evidence:
    """What a file that is not strict UTF-8 says about its encoding, read once in blocks."""

    utf8_characters: int = 0  # non-ASCII characters that are good UTF-8
    utf8_errors: int = 0  # bytes (or broken sequences) that are not
    beside_latin: int = 0  # non-ASCII bytes next to a Latin letter
    high_bytes: Counter[int] = field(default_factory=Counter)  # non-ASCII bytes by value

    @classmethod
    def of(cls, binary: BinaryIO) -> "_Evidence":
        evidence = cls()
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        try:
            while block := binary.read(_BLOCK):
                text = decoder.decode(block)
                errors = text.count("\ufffd")
                evidence.utf8_errors += errors
                evidence.utf8_characters += len(text) - len(text.encode("ascii", "ignore")) - errors
                high = block.translate(None, _ASCII)
                for byte in set(high):  # a few dozen values, counted in C
                    evidence.high_bytes[byte] += high.count(byte)
                classes = block.translate(_CLASSES)
                evidence.beside_latin += classes.count(b"ah") + classes.count(b"ha")
            evidence.utf8_errors += decoder.decode(b"", final=True).count("\ufffd")
        finally:
            binary.seek(0)
        return evidence


class _Reading(NamedTuple):
    """How a file's non-ASCII bytes read in an 8-bit encoding."""

    encoding: str
    log_p: float  # of all of them, as Russian text
    mean_log_p: float
    text_share: float  # the share that are Russian letters or usual punctuation


def _read_as(evidence: _Evidence, encoding: str) -> _Reading | None:
    """The file's non-ASCII bytes read in `encoding`; None if one of them does not decode."""
    log_p = 0.0
    text = 0
    for byte, count in evidence.high_bytes.items():
        try:
            character = bytes([byte]).decode(encoding).lower()
        except UnicodeDecodeError:
            return None
        likelihood = _LOG_P.get(character)
        if likelihood is not None:
            text += count
        log_p += count * (_LOG_P_OTHER if likelihood is None else likelihood)
    total = evidence.high_bytes.total()
    return _Reading(encoding, log_p, log_p / total, text / total)


def _cyrillic_8bit(evidence: _Evidence, bad: _BadByte) -> str:
    """The 8-bit Cyrillic encoding the file reads as text in, clearly best; else EncodingError."""
    readings = [r for e in CYRILLIC_8BIT if (r := _read_as(evidence, e)) is not None]
    readings.sort(key=lambda reading: -reading.log_p)
    best = readings[0] if readings else None
    beside_latin = evidence.beside_latin / evidence.high_bytes.total()
    if (
        best is None
        or best.text_share < _MIN_TEXT_SHARE
        or best.mean_log_p < _MIN_MEAN_LOG_P
        or beside_latin > _MAX_BESIDE_LATIN_SHARE
    ):
        names = ", ".join(describe(e) for e in CYRILLIC_8BIT)
        why = f"it does not read as Russian text in {names} either"
    elif len(readings) > 1 and best.log_p - readings[1].log_p < _MIN_MARGIN:
        why = (
            f"it has too little non-ASCII text to tell {describe(best.encoding)} from"
            f" {describe(readings[1].encoding)}"
        )
    else:
        return best.encoding
    raise EncodingError(
        f"Cannot tell the file's encoding: it is not UTF-8 (line {bad.line}, byte"
        f" 0x{bad.byte:02X}), and {why}. Nothing was imported: pass the encoding with"
        " --encoding, e.g. --encoding cp1251 (Excel on Windows), --encoding koi8-r or"
        " --encoding utf-8."
    )
