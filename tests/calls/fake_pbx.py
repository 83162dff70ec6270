"""A real HTTP server on 127.0.0.1 standing in for the PBX's makeCall address."""
import json
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl


@dataclass
class FakePbx:
    """Answers every POST with `status` and `body`; keeps the form fields it received."""

    url: str = ""
    status: int = 200
    body: bytes = b'{"uuid": "c0ffee-1"}'
    content_type: str = "application/json"
    hang: bool = False  # hold the answer until the test ends, so the client times out
    received: list[dict[str, str]] = field(default_factory=list)
    released: threading.Event = field(default_factory=threading.Event)

    def answer(self, status: int, payload: object) -> None:
        self.status, self.body = status, json.dumps(payload).encode()


def _handler(pbx: FakePbx) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - the stdlib's name
            length = int(self.headers.get("Content-Length", "0"))
            pbx.received.append(dict(parse_qsl(self.rfile.read(length).decode())))
            if pbx.hang:
                pbx.released.wait(10)
            self.send_response(pbx.status)
            self.send_header("Content-Type", pbx.content_type)
            self.send_header("Content-Length", str(len(pbx.body)))
            self.end_headers()
            self.wfile.write(pbx.body)

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            pass

    return Handler


@contextmanager
def serve_fake_pbx() -> Iterator[FakePbx]:
    """A FakePbx listening on a free local port for the duration of the block."""
    pbx = FakePbx()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(pbx))
    server.daemon_threads = True
    pbx.url = f"http://127.0.0.1:{server.server_address[1]}/api/makecall"
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    try:
        yield pbx
    finally:
        pbx.released.set()
        server.shutdown()
        server.server_close()


def closed_port_url() -> str:
    """A local URL on which nothing listens: connecting is refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/"
