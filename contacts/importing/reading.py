"""Reading a contacts CSV file: its header, then its rows, each from the physical lines it
takes, checked cell by cell, in batches for the planning and writing that follow.

Every physical line is accounted for: the header's, a row's (a quoted cell may take several),
or a blank one. A quoted cell that is not closed within MAX_ROW_LINES lines, or at all, or that
takes in lines that look like rows of their own, is an unbalanced quote: its row is reported
with the line it starts on and the lines it took, and the lines after that first one are read
again as rows, so that one stray quote costs one row, never the rest of the file.
"""
import csv
import io
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO, NamedTuple

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from contacts.models import Agent, Contact
from contacts.phones import normalize_phone

HEADER_ALIASES: dict[str, str] = {
    "name": "name",
    "имя": "name",
    "фио": "name",
    "company": "company",
    "компания": "company",
    "организация": "company",
    "phones": "phones",
    "phone": "phones",
    "телефоны": "phones",
    "телефон": "phones",
    "responsible": "responsible",
    "ответственный": "responsible",
    "extension": "responsible",
    "добавочный": "responsible",
    "email": "email",
    "e-mail": "email",
    "почта": "email",
}
REQUIRED_COLUMNS = ("name", "phones")
_FIELDS = ("name", "company", "phones", "responsible", "email")
DELIMITERS = (";", ",")
MAX_ROW_LINES = 10  # physical lines a row may take (a quoted address or list of numbers)
_PHONE_SEPARATORS = re.compile(r"[,;\r\n]+")
_MAX_LENGTH = {
    name: Contact._meta.get_field(name).max_length for name in ("name", "company", "email")
}
_MAX_NAME, _MAX_COMPANY, _MAX_EMAIL = _MAX_LENGTH.values()
_MAX_EXTENSION = Agent._meta.get_field("extension").max_length


class ContactImportError(Exception):
    """The file as a whole cannot be imported (unreadable, undecodable, header missing)."""


class RowError(NamedTuple):
    line: int
    reason: str



class ContactRow(NamedTuple):
    name: str
    company: str
    email: str
    responsible: str
    phones: tuple[str, ...]


def _columns(header: list[str]) -> dict[str, int]:
    """Column positions by field name; unknown columns are left out."""
    columns: dict[str, int] = {}
    for index, title in enumerate(header):
        name = HEADER_ALIASES.get(title.strip().lower())
        if name is None:
            continue
        if name in columns:
            raise ContactImportError(f"The header has two {name!r} columns: {title.strip()!r}.")
        columns[name] = index
    return columns


def _split_header(line: str, delimiters: tuple[str, ...]) -> tuple[str, dict[str, int]]:
    """The delimiter whose split of the header finds more required columns (tie: more often)."""
    splits = [(d, _columns(next(csv.reader([line], delimiter=d)))) for d in delimiters]
    return max(
        splits,
        key=lambda split: (
            sum(name in split[1] for name in REQUIRED_COLUMNS),
            line.count(split[0]),
        ),
    )


class Header(NamedTuple):
    delimiter: str
    columns: dict[str, int]  # positions by field name
    lines: int  # the lines it takes: 2 after Excel's `sep=;` line
    width: int  # how many cells it has


def read_header(text: io.TextIOBase) -> Header:
    """The header, from the file's first lines."""
    line, number = text.readline(), 1
    delimiters = DELIMITERS
    if line.lower().startswith("sep=") and len(line.rstrip("\r\n")) == 5:
        delimiters, line, number = (line[4],), text.readline(), 2
    if not line.strip():
        raise ContactImportError("The file has no header row.")
    if "\x00" in line:
        raise ContactImportError("The file looks like UTF-16: save it as CSV (UTF-8) instead.")
    delimiter, columns = _split_header(line, delimiters)
    missing = [name for name in REQUIRED_COLUMNS if name not in columns]
    if missing:
        raise ContactImportError(
            f"The header row needs the columns {' and '.join(missing)}"
            f" (found: {line.strip()[:200]!r})."
        )
    return Header(delimiter, columns, number, len(next(csv.reader([line], delimiter=delimiter))))


