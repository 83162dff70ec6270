"""`manage.py archive_recordings [--now]`: fetch the recordings not archived yet."""
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from calls.recordings import services as recordings


class Command(BaseCommand):
    help = (
        "Archive the recordings of calls that have a recording link and no archived copy "
        "(calls from before archiving existed, or whose task was lost): enqueue them for the "
        "workers, or with --now download them here."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--now", action="store_true",
                            help="download in this process instead of enqueueing")

    def handle(self, *args: Any, now: bool, **options: Any) -> None:
        if not now:
            count = recordings.enqueue_missing()
            self.stdout.write(f"Enqueued {count} recordings; `manage.py db_worker` runs them.")
            return
        outcomes = recordings.archive_missing()
        summary = ", ".join(f"{status or 'gone'}: {n}" for status, n in sorted(outcomes.items()))
        self.stdout.write(f"Tried {outcomes.total()} recordings ({summary or 'none'}).")
