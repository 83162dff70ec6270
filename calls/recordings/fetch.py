"""Downloading a recording: every hop checked, connected to the checked address, time-bounded.

Why not `requests`: it parses the link again and resolves the name again when it connects,
so the host it reaches need not be the one `check_link` allowed. Here each hop (the link, then
every redirect) goes through `check_link`, the socket is opened to one of the addresses it
returned, and http.client sends the link's own host in the Host header; over https the
certificate is checked against that name (SNI included). One timer bounds the whole download
(RECORDINGS_DEADLINE): when it fires it shuts the connection down, so a server trickling its
headers or body cannot hold a worker longer; each read waits at most RECORDINGS_TIMEOUT.
"""
import contextlib
import hashlib
import http.client
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO
from urllib.parse import urljoin

import certifi
from django.conf import settings
from django.utils.translation import gettext as _

from calls.recordings.links import (
    Destination,
    RecordingRefused,
    RecordingUnavailable,
    check_characters,
    check_link,
)

CHUNK_BYTES = 64 * 1024
SNIFF_BYTES = 16  # what `_sniff` looks at
MAX_REDIRECTS = 3
REDIRECTS = {301, 302, 303, 307, 308}
HEADERS = {"User-Agent": "xvbcrm-recordings", "Accept": "audio/*, */*;q=0.1",
           "Accept-Encoding": "identity", "Connection": "close"}

# Servers often say application/octet-stream: then the first bytes must be audio.
GENERIC_TYPES = {"", "application/octet-stream", "binary/octet-stream", "application/x-download"}
# Types named in a refusal; any other is "another type" (we store our words, not theirs).
NAMED_TYPES = {"text/html", "text/plain", "text/xml", "application/json", "application/xml",
               "application/pdf", "application/zip", "image/jpeg", "image/png", "video/mp4"}


@dataclass(frozen=True)
class Fetched:
    size: int
    sha256: str
    content_type: str