def _phones(cell: str, region: str | None = None) -> tuple[str, ...] | str:
    """The cell's numbers in E.164, or the reason it is bad."""
    if not _PHONE_SEPARATORS.search(cell):  # one number (or none), the usual cell
        raw = cell.strip()
        if not raw:
            return ()
        e164 = normalize_phone(raw, region=region)
        return (e164,) if e164 else f"{raw!r} is not a phone number"
    numbers = []
    for raw in _PHONE_SEPARATORS.split(cell):
        if not raw.strip():
            continue
        e164 = normalize_phone(raw, region=region)
        if e164 is None:
            return f"{raw.strip()!r} is not a phone number"
        numbers.append(e164)
    return tuple(dict.fromkeys(numbers))


def _cell_positions(columns: dict[str, int]) -> tuple[int, ...]:
    """The positions of the name, company, phones, responsible and email cells (a column the
    file lacks: past any row's end, so its cells read as empty)."""
    return tuple(columns.get(name, sys.maxsize) for name in _FIELDS)


def _parse_cells(
    cells: list[str], positions: tuple[int, ...], region: str | None
) -> ContactRow | str:
    """One data row as a ContactRow, or the reason it is bad; the cells' positions are worked
    out once per file (a million rows)."""
    count = len(cells)
    at_name, at_company, at_phones, at_responsible, at_email = positions
    name = cells[at_name].strip() if at_name < count else ""
    company = cells[at_company].strip() if at_company < count else ""
    phones_cell = cells[at_phones].strip() if at_phones < count else ""
    ext = cells[at_responsible].strip() if at_responsible < count else ""
    email = cells[at_email].strip() if at_email < count else ""
    if "\x00" in f"{name}{company}{phones_cell}{ext}{email}":
        return "contains a NUL character"
    phones = _phones(phones_cell, region) if phones_cell else ()
    if isinstance(phones, str):
        return phones
    if not name and not phones:
        return "no name and no phone number"
    if len(name) > _MAX_NAME or len(company) > _MAX_COMPANY or len(email) > _MAX_EMAIL:
        column = next(c for c, v in (("name", name), ("company", company), ("email", email))
                      if len(v) > _MAX_LENGTH[c])
        return f"{column} is longer than {_MAX_LENGTH[column]} characters"
    if ext and not (ext.isascii() and ext.isdigit() and len(ext) <= _MAX_EXTENSION):
        return f"responsible {ext!r} is not an extension (digits only)"
    if email:
        try:
            validate_email(email)
        except ValidationError:
            return f"{email!r} is not an email address"
    return ContactRow(name, company, email, ext, phones)


@dataclass
class LineCount:
    """Every line read so far: the header's, the rows' (the lines each took) and blank ones."""

    header: int = 0
    rows: int = 0
    row_lines: int = 0
    blank_lines: int = 0

    @property
    def lines(self) -> int:
        return self.header + self.row_lines + self.blank_lines


class _TooManyLines(Exception):
    """A row has taken MAX_ROW_LINES lines and is not finished."""


class _Lines:
    """The file's lines for csv.reader, counted, each row's kept until the next row starts, so
    that a broken row's lines after its first can be read again."""

    def __init__(self, text: io.TextIOBase) -> None:
        self._text = text
        self._again: list[str] = []  # lines to read again, the next one last
        self.row: list[str] = []  # the lines of the row being read
        self.at_end = False  # the file ended while the row was being read

    def __iter__(self) -> "_Lines":
        return self

    def __next__(self) -> str:
        if len(self.row) == MAX_ROW_LINES:
            raise _TooManyLines
        if self._again:
            line = self._again.pop()
        else:
            line = self._text.readline()
            if not line:
                self.at_end = True
                raise StopIteration
        self.row.append(line)
        return line

    def start_row(self) -> None:
        self.row.clear()
        self.at_end = False

    def read_again(self) -> None:
        """The row's lines after its first are read again: the row takes one line."""
        self._again.extend(reversed(self.row[1:]))
        del self.row[1:]


