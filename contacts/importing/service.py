"""import_contacts: a CSV file read in batches, each planned and written in a transaction of
its own (the package's docstring says what an import does)."""
import io
from typing import BinaryIO

from django.db import connection, transaction

from contacts.importing.encoding import EncodingError, choose_encoding, describe
from contacts.importing.pipelining import can_fork, save_fast
from contacts.importing.planning import Counts, look_up, plan
from contacts.importing.reading import ContactImportError, ContactRow, read_batches, read_header
from contacts.importing.statistics import refresh_statistics
from contacts.importing.summary import ImportSummary, Progress
from contacts.importing.writing import write

BATCH_SIZE = 500  # rows per transaction: short write locks for the webhook beside the import
# PostgreSQL locks rows, not the database: bigger batches, fewer round trips and commits.
POSTGRESQL_BATCH_SIZE = 5000
# Files this big take the fast path (pipelining.py): 1 MB is some 14 000 rows.
FAST_MIN_BYTES = 1 << 20


def save_batch(rows: list[ContactRow], agents: dict[str, int | None]) -> Counts:
    """Save rows in one transaction with a few bulk queries; what they did.

    `agents`: agent ids by extension, filled in as rows name new ones. A row without numbers
    after rows that renamed contacts to or from its name starts a transaction of its own.
    """
    saved = Counts()
    while rows:
        with transaction.atomic():
            planned = plan(rows, look_up(rows, agents), agents)
            write(planned)
        saved.add_up(planned.counts)
        rows = rows[planned.rows :]
    return saved


def import_contacts(
    binary: BinaryIO,
    *,
    batch_size: int | None = None,
    progress: Progress | None = None,
    encoding: str | None = None,
    fast: bool | None = None,
) -> ImportSummary:
    """Import contacts from a seekable binary CSV file, streamed in batched transactions.

    The whole file is read in `encoding`, or in the one it is found to be in (see
    contacts.importing.encoding), decided before any row is written. `progress`, if given, is
    called after each batch with the bytes read so far (as far as the fast path's reader is
    ahead) and the rows saved so far. `fast` takes the fast path (by default: for a file of
    FAST_MIN_BYTES or more, where fork is available); the results are the same.
    """
    if binary.read(4) == b"PK\x03\x04":
        raise ContactImportError("This is an Excel workbook, not CSV: save it as CSV first.")
    binary.seek(0)
    try:
        encoding = choose_encoding(binary, encoding)
    except EncodingError as error:
        raise ContactImportError(str(error)) from None
    if fast is None:
        size = binary.seek(0, io.SEEK_END)
        binary.seek(0)
        fast = size >= FAST_MIN_BYTES
    fast = fast and can_fork()
    if batch_size is None:
        batch_size = POSTGRESQL_BATCH_SIZE if connection.vendor == "postgresql" else BATCH_SIZE
    text = io.TextIOWrapper(binary, encoding=encoding, newline="")
    summary = ImportSummary(encoding=describe(encoding))
    try:
        batches = read_batches(text, binary, read_header(text), batch_size)
        if fast:
            save_fast(batches, summary, progress)
        else:
            agents: dict[str, int | None] = {"": None}
            for rows, position in summary.good_rows(batches):
                summary.saved(save_batch(rows, agents), position, progress)
    finally:
        text.detach()  # the caller owns the file
    refresh_statistics(summary.created + summary.updated)
    return summary
