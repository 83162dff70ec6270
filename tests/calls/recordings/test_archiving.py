"""Archiving recordings: enqueued with the event, fetched safely, retried, refused, stored once.

The PBX emulator serves the recordings, late or slowly when a test says so; what else a link
may lead to (other types and framing, a web page, a redirect to the cloud's metadata) comes
from the scripted server in tests/calls/recording_server.py."""
import hashlib
import io
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.db import connection, transaction
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from calls.assembly import record_event
from calls.models import Call, Recording
from calls.pbx import protocol
from calls.pbx.emulator import PbxEmulator, tone_wav
from calls.recordings import services as recordings
from tests.calls.conftest import closed_port_url
from tests.calls.recording_server import Answer, RecordingServer, serve_recordings

WAV = tone_wav(seconds=0.5)
TASK = "calls.recordings.services.archive_recording"


@pytest.fixture(autouse=True)
def media(settings, tmp_path) -> Path:  # noqa: ANN001
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.RECORDINGS_ALLOWED_HOSTS = ["127.0.0.1"]
    return settings.MEDIA_ROOT


@pytest.fixture
def server() -> Iterator[RecordingServer]:
    with serve_recordings() as recording_server:
        yield recording_server


def stored_files(media: Path) -> list[Path]:
    return sorted(path for path in media.rglob("*") if path.is_file())


def completed(callid: str = "c1", *, link: str) -> Call:
    fields = {"cmd": "event", "callid": callid, "event": "COMPLETED", "status": "Success",
              "duration": "16", "phone": "79201119613", "ext": "100", "record_link": link}
    return record_event(event=protocol.parse_command(fields), received_at=timezone.now()).call


def recording_for(link: str, callid: str = "c1") -> Recording:
    call = Call.objects.create(callid=callid, started_at=timezone.now(), record_link=link)
    return Recording.objects.create(call=call, source_url=link)


def archive(recording: Recording, **options: bool) -> Recording:
    recordings.archive(recording_id=recording.pk, **options)
    recording.refresh_from_db()
    return recording


def tasks_enqueued() -> list[DBTaskResult]:
    return list(DBTaskResult.objects.filter(task_path=TASK).order_by("enqueued_at"))


# --- enqueued with the event ----------------------------------------------------------------------


@pytest.mark.django_db
def test_a_completed_call_with_a_link_enqueues_its_archiving_on_commit(
    django_capture_on_commit_callbacks,
):
    with django_capture_on_commit_callbacks(execute=True):
        call = completed(link="http://127.0.0.1:9/r.wav")

    assert call.recording.status == Recording.Status.PENDING
    assert call.recording.source_url == "http://127.0.0.1:9/r.wav"
    assert [task.args_kwargs["args"] for task in tasks_enqueued()] == [[call.recording.pk]]


@pytest.mark.django_db
def test_a_rolled_back_event_enqueues_nothing(django_capture_on_commit_callbacks):
    with (django_capture_on_commit_callbacks(execute=True) as callbacks,
          pytest.raises(ZeroDivisionError), transaction.atomic()):
        completed(link="http://127.0.0.1:9/r.wav")
        1 / 0  # noqa: B018

    assert callbacks == []
    assert not Recording.objects.exists()
    assert tasks_enqueued() == []


