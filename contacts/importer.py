"""Import contacts from a CSV file as Excel writes it (UTF-8 or Windows-1251, `,` or `;`):
reading the file (contacts.import_encoding, contacts.import_reading) and saving its rows.

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
number and skipped, the other rows still land. Each data row is counted once: created,
updated, unchanged or skipped.

A million rows take well under a minute on two cores, in little memory: the file is read
and checked in a child process while this one saves batches of rows, each in a transaction,
with a few bulk queries (PostgreSQL: COPY) and no model instances. On PostgreSQL, threads
with connections of their own write batches while the next ones are planned; what they have
not written yet is laid over what the database shows, so that each row lands exactly as if
the rows were saved one by one.
"""
import io
import multiprocessing
import os
import threading
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from queue import Empty, SimpleQueue
from typing import BinaryIO, NamedTuple

from django.db import connection, transaction
from django.db.backends.utils import CursorWrapper
from django.db.models import Field, Model
from django.utils import timezone

from contacts.agents import ensure_agent
from contacts.import_encoding import EncodingError, choose_encoding, describe
from contacts.import_reading import (
    ContactImportError,
    ContactRow,
    Header,
    LineCount,
    RowError,
    read_header,
    read_rows,
)
from contacts.models import Contact, ContactPhone
from contacts.phones import format_phone

BATCH_SIZE = 500  # rows per transaction: short write locks for the webhook beside the import
# PostgreSQL locks rows, not the database: bigger batches, fewer round trips and commits.
POSTGRESQL_BATCH_SIZE = 5000
WRITERS = 2  # PostgreSQL: batches written at once, by threads with connections of their own
WRITE_AHEAD = 3  # PostgreSQL: batches planned and not yet written, at most
# Files this big are read and checked in a child process while this one writes (2 cores).
READ_AHEAD_MIN_BYTES = 1 << 20
# Beside PostgreSQL, whose writing is the longer half, the reader yields the CPU to it.
READER_NICENESS = 10
READ_AHEAD_BATCHES = 8  # batches the reader may be ahead: the memory an import holds
MAX_LISTED_ERRORS = 1000  # bad rows kept with their reasons; all of them are counted

__all__ = ["ContactImportError", "ImportSummary", "RowError", "import_contacts"]


@dataclass
class ImportSummary:
    """What an import did with each data row (created + updated + unchanged + skipped = rows),
    and the file's lines: the header's, the rows', blank ones."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0  # rows matching a contact that already had all they hold
    skipped: int = 0
    errors: list[RowError] = field(default_factory=list)
    encoding: str = ""  # as people name it: UTF-8, Windows-1251...
    lines: LineCount = field(default_factory=LineCount)

    def skip(self, line: int, reason: str) -> None:
        """Count a bad row, keeping its reason while the list is short enough to print."""
        self.skipped += 1
        if len(self.errors) < MAX_LISTED_ERRORS:
            self.errors.append(RowError(line, reason))


class _Parsed(NamedTuple):
    """What reading hands to writing: a batch of good rows (none when only bad rows came),
    the bad rows before them, the bytes read so far and the lines counted so far."""

    rows: list[ContactRow]
    errors: list[RowError]
    position: int
    lines: LineCount


def _parsed_batches(
    text: io.TextIOBase, binary: BinaryIO, header: Header, batch_size: int
) -> Iterator[_Parsed]:
    """The file's rows after the header, read and checked, in batches of `batch_size`; the
    last batch (maybe empty) comes when the whole file is read."""
    rows: list[ContactRow] = []
    errors: list[RowError] = []
    lines = LineCount()
    for row in read_rows(text, header, lines):
        if isinstance(row, RowError):
            errors.append(row)
            if len(errors) == batch_size:
                yield _Parsed([], errors, binary.tell(), lines)
                errors = []
        else:
            rows.append(row)
            if len(rows) == batch_size:
                yield _Parsed(rows, errors, binary.tell(), lines)
                rows, errors = [], []
    yield _Parsed(rows, errors, binary.tell(), lines)


class _ReadAhead:
    """`batches`, read and checked in a child process (a fork: it has the open file) a few
    batches ahead while this one saves them: reading takes about half an import's time.

    The child starts here, before any thread does (a fork copies only the calling thread)."""

    def __init__(self, batches: Iterator[_Parsed], *, niceness: int = 0) -> None:
        context = multiprocessing.get_context("fork")
        self._queue = context.Queue(maxsize=READ_AHEAD_BATCHES)
        self._reader = context.Process(
            target=_reader, args=(batches, self._queue, niceness), daemon=True
        )
        self._reader.start()

    def __iter__(self) -> Iterator[_Parsed]:
        while (parsed := _receive(self._queue, self._reader)) is not None:
            yield parsed

    def close(self) -> None:
        if self._reader.is_alive():
            self._reader.terminate()  # the saving failed or stopped: no more rows are wanted
        self._reader.join()
        self._queue.close()


def _reader(batches: Iterator[_Parsed], queue: multiprocessing.Queue, niceness: int) -> None:
    """The child process: every batch, then None (or the exception that stopped it)."""
    os.nice(niceness)
    try:
        for parsed in batches:
            queue.put(parsed)
    except Exception as error:  # noqa: BLE001 - handed to the parent, which raises it
        queue.put(error)
    else:
        queue.put(None)


def _receive(queue: multiprocessing.Queue, reader: multiprocessing.Process) -> _Parsed | None:
    """The reader's next batch, or None at the end; its exception is raised here."""
    while True:
        try:
            parsed = queue.get(timeout=1)
            break
        except Empty:
            if not reader.is_alive() and queue.empty():
                raise ContactImportError(
                    f"Reading the file stopped unexpectedly (exit code {reader.exitcode})."
                ) from None
    if isinstance(parsed, Exception):
        raise parsed
    return parsed


