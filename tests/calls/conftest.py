"""Fixtures for the calls tests: a stand-in PBX for click-to-call."""
from collections.abc import Iterator

import pytest

from tests.calls.fake_pbx import FakePbx, serve_fake_pbx

PBX_TOKEN = "s3cr3t-token-42"


@pytest.fixture
def fake_pbx(settings) -> Iterator[FakePbx]:  # noqa: ANN001
    """A local HTTP server answering makeCall, configured as the CRM's PBX."""
    with serve_fake_pbx() as pbx_server:
        settings.PBX_URL = pbx_server.url
        settings.PBX_TOKEN = PBX_TOKEN
        settings.PBX_TIMEOUT = 0.3
        yield pbx_server
