"""Embedding API: a temporallite server inside a test suite.

    async with temporallite.testing.start() as server:
        client = await server.client()

`time_skipping=True` gives the test-server clock (TestService; starts
locked, as the Java test server). A pytest plugin with `temporal_server`
and `temporal_client` fixtures lives in temporallite.testing.pytest_plugin.
"""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from temporallite.config import ExecutionLimits, ServerConfig
from temporallite.server import TemporalLiteServer

if TYPE_CHECKING:
    from temporalio.client import Client


def free_port(ip: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((ip, 0))
        return int(sock.getsockname()[1])


class RunningServer:
    def __init__(self, server: TemporalLiteServer, namespace: str) -> None:
        self.server = server
        self.namespace = namespace

    @property
    def target(self) -> str:
        return self.server.target

    async def client(self, namespace: str | None = None) -> Client:
        from temporalio.client import Client

        return await Client.connect(self.target, namespace=namespace or self.namespace)


@asynccontextmanager
async def start(
    *,
    port: int | None = None,
    namespace: str = "default",
    search_attributes: dict[str, str] | None = None,
    db_filename: str | None = None,
    time_skipping: bool = False,
    limits: ExecutionLimits | None = None,
) -> AsyncIterator[RunningServer]:
    """Start an in-process server on a free port (or `port`); stop it at exit.
    `limits`: per-execution limits (history count, signals, ...), small in tests."""
    config = ServerConfig(
        port=port or free_port(),
        db_filename=db_filename,
        namespaces=[] if namespace == "default" else [namespace],
        search_attributes=dict(search_attributes or {}),
        log_level="warn",
        time_skipping=time_skipping,
        limits=limits or ExecutionLimits(),
    )
    server = TemporalLiteServer(config)
    await server.start()
    try:
        yield RunningServer(server, namespace)
    finally:
        await server.stop()