# --- Saving: a batch is read (what the database has), planned (pure) and written -------------

# A contact a batch row lands on: (0, id) for a stored contact, (1, n) for the n-th new one,
# so that min() picks the lowest id, as the lookup does.
_Key = tuple[int, int]
_STORED, _NEW = 0, 1
_IN_CHUNK = 900  # numbers per `IN (...)` query, under SQLite's variable limit
# Columns an import fills in; the other Contact fields get their defaults.
_CONTACT_VALUES = ("name", "company", "email", "responsible", "created_at", "updated_at")


@dataclass(slots=True)
class _Draft:
    """A contact as a batch leaves it: stored (with its id) or new, with the numbers it gains.

    Plain values rather than a Contact: a million model instances cost more than the import.
    """

    id: int | None
    name: str
    company: str = ""
    email: str = ""
    responsible_id: int | None = None
    stored_phones: frozenset[str] = frozenset()
    new_phones: list[str] = field(default_factory=list)
    changed: bool = False

    def merge(self, row: ContactRow, agent_id: int | None) -> bool:
        """Apply a row: non-empty cells replace values, numbers are added. Whether it changed
        anything."""
        changed = False
        if row.name and self.name != row.name:
            self.name, changed = row.name, True
        if row.company and self.company != row.company:
            self.company, changed = row.company, True
        if row.email and self.email != row.email:
            self.email, changed = row.email, True
        if agent_id and self.responsible_id != agent_id:
            self.responsible_id, changed = agent_id, True
        for number in row.phones:
            if number not in self.stored_phones and number not in self.new_phones:
                self.new_phones.append(number)
                changed = True
        self.changed = self.changed or changed
        return changed

    def saved(self) -> "_Draft":
        """The contact as stored once this draft is written, to draft on from."""
        phones = self.stored_phones.union(self.new_phones)
        return _Draft(self.id, self.name, self.company, self.email, self.responsible_id, phones)


@dataclass
class _Stored:
    """What the database has for a batch: the lowest contact id having each of its numbers,
    and having the name and company of each row without numbers; those contacts."""

    phone_owners: dict[str, _Key]
    name_owners: dict[tuple[str, str], _Key]
    contacts: dict[int, _Draft]


