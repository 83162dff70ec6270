"""The recording fetcher: the host checked is the host connected to, non-public addresses are
refused, a trickling server cannot outlast the deadline, a claim outlasts its download, and
what a failure stores is in our words. Against local servers and a resolver the test controls."""
import hashlib
import ipaddress
import itertools
import socket
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import trustme
from django.db import connection
from django.utils import timezone
from urllib3.util import parse_url

from calls import recording_links, recordings
from calls.emulator import tone_wav
from calls.models import Call, Recording
from calls.recording_links import RecordingRefused, check_link, parse_link
from tests.calls.recording_server import Answer, RecordingServer, serve_recordings

WAV = tone_wav(seconds=0.5)
TINY_WAV = tone_wav(seconds=0.01)  # 204 bytes: trickled at 20 per second, 10 s
ALLOWED = ["vpbx.example.com", ".pbx.example.net"]


@dataclass
class Resolver:
    """Names to addresses, as the test says; every lookup is recorded."""

    names: dict[str, list[str]] = field(default_factory=dict)
    lookups: list[str] = field(default_factory=list)

    def __call__(self, host: str, port: int) -> list[str]:
        self.lookups.append(host)
        if host not in self.names:
            raise socket.gaierror(socket.EAI_NONAME, "unknown name")
        return self.names[host]


@pytest.fixture(autouse=True)
def resolver(monkeypatch) -> Resolver:  # noqa: ANN001
    """No real DNS: every name this file's fetcher looks up is answered here."""
    fake = Resolver()
    monkeypatch.setattr(recording_links, "resolver", fake)
    return fake


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


# --- one reading of a link ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "link",
    [
        "http://vpbx.example.com\\@127.0.0.1/r.wav",  # urlsplit: 127.0.0.1; urllib3: vpbx…
        "http://127.0.0.1\\@vpbx.example.com/r.wav",
        "http://vpbx.example.com@127.0.0.1/r.wav",  # userinfo
        "http://vpbx.example.com:80@127.0.0.1/r.wav",
        "http://user:secret@vpbx.example.com/r.wav",
        "http://a@vpbx.example.com@127.0.0.1/r.wav",
        " http://vpbx.example.com/r.wav",
        "http://vpbx.example.com\t@127.0.0.1/r.wav",
        "http://vpbx.exa\nmple.com/r.wav",
        "http://vpbx.example.com\x00.evil.org/r.wav",
        "http://vpbx.example.com\u00a0/r.wav",  # a non-breaking space
        "http://vpbx.example.com\u200b/r.wav",  # a zero-width space
        "http://%76pbx.example.com/r.wav",  # a percent-encoded host
        "http://vpbx.example.com%2f@127.0.0.1/r.wav",
        "http://\u24e5pbx.example.com/r.wav",  # IDNA 2003 maps the circled v to v; urllib3 not
        "http://vpbx\uff0eexample\uff0ecom/r.wav",  # full-width dots
        "http://vpbx.example.com./r.wav",  # a trailing dot
        "http://vpbx..example.com/r.wav",
        "http://vpbx_1.example.com/r.wav",
        "http://vpbx.example.com:99999/r.wav",
        "http://vpbx.example.com:8080:80/r.wav",
        "http://2130706433/r.wav",  # 127.0.0.1 as one number
        "http://0x7f.1/r.wav",
        "http://0x7f000001/r.wav",
        "http://0177.0.0.1/r.wav",  # octal
        "http://127.1/r.wav",
        "http://127.0.0.1.5/r.wav",
        "http://[fe80::1%25eth0]/r.wav",  # an IPv6 zone id
        "http://[::1]x/r.wav",
        "http:vpbx.example.com/r.wav",
        "http:///vpbx.example.com/r.wav",
    ],
)
def test_links_parsers_could_read_differently_are_refused(link):
    with pytest.raises(RecordingRefused, match="not a valid link"):
        parse_link(link)


@pytest.mark.parametrize(
    ("link", "host", "port", "target"),
    [
        ("HTTPS://VPBX.Example.COM/ui/1.mp3", "vpbx.example.com", 443, "/ui/1.mp3"),
        ("http://vpbx.example.com:8080/r?id=7&k=@x", "vpbx.example.com", 8080, "/r?id=7&k=@x"),
        ("http://vpbx.example.com#@127.0.0.1/", "vpbx.example.com", 80, "/"),
        ("http://vpbx.example.com", "vpbx.example.com", 80, "/"),
        ("http://запись.пример.рф/р.wav", "xn--80ane1al0e.xn--e1afmkfd.xn--p1ai", 80,
         "/%D1%80.wav"),
        ("http://[::FFFF:127.0.0.1]:81/r.wav", "::ffff:7f00:1", 81, "/r.wav"),
        ("http://203.0.113.7/r.wav", "203.0.113.7", 80, "/r.wav"),
    ],
)
def test_a_link_is_read_once_into_what_is_connected_to_and_sent(link, host, port, target):
    parsed = parse_link(link)

    assert (parsed.host, parsed.port, parsed.target) == (host, port, target)