class Deadline:
    """The time a whole download may take; when it is up, the open connection is shut down,
    so that a read blocked on it returns at once."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.at = time.monotonic() + seconds
        self.expired = False
        self._lock = threading.Lock()
        self._watched: list[socket.socket] = []
        self._timer = threading.Timer(max(seconds, 0), self._expire)
        self._timer.daemon = True

    def __enter__(self) -> "Deadline":
        self._timer.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._timer.cancel()
        with self._lock:
            for sock in self._watched:
                sock.close()
            self._watched.clear()

    def left(self) -> float:
        return max(self.at - time.monotonic(), 0.0)

    def watch(self, sock: socket.socket) -> None:
        # A duplicate of the descriptor: shutting it down shuts down the connection, even
        # once TLS has wrapped (and detached) the original socket object.
        duplicate = sock.dup()
        with self._lock:
            self._watched.append(duplicate)
            if self.expired:
                _shut(duplicate)

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            for sock in self._watched:
                _shut(sock)

    def exceeded(self) -> RecordingUnavailable:
        return RecordingUnavailable(_("download took longer than %(seconds)s s "
                                      "(RECORDINGS_DEADLINE)") % {"seconds": f"{self.seconds:g}"})


def _shut(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):  # already closed by the other end
        sock.shutdown(socket.SHUT_RDWR)


def _connect(destination: Destination, deadline: Deadline,
             context: ssl.SSLContext | None) -> socket.socket:
    """A socket to the first of the checked addresses that answers (TLS with `context`)."""
    link, timeout = destination.link, settings.RECORDINGS_TIMEOUT
    failure: OSError | None = None
    for address in destination.addresses:
        if deadline.expired:
            raise deadline.exceeded()
        try:
            sock = socket.create_connection((str(address), link.port),
                                            timeout=min(timeout, deadline.left() or 0.001))
        except OSError as exc:
            failure = exc
            continue
        sock.settimeout(timeout)  # each read, not the whole download: that is the deadline's
        deadline.watch(sock)
        if context is not None:
            try:
                return context.wrap_socket(sock, server_hostname=link.host)
            except BaseException:
                sock.close()
                raise
        return sock
    raise failure or OSError("no address")


def _open(destination: Destination, deadline: Deadline) -> http.client.HTTPResponse:
    """Send the GET over a connection to a checked address; the response, headers read."""
    link = destination.link
    # The connection only names the host (Host header); its socket is ours, never resolved.
    if link.scheme == "https":
        context = ssl.create_default_context(cafile=settings.RECORDINGS_CA_FILE or certifi.where())
        connection = http.client.HTTPSConnection(link.host, link.port, context=context)
    else:
        context, connection = None, http.client.HTTPConnection(link.host, link.port)
    try:
        connection.sock = _connect(destination, deadline, context)
        connection.request("GET", link.target, headers=HEADERS)
        return connection.getresponse()
    except BaseException:
        connection.close()
        raise


def _failed(exc: BaseException, host: str, deadline: Deadline) -> RecordingUnavailable:
    """Our words for a failed connection or read (the exception's own text is not kept)."""
    if deadline.expired:
        return deadline.exceeded()
    if isinstance(exc, TimeoutError):
        return RecordingUnavailable(_("%(host)s did not answer within %(seconds)s s")
                                    % {"host": host, "seconds": f"{settings.RECORDINGS_TIMEOUT:g}"})
    return RecordingUnavailable(_("cannot connect to %(host)s (%(reason)s)")
                                % {"host": host, "reason": type(exc).__name__})


def _get(url: str, deadline: Deadline) -> tuple[str, http.client.HTTPResponse]:
    """GET with redirects followed by hand, each hop checked and pinned before connecting;
    the host that answered, and its answer."""
    for _hop in range(MAX_REDIRECTS + 1):
        destination = check_link(url)
        try:
            response = _open(destination, deadline)
        except (OSError, http.client.HTTPException, ValueError) as exc:
            raise _failed(exc, destination.link.host, deadline) from exc
        location = response.getheader("Location", "")
        if response.status not in REDIRECTS or not location:
            return destination.link.host, response
        response.close()
        check_characters(location)
        url = urljoin(url, location)
    raise RecordingRefused(_("too many redirects"))


def _sniff(head: bytes) -> str:
    """The audio type the first bytes show, or ""."""
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "audio/wav"
    if head[:3] == b"ID3" or (len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0):
        return "audio/mpeg"
    if head[:4] == b"OggS":
        return "audio/ogg"
    if head[:4] == b"fLaC":
        return "audio/flac"
    if head[4:8] == b"ftyp" and head[8:11] in (b"M4A", b"mp4", b"iso"):
        return "audio/mp4"
    return ""


def _not_audio(declared: str) -> RecordingRefused:
    named = declared if declared in NAMED_TYPES else (_("no type") if not declared
                                                      else _("another type"))
    return RecordingRefused(_("not audio (%(type)s)") % {"type": named})


def _too_big(max_bytes: int) -> RecordingRefused:
    return RecordingRefused(_("larger than %(limit)s bytes (RECORDINGS_MAX_BYTES)")
                            % {"limit": max_bytes})


def _check_answer(response: http.client.HTTPResponse, max_bytes: int) -> str:
    """The declared type of an answer worth reading; raises for one that is not."""
    status = response.status
    if status in (404, 408, 425, 429) or status >= 500:
        raise RecordingUnavailable(_("HTTP %(status)s") % {"status": status})
    if status != 200:
        raise RecordingRefused(_("HTTP %(status)s") % {"status": status})
    declared = (response.getheader("Content-Type") or "").split(";")[0].strip().lower()
    if declared not in GENERIC_TYPES and not declared.startswith("audio/"):
        raise _not_audio(declared)
    if response.length is not None and response.length > max_bytes:
        raise _too_big(max_bytes)
    return declared


def _chunks(response: http.client.HTTPResponse, host: str,
            deadline: Deadline) -> Iterator[bytes]:
    """The body as it arrives (each read waits RECORDINGS_TIMEOUT at most), failures in our
    words."""
    while True:
        try:
            chunk = response.read1(CHUNK_BYTES)
        except (OSError, http.client.HTTPException, ValueError) as exc:
            if deadline.expired or isinstance(exc, TimeoutError):
                raise _failed(exc, host, deadline) from exc
            raise RecordingUnavailable(_("download interrupted (%(reason)s)")
                                       % {"reason": type(exc).__name__}) from exc
        if not chunk:
            return
        yield chunk


def _audio_type(head: bytes, declared: str) -> str:
    """The audio type the first bytes of an answer of a generic type show; refused if none."""
    sniffed = _sniff(head)
    if not sniffed:
        raise _not_audio(declared)
    return sniffed


def fetch(url: str, *, into: IO[bytes], max_bytes: int | None = None) -> Fetched:
    """Download the recording at `url` into the binary file `into`, streaming; raises
    RecordingRefused (never to be fetched) or RecordingUnavailable (try again later)."""
    max_bytes = settings.RECORDINGS_MAX_BYTES if max_bytes is None else max_bytes
    with Deadline(settings.RECORDINGS_DEADLINE) as deadline:
        host, response = _get(url, deadline)
        with response:
            declared = _check_answer(response, max_bytes)
            expected = response.length
            digest, size, head, content_type = hashlib.sha256(), 0, b"", declared
            sniffing = declared in GENERIC_TYPES  # until SNIFF_BYTES have come
            for chunk in _chunks(response, host, deadline):
                if sniffing:
                    head += chunk[:SNIFF_BYTES - len(head)]
                    if len(head) == SNIFF_BYTES:
                        content_type, sniffing = _audio_type(head, declared), False
                size += len(chunk)
                if size > max_bytes:
                    raise _too_big(max_bytes)
                digest.update(chunk)
                into.write(chunk)
        if deadline.expired:  # the connection was shut down: what came is not the whole
            raise deadline.exceeded()
    if expected is not None and size != expected:
        raise RecordingUnavailable(_("download interrupted (%(reason)s)")
                                   % {"reason": "IncompleteRead"})
    if size == 0:
        raise RecordingUnavailable(_("empty answer"))
    if sniffing:  # shorter than SNIFF_BYTES
        content_type = _audio_type(head, declared)
    return Fetched(size=size, sha256=digest.hexdigest(), content_type=content_type)
