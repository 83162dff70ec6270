"""Recordings: our copy of each call's recording, archived by a worker, played to those allowed.

The PBX keeps recordings for about a week behind unauthenticated links. When a call gets a
`record_link`, `request_archiving` (in the event's transaction) makes its `Recording` and
enqueues `archive` in that transaction. `archive` claims the row with one conditional UPDATE,
downloads the link through `fetch` (calls/recordings/fetch.py: every hop checked and connected
to the checked address, a deadline, a size limit, an audio type check), stores it through
Django's storage API, and either marks it archived, refuses it for good, or schedules a retry with
backoff until RECORDINGS_RETRY_FOR, then calls it lost.
"""
import logging
import tempfile
from collections import Counter
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.db.models import DateTimeField, F, Q, Value
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import get_random_string
from django.utils.translation import gettext as _
from django_tasks import task
from django_tasks_db import DatabaseBackend

from calls.models import Call, Recording, RecordingListen
from calls.recordings.fetch import Fetched, fetch
from calls.recordings.links import RecordingRefused, RecordingUnavailable
from xvbcrm.db import insert_row

logger = logging.getLogger(__name__)

# A claim lasts the download's deadline (RECORDINGS_DEADLINE) plus this, the time given to
# store the copy, so no second worker takes a recording a live worker is still on; a worker
# that died frees it when the claim runs out.
STORE_SECONDS = 15 * 60
# Retries: 1, 2, 4, … minutes, at most an hour apart, until RECORDINGS_RETRY_FOR has passed.
RETRY_FIRST_SECONDS = 60
RETRY_MAX_SECONDS = 3600
# Plays by one user of one recording within one such slot make one audit row.
LISTEN_SLOT_SECONDS = 30 * 60

EXTENSIONS = {
    "audio/wav": ".wav", "audio/x-wav": ".wav", "audio/wave": ".wav", "audio/vnd.wave": ".wav",
    "audio/mpeg": ".mp3", "audio/mp3": ".mp3", "audio/ogg": ".ogg", "audio/opus": ".opus",
    "audio/flac": ".flac", "audio/x-flac": ".flac", "audio/mp4": ".m4a", "audio/aac": ".aac",
    "audio/webm": ".webm",
}


# --- archiving ----------------------------------------------------------------------------------


def _enqueue(recording_id: int, *, run_after: datetime | None = None) -> None:
    """Enqueue `archive`: with the database backend, in the current transaction (the task row
    commits with what asked for it, in the same commit); with another backend, once the
    transaction commits (now, outside one)."""
    job = archive_recording
    if run_after is not None:
        if not job.get_backend().supports_defer:
            return  # a backend that cannot wait: `archive_recordings` picks it up
        job = job.using(run_after=run_after)
    if isinstance(job.get_backend(), DatabaseBackend):
        job.enqueue(recording_id)
    else:
        transaction.on_commit(lambda: job.enqueue(recording_id), robust=True)


def request_archiving(*, call: Call) -> Recording | None:
    """The call's recording, made (and its download enqueued) when the call has a link."""
    if not call.record_link:
        return None
    recording = Recording(call=call, source_url=call.record_link)
    try:
        with transaction.atomic():
            insert_row(recording, read_id=True)  # one statement, as each event's rows
    except IntegrityError:  # the call has its recording already
        recording = Recording.objects.get(call=call)
    else:
        _enqueue(recording.pk)
        return recording
    if recording.source_url != call.record_link and recording.status in (
        Recording.Status.PENDING, Recording.Status.LOST, Recording.Status.REFUSED,
    ):
        # A new link for a recording we do not hold: start over with it.
        Recording.objects.filter(pk=recording.pk).update(
            source_url=call.record_link, status=Recording.Status.PENDING, attempts=0,
            first_attempt_at=None, next_attempt_at=None, error="",
        )
        _enqueue(recording.pk)
    return recording


def _release(recording_id: int, token: str, **changes: object) -> bool:
    """Apply `changes` and drop the claim, if the claim is still ours."""
    return bool(Recording.objects.filter(pk=recording_id, claimed_by=token).update(
        claimed_by="", claimed_until=None, **changes
    ))


def _renew(recording_id: int, token: str, *, seconds: float) -> bool:
    """Extend our claim by `seconds` from now, if it is still ours and has not run out."""
    now = timezone.now()
    return bool(Recording.objects.filter(pk=recording_id, claimed_by=token,
                                         claimed_until__gte=now)
                .update(claimed_until=now + timedelta(seconds=seconds)))


def _storage_name(recording: Recording, fetched: Fetched) -> str:
    extension = EXTENSIONS.get(fetched.content_type, ".audio")
    started = recording.call.started_at
    return f"recordings/{started:%Y/%m}/{recording.pk}-{fetched.sha256[:12]}{extension}"