@dataclass
class _Counts:
    """Rows that created a contact, changed one, or matched one and changed nothing."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0

    def add(self, *, created: bool, changed: bool) -> None:
        if created:
            self.created += 1
        elif changed:
            self.updated += 1
        else:
            self.unchanged += 1

    def add_up(self, other: "_Counts") -> None:
        self.created += other.created
        self.updated += other.updated
        self.unchanged += other.unchanged


@dataclass
class _Plan:
    """A batch's writes: the contacts it creates and the stored ones it changes."""

    new: list[_Draft]
    changed: list[_Draft]
    counts: "_Counts"
    rows: int  # how many of the batch's rows it covers: the others go to a batch of their own

    @cached_property
    def drafts(self) -> dict[int, _Draft]:
        """The contacts the batch writes, by id (once the new ones have theirs)."""
        return {draft.id: draft for draft in (*self.changed, *self.new)}

    @cached_property
    def owners(self) -> dict[str, int]:
        """The numbers the batch gives contacts, with the lowest id among them."""
        owners: dict[str, int] = {}
        for draft in (*self.changed, *self.new):
            for number in draft.new_phones:
                owners[number] = min(owners.get(number, draft.id), draft.id)
        return owners


def _table(model: type[Model]) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def _columns_sql(model: type[Model], *names: str) -> str:
    """The quoted columns of these fields, comma-separated."""
    quote = connection.ops.quote_name
    return ", ".join(quote(model._meta.get_field(name).column) for name in names)


def _select_in(
    cursor: CursorWrapper, model: type[Model], names: tuple[str, ...], key: str, values: list
) -> Iterator[tuple]:
    """`SELECT names FROM model WHERE key IN values`, a few hundred values a query (PostgreSQL:
    all at once, the values in one string, not as many parameters, which cost ~2 µs each)."""
    if not values:
        return
    select = f"SELECT {_columns_sql(model, *names)} FROM {_table(model)}"
    column = _columns_sql(model, key)
    if connection.vendor == "postgresql":
        array = f"string_to_array(%s, ',')::{model._meta.get_field(key).cast_db_type(connection)}[]"
        cursor.execute(f"{select} WHERE {column} = ANY({array})", [",".join(map(str, values))])
        yield from cursor.fetchall()
        return
    for start in range(0, len(values), _IN_CHUNK):
        chunk = values[start : start + _IN_CHUNK]
        cursor.execute(f"{select} WHERE {column} IN ({', '.join(['%s'] * len(chunk))})", chunk)
        yield from cursor.fetchall()


def _read(cursor: CursorWrapper, rows: list[ContactRow], agents: dict[str, int | None]) -> _Stored:
    """What the database has for a batch; the agents of its rows are created as needed."""
    for row in rows:
        if row.responsible not in agents:
            agent = ensure_agent(row.responsible)
            agents[row.responsible] = agent.pk if agent else None
    numbers = sorted({number for row in rows for number in row.phones})
    owned = list(_select_in(cursor, ContactPhone, ("number", "contact"), "number", numbers))
    name_owners: dict[tuple[str, str], _Key] = {}
    for row in rows:
        if not row.phones and (row.name, row.company) not in name_owners:
            found = Contact.objects.filter(name=row.name, company=row.company).order_by("id")
            contact_id = found.values_list("id", flat=True).first()
            if contact_id is not None:
                name_owners[row.name, row.company] = (_STORED, contact_id)
    ids = sorted({pk for _, pk in owned} | {pk for _, pk in name_owners.values()})
    contacts = {
        pk: _Draft(pk, name, company, email, responsible_id)
        for pk, name, company, email, responsible_id in _select_in(
            cursor, Contact, ("id", "name", "company", "email", "responsible"), "id", ids
        )
    }
    phones: dict[int, set[str]] = {}
    for contact_id, number in _select_in(
        cursor, ContactPhone, ("contact", "number"), "contact", ids
    ):
        phones.setdefault(contact_id, set()).add(number)
    for pk, contact in contacts.items():
        contact.stored_phones = frozenset(phones.get(pk, ()))
    # A contact deleted meanwhile (in the admin, say) owns nothing any more.
    phone_owners: dict[str, _Key] = {}
    for number, contact_id in owned:
        if contact_id in contacts:
            key = (_STORED, contact_id)
            phone_owners[number] = min(phone_owners.get(number, key), key)
    name_owners = {pair: key for pair, key in name_owners.items() if key[1] in contacts}
    return _Stored(phone_owners, name_owners, contacts)


