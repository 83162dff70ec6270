"""Fixtures for the calls tests: the PBX emulator as the CRM's PBX, a resolver for recordings."""
import socket
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from calls.pbx.emulator import EmulatorConfig, PbxEmulator
from calls.recordings import links as recording_links
from tests.calls.recording_server import Resolver
from tests.conftest import ACCESS_CODE

PBX_TOKEN = "s3cr3t-token-42"


@contextmanager
def running_pbx(**options: object) -> Iterator[PbxEmulator]:
    """calls/pbx/emulator.py on a free local port for the block, quiet; by default it sends
    no webhooks (`crm_url` empty), and takes the tests' access code and token."""
    config = EmulatorConfig(
        **{"crm_url": "", "access_code": ACCESS_CODE, "token": PBX_TOKEN, **options}
    )
    emulator = PbxEmulator(config, host="127.0.0.1", port=0, log=lambda line: None)
    emulator.start()
    try:
        yield emulator
    finally:
        emulator.shutdown()


@pytest.fixture
def pbx(settings) -> Iterator[PbxEmulator]:  # noqa: ANN001
    """The emulator as the CRM's PBX (`PBX_URL`, `PBX_TOKEN`), answering makeCall and serving
    recordings; it plays no calls back, the tests deliver the events they need."""
    with running_pbx() as emulator:
        settings.PBX_URL, settings.PBX_TOKEN = emulator.url, PBX_TOKEN
        yield emulator


@pytest.fixture
def live_pbx(live_server, settings) -> Iterator[PbxEmulator]:  # noqa: ANN001
    """The emulator as the CRM's PBX, playing its calls to the live server's webhook."""
    with running_pbx(crm_url=f"{live_server.url}/crm-api", pace=0.02, seed=7) as emulator:
        settings.PBX_URL, settings.PBX_TOKEN = emulator.url, PBX_TOKEN
        yield emulator


def closed_port_url() -> str:
    """A local URL on which nothing listens: connecting is refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/"


@pytest.fixture
def resolver(monkeypatch) -> Resolver:  # noqa: ANN001
    """The recording fetcher's resolver: names answered as the test says, no real DNS."""
    fake = Resolver()
    monkeypatch.setattr(recording_links, "resolver", fake)
    return fake
