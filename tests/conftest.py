"""Shared fixtures: one server per test session (per xdist worker).

By default an in-process temporallite is started on a free port. Setting
TEMPORAL_TEST_TARGET=host:port runs the same tests against another server
(for instance the real `temporal server start-dev`), which is how the tests
themselves are checked against the reference.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from temporalio.client import Client

from tests.support.servers import free_port


@pytest_asyncio.fixture(scope="session")
async def server_target() -> AsyncIterator[str]:
    external = os.environ.get("TEMPORAL_TEST_TARGET")
    if external:
        yield external
        return
    from temporallite.config import ServerConfig
    from temporallite.server import TemporalLiteServer

    server = TemporalLiteServer(ServerConfig(port=free_port()))
    await server.start()
    try:
        yield server.target
    finally:
        await server.stop()


@pytest_asyncio.fixture(scope="session")
async def client(server_target: str) -> Client:
    return await Client.connect(server_target, namespace="default")


@pytest.fixture
def task_queue() -> str:
    return f"tq-{uuid.uuid4()}"
