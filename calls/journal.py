"""Journal retention: delete PBX requests older than a cutoff, in small batches."""
import re
from datetime import datetime, timedelta

from django.db import transaction

from calls.models import PbxRequest

UNITS = {"h": "hours", "d": "days", "w": "weeks"}
BATCH_SIZE = 1000


def parse_age(text: str) -> timedelta:
    """`90d`, `12h`, `2w` as a timedelta; ValueError for anything else."""
    match = re.fullmatch(r"\s*(\d+)\s*([hdw])\s*", text.lower())
    if not match or int(match[1]) == 0:
        raise ValueError(f"{text!r} is not an age such as 90d, 12h or 2w")
    return timedelta(**{UNITS[match[2]]: int(match[1])})


def count_journal_before(*, cutoff: datetime) -> int:
    """How many journaled requests were received before `cutoff`."""
    return PbxRequest.objects.filter(received_at__lt=cutoff).count()


def prune_journal(*, cutoff: datetime, batch_size: int = BATCH_SIZE) -> int:
    """Delete the journaled requests received before `cutoff`; how many were deleted.

    Each batch is one short transaction on at most `batch_size` ids (the call events that
    point at them lose the link, the events stay), so webhooks keep being journaled while a
    large backlog is deleted, and no row is loaded beyond its id.
    """
    deleted = 0
    old = PbxRequest.objects.filter(received_at__lt=cutoff).order_by()
    while ids := list(old.values_list("pk", flat=True)[:batch_size]):
        with transaction.atomic():
            # Re-checked by the cutoff: a batch never deletes what is newer.
            _, per_model = old.filter(pk__in=ids).only("pk").delete()
        deleted += per_model.get(PbxRequest._meta.label, 0)
    return deleted