@pytest.mark.django_db
def test_a_second_completed_makes_no_second_recording_or_task(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        completed(link="http://127.0.0.1:9/r.wav")
        completed(link="http://127.0.0.1:9/r.wav")  # a repeated delivery
        deliver_answered = {"cmd": "event", "callid": "c1", "event": "ANSWERED", "ext": "100",
                            "phone": "79201119613", "type": "in"}
        record_event(event=protocol.parse_command(deliver_answered), received_at=timezone.now())

    assert Recording.objects.count() == 1
    assert len(tasks_enqueued()) == 1


@pytest.mark.django_db
def test_a_call_without_a_link_has_no_recording():
    call = completed(link="")

    assert not Recording.objects.filter(call=call).exists()


# --- the download ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_wav_is_archived_with_its_size_checksum_and_type(pbx, media):
    recording = recording_for(pbx.recording_url("c1"))

    recording = archive(recording)

    assert recording.status == Recording.Status.ARCHIVED
    assert (recording.size, recording.sha256) == (len(pbx.wav),
                                                  hashlib.sha256(pbx.wav).hexdigest())
    assert recording.content_type == "audio/wav"
    assert recording.attempts == 1 and recording.archived_at is not None
    assert recording.claimed_by == "" and recording.claimed_until is None
    with default_storage.open(recording.file.name) as stored:
        assert stored.read() == pbx.wav
    assert stored_files(media) == [media / recording.file.name]
    assert recording.file.name.endswith(".wav") and "c1" not in recording.file.name


@pytest.mark.django_db
def test_octet_stream_is_archived_when_the_bytes_are_audio(server):
    link = server.serve("/r.bin", Answer(content_type="application/octet-stream", body=WAV))

    recording = archive(recording_for(link))

    assert (recording.status, recording.content_type) == ("archived", "audio/wav")


@pytest.mark.django_db
def test_a_body_without_content_length_is_archived(server):
    recording = archive(recording_for(server.serve("/r.wav", Answer(body=WAV, length=False))))

    assert (recording.status, recording.size) == ("archived", len(WAV))


@pytest.mark.django_db
def test_404_is_retried_with_backoff_then_archived(pbx, django_capture_on_commit_callbacks):
    pbx.switches.late_recordings = 1  # the PBX is still writing it
    recording = recording_for(pbx.recording_url("late"))

    with django_capture_on_commit_callbacks(execute=True):
        recording = archive(recording)
    assert (recording.status, recording.attempts, recording.error) == ("pending", 1, "HTTP 404")
    wait = recording.next_attempt_at - recording.last_attempt_at
    assert timedelta(seconds=59) < wait <= timedelta(seconds=61)
    [retry] = tasks_enqueued()
    assert retry.run_after == recording.next_attempt_at

    assert archive(recording).attempts == 1  # not due yet: no request, no attempt
    assert len(pbx.downloads) == 1

    Recording.objects.filter(pk=recording.pk).update(next_attempt_at=timezone.now())
    recording = archive(recording)
    assert (recording.status, recording.attempts, recording.error) == ("archived", 2, "")
    assert len(pbx.downloads) == 2


@pytest.mark.django_db
def test_backoff_doubles_and_the_last_try_is_at_the_deadline(pbx, settings):
    settings.RECORDINGS_RETRY_FOR = 150
    pbx.switches.late_recordings, pbx.switches.late_status = 3, 503  # its storage is down
    recording = recording_for(pbx.recording_url("gone"))

    waits = []
    for _attempt in range(3):
        Recording.objects.filter(pk=recording.pk).update(next_attempt_at=None)
        recording = archive(recording)
        waits.append(round((recording.next_attempt_at - recording.last_attempt_at).total_seconds()))

    assert waits[:2] == [60, 120]
    # The third would wait 4 minutes: capped at the deadline, the last try.
    assert recording.next_attempt_at == recording.first_attempt_at + timedelta(seconds=150)


@pytest.mark.django_db
def test_a_connection_failure_past_the_retry_time_is_lost_with_the_reason(settings):
    settings.RECORDINGS_RETRY_FOR = 3600
    recording = recording_for(f"{closed_port_url()}r.wav")
    Recording.objects.filter(pk=recording.pk).update(
        first_attempt_at=timezone.now() - timedelta(hours=2)
    )

    recording = archive(recording)

    assert recording.status == Recording.Status.LOST
    assert "connect" in recording.error and recording.next_attempt_at is None


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        (Answer(body=b"x" * 2000), "larger than"),
        (Answer(body=b"x" * 2000, length=False), "larger than"),
        (Answer(content_type="text/html", body=b"<html>login</html>"), "not audio (text/html)"),
        (Answer(content_type="application/octet-stream", body=b"<html></html>"), "not audio"),
        (Answer(status=403, content_type="text/plain"), "HTTP 403"),
        (Answer(status=302, location="http://169.254.169.254/latest/meta-data/"), "not allowed"),
    ],
    ids=["too-big", "too-big-unannounced", "html", "octet-stream-html", "403", "redirect-out"],
)
@pytest.mark.django_db
def test_permanent_refusals_are_not_retried(
    server, settings, media, answer, reason, django_capture_on_commit_callbacks,
):
    settings.RECORDINGS_MAX_BYTES = 1000
    recording = recording_for(server.serve("/r.wav", answer))

    with django_capture_on_commit_callbacks(execute=True):
        recording = archive(recording)

    assert recording.status == Recording.Status.REFUSED
    assert reason in recording.error
    assert recording.next_attempt_at is None
    assert tasks_enqueued() == []
    assert stored_files(media) == []
    assert archive(recording).attempts == 1  # a re-run task does nothing
    assert len(server.requests) == 1


