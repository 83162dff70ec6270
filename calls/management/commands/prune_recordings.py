"""`manage.py prune_recordings [--days N]`: delete archived copies past their retention."""
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from calls.recordings import services as recordings


class Command(BaseCommand):
    help = (
        "Delete our copies of recordings archived more than RECORDINGS_RETENTION_DAYS days ago "
        "(0: keep forever); the recording is marked deleted. Run it daily (cron, a timer)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--days", type=int, default=None,
                            help="retention in days (default: RECORDINGS_RETENTION_DAYS)")

    def handle(self, *args: Any, days: int | None, **options: Any) -> None:
        days = settings.RECORDINGS_RETENTION_DAYS if days is None else days
        if days < 0:
            raise CommandError("--days must be 0 (keep) or more")
        if days == 0:
            self.stdout.write("Retention is 0 days: recordings are kept; nothing deleted.")
            return
        count = recordings.prune(days=days)
        self.stdout.write(f"Deleted {count} recordings archived more than {days} days ago.")