def _plan(
    rows: list[ContactRow],
    stored: _Stored,
    agents: dict[str, int | None],
    in_flight: Sequence[_Plan] = (),
) -> _Plan:
    """Where each row lands, as if the rows were saved one by one, and what that changes.

    `in_flight`: batches planned before, maybe not written yet, which `stored` may not show.
    """
    phone_owners, name_owners, contacts = stored.phone_owners, stored.name_owners, stored.contacts
    numbers = {number for row in rows for number in row.phones} if in_flight else set()
    for previous in in_flight:
        for number in numbers & previous.owners.keys():
            key = (_STORED, previous.owners[number])
            phone_owners[number] = min(phone_owners.get(number, key), key)
    drafts: dict[_Key, _Draft] = {}
    new: list[_Draft] = []
    counts = _Counts()
    # The names and companies that contacts of this batch took or gave up: the database,
    # read before the batch, no longer tells which contact has them.
    touched: set[tuple[str, str]] = set()
    for index, row in enumerate(rows):
        if row.phones:
            owners = [phone_owners[number] for number in row.phones if number in phone_owners]
            key = min(owners) if owners else None
        else:
            pair = (row.name, row.company)
            if pair in touched:  # matched once the rows before are written, in a new batch
                return _planned(new, drafts, counts, index)
            key = name_owners.get(pair)
            if key is None:
                key = name_owners[pair] = (_NEW, len(new))
        if key is None:
            key = (_NEW, len(new))
        for number in row.phones:
            owner = phone_owners.get(number)
            if owner is None or key < owner:
                phone_owners[number] = key
        draft = drafts.get(key)
        created = draft is None and key[0] == _NEW
        if created:
            draft = _Draft(None, row.name or row.company or format_phone(row.phones[0]))
            new.append(draft)
            drafts[key] = draft
        elif draft is None:
            pending = [p.drafts[key[1]] for p in in_flight if key[1] in p.drafts]
            draft = drafts[key] = (pending[-1] if pending else contacts[key[1]]).saved()
        before = (draft.name, draft.company)
        changed = draft.merge(row, agents[row.responsible])
        counts.add(created=created, changed=changed)
        after = (draft.name, draft.company)
        if row.phones and (key[0] == _NEW or after != before):
            touched.update((before, after))
    return _planned(new, drafts, counts, len(rows))


def _planned(new: list[_Draft], drafts: dict[_Key, _Draft], counts: "_Counts", rows: int) -> _Plan:
    changed = [draft for draft in drafts.values() if draft.id is not None and draft.changed]
    return _Plan(new, changed, counts, rows)


def _prepare(cursor: CursorWrapper) -> None:
    """Settings for a batch's transaction."""
    if connection.vendor == "postgresql":
        # A batch's lookups probe a few thousand keys: an index scan, always. The planner
        # prefers to scan the whole table for so long an `= ANY(...)`, ten times slower here
        # and ever slower as the import grows the table.
        cursor.execute("SET LOCAL enable_seqscan = off")


def _other_contact_fields() -> list[Field]:
    """The Contact fields an import leaves at their defaults (notes, is_lead, lead_number...)."""
    return [
        f for f in Contact._meta.concrete_fields
        if not f.primary_key and f.name not in _CONTACT_VALUES
    ]


def _assign_ids(cursor: CursorWrapper, drafts: list[_Draft]) -> None:
    """Ids for new contacts from the table's sequence (PostgreSQL), before they are written."""
    if not drafts or drafts[0].id is not None:
        return
    cursor.execute(
        "WITH found AS MATERIALIZED (SELECT pg_get_serial_sequence(%s, %s)::regclass AS seq)"
        " SELECT nextval(seq) FROM found, generate_series(1, %s)",
        [Contact._meta.db_table, Contact._meta.pk.column, len(drafts)],
    )
    for draft, (pk,) in zip(drafts, sorted(cursor.fetchall()), strict=True):
        draft.id = pk