def _retry_or_lose(recording: Recording, token: str, reason: str, now: datetime) -> str:
    first = recording.first_attempt_at or now
    give_up_at = first + timedelta(seconds=settings.RECORDINGS_RETRY_FOR)
    if now >= give_up_at:
        lost = _("recording lost after %(attempts)s attempts: %(reason)s") % {
            "attempts": recording.attempts, "reason": reason}
        _release(recording.pk, token, status=Recording.Status.LOST, error=lost,
                 next_attempt_at=None)
        return Recording.Status.LOST
    delay = min(RETRY_FIRST_SECONDS * 2 ** max(recording.attempts - 1, 0), RETRY_MAX_SECONDS)
    next_at = min(now + timedelta(seconds=delay), give_up_at)
    if _release(recording.pk, token, error=reason, next_attempt_at=next_at):
        _enqueue(recording.pk, run_after=next_at)
    return Recording.Status.PENDING


def _status(recording_id: int) -> str:
    return Recording.objects.filter(pk=recording_id).values_list("status", flat=True).first() or ""


def archive(*, recording_id: int, force: bool = False) -> str:
    """Download and store one recording; returns its status afterwards.

    Idempotent: only a pending recording that no live worker holds, and whose next attempt is
    due (unless `force`), is claimed, by one conditional UPDATE; anything else returns at once,
    so a re-run task, a second COMPLETED or two workers never store two copies.
    """
    now = timezone.now()
    token = get_random_string(32)
    claimable = Recording.objects.filter(pk=recording_id, status=Recording.Status.PENDING).filter(
        Q(claimed_until=None) | Q(claimed_until__lt=now)
    )
    if not force:
        claimable = claimable.filter(Q(next_attempt_at=None) | Q(next_attempt_at__lte=now))
    # The claim outlasts the longest a download can take (RECORDINGS_DEADLINE, enforced during
    # every read), so it cannot run out while this worker is still fetching.
    claim_seconds = settings.RECORDINGS_DEADLINE + STORE_SECONDS
    claimed = claimable.update(
        claimed_by=token, claimed_until=now + timedelta(seconds=claim_seconds),
        attempts=F("attempts") + 1, last_attempt_at=now,
        first_attempt_at=Coalesce("first_attempt_at", Value(now, output_field=DateTimeField())),
    )
    if not claimed:
        return _status(recording_id)
    recording = Recording.objects.select_related("call").get(pk=recording_id)
    try:
        with tempfile.TemporaryFile() as spool:
            fetched = fetch(recording.source_url, into=spool)
            if not _renew(recording.pk, token, seconds=STORE_SECONDS):
                return _status(recording_id)  # our claim was taken over: store nothing
            spool.seek(0)
            name = default_storage.save(_storage_name(recording, fetched), File(spool))
    except RecordingRefused as exc:
        _release(recording.pk, token, status=Recording.Status.REFUSED, error=str(exc),
                 next_attempt_at=None)
        return Recording.Status.REFUSED
    except RecordingUnavailable as exc:
        return _retry_or_lose(recording, token, str(exc), timezone.now())
    except Exception as exc:  # storage full, database hiccup, …: retried like a network failure
        logger.exception("archiving recording %s failed", recording.pk)
        reason = _("could not store the copy (%(reason)s)") % {"reason": type(exc).__name__}
        return _retry_or_lose(recording, token, reason, timezone.now())
    stored = _release(
        recording.pk, token, status=Recording.Status.ARCHIVED, file=name, size=fetched.size,
        sha256=fetched.sha256, content_type=fetched.content_type, archived_at=timezone.now(),
        next_attempt_at=None, error="",
    )
    if not stored:  # our claim ran out and another worker took over: keep no second copy
        default_storage.delete(name)
    return Recording.Status.ARCHIVED


@task()
def archive_recording(recording_id: int) -> str:
    """`archive` as a background task (`manage.py db_worker` runs it). It lives here, not in a
    tasks module, because `archive` enqueues its own retries."""
    return archive(recording_id=recording_id)


def missing_recordings() -> list[int]:
    """Ids of the recordings to fetch: calls with a link and no recording get one first."""
    calls = Call.objects.exclude(record_link="").filter(recording__isnull=True)
    for call in calls.only("pk", "record_link").iterator():
        Recording.objects.get_or_create(call=call, defaults={"source_url": call.record_link})
    return list(Recording.objects.filter(status=Recording.Status.PENDING)
                .values_list("pk", flat=True))


def enqueue_missing() -> int:
    """Enqueue the archiving of every recording still to fetch (`missing_recordings`), each at
    its next attempt when it has one and the backend can wait; how many were enqueued."""
    ids = missing_recordings()
    next_at = dict(Recording.objects.filter(pk__in=ids).values_list("pk", "next_attempt_at"))
    for recording_id in ids:
        job = archive_recording
        if next_at.get(recording_id) and job.get_backend().supports_defer:
            job = job.using(run_after=next_at[recording_id])
        job.enqueue(recording_id)
    return len(ids)


