"""Shared fixtures: the PBX's access code, and raw HTTP to a live server."""
import socket
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

import django.test.client
import pytest
from django.contrib.auth.models import User
from django.core.handlers.wsgi import WSGIHandler
from django.utils import translation
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from xvbcrm import wsgi_guard

ACCESS_CODE = "10019"  # the code in the vendor's captures


@pytest.fixture
def chromium() -> str:
    """Debian's chromium for the browser tests; skipped, saying why, where there is none."""
    from tests.browser import find_chromium

    path = find_chromium()
    if path is None:
        pytest.skip("no chromium found: `apt-get install chromium` (.ci/run does) or set CHROMIUM")
    return path


@pytest.fixture(autouse=True, scope="session")
def guarded_requests() -> None:
    """Django's test client and live server build their requests as xvbcrm.wsgi does, with
    xvbcrm.wsgi_guard (a Content-Type Django cannot parse reaches the view, not a 500).

    Every WSGIHandler in this process then does; tests/calls/pbx/test_webhook_content_type.py
    checks that xvbcrm.wsgi serves the guard by itself."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(django.test.client, "WSGIRequest", wsgi_guard.WSGIRequest)
        patch.setattr(WSGIHandler, "request_class", wsgi_guard.WSGIRequest)
        yield


@pytest.fixture(autouse=True)
def english(settings: pytest.FixtureRequest) -> None:
    """Tests read the English interface; Russian (the real default) is tested where asked for."""
    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield


@pytest.fixture(autouse=True)
def pbx_access_code(settings: pytest.FixtureRequest) -> str:
    settings.PBX_ACCESS_CODE = ACCESS_CODE
    settings.PHONE_DEFAULT_REGION = "RU"
    return ACCESS_CODE


def token_client(user: User) -> APIClient:
    """An API client authenticated with a fresh DRF token of `user`."""
    client = APIClient()
    token = Token.objects.create(user=user)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


@pytest.fixture
def api(admin_user: User) -> APIClient:
    """The REST API as a superuser, with token authentication."""
    return token_client(admin_user)


@dataclass(frozen=True)
class RawResponse:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> object:
        import json

        return json.loads(self.body.decode("utf-8"))


def send_raw(base_url: str, request: bytes, *, timeout: float = 10.0) -> RawResponse:
    """Send bytes as they are over one TCP connection and read one answer.

    Like LWP, the body is read by its Content-Length (Django's test server keeps the
    connection open after `Connection: TE, close`, which it does not parse as "close").
    """
    parts = urlsplit(base_url)
    with socket.create_connection((parts.hostname, parts.port), timeout=timeout) as sock:
        sock.sendall(request)
        raw = b""
        while b"\r\n\r\n" not in raw and (chunk := sock.recv(65536)):
            raw += chunk
        head, _, body = raw.partition(b"\r\n\r\n")
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        headers = {}
        for line in header_lines:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length", "-1"))
        while (length < 0 or len(body) < length) and (chunk := sock.recv(65536)):
            body += chunk
    return RawResponse(status=int(status_line.split()[1]), headers=headers, body=body)


def lwp_request(body: bytes, *, path: str = "/crm-api", extra_headers: str = "") -> bytes:
    """A webhook exactly as the PBX's Perl LWP client sends it (see the protocol document)."""
    head = (
        f"POST {path} HTTP/1.1\r\n"
        "TE: deflate,gzip;q=0.3\r\n"
        "Connection: TE, close\r\n"
        "Host: localhost\r\n"
        f"Content-Length: {len(body)}\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\n"
        f"{extra_headers}"
        "\r\n"
    )
    return head.encode("ascii") + body


@pytest.fixture
def pbx_post(live_server) -> Callable[..., RawResponse]:  # noqa: ANN001
    """POST a body to the live server's webhook the way the PBX does."""

    def post(body: bytes, *, path: str = "/crm-api", extra_headers: str = "") -> RawResponse:
        return send_raw(live_server.url, lwp_request(body, path=path, extra_headers=extra_headers))

    return post