def _insert_contacts(cursor: CursorWrapper, drafts: list[_Draft], now: object) -> None:
    """Insert new contacts (their ids assigned, or given here)."""
    if not drafts:
        return
    others = _other_contact_fields()
    defaults = tuple(f.get_db_prep_save(f.get_default(), connection) for f in others)
    names = [*_CONTACT_VALUES, *(f.name for f in others)]
    values = [(d.name, d.company, d.email, d.responsible_id, now, now, *defaults) for d in drafts]
    if connection.vendor == "postgresql":
        _assign_ids(cursor, drafts)
        rows = [(d.id, *v) for d, v in zip(drafts, values, strict=True)]
        _copy(cursor, Contact, ["id", *names], rows)
        return
    # SQLite: the transaction holds the database's write lock. The first row takes the id the
    # database picks (past every id it ever gave), the others the ones after it.
    insert = f"INSERT INTO {_table(Contact)} ({_columns_sql(Contact, *names)}) VALUES "
    cursor.execute(insert + f"({', '.join(['%s'] * len(names))})", values[0])
    first = cursor.lastrowid
    for pk, draft in enumerate(drafts, start=first):
        draft.id = pk
    insert = insert.replace(" (", " (" + _columns_sql(Contact, "id") + ", ", 1)
    cursor.executemany(
        insert + f"({', '.join(['%s'] * (len(names) + 1))})",
        [(d.id, *v) for d, v in zip(drafts[1:], values[1:], strict=True)],
    )


def _copy(cursor: CursorWrapper, model: type[Model], names: list[str], rows: list[tuple]) -> None:
    """PostgreSQL's binary COPY of rows into the model's table: the fastest way in, and
    psycopg formats the rows in C."""
    sql = f"COPY {_table(model)} ({_columns_sql(model, *names)}) FROM STDIN (FORMAT BINARY)"
    types = [model._meta.get_field(name).db_type(connection).split("(")[0] for name in names]
    with cursor.copy(sql) as copy:
        copy.set_types(types)
        for row in rows:
            copy.write_row(row)


def _update_contacts(cursor: CursorWrapper, drafts: list[_Draft], now: object) -> None:
    """Store the new values of changed stored contacts."""
    if not drafts:
        return
    names = ("name", "company", "email", "responsible", "updated_at")
    sets = ", ".join(f"{_columns_sql(Contact, name)} = %s" for name in names)
    cursor.executemany(
        f"UPDATE {_table(Contact)} SET {sets} WHERE {_columns_sql(Contact, 'id')} = %s",
        [(d.name, d.company, d.email, d.responsible_id, now, d.id) for d in drafts],
    )


def _insert_phones(cursor: CursorWrapper, drafts: list[_Draft], *, new: bool) -> None:
    """Insert the drafts' new numbers; a number another writer just gave the same contact is
    left alone (new contacts, which no one else knows yet, have no such conflicts)."""
    rows = [(d.id, number) for d in drafts for number in d.new_phones]
    if not rows:
        return
    if new and connection.vendor == "postgresql":
        _copy(cursor, ContactPhone, ["contact", "number"], rows)
        return
    cursor.executemany(
        f"INSERT INTO {_table(ContactPhone)} ({_columns_sql(ContactPhone, 'contact', 'number')})"
        " VALUES (%s, %s) ON CONFLICT DO NOTHING",
        rows,
    )


def _write(
    cursor: CursorWrapper, plan: _Plan, *, before_changes: Callable[[], None] | None = None
) -> None:
    """A planned batch's inserts and updates. `before_changes` runs after the new contacts
    are written and before the stored ones are changed (a writer thread waits there)."""
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    _insert_contacts(cursor, plan.new, now)
    _insert_phones(cursor, plan.new, new=True)
    if before_changes is not None:
        before_changes()
    _update_contacts(cursor, plan.changed, now)
    _insert_phones(cursor, plan.changed, new=False)