# Around an allowed host: another host, and one or two of the characters URL parsers split
# an authority at differently.
OTHERS = ["", "127.0.0.1", "[::1]", "10.0.0.1", "evil.org", "user:pw", "0x7f.1"]
SEPARATORS = ["", "@", "\\", ":", "#", "?", "/", " ", "\t", "%40", "\uff0e", ".", "80"]


def surroundings() -> Iterator[tuple[str, str]]:
    pairs = [a + b for a, b in itertools.product(SEPARATORS, repeat=2)]
    for other, pair in itertools.product(OTHERS, pairs):
        yield other + pair, ""
        yield "", pair + other
    for other, before, after in itertools.product(OTHERS, SEPARATORS, SEPARATORS):
        yield other + before, after + other


def test_whatever_surrounds_an_allowed_host_every_parser_reads_that_host(resolver):
    resolver.names = {"vpbx.example.com": ["93.184.216.34"]}
    accepted = []
    for before, after in surroundings():
        url = f"http://{before}vpbx.example.com{after}"
        try:
            destination = check_link(url, allowed=["vpbx.example.com"])
        except RecordingRefused:
            continue
        accepted.append(url)
        assert destination.link.host == "vpbx.example.com", url
        assert urlsplit(url).hostname == parse_url(url).host == "vpbx.example.com", url
        assert destination.addresses == (ipaddress.ip_address("93.184.216.34"),)
    assert "http://vpbx.example.com#@127.0.0.1" in accepted  # the check is not refusing all


# --- the allow-list and the addresses -----------------------------------------------------------


@pytest.mark.parametrize(
    "link",
    [
        "http://127.0.0.1/r.wav",
        "http://localhost/r.wav",
        "http://[::1]/r.wav",
        "http://[::ffff:127.0.0.1]/r.wav",
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.5/r.wav",
        "http://evil.example.org/r.wav",
        "http://vpbx.example.com.evil.org/r.wav",
        "http://evilpbx.example.net/r.wav",
        "ftp://vpbx.example.com/r.wav",
        "file:///etc/passwd",
    ],
)
def test_check_link_refuses_hosts_not_allowed_without_resolving_them(link, resolver):
    with pytest.raises(RecordingRefused):
        check_link(link, allowed=ALLOWED)
    assert resolver.lookups == []


def test_check_link_allows_listed_names_and_addresses(resolver):
    resolver.names = {"vpbx.example.com": ["93.184.216.34"],
                      "rec1.pbx.example.net": ["2a00:1450:4001::1", "93.184.216.34"]}
    assert check_link("https://VPBX.example.com/1.mp3", allowed=ALLOWED).addresses == (
        ipaddress.ip_address("93.184.216.34"),)
    assert check_link("http://rec1.pbx.example.net/x", allowed=ALLOWED).addresses == (
        ipaddress.ip_address("2a00:1450:4001::1"), ipaddress.ip_address("93.184.216.34"))
    assert check_link("http://[::1]:8001/x.wav", allowed=["::1"]).addresses == (
        ipaddress.ip_address("::1"),)


def test_an_international_name_is_checked_and_resolved_in_its_ascii_form(resolver):
    resolver.names = {"xn--80ane1al0e.xn--90a1at.xn--p1ai": ["93.184.216.34"]}

    destination = check_link("http://запись.пбх.рф/r.wav", allowed=[".пбх.рф"])

    assert destination.link.host == "xn--80ane1al0e.xn--90a1at.xn--p1ai"
    assert resolver.lookups == ["xn--80ane1al0e.xn--90a1at.xn--p1ai"]


@pytest.mark.parametrize(
    "address",
    ["127.0.0.1", "10.0.0.1", "172.16.0.1", "192.168.1.1", "100.64.0.1", "169.254.169.254",
     "0.0.0.0", "198.18.0.1", "192.0.0.8", "224.0.0.1", "255.255.255.255", "::1", "::",
     "fd00::1", "fe80::1", "ff02::1", "::ffff:127.0.0.1", "::ffff:10.0.0.1",
     "64:ff9b::7f00:1", "64:ff9b::a00:1", "2002:7f00:1::1", "2002:a00:1::1", "2001:db8::1",
     "2001::1", "3fff::1", "192.0.2.1", "240.0.0.1"],
)
def test_a_name_resolving_to_a_non_public_address_is_refused(address, resolver):
    resolver.names = {"rec.pbx.example.net": ["8.8.8.8", address]}  # one public is not enough

    with pytest.raises(RecordingRefused, match="non-public address"):
        check_link("https://rec.pbx.example.net/r.wav", allowed=ALLOWED)
    assert resolver.lookups == ["rec.pbx.example.net"]


def test_a_non_public_address_listed_itself_is_allowed(resolver):
    resolver.names = {"office.pbx.example.net": ["10.0.0.7"]}

    with pytest.raises(RecordingRefused):
        check_link("http://office.pbx.example.net/r.wav", allowed=ALLOWED)
    destination = check_link("http://office.pbx.example.net/r.wav", allowed=[*ALLOWED, "10.0.0.7"])
    assert destination.addresses == (ipaddress.ip_address("10.0.0.7"),)


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
