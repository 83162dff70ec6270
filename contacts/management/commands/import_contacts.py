"""`manage.py import_contacts FILE.csv`: create or update contacts from a CSV file.

An operator's command on the server: it sets responsible agents without any user's
"Can assign contacts" (there is no user); the admin and the API check that right.
"""
import os
import time
from argparse import ArgumentParser
from collections.abc import Callable

from django.core.management.base import BaseCommand, CommandError, OutputWrapper

from contacts.importing.reading import ContactImportError
from contacts.importing.service import import_contacts
from contacts.importing.summary import ImportSummary

BAR_WIDTH = 30
REDRAW_SECONDS = 0.2  # a million rows make 2000 batches: redraw a few times a second at most


def progress_bar(out: OutputWrapper, total_bytes: int) -> Callable[[int, int], None]:
    """A progress callback drawing `[#####.....]  42%  420000 rows` on one terminal line."""
    last = 0.0

    def draw(done_bytes: int, rows: int) -> None:
        nonlocal last
        now = time.monotonic()
        if now - last < REDRAW_SECONDS and done_bytes < total_bytes:
            return
        last = now
        share = min(done_bytes / total_bytes, 1.0) if total_bytes else 1.0
        filled = round(share * BAR_WIDTH)
        bar = "#" * filled + "." * (BAR_WIDTH - filled)
        out.write(f"\r[{bar}] {share:4.0%}  {rows} rows", ending="")
        out.flush()

    return draw


class Command(BaseCommand):
    help = (
        "Import contacts from a CSV file (UTF-8, Windows-1251, KOI8-R or CP866, `,` or `;`) "
        "with the columns name, company, phones, responsible, email. Contacts are matched by "
        "phone number, so importing the same file again updates them. A progress bar is shown "
        "on a terminal. The `responsible` column sets (and replaces) contacts' responsible "
        "agents, which decides where their calls ring. It runs as the server's operator, with "
        "no user, so nothing checks \"Can assign contacts\" (as the admin and the API do): "
        "import only files you trust."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("file", help="the CSV file")
        parser.add_argument(
            "--encoding",
            help="the file's encoding (utf-8, cp1251, koi8-r...), when it cannot be told from "
            "the file; the whole file must decode in it",
        )

    def handle(
        self, *args: object, file: str, encoding: str | None = None, **options: object
    ) -> None:
        show_progress = self.stdout.isatty()
        try:
            with open(file, "rb") as binary:
                progress = (
                    progress_bar(self.stdout, os.fstat(binary.fileno()).st_size)
                    if show_progress else None
                )
                summary = import_contacts(binary, progress=progress, encoding=encoding)
        except OSError as error:
            raise CommandError(f"Cannot read {file}: {error.strerror or error}") from error
        except ContactImportError as error:
            raise CommandError(f"{file}: {error}") from error
        finally:
            if show_progress:
                self.stdout.write("")  # end the bar's line
        for line, reason in summary.errors:
            self.stderr.write(f"line {line}: {reason}, skipped")
        unlisted = summary.skipped - len(summary.errors)
        if unlisted:
            self.stderr.write(f"... and {unlisted} more bad rows")
        self.stdout.write(lines_read(summary))
        self.stdout.write(
            self.style.SUCCESS(
                f"created {summary.created}, updated {summary.updated}, unchanged"
                f" {summary.unchanged}, skipped {summary.skipped}"
            )
        )


def lines_read(summary: ImportSummary) -> str:
    """`read 1003 lines (UTF-8): header 1, 1000 rows on 1001 lines, blank 1`."""
    lines = summary.lines
    on = f" on {lines.row_lines} lines" if lines.row_lines != lines.rows else ""
    return (
        f"read {lines.lines} lines ({summary.encoding}): header {lines.header},"
        f" {lines.rows} rows{on}, blank {lines.blank_lines}"
    )