def read_rows(
    text: io.TextIOBase, header: Header, count: LineCount
) -> Iterator[ContactRow | RowError]:
    """The file's rows after the header: good ones, and bad ones with their first line and
    reason. `count` counts the lines as they are read."""
    count.header = header.lines
    positions = _cell_positions(header.columns)
    region = settings.PHONE_DEFAULT_REGION
    lines = _Lines(text)
    reader = csv.reader(lines, delimiter=header.delimiter)
    while True:
        lines.start_row()
        first = count.lines + 1
        try:
            cells = next(reader)
            broken = _unbalanced(cells, lines, header)
        except StopIteration:
            return
        except _TooManyLines:
            broken = (
                f"a quoted cell opened on this line is not closed within {MAX_ROW_LINES} lines"
            )
        except csv.Error as error:
            broken = f"not readable as CSV: {error}"
        if broken:
            taken = len(lines.row)
            lines.read_again()
            count.rows += 1
            count.row_lines += 1
            if taken > 1:
                broken += (
                    f" (an unbalanced quote?); the lines after it ({taken - 1}) are read again"
                    " as rows"
                )
            yield RowError(first, broken)
            continue
        taken = len(lines.row)
        if not "".join(cells).strip():
            count.blank_lines += taken
            continue
        count.rows += 1
        count.row_lines += taken
        row = _parse_cells(cells, positions, region)
        if isinstance(row, str):
            if taken > 1:
                row += f" (the row takes lines {first}-{first + taken - 1})"
            yield RowError(first, row)
        else:
            yield row


def _unbalanced(cells: list[str], lines: _Lines, header: Header) -> str:
    """Why a row that took several lines is an unbalanced quote rather than cells that hold
    line breaks; empty if it is not."""
    if lines.at_end:  # csv.reader ends a row at the file's end only inside a quoted cell
        return (
            "a quoted cell opened on this line is never closed: it runs over the"
            f" {_lines(len(lines.row))} to the end of the file"
        )
    if len(lines.row) == 1:
        return ""
    # A line break inside a cell followed by a line with a whole row's delimiters: rows
    # between two stray quotes (in a file of two columns, any comma would look so).
    least = header.width - 1
    if least >= 2:
        for cell in cells:
            if any(part.count(header.delimiter) >= least for part in cell.splitlines()[1:]):
                return (
                    f"a quoted cell opened on this line runs over {_lines(len(lines.row))}"
                    " and takes in lines that look like rows of their own"
                )
    return ""


def _lines(count: int) -> str:
    return "1 line" if count == 1 else f"{count} lines"


class Batch(NamedTuple):
    """A batch of good rows (none when only bad rows came), the bad rows read with them, the
    bytes read so far and the lines counted so far."""

    rows: list[ContactRow]
    errors: list[RowError]
    position: int
    lines: LineCount


def read_batches(
    text: io.TextIOBase, binary: BinaryIO, header: Header, batch_size: int
) -> Iterator[Batch]:
    """The rows after the header, read and checked, in batches of `batch_size` (`binary`:
    the file under `text`, for the bytes read); the last batch (maybe empty) comes when the
    whole file is read."""
    rows: list[ContactRow] = []
    errors: list[RowError] = []
    lines = LineCount()
    for row in read_rows(text, header, lines):
        if isinstance(row, RowError):
            errors.append(row)
            if len(errors) == batch_size:
                yield Batch([], errors, binary.tell(), lines)
                errors = []
        else:
            rows.append(row)
            if len(rows) == batch_size:
                yield Batch(rows, errors, binary.tell(), lines)
                rows, errors = [], []
    yield Batch(rows, errors, binary.tell(), lines)
