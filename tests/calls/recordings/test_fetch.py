"""The recording fetcher: it connects to the address checked with the link's own host, a
trickling server cannot outlast the deadline, a claim outlasts its download, and what a failure
stores is in our words. Against local servers and a resolver the test controls."""
import hashlib
import ipaddress
import ssl
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import trustme
from django.db import connection
from django.utils import timezone

from calls.models import Call, Recording
from calls.pbx.emulator import tone_wav
from calls.recordings import services as recordings
from tests.calls.recording_server import Answer, RecordingServer, serve_recordings

WAV = tone_wav(seconds=0.5)
TINY_WAV = tone_wav(seconds=0.01)  # 204 bytes: trickled at 20 per second, 10 s
# No real DNS: every name the fetcher looks up is answered by the test's resolver.
pytestmark = pytest.mark.usefixtures("resolver")


@pytest.fixture(autouse=True)
def media(settings, tmp_path) -> Path:  # noqa: ANN001
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.RECORDINGS_ALLOWED_HOSTS = [".pbx.test", "127.0.0.1"]
    return settings.MEDIA_ROOT


@pytest.fixture
def server() -> Iterator[RecordingServer]:
    with serve_recordings() as recording_server:
        yield recording_server


def recording_for(link: str, callid: str = "c1") -> Recording:
    call = Call.objects.create(callid=callid, started_at=timezone.now(), record_link=link)
    return Recording.objects.create(call=call, source_url=link)


def archive(recording: Recording) -> Recording:
    recordings.archive(recording_id=recording.pk)
    recording.refresh_from_db()
    return recording


def stored_files(media: Path) -> list[Path]:
    return sorted(path for path in media.rglob("*") if path.is_file())


# --- connected to the checked address, with the link's own host -------------------------------


@pytest.mark.django_db
def test_a_name_is_fetched_from_the_address_it_was_checked_at_with_its_host_header(
    server, resolver,
):
    # No DNS knows rec.pbx.test: the server is reached only through the checked address.
    resolver.names = {"rec.pbx.test": ["127.0.0.1"]}
    server.serve("/r.wav", Answer(body=WAV))

    recording = archive(recording_for(f"http://rec.pbx.test:{server.port}/r.wav"))

    assert recording.status == Recording.Status.ARCHIVED, recording.error
    assert recording.sha256 == hashlib.sha256(WAV).hexdigest()
    assert server.hosts == [f"rec.pbx.test:{server.port}"]
    assert resolver.lookups == ["rec.pbx.test"]  # resolved once, for the check and the connection


@pytest.mark.parametrize("address", ["10.0.0.1", "100.64.0.1", "fd00::1", "::ffff:127.0.0.1",
                                     "169.254.169.254"])
@pytest.mark.django_db
def test_a_name_resolving_to_a_non_public_address_is_refused_without_connecting(
    server, resolver, address,
):
    resolver.names = {"rec.pbx.test": ["127.0.0.1", address]}  # 127.0.0.1 alone would do
    server.serve("/r.wav", Answer(body=WAV))

    recording = archive(recording_for(f"http://rec.pbx.test:{server.port}/r.wav"))

    assert recording.status == Recording.Status.REFUSED
    assert recording.error == (f"host rec.pbx.test resolves to a non-public address "
                               f"({ipaddress.ip_address(address)})")
    assert server.requests == []


@pytest.mark.django_db
def test_an_unlisted_loopback_address_is_refused_without_connecting(server, resolver, settings):
    settings.RECORDINGS_ALLOWED_HOSTS = [".pbx.test"]
    resolver.names = {"rec.pbx.test": ["127.0.0.1"]}
    server.serve("/r.wav", Answer(body=WAV))

    recording = archive(recording_for(f"http://rec.pbx.test:{server.port}/r.wav"))

    assert (recording.status, server.requests) == (Recording.Status.REFUSED, [])


@pytest.mark.django_db
def test_a_name_that_does_not_resolve_is_retried(resolver):
    recording = archive(recording_for("http://gone.pbx.test/r.wav"))

    assert (recording.status, recording.error) == ("pending", "cannot resolve gone.pbx.test")


@pytest.mark.django_db
def test_every_redirect_is_checked_and_connected_to_its_checked_address(server, resolver):
    resolver.names = {"a.pbx.test": ["127.0.0.1"], "b.pbx.test": ["127.0.0.1"]}
    server.serve("/r.wav", Answer(status=302, location=f"http://b.pbx.test:{server.port}/b.wav"))
    server.serve("/b.wav", Answer(status=307, location="/c.wav"))
    server.serve("/c.wav", Answer(body=WAV))

    recording = archive(recording_for(f"http://a.pbx.test:{server.port}/r.wav"))

    assert recording.status == Recording.Status.ARCHIVED, recording.error
    assert server.requests == ["/r.wav", "/b.wav", "/c.wav"]
    assert server.hosts == [f"{host}.pbx.test:{server.port}" for host in "abb"]
    assert resolver.lookups == ["a.pbx.test", "b.pbx.test", "b.pbx.test"]


