"""What an import did, counted as its batches are read and saved."""
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from contacts.importing.planning import Counts
from contacts.importing.reading import Batch, ContactRow, LineCount, RowError

MAX_LISTED_ERRORS = 1000  # bad rows kept with their reasons; all of them are counted

# Called after each batch is written: the bytes read so far and the rows saved so far.
Progress = Callable[[int, int], None]


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

    def good_rows(self, batches: Iterator[Batch]) -> Iterator[tuple[list[ContactRow], int]]:
        """The batches' good rows with the bytes read so far; the bad rows and the lines are
        counted here."""
        for rows, errors, position, lines in batches:
            for error in errors:
                self.skip(*error)
            self.lines = lines
            if rows:
                yield rows, position

    def saved(self, counts: Counts, position: int, progress: Progress | None) -> None:
        """Count a saved batch, and report it to `progress` (`position`: the bytes read)."""
        self.created += counts.created
        self.updated += counts.updated
        self.unchanged += counts.unchanged
        if progress is not None:
            progress(position, self.created + self.updated + self.unchanged)
