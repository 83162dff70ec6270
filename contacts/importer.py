"""Import contacts from a CSV file as Excel writes it (UTF-8 or Windows-1251, `,` or `;`).

The header row names the columns, in any case and with any surrounding spaces; English or
Russian names are accepted:

    name         name, имя, фио
    company      company, компания, организация
    phones       phones, phone, телефоны, телефон   (several numbers: `,` `;` or newline)
    responsible  responsible, ответственный, extension, добавочный
    email        email, e-mail, почта

`name` and `phones` columns are required, the others optional; unknown columns are ignored.
A first line `sep=;` (an Excel hint) sets the delimiter, else the header line decides.

A row whose numbers include one already in the CRM updates that contact (the lowest id if
the numbers belong to several; a row without numbers matches by exact name and company): its
numbers are merged, and non-empty cells replace the stored values (an empty cell keeps what
the CRM has). Otherwise the row creates a contact, named after its company or first number
when the name cell is empty. Blank rows are ignored; bad rows are reported with their line
number and skipped, the other rows still land.
"""
import codecs
import csv
import io
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import BinaryIO, NamedTuple

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone

from calls.models import Agent
from calls.services import ensure_agent
from contacts.models import Contact, ContactPhone
from contacts.phones import format_phone, normalize_phone

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
ENCODINGS = ("utf-8-sig", "cp1251")
DELIMITERS = (";", ",")
BATCH_SIZE = 500  # rows per transaction: short write locks for the webhook beside the import
MAX_LISTED_ERRORS = 1000  # bad rows kept with their reasons; all of them are counted
_CHUNK = 1 << 16
_PHONE_SEPARATORS = re.compile(r"[,;\r\n]+")
_MAX_LENGTH = {
    name: Contact._meta.get_field(name).max_length for name in ("name", "company", "email")
}
_MAX_EXTENSION = Agent._meta.get_field("extension").max_length


class ContactImportError(Exception):
    """The file as a whole cannot be imported (unreadable, undecodable, header missing)."""


class RowError(NamedTuple):
    line: int
    reason: str


@dataclass
class ImportSummary:
    created: int = 0
    updated: int = 0
    skipped: int = 0
    errors: list[RowError] = field(default_factory=list)

    def skip(self, line: int, reason: str) -> None:
        """Count a bad row, keeping its reason while the list is short enough to print."""
        self.skipped += 1
        if len(self.errors) < MAX_LISTED_ERRORS:
            self.errors.append(RowError(line, reason))


@dataclass(frozen=True)
class ContactRow:
    name: str
    company: str
    email: str
    responsible: str
    phones: tuple[str, ...]


def detect_encoding(binary: BinaryIO) -> str:
    """The first of ENCODINGS that decodes the whole file strictly, read in chunks."""
    for encoding in ENCODINGS:
        binary.seek(0)
        decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
        try:
            while chunk := binary.read(_CHUNK):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            continue
        finally:
            binary.seek(0)
        return encoding
    raise ContactImportError("The file is neither UTF-8 nor Windows-1251 text.")


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


def _read_header(text: io.TextIOBase) -> tuple[str, dict[str, int], int]:
    """Delimiter, column positions and the header's line number, from the first lines."""
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
    return delimiter, columns, number


def _phones(cell: str) -> tuple[str, ...] | str:
    """The cell's numbers in E.164, or the reason it is bad."""
    numbers = []
    for raw in _PHONE_SEPARATORS.split(cell):
        if not raw.strip():
            continue
        e164 = normalize_phone(raw)
        if e164 is None:
            return f"{raw.strip()!r} is not a phone number"
        numbers.append(e164)
    return tuple(dict.fromkeys(numbers))


def parse_row(cells: list[str], columns: dict[str, int]) -> ContactRow | str:
    """One data row as a ContactRow, or the reason it is bad."""
    value = {
        name: cells[index].strip() if index < len(cells) else "" for name, index in columns.items()
    }
    if any("\x00" in text for text in value.values()):
        return "contains a NUL character"
    phones = _phones(value.get("phones", ""))
    if isinstance(phones, str):
        return phones
    name, email, ext = value.get("name", ""), value.get("email", ""), value.get("responsible", "")
    if not name and not phones:
        return "no name and no phone number"
    for column, limit in _MAX_LENGTH.items():
        if len(value.get(column, "")) > limit:
            return f"{column} is longer than {limit} characters"
    if ext and not (ext.isascii() and ext.isdigit() and len(ext) <= _MAX_EXTENSION):
        return f"responsible {ext!r} is not an extension (digits only)"
    if email:
        try:
            validate_email(email)
        except ValidationError:
            return f"{email!r} is not an email address"
    return ContactRow(name, value.get("company", ""), email, ext, phones)


def _rows(text: io.TextIOBase, summary: ImportSummary) -> Iterator[ContactRow]:
    """The file's good rows after the header; bad ones go to the summary."""
    delimiter, columns, header_line = _read_header(text)
    reader = csv.reader(text, delimiter=delimiter)
    while True:
        line = header_line + reader.line_num + 1
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            summary.skip(line, f"not readable as CSV: {error}")
            continue
        if not any(cell.strip() for cell in cells):
            continue
        row = parse_row(cells, columns)
        if isinstance(row, str):
            summary.skip(line, row)
        else:
            yield row


# A contact a batch row lands on: (0, id) for a stored contact, (1, n) for the n-th new one,
# so that min() picks the lowest id, as the lookup does.
_Key = tuple[int, int]
_STORED, _NEW = 0, 1
_IN_CHUNK = 900  # numbers per `IN (...)` query, under SQLite's variable limit


