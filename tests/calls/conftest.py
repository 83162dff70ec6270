"""Fixtures for the calls tests: a stand-in PBX for click-to-call, a resolver for recordings."""
from collections.abc import Iterator

import pytest

from calls.recordings import links as recording_links
from tests.calls.fake_pbx import FakePbx, serve_fake_pbx
from tests.calls.recording_server import Resolver

PBX_TOKEN = "s3cr3t-token-42"


@pytest.fixture
def fake_pbx(settings) -> Iterator[FakePbx]:  # noqa: ANN001
    """A local HTTP server answering makeCall, configured as the CRM's PBX."""
    with serve_fake_pbx() as pbx_server:
        settings.PBX_URL = pbx_server.url
        settings.PBX_TOKEN = PBX_TOKEN
        settings.PBX_TIMEOUT = 0.3
        yield pbx_server


@pytest.fixture
def resolver(monkeypatch) -> Resolver:  # noqa: ANN001
    """The recording fetcher's resolver: names answered as the test says, no real DNS."""
    fake = Resolver()
    monkeypatch.setattr(recording_links, "resolver", fake)
    return fake