@pytest.mark.django_db
def test_a_forbidden_host_is_refused_before_any_connection(pbx, settings):
    settings.RECORDINGS_ALLOWED_HOSTS = ["vpbx.example.com"]
    recording = recording_for(pbx.recording_url("c1"))

    recording = archive(recording)

    assert recording.status == Recording.Status.REFUSED
    assert "127.0.0.1 is not allowed" in recording.error
    assert pbx.downloads == []


# --- idempotent: one copy, whoever runs it and however often --------------------------------------


@pytest.mark.django_db
def test_a_re_run_after_archiving_fetches_nothing(pbx):
    recording = archive(recording_for(pbx.recording_url("c1")))

    assert recordings.archive(recording_id=recording.pk) == "archived"
    assert recordings.archive(recording_id=recording.pk, force=True) == "archived"
    assert len(pbx.downloads) == 1


@pytest.mark.django_db(transaction=True)
def test_two_workers_racing_on_one_recording_store_one_copy(pbx, media):
    # Threads with their own database connections, as two worker processes would have.
    pbx.switches.slow = 0.5
    recording = recording_for(pbx.recording_url("slow"))
    barrier, results = threading.Barrier(4), []

    def worker() -> None:
        try:
            barrier.wait()
            results.append(recordings.archive(recording_id=recording.pk))
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)

    recording.refresh_from_db()
    assert recording.status == Recording.Status.ARCHIVED and recording.attempts == 1
    assert len(pbx.downloads) == 1
    assert stored_files(media) == [media / recording.file.name]
    assert sorted(results).count("archived") >= 1 and len(results) == 4


@pytest.mark.django_db
def test_a_stale_claim_of_a_dead_worker_is_taken_over(pbx):
    recording = recording_for(pbx.recording_url("c1"))
    Recording.objects.filter(pk=recording.pk).update(
        claimed_by="dead", claimed_until=timezone.now() - timedelta(seconds=1)
    )

    assert archive(recording).status == Recording.Status.ARCHIVED


@pytest.mark.django_db
def test_a_live_claim_is_left_alone(pbx):
    recording = recording_for(pbx.recording_url("c1"))
    Recording.objects.filter(pk=recording.pk).update(
        claimed_by="busy", claimed_until=timezone.now() + timedelta(minutes=5)
    )

    assert archive(recording).status == Recording.Status.PENDING
    assert pbx.downloads == []


# --- commands: archive what is missing, prune what is old -----------------------------------------


@pytest.mark.django_db
def test_archive_recordings_enqueues_calls_from_before_the_feature(pbx):
    link = pbx.recording_url("old")
    call = Call.objects.create(callid="old", started_at=timezone.now(), record_link=link)
    out = io.StringIO()

    call_command("archive_recordings", stdout=out)

    assert call.recording.status == Recording.Status.PENDING
    assert [task.args_kwargs["args"] for task in tasks_enqueued()] == [[call.recording.pk]]
    assert "Enqueued 1 recordings" in out.getvalue()


