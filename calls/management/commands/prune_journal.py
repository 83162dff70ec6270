"""`manage.py prune_journal [--older-than 90d] [--dry-run]`: delete old PBX requests, and the
caller lookups of that age that no call took."""
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from calls.pbx.journal import count_journal_before, parse_age, prune_journal
from calls.pbx.throttle import prune_throttles
from calls.routing import prune_untied_lookups


class Command(BaseCommand):
    help = (
        "Delete PBX requests (the journal) older than an age: 90d, 12h, 2w "
        "(default: JOURNAL_RETENTION_DAYS days), the caller lookups of that age that no call "
        "took, and the webhook throttles whose window has ended."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--older-than", metavar="AGE",
                            help="90d, 12h or 2w (days, hours, weeks)")
        parser.add_argument("--dry-run", action="store_true",
                            help="only count what would be deleted")
        parser.add_argument("--batch-size", type=int, default=1000,
                            help="rows deleted per transaction (default 1000)")

    def handle(self, *args: Any, older_than: str | None, dry_run: bool, batch_size: int,
               **options: Any) -> None:
        age = older_than or f"{settings.JOURNAL_RETENTION_DAYS}d"
        try:
            cutoff = timezone.now() - parse_age(age)
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1")
        when = timezone.localtime(cutoff).isoformat(timespec="seconds")
        if dry_run:
            count = count_journal_before(cutoff=cutoff)
            self.stdout.write(f"Would delete {count} PBX requests received before {when}.")
            return
        count = prune_journal(cutoff=cutoff, batch_size=batch_size)
        self.stdout.write(f"Deleted {count} PBX requests received before {when}.")
        untied = prune_untied_lookups(cutoff=cutoff)
        self.stdout.write(
            f"Deleted {untied} caller lookups received before {when} that no call took."
        )
        expired = prune_throttles(now=timezone.now())
        self.stdout.write(f"Deleted {expired} webhook throttles whose window has ended.")
