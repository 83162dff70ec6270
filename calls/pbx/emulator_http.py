"""The emulated PBX's HTTP side: it answers makeCall and serves the recordings.

It misbehaves as a real PBX does at times (slow, refusing, a recording not written yet)
when its `Switches` say so. Standard library only; the webhooks are calls/pbx/emulator.py's.
"""
import hmac
import json
import re
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

RECORDINGS_PATH = "/recordings/"
_RECORDING = re.compile(r"/recordings/([A-Za-z0-9_-]{1,64})\.wav")
_DIGITS = re.compile(r"[0-9]{2,20}")
MAX_BODY = 16 * 1024
# The PBX's own words for its refusals (shared/pbx-protocol.md §3).
_ERRORS = {400: "Invalid parameters", 401: "Invalid token"}

Fields = dict[str, str]
Log = Callable[[str], None]


@dataclass(frozen=True)
class Reply:
    """An answer to makeCall other than the PBX's own: a refusal, a fault, another dialect's."""

    status: int
    body: bytes
    content_type: str = "application/json; charset=utf-8"

    @classmethod
    def json(cls, status: int, payload: object) -> "Reply":
        return cls(status, json.dumps(payload).encode("utf-8"))

    @classmethod
    def error(cls, status: int) -> "Reply":
        """The PBX's refusal with this status: `{"error": "Invalid token"}` for 401."""
        return cls.json(status, {"error": _ERRORS.get(status) or HTTPStatus(status).phrase})


@dataclass
class Switches:
    """How the PBX strays from its best, as a real one does at times; all off by default.

    Tests flip them on a running emulator; `pbx_emulator` has options for the common ones.
    """

    slow: float = 0.0  # seconds before every answer (a shutdown cuts them short, unanswered)
    make_call_reply: Reply | None = None  # every makeCall answered so, and no call placed
    late_recordings: int = 0  # the first N downloads of each recording fail with late_status
    late_status: int = 404  # 404: not written yet, as right after hang-up; 503: storage down


def check_make_call(fields: Fields, *, token: str) -> tuple[int, dict[str, str]]:
    """Validate a makeCall form: (200, {}) when it may go ahead, else the PBX's refusal."""
    offered = fields.get("token", "")
    if not offered or not hmac.compare_digest(offered.encode(), token.encode()):
        return 401, {"error": _ERRORS[401]}
    if fields.get("cmd") != "makeCall" or not all(
        _DIGITS.fullmatch(fields.get(name, "")) for name in ("from", "to")
    ):
        return 400, {"error": _ERRORS[400]}
    return 200, {}


class PbxHttpServer(ThreadingHTTPServer):
    """POST anything: makeCall, handed to `place_call(ext=, phone=)` for its call id.
    GET /recordings/<callid>.wav: the recording. Keeps every form and path it was sent.
    """

    daemon_threads = True

    def __init__(
        self, address: tuple[str, int], *, token: str, wav: bytes,
        place_call: Callable[..., str], log: Log,
    ) -> None:
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        self.token, self.wav, self.place_call, self.log = token, wav, place_call, log
        self.switches = Switches()
        self.received: list[Fields] = []  # the makeCall forms, refused ones too
        self.downloads: list[str] = []  # the recording paths asked for
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        super().__init__(address, PbxHandler)

    def shutdown(self) -> None:
        self.stopping.set()
        super().shutdown()

    def take_form(self, fields: Fields) -> None:
        with self._lock:
            self.received.append(fields)

    def take_download(self, path: str) -> int:
        """Note a download; the status it fails with while the recording is late, else 0."""
        with self._lock:
            self.downloads.append(path)
            asked = self.downloads.count(path)
        switches = self.switches
        return switches.late_status if asked <= switches.late_recordings else 0

    def pause(self) -> bool:
        """Wait as slowly as the switches say; False when a shutdown cut the wait short."""
        return not self.stopping.wait(self.switches.slow)


class PbxHandler(BaseHTTPRequestHandler):
    """Every recording is the same tone, so any well-formed call id is served, also of calls
    another emulator placed (`recordings_from`); other paths are 404."""

    server: PbxHttpServer
    server_version = "XVB-PBX-emulator/1.0"

    def do_POST(self) -> None:  # noqa: N802
        length_header = self.headers.get("Content-Length") or "0"
        length = int(length_header) if length_header.isdigit() else MAX_BODY + 1
        if length > MAX_BODY:
            self._json(400, {"error": _ERRORS[400]})
            return
        body = self.rfile.read(length).decode("utf-8", "replace")
        fields = dict(parse_qsl(body, keep_blank_values=True))
        self.server.take_form(fields)
        if not self.server.pause():
            return
        reply = self.server.switches.make_call_reply
        if reply is None:
            status, payload = check_make_call(fields, token=self.server.token)
            if status == 200:
                payload = {"uuid": self.server.place_call(ext=fields["from"], phone=fields["to"])}
            reply = Reply.json(status, payload)
        self.server.log(f"<- makeCall from={fields.get('from', '')} to={fields.get('to', '')}: "
                        f"{reply.status} {reply.body.decode('utf-8', 'replace')}")
        self._send(reply.status, reply.content_type, reply.body)

    def do_GET(self) -> None:  # noqa: N802
        path = urlsplit(self.path).path
        if not _RECORDING.fullmatch(path):
            self._json(404, {"error": "Not found"})
            return
        late = self.server.take_download(path)
        if not self.server.pause():
            return
        if late:
            self.server.log(f"<- {path}: {late}, not ready yet")
            self._json(late, {"error": HTTPStatus(late).phrase})
            return
        self._send(200, "audio/wav", self.server.wav)

    def _json(self, status: int, payload: dict[str, str]) -> None:
        self._send(status, "application/json; charset=utf-8", json.dumps(payload).encode())

    def _send(self, status: int, content_type: str, data: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        """Quiet: the emulator logs what it does itself."""
