"""`manage.py rollup_calls`: sum the calls of the past days for the dashboard (run from cron)."""
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from calls.dashboard.rollup import BATCH_DAYS, roll_up


class Command(BaseCommand):
    help = (
        "Sum the calls of every closed day of the last year, per agent and per hour, for the "
        "calls dashboard: the days not summed yet and those a late event changed. Safe to run "
        "at any time, beside the CRM and beside another run; run it from cron."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--batch-days", type=int, default=BATCH_DAYS,
                            help=f"days summed per transaction (default {BATCH_DAYS})")

    def handle(self, *args: Any, batch_days: int, **options: Any) -> None:
        if batch_days < 1:
            raise CommandError("--batch-days must be at least 1")
        rolled = roll_up(batch_days=batch_days)
        self.stdout.write(
            f"Summed {rolled.counted} days ({rolled.added} new); {rolled.left} left for the "
            "next run."
        )
