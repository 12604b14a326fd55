"""pytest plugin: `temporal_server` (one server per test session, or per
xdist worker) and `temporal_client` fixtures.

Enable it with `pytest -p temporallite.testing.pytest_plugin` or
`pytest_plugins = ["temporallite.testing.pytest_plugin"]` in a conftest.
Needs pytest-asyncio with a session-scoped event loop
(asyncio_default_fixture_loop_scope = "session").
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

import pytest
import pytest_asyncio

from temporallite.testing import RunningServer, start

if TYPE_CHECKING:
    from temporalio.client import Client


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("temporallite")
    group.addoption("--temporal-namespace", default="default", help="namespace of temporal_client")
    group.addoption(
        "--temporal-search-attribute", action="append", default=[], metavar="NAME=TYPE",
        help="custom search attribute to register (repeatable)",
    )
    group.addoption("--temporal-db-file", default=None, help="SQLite file (default: in memory)")
    group.addoption(
        "--temporal-time-skipping", action="store_true",
        help="test-server clock: time skipping through TestService",
    )


@pytest_asyncio.fixture(scope="session")
async def temporal_server(request: pytest.FixtureRequest) -> AsyncIterator[RunningServer]:
    options = request.config.option
    attributes = dict(
        item.split("=", 1) for item in options.temporal_search_attribute  # NAME=TYPE
    )
    async with start(
        namespace=options.temporal_namespace,
        search_attributes=attributes,
        db_filename=options.temporal_db_file,
        time_skipping=options.temporal_time_skipping,
    ) as server:
        yield server


@pytest_asyncio.fixture(scope="session")
async def temporal_client(temporal_server: RunningServer) -> Client:
    return await temporal_server.client()