@pytest.mark.parametrize(
    "location",
    ["http://inside.pbx.test:{port}/x.wav",  # resolves to 10.0.0.1
     "http://inside.pbx.test\\@127.0.0.1:{port}/x.wav",
     "http://127.0.0.1\\@inside.pbx.test:{port}/x.wav",
     "http://0x7f.1:{port}/x.wav",
     "http://evil.example.org/x.wav"],
)
@pytest.mark.django_db
def test_a_redirect_to_a_refused_link_is_refused_before_connecting(server, resolver, location):
    resolver.names = {"a.pbx.test": ["127.0.0.1"], "inside.pbx.test": ["10.0.0.1"]}
    server.serve("/r.wav", Answer(status=302, location=location.format(port=server.port)))
    server.serve("/x.wav", Answer(body=WAV))

    recording = archive(recording_for(f"http://a.pbx.test:{server.port}/r.wav"))

    assert recording.status == Recording.Status.REFUSED
    assert server.requests == ["/r.wav"]


@pytest.fixture(scope="module")
def certificate_authority() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def tls_server(certificate_authority, settings, tmp_path) -> Iterator[RecordingServer]:  # noqa: ANN001
    """An https server whose certificate names rec.pbx.test only, its CA trusted."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    certificate_authority.issue_cert("rec.pbx.test").configure_cert(context)
    ca_file = tmp_path / "ca.pem"
    certificate_authority.cert_pem.write_to_path(str(ca_file))
    settings.RECORDINGS_CA_FILE = str(ca_file)
    with serve_recordings(tls=context) as recording_server:
        yield recording_server


@pytest.mark.django_db
def test_https_sends_the_name_and_checks_the_certificate_against_it(tls_server, resolver):
    resolver.names = {"rec.pbx.test": ["127.0.0.1"], "other.pbx.test": ["127.0.0.1"]}
    tls_server.serve("/r.wav", Answer(body=WAV))

    good = archive(recording_for(f"https://rec.pbx.test:{tls_server.port}/r.wav"))
    wrong = archive(recording_for(f"https://other.pbx.test:{tls_server.port}/r.wav", "c2"))

    assert good.status == Recording.Status.ARCHIVED, good.error
    assert tls_server.hosts == [f"rec.pbx.test:{tls_server.port}"]
    assert tls_server.server_names[:2] == ["rec.pbx.test", "other.pbx.test"]
    # Same address, another name: the certificate does not name it.
    assert wrong.status == Recording.Status.PENDING
    assert wrong.error == "cannot connect to other.pbx.test (SSLCertVerificationError)"


# --- time: per read and for the whole download ----------------------------------------------------


@pytest.mark.parametrize("trickled", ["body", "headers"])
@pytest.mark.django_db
def test_a_trickling_server_cannot_hold_a_worker_past_the_deadline(server, settings, trickled):
    # A byte every 50 ms never lets one read wait RECORDINGS_TIMEOUT; the whole answer would
    # take over 10 s, the deadline is 1 s.
    settings.RECORDINGS_TIMEOUT, settings.RECORDINGS_DEADLINE = 5, 1
    link = server.serve("/slow.wav", Answer(body=TINY_WAV, trickle=0.05,
                                            trickle_headers=trickled == "headers"))

    recording = archive(recording_for(link))

    assert recording.status == Recording.Status.PENDING
    assert recording.error == "download took longer than 1 s (RECORDINGS_DEADLINE)"
    assert not recording.file
    assert server.outcomes(1) == [False]  # the worker hung up: it did not wait for the rest


@pytest.mark.django_db
def test_a_slow_but_steady_octet_stream_is_recognised_as_audio(server):
    # Bytes arrive one by one: the type is judged on the first 16, however they come.
    link = server.serve("/r.bin", Answer(content_type="application/octet-stream", body=TINY_WAV,
                                         trickle=0.002))

    recording = archive(recording_for(link))

    assert (recording.status, recording.content_type) == ("archived", "audio/wav")
    assert recording.size == len(TINY_WAV)


@pytest.mark.django_db
def test_a_read_waits_at_most_the_timeout(server, settings):
    settings.RECORDINGS_TIMEOUT = 0.5
    link = server.serve("/stalled.wav", Answer(body=WAV, stall=5))

    recording = archive(recording_for(link))

    assert recording.status == Recording.Status.PENDING
    assert recording.error == "127.0.0.1 did not answer within 0.5 s"


@pytest.mark.django_db
def test_a_server_not_answering_the_request_waits_at_most_the_timeout(server, settings):
    settings.RECORDINGS_TIMEOUT = 0.5
    link = server.serve("/silent.wav", Answer(body=WAV, delay=5))

    recording = archive(recording_for(link))

    assert recording.error == "127.0.0.1 did not answer within 0.5 s"


@pytest.mark.django_db
def test_a_body_shorter_than_announced_is_not_kept(server):
    link = server.serve("/cut.wav", Answer(body=WAV))
    server.answers["/cut.wav"] = [Answer(body=WAV[:100], length=False,
                                         content_type=f"audio/wav\r\nContent-Length: {len(WAV)}")]

    recording = archive(recording_for(link))

    assert recording.status == Recording.Status.PENDING
    assert recording.error == "download interrupted (IncompleteRead)"


# --- the claim outlasts the download -----------------------------------------------------------


def in_worker(recording: Recording, results: list[str]) -> threading.Thread:
    """`archive` in a thread with its own database connection, as another worker process."""
    def work() -> None:
        try:
            results.append(recordings.archive(recording_id=recording.pk))
        finally:
            connection.close()

    thread = threading.Thread(target=work)
    thread.start()
    return thread


@pytest.mark.django_db(transaction=True)
def test_a_recording_a_worker_is_stuck_on_is_not_taken_by_another(server, settings):
    settings.RECORDINGS_TIMEOUT, settings.RECORDINGS_DEADLINE = 5, 1
    recording = recording_for(server.serve("/slow.wav", Answer(body=TINY_WAV, trickle=0.05)))
    results: list[str] = []

    first = in_worker(recording, results)
    assert server.received.wait(10)
    recording.refresh_from_db()
    # The claim lasts longer than the download may: it cannot run out under a live worker.
    assert recording.claimed_until - recording.last_attempt_at > timedelta(seconds=1)
    assert recordings.archive(recording_id=recording.pk) == Recording.Status.PENDING
    first.join(30)

    recording.refresh_from_db()
    assert results == [Recording.Status.PENDING]
    assert recording.error == "download took longer than 1 s (RECORDINGS_DEADLINE)"
    assert (recording.attempts, len(server.requests)) == (1, 1)
    assert recording.claimed_by == ""


@pytest.mark.django_db(transaction=True)
def test_a_worker_whose_claim_was_taken_over_stores_nothing(server, media):
    hold = threading.Event()
    recording = recording_for(server.serve("/r.wav", Answer(body=WAV, hold=hold)))
    results: list[str] = []

    first = in_worker(recording, results)
    assert server.received.wait(10)
    Recording.objects.filter(pk=recording.pk).update(
        claimed_by="another", claimed_until=timezone.now() + timedelta(minutes=5))
    hold.set()
    first.join(30)

    recording.refresh_from_db()
    assert results == [Recording.Status.PENDING]
    assert (recording.status, recording.claimed_by) == ("pending", "another")
    assert not recording.file
    assert stored_files(media) == []


# --- what a failure stores: our words, never the answer ----------------------------------------


@pytest.mark.parametrize(
    ("answer", "error"),
    [
        (Answer(status=403, content_type="text/plain", body=b"secret-token-42"), "HTTP 403"),
        (Answer(status=500, content_type="text/plain", body=b"secret-token-42"), "HTTP 500"),
        (Answer(content_type="text/html", body=b"<p>secret-token-42</p>"), "not audio (text/html)"),
        (Answer(content_type="application/x-secret-token-42", body=b"{}"),
         "not audio (another type)"),
        (Answer(content_type="", body=b"secret-token-42"), "not audio (no type)"),
        (Answer(status=302, location="http://secret-token-42.internal/"),
         "host secret-token-42.internal is not allowed (RECORDINGS_ALLOWED_HOSTS)"),
    ],
    ids=["403", "500", "html", "odd-type", "no-type", "redirect"],
)
@pytest.mark.django_db
def test_a_failure_is_stored_in_our_words_not_the_answers(server, answer, error):
    recording = archive(recording_for(server.serve("/r.wav", answer)))

    assert recording.error == error


@pytest.mark.django_db
def test_a_storage_failure_stores_its_kind_not_its_message(server, media, settings, tmp_path):
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("")
    settings.MEDIA_ROOT = blocked  # saving under a file fails, naming the path

    recording = archive(recording_for(server.serve("/r.wav", Answer(body=WAV))))

    assert recording.status == Recording.Status.PENDING
    assert recording.error.startswith("could not store the copy (")
    assert str(blocked) not in recording.error
