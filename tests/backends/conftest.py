from __future__ import annotations

from collections.abc import Iterator

import pytest

from ..fake_server import FakeVLMServer


@pytest.fixture(scope="session")
def fake_server_session() -> Iterator[FakeVLMServer]:
    server = FakeVLMServer().start()
    yield server
    server.stop()


@pytest.fixture
def server(fake_server_session: FakeVLMServer) -> FakeVLMServer:
    fake_server_session.reset()
    return fake_server_session