@dataclass
class _Draft:
    """A contact as the batch leaves it: stored or new, with the numbers it gains."""

    contact: Contact
    stored_phones: set[str] = field(default_factory=set)
    new_phones: list[str] = field(default_factory=list)
    changed: bool = False

    def merge(self, row: ContactRow, agent: Agent | None) -> None:
        """Apply a row: non-empty cells replace values, numbers are added."""
        contact = self.contact
        for attr, value in (
            ("name", row.name),
            ("company", row.company),
            ("email", row.email),
            ("responsible_id", agent.pk if agent else None),
        ):
            if value and getattr(contact, attr) != value:
                setattr(contact, attr, value)
                self.changed = True
        for number in row.phones:
            if number not in self.stored_phones and number not in self.new_phones:
                self.new_phones.append(number)
                self.changed = True


def _phone_owners(numbers: set[str]) -> dict[str, _Key]:
    """For each stored number among `numbers`, the lowest id of the contacts having it."""
    owners: dict[str, _Key] = {}
    ordered = sorted(numbers)
    for start in range(0, len(ordered), _IN_CHUNK):
        found = ContactPhone.objects.filter(number__in=ordered[start : start + _IN_CHUNK])
        for number, contact_id in found.values_list("number", "contact_id"):
            key = (_STORED, contact_id)
            owners[number] = min(owners.get(number, key), key)
    return owners


def _name_owners(rows: list[ContactRow]) -> dict[tuple[str, str], _Key]:
    """For the rows without numbers, the lowest stored contact id with their name and company."""
    owners: dict[tuple[str, str], _Key] = {}
    for row in rows:
        if not row.phones and (row.name, row.company) not in owners:
            found = Contact.objects.filter(name=row.name, company=row.company).order_by("id")
            contact_id = found.values_list("id", flat=True).first()
            if contact_id is not None:
                owners[row.name, row.company] = (_STORED, contact_id)
    return owners


def _targets(rows: list[ContactRow]) -> list[_Key]:
    """The contact each row lands on, as if the rows were saved one by one."""
    phone_owners = _phone_owners({number for row in rows for number in row.phones})
    name_owners = _name_owners(rows)
    targets: list[_Key] = []
    new = 0
    for row in rows:
        if row.phones:
            owners = (phone_owners[number] for number in row.phones if number in phone_owners)
            key = min(owners, default=None)
        else:
            key = name_owners.get((row.name, row.company))
        if key is None:
            key, new = (_NEW, new), new + 1
            name_owners.setdefault((row.name, row.company), key)
        for number in row.phones:
            phone_owners[number] = min(phone_owners.get(number, key), key)
        targets.append(key)
    return targets


def _stored_drafts(ids: set[int]) -> dict[_Key, _Draft]:
    """Drafts of the stored contacts with these ids, with their numbers."""
    drafts = {
        (_STORED, pk): _Draft(contact=contact)
        for pk, contact in Contact.objects.in_bulk(ids).items()
    }
    phones = ContactPhone.objects.filter(contact_id__in=ids)
    for contact_id, number in phones.values_list("contact_id", "number"):
        drafts[_STORED, contact_id].stored_phones.add(number)
    return drafts


def _new_draft(row: ContactRow) -> _Draft:
    name = row.name or row.company or format_phone(row.phones[0])
    return _Draft(contact=Contact(name=name))


def save_batch(rows: list[ContactRow], agents: dict[str, Agent | None]) -> ImportSummary:
    """Save rows in one transaction with a few bulk queries; the counts of created and updated."""
    summary = ImportSummary()
    with transaction.atomic():
        for row in rows:
            if row.responsible not in agents:
                agents[row.responsible] = ensure_agent(row.responsible)
        targets = _targets(rows)
        drafts = _stored_drafts({pk for kind, pk in targets if kind == _STORED})
        for row, key in zip(rows, targets, strict=True):
            if key not in drafts:
                drafts[key] = _new_draft(row)
                summary.created += 1
            else:
                summary.updated += 1
            drafts[key].merge(row, agents[row.responsible])
        Contact.objects.bulk_create([d.contact for d in drafts.values() if d.contact.pk is None])
        now = timezone.now()
        changed = [d.contact for k, d in drafts.items() if k[0] == _STORED and d.changed]
        for contact in changed:
            contact.updated_at = now
        Contact.objects.bulk_update(
            changed, ["name", "company", "email", "responsible", "updated_at"]
        )
        ContactPhone.objects.bulk_create(
            [
                ContactPhone(contact=draft.contact, number=number)
                for draft in drafts.values()
                for number in draft.new_phones
            ],
            ignore_conflicts=True,
        )
    return summary


def _batches(rows: Iterator[ContactRow], size: int) -> Iterator[list[ContactRow]]:
    batch: list[ContactRow] = []
    for row in rows:
        batch.append(row)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def import_contacts(
    binary: BinaryIO,
    *,
    batch_size: int = BATCH_SIZE,
    progress: Callable[[int, int], None] | None = None,
) -> ImportSummary:
    """Import contacts from a seekable binary CSV file, streamed in batched transactions.

    `progress`, if given, is called after each batch with the bytes read so far (as far as
    the read-ahead buffer) and the rows saved so far.
    """
    if binary.read(4) == b"PK\x03\x04":
        raise ContactImportError("This is an Excel workbook, not CSV: save it as CSV first.")
    encoding = detect_encoding(binary)
    text = io.TextIOWrapper(binary, encoding=encoding, newline="")
    summary = ImportSummary()
    agents: dict[str, Agent | None] = {"": None}
    try:
        for batch in _batches(_rows(text, summary), batch_size):
            saved = save_batch(batch, agents)
            summary.created += saved.created
            summary.updated += saved.updated
            if progress is not None:
                progress(binary.tell(), summary.created + summary.updated)
    finally:
        text.detach()  # the caller owns the file
    return summary
