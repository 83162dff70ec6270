"""`manage.py archive_recordings [--now]`: fetch the recordings not archived yet."""
from collections import Counter
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from calls.models import Recording
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
        ids = recordings.missing_recordings()
        if not now:
            next_at = dict(Recording.objects.filter(pk__in=ids)
                           .values_list("pk", "next_attempt_at"))
            for recording_id in ids:
                task = recordings.archive_recording
                if next_at.get(recording_id) and task.get_backend().supports_defer:
                    task = task.using(run_after=next_at[recording_id])
                task.enqueue(recording_id)
            self.stdout.write(f"Enqueued {len(ids)} recordings; `manage.py db_worker` runs them.")
            return
        outcomes = Counter(recordings.archive(recording_id=pk, force=True) for pk in ids)
        summary = ", ".join(f"{status or 'gone'}: {n}" for status, n in sorted(outcomes.items()))
        self.stdout.write(f"Tried {len(ids)} recordings ({summary or 'none'}).")