def archive_missing() -> Counter[str]:
    """Archive every recording still to fetch in this process, due or not: statuses counted."""
    return Counter(archive(recording_id=pk, force=True) for pk in missing_recordings())


def prune(*, days: int | None = None, now: datetime | None = None) -> int:
    """Delete our copies archived more than `days` (RECORDINGS_RETENTION_DAYS) ago; 0: none."""
    days = settings.RECORDINGS_RETENTION_DAYS if days is None else days
    if days <= 0:
        return 0
    now = now or timezone.now()
    old = Recording.objects.filter(status=Recording.Status.ARCHIVED,
                                   archived_at__lt=now - timedelta(days=days))
    count = 0
    for recording in old.iterator():
        if recording.file:
            default_storage.delete(recording.file.name)
        count += Recording.objects.filter(pk=recording.pk, status=Recording.Status.ARCHIVED).update(
            status=Recording.Status.DELETED, deleted_at=now, file="",
            error=_("deleted after %(days)s days (RECORDINGS_RETENTION_DAYS)") % {"days": days},
        )
    return count


# --- listening ----------------------------------------------------------------------------------

LISTEN_ALL_PERMISSION = "calls.listen_all_recordings"


def can_listen(user: AbstractBaseUser | AnonymousUser, call: Call) -> bool:
    """May `user` hear this call: "Can listen to all recordings" (superusers have it), or the
    call was their agent's when it happened: answered or placed by it, or routed to it.

    Decided by the call's own record, never by today's responsible of its contact: whoever
    may change a contact must not gain its past recordings by making themselves responsible.
    """
    if not (user.is_authenticated and user.is_active):
        return False
    if user.has_perm(LISTEN_ALL_PERMISSION):
        return True
    agent = getattr(user, "agent", None)  # cached on the user: one query per request
    if agent is None:
        return False
    return agent.pk in (call.agent_id, call.routed_to_id)


def player_context(call: Call, user: AbstractBaseUser | AnonymousUser) -> dict[str, object]:
    """What the admin's player shows `user` for `call`; an empty dict: nothing.

    Keys: `url` (our copy, when archived) and `download_url`, or `message` ("not archived
    yet", "recording lost: …") with `pbx_url` (the PBX's link) while it still may exist.
    """
    # With `select_related("recording")` (the call log does it) this costs no query.
    recording = getattr(call, "recording", None)
    if not (call.record_link or recording) or not can_listen(user, call):
        return {}
    if recording is not None and recording.status == Recording.Status.ARCHIVED:
        url = reverse("recording-play", args=[call.pk])
        return {"url": url, "download_url": f"{url}?download=1",
                "content_type": recording.content_type, "status": recording.status}
    status = recording.status if recording else Recording.Status.PENDING
    messages = {
        Recording.Status.PENDING: _("Not archived yet."),
        Recording.Status.LOST: _("Recording lost."),
        Recording.Status.REFUSED: _("The recording was not archived."),
        Recording.Status.DELETED: _("The recording was deleted after the retention period."),
    }
    context: dict[str, object] = {"status": status, "message": messages[status],
                                  "error": recording.error if recording else ""}
    if status == Recording.Status.PENDING and call.recording_url:
        context["pbx_url"] = call.recording_url
    return context


def log_listen(*, recording: Recording, user: AbstractBaseUser, kind: str,
               client_address: str | None, from_start: bool = True,
               now: datetime | None = None) -> bool:
    """Write the audit row of a listen or download, whatever byte range the request asks for.

    Plays: one row per user, recording and 30-minute slot (a browser sends many range
    requests per listen). Downloads: a request from the first byte is a new download, always
    a row; a request from further on (`from_start` False) is a resumed one, a row unless the
    user downloaded this recording within LISTEN_SLOT_SECONDS, so that no first request,
    whatever its range, goes unlogged. True if a row was written.
    """
    now = now or timezone.now()
    if kind == RecordingListen.Kind.DOWNLOAD:
        recent = RecordingListen.objects.filter(
            recording=recording, user=user, kind=kind,
            at__gt=now - timedelta(seconds=LISTEN_SLOT_SECONDS),
        )
        if not from_start and recent.exists():
            return False
        slot = None
    else:
        slot = int(now.timestamp()) // LISTEN_SLOT_SECONDS
    try:
        with transaction.atomic():
            RecordingListen.objects.create(
                recording=recording, user=user, username=user.get_username(), at=now,
                client_address=client_address, kind=kind, slot=slot,
            )
    except IntegrityError:  # this slot's play is logged already
        return False
    return True
