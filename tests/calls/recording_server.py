"""Scaffolding for the recording fetcher's tests: an HTTP(S) server on 127.0.0.1 whose every
answer the test scripts, and which tells what the fetcher sent (path, Host, TLS name).

Not a stand-in for the PBX (that is calls/pbx/emulator.py): it plays whatever a recording link
may lead to, hostile or broken — redirects to forbidden addresses, a web page, a lying length,
bytes trickled to hold a worker, a certificate for another name."""
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# The longest a held or trickling answer lasts, so that a fetcher that fails to give up
# still ends (and its test fails) instead of hanging the suite.
HOLD_AT_MOST = 10.0


@dataclass(frozen=True)
class Answer:
    status: int = 200
    content_type: str = "audio/wav"
    body: bytes = b""
    length: bool = True  # send Content-Length (else the body ends when the connection closes)
    location: str = ""
    delay: float = 0.0  # seconds before the status line
    stall: float = 0.0  # seconds between the headers and the body
    trickle: float = 0.0  # seconds between two bytes of the body
    trickle_headers: bool = False  # the status line and headers too
    hold: threading.Event | None = None  # answer once this is set (HOLD_AT_MOST at most)


@dataclass
class RecordingServer:
    """GET <path>: the next queued answer for the path (the last one repeats), else 404."""

    url: str = ""
    port: int = 0
    answers: dict[str, list[Answer]] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)
    hosts: list[str] = field(default_factory=list)  # each request's Host header
    server_names: list[str | None] = field(default_factory=list)  # each TLS client's SNI
    finished: list[bool] = field(default_factory=list)  # each answer: all of it was sent
    answered: threading.Condition = field(default_factory=threading.Condition)
    received: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def serve(self, path: str, *answers: Answer) -> str:
        self.answers[path] = list(answers)
        return f"{self.url}{path}"

    def outcomes(self, count: int) -> list[bool]:
        """`finished` once `count` answers have ended (waiting HOLD_AT_MOST and a bit at most)."""
        with self.answered:
            self.answered.wait_for(lambda: len(self.finished) >= count, HOLD_AT_MOST + 5)
            return list(self.finished)

    def next_answer(self, path: str, host: str) -> Answer:
        with self.lock:
            self.requests.append(path)
            self.hosts.append(host)
            self.received.set()
            queue = self.answers.get(path) or [Answer(status=404, content_type="text/plain")]
            return queue.pop(0) if len(queue) > 1 else queue[0]


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


def _handler(server: RecordingServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
            answer = server.next_answer(self.path, self.headers.get("Host", ""))
            if answer.hold is not None:
                answer.hold.wait(HOLD_AT_MOST)
            time.sleep(answer.delay)
            head = [f"HTTP/1.0 {answer.status} Answer"]
            if answer.content_type:
                head.append(f"Content-Type: {answer.content_type}")
            if answer.location:
                head.append(f"Location: {answer.location}")
            if answer.length:
                head.append(f"Content-Length: {len(answer.body)}")
            head_bytes = ("\r\n".join(head) + "\r\n\r\n").encode("latin-1")
            try:
                self._send(head_bytes, answer.trickle if answer.trickle_headers else 0)
                time.sleep(answer.stall)
                self._send(answer.body, answer.trickle)
                sent_all = True
            except OSError:
                sent_all = False  # the fetcher gave up and closed the connection
            with server.answered:
                server.finished.append(sent_all)
                server.answered.notify_all()

        def _send(self, data: bytes, trickle: float) -> None:
            if not trickle:
                self.wfile.write(data)
                return
            for index in range(len(data)):
                self.wfile.write(data[index:index + 1])
                self.wfile.flush()
                time.sleep(trickle)

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            pass

    return Handler


@contextmanager
def serve_recordings(*, tls: ssl.SSLContext | None = None) -> Iterator[RecordingServer]:
    """A RecordingServer on a free local port for the duration of the block (https with
    `tls`, a server context holding its certificate)."""
    recordings = RecordingServer()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(recordings))
    server.daemon_threads = True
    recordings.port = server.server_address[1]
    recordings.url = f"{'https' if tls else 'http'}://127.0.0.1:{recordings.port}"
    if tls is not None:
        def remember_name(sock: ssl.SSLSocket, name: str | None, context: object) -> None:
            recordings.server_names.append(name)

        tls.sni_callback = remember_name
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    try:
        yield recordings
    finally:
        server.shutdown()
        server.server_close()