def save_batch(rows: list[ContactRow], agents: dict[str, int | None]) -> _Counts:
    """Save rows in one transaction with a few bulk queries; what they did.

    `agents`: agent ids by extension, filled in as rows name new ones. A row without numbers
    after rows that renamed contacts to or from its name starts a transaction of its own.
    """
    saved = _Counts()
    while rows:
        with transaction.atomic(), connection.cursor() as cursor:
            _prepare(cursor)
            plan = _plan(rows, _read(cursor, rows, agents), agents)
            _write(cursor, plan)
        saved.add_up(plan.counts)
        rows = rows[plan.rows :]
    return saved


# Called after each batch is written: the bytes read so far and the rows saved so far.
_Progress = Callable[[int, int], None]


def _good_batches(
    batches: Iterator[_Parsed], summary: ImportSummary
) -> Iterator[tuple[list[ContactRow], int]]:
    """The batches' good rows with the bytes read so far; the bad ones and the lines go to the
    summary."""
    for rows, errors, position, lines in batches:
        for error in errors:
            summary.skip(*error)
        summary.lines = lines
        if rows:
            yield rows, position


def _count(summary: ImportSummary, counts: _Counts, position: int,
           progress: _Progress | None) -> None:
    summary.created += counts.created
    summary.updated += counts.updated
    summary.unchanged += counts.unchanged
    if progress is not None:
        progress(position, summary.created + summary.updated + summary.unchanged)


def _save_in_turn(
    batches: Iterator[_Parsed], summary: ImportSummary, progress: _Progress | None
) -> None:
    """Each batch read, planned and written in a transaction of its own, one after another."""
    agents: dict[str, int | None] = {"": None}
    for rows, position in _good_batches(batches, summary):
        _count(summary, save_batch(rows, agents), position, progress)


@dataclass(eq=False)
class _Job:
    """A planned batch given to the writers; `before`: the one given just before it;
    `stopped`: set when the import stops early (an error, Ctrl-C)."""

    plan: _Plan
    position: int
    before: "_Job | None"
    stopped: threading.Event
    done: threading.Event = field(default_factory=threading.Event)
    error: Exception | None = None


def _write_job(job: _Job) -> None:
    """Write a batch beside the one before, committing after it: the contacts stored before
    (which that batch may have changed) are touched only once it is committed. Once the
    import has stopped, a batch not committed yet is rolled back."""

    def after_the_batch_before() -> None:
        if job.before is not None:
            job.before.done.wait()
            failed, job.before = job.before.error is not None, None
            if failed:
                raise ContactImportError("Not saved: a batch before it failed.")

    with transaction.atomic(), connection.cursor() as cursor:
        _write(cursor, job.plan, before_changes=after_the_batch_before)
        if job.stopped.is_set():
            raise ContactImportError("Not saved: the import stopped.")


class _Writers:
    """Threads writing planned batches (PostgreSQL), each in a transaction on a database
    connection of its own: the database stores two batches at once, on both cores, and
    commits them in order. `in_flight`: the batches given to them and not collected yet."""

    def __init__(self, count: int) -> None:
        self.in_flight: deque[_Job] = deque()
        self._stopped = threading.Event()
        self._jobs: SimpleQueue[_Job | None] = SimpleQueue()
        self._threads = [
            threading.Thread(target=self._run, name=f"import-writer-{n}", daemon=True)
            for n in range(count)
        ]
        for thread in self._threads:
            thread.start()

    def _run(self) -> None:
        try:
            while (job := self._jobs.get()) is not None:
                try:
                    _write_job(job)
                except Exception as error:  # noqa: BLE001 - raised again by collect()
                    job.error = error
                finally:
                    job.done.set()
        finally:
            connection.close()  # this thread's own

    def submit(self, plan: _Plan, position: int) -> None:
        job = _Job(plan, position, self.in_flight[-1] if self.in_flight else None, self._stopped)
        self.in_flight.append(job)
        self._jobs.put(job)

    def collect(self, written: Callable[[_Plan, int], None], *, keep: int) -> None:
        """Hand the batches written so far, in order, to `written`; wait until at most
        `keep` are left. A batch's error is raised here."""
        while self.in_flight and (len(self.in_flight) > keep or self.in_flight[0].done.is_set()):
            job = self.in_flight[0]
            job.done.wait()
            if job.error is not None:
                raise job.error
            self.in_flight.popleft()
            written(job.plan, job.position)

    def stop(self, *, early: bool) -> None:
        """Wait for the threads to end; `early`: the batches not committed yet are dropped."""
        if early:
            self._stopped.set()
        for _ in self._threads:
            self._jobs.put(None)
        for thread in self._threads:
            thread.join()


