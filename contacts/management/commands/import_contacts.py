"""`manage.py import_contacts FILE.csv`: create or update contacts from a CSV file."""
from argparse import ArgumentParser

from django.core.management.base import BaseCommand, CommandError

from contacts.importer import ContactImportError, import_contacts


class Command(BaseCommand):
    help = (
        "Import contacts from a CSV file (UTF-8 or Windows-1251, `,` or `;`) with the columns "
        "name, company, phones, responsible, email. Contacts are matched by phone number, "
        "so importing the same file again updates them."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("file", help="the CSV file")

    def handle(self, *args: object, file: str, **options: object) -> None:
        try:
            with open(file, "rb") as binary:
                summary = import_contacts(binary)
        except OSError as error:
            raise CommandError(f"Cannot read {file}: {error.strerror or error}") from error
        except ContactImportError as error:
            raise CommandError(f"{file}: {error}") from error
        for line, reason in summary.errors:
            self.stderr.write(f"line {line}: {reason}, skipped")
        unlisted = summary.skipped - len(summary.errors)
        if unlisted:
            self.stderr.write(f"... and {unlisted} more bad rows")
        self.stdout.write(
            self.style.SUCCESS(
                f"created {summary.created}, updated {summary.updated}, skipped {summary.skipped}"
            )
        )