@pytest.mark.django_db
def test_archive_recordings_now_downloads_here(pbx):
    link = pbx.recording_url("old")
    call = Call.objects.create(callid="old", started_at=timezone.now(), record_link=link)
    Call.objects.create(callid="silent", started_at=timezone.now())
    out = io.StringIO()

    call_command("archive_recordings", "--now", stdout=out)

    call.recording.refresh_from_db()
    assert call.recording.status == Recording.Status.ARCHIVED
    assert "Tried 1 recordings (archived: 1)" in out.getvalue()
    assert Recording.objects.count() == 1


def archived(callid: str, *, days_ago: float) -> Recording:
    recording = recording_for("http://127.0.0.1:9/r.wav", callid=callid)
    name = default_storage.save(f"recordings/{callid}.wav", ContentFile(WAV))
    Recording.objects.filter(pk=recording.pk).update(
        status=Recording.Status.ARCHIVED, file=name, size=len(WAV),
        archived_at=timezone.now() - timedelta(days=days_ago),
    )
    recording.refresh_from_db()
    return recording


@pytest.mark.django_db
def test_prune_deletes_copies_past_retention_and_says_so(settings, media):
    settings.RECORDINGS_RETENTION_DAYS = 30
    old, recent = archived("old", days_ago=31), archived("recent", days_ago=29)
    out = io.StringIO()

    call_command("prune_recordings", stdout=out)

    old.refresh_from_db()
    recent.refresh_from_db()
    assert (old.status, old.file.name) == (Recording.Status.DELETED, "")
    assert old.deleted_at is not None and "30 days" in old.error
    assert recent.status == Recording.Status.ARCHIVED
    assert stored_files(media) == [media / recent.file.name]
    assert "Deleted 1 recordings" in out.getvalue()


@pytest.mark.django_db
def test_retention_zero_keeps_everything(settings, media):
    settings.RECORDINGS_RETENTION_DAYS = 0
    archived("old", days_ago=3650)
    out = io.StringIO()

    call_command("prune_recordings", stdout=out)

    assert Recording.objects.get().status == Recording.Status.ARCHIVED
    assert len(stored_files(media)) == 1
    assert "kept" in out.getvalue()


# --- end to end: the emulator's WAV through a real worker process ---------------------------------


def database_url() -> str:
    """The test database as DATABASE_URL, for another process."""
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def run_worker(media: Path, *, pbx_url: str) -> subprocess.CompletedProcess:
    """`manage.py db_worker --batch`: runs what is queued, then exits."""
    env = {**os.environ, "DATABASE_URL": database_url(), "MEDIA_ROOT": str(media),
           "PBX_URL": pbx_url, "RECORDINGS_ALLOWED_HOSTS": "", "DJANGO_DEBUG": "false",
           "DB_CONN_MAX_AGE": "0"}
    return subprocess.run(
        [sys.executable, "manage.py", "db_worker", "--batch", "--no-startup-delay",
         "--no-reload", "--interval", "0"],
        cwd=django_settings.BASE_DIR, env=env, capture_output=True, text=True, timeout=60,
    )


@pytest.mark.django_db(transaction=True)
def test_the_emulators_recording_is_archived_by_a_real_worker(live_pbx: PbxEmulator, media):
    callid = live_pbx.make_call(ext="100", phone="79201119613")
    assert live_pbx.join(timeout=10)
    call = Call.objects.get(callid=callid)
    assert call.recording.status == Recording.Status.PENDING
    assert len(tasks_enqueued()) == 1

    result = run_worker(media, pbx_url=live_pbx.url)  # allowed: PBX_URL's host

    assert result.returncode == 0, result.stdout + result.stderr
    call.recording.refresh_from_db()
    assert call.recording.status == Recording.Status.ARCHIVED, call.recording.error
    assert (media / call.recording.file.name).read_bytes() == live_pbx.wav
    assert call.recording.sha256 == hashlib.sha256(live_pbx.wav).hexdigest()
    [task] = tasks_enqueued()
    assert task.status == "SUCCESSFUL"
    assert run_worker(media, pbx_url=live_pbx.url).returncode == 0  # nothing left to do
    assert stored_files(media) == [media / call.recording.file.name]
