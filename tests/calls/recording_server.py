"""A real HTTP server on 127.0.0.1 standing in for the PBX's recording links."""
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass(frozen=True)
class Answer:
    status: int = 200
    content_type: str = "audio/wav"
    body: bytes = b""
    length: bool = True  # send Content-Length (else the body ends when the connection closes)
    location: str = ""
    delay: float = 0.0


@dataclass
class RecordingServer:
    """GET <path>: the next queued answer for the path (the last one repeats), else 404."""

    url: str = ""
    answers: dict[str, list[Answer]] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def serve(self, path: str, *answers: Answer) -> str:
        self.answers[path] = list(answers)
        return f"{self.url}{path}"

    def next_answer(self, path: str) -> Answer:
        with self.lock:
            self.requests.append(path)
            queue = self.answers.get(path) or [Answer(status=404, content_type="text/plain")]
            return queue.pop(0) if len(queue) > 1 else queue[0]


def _handler(server: RecordingServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
            answer = server.next_answer(self.path)
            time.sleep(answer.delay)
            self.send_response(answer.status)
            if answer.content_type:
                self.send_header("Content-Type", answer.content_type)
            if answer.location:
                self.send_header("Location", answer.location)
            if answer.length:
                self.send_header("Content-Length", str(len(answer.body)))
            self.end_headers()
            self.wfile.write(answer.body)

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            pass

    return Handler


@contextmanager
def serve_recordings() -> Iterator[RecordingServer]:
    """A RecordingServer on a free local port for the duration of the block."""
    recordings = RecordingServer()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(recordings))
    server.daemon_threads = True
    recordings.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    try:
        yield recordings
    finally:
        server.shutdown()
        server.server_close()