def _save_pipelined(
    batches: Iterator[_Parsed], summary: ImportSummary, progress: _Progress | None
) -> None:
    """Batches read and planned here while threads write the ones before (PostgreSQL): the
    database stores batches (most of an import's time) while this prepares the next. What
    the database does not show yet, the batches planned but not written, is laid over it."""
    agents: dict[str, int | None] = {"": None}
    writers = _Writers(WRITERS)

    def written(plan: _Plan, position: int) -> None:
        _count(summary, plan.counts, position, progress)

    try:
        for batch, position in _good_batches(batches, summary):
            rows = batch
            while rows:  # a plan may leave rows to a batch of their own (see save_batch)
                # Rows without numbers are matched by name, which later batches may change:
                # those are matched in the database alone, once every batch before is written.
                keep = WRITE_AHEAD if all(row.phones for row in rows) else 0
                writers.collect(written, keep=keep)
                with transaction.atomic(), connection.cursor() as cursor:
                    _prepare(cursor)
                    in_flight = [job.plan for job in writers.in_flight]
                    plan = _plan(rows, _read(cursor, rows, agents), agents, in_flight)
                    _assign_ids(cursor, plan.new)
                writers.submit(plan, position)
                rows = rows[plan.rows :]
        writers.collect(written, keep=0)
    except BaseException:  # a batch failed, or the caller's progress, or Ctrl-C
        writers.stop(early=True)
        raise
    writers.stop(early=False)


def import_contacts(
    binary: BinaryIO,
    *,
    batch_size: int | None = None,
    progress: _Progress | None = None,
    read_ahead: bool | None = None,
    encoding: str | None = None,
) -> ImportSummary:
    """Import contacts from a seekable binary CSV file, streamed in batched transactions.

    The whole file is read in `encoding`, or in the one it is found to be in (see
    contacts.import_encoding), decided before any row is written. `progress`, if given, is
    called after each batch with the bytes read so far (as far as the read-ahead buffer) and
    the rows saved so far. `read_ahead` reads and checks the rows in a child process while
    this one writes them (by default: for a file of READ_AHEAD_MIN_BYTES or more, where fork
    is available).
    """
    if binary.read(4) == b"PK\x03\x04":
        raise ContactImportError("This is an Excel workbook, not CSV: save it as CSV first.")
    binary.seek(0)
    try:
        encoding = choose_encoding(binary, encoding)
    except EncodingError as error:
        raise ContactImportError(str(error)) from None
    if read_ahead is None:
        size = binary.seek(0, io.SEEK_END)
        binary.seek(0)
        read_ahead = size >= READ_AHEAD_MIN_BYTES
    read_ahead = read_ahead and "fork" in multiprocessing.get_all_start_methods()
    if batch_size is None:
        batch_size = POSTGRESQL_BATCH_SIZE if connection.vendor == "postgresql" else BATCH_SIZE
    text = io.TextIOWrapper(binary, encoding=encoding, newline="")
    summary = ImportSummary(encoding=describe(encoding))
    reader: _ReadAhead | None = None
    try:
        batches = _parsed_batches(text, binary, read_header(text), batch_size)
        # Inside the caller's transaction, the import keeps to the caller's connection.
        pipelined = connection.vendor == "postgresql" and not connection.in_atomic_block
        if read_ahead:
            niceness = READER_NICENESS if pipelined else 0
            reader = _ReadAhead(batches, niceness=niceness)
            batches = iter(reader)
        if pipelined:
            _save_pipelined(batches, summary, progress)
        else:
            _save_in_turn(batches, summary, progress)
    finally:
        if reader is not None:
            reader.close()
        text.detach()  # the caller owns the file
    return summary
