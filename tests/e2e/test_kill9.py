"""`kill -9` loses nothing acknowledged: a server process killed mid-flight
and restarted on the same database file finishes every workflow."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from temporalio.client import Client
from temporalio.worker import Worker

from tests.e2e import workflows as w
from tests.support.servers import free_port

pytestmark = pytest.mark.timeout(90)


@contextmanager
def server_process(db: Path, port: int) -> Iterator[subprocess.Popen[bytes]]:
    process = subprocess.Popen(
        [sys.executable, "-m", "temporallite", "start", "--port", str(port),
         "--db-filename", str(db), "--log-level", "error"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()


async def connect(port: int) -> Client:
    for _ in range(200):
        try:
            return await Client.connect(f"127.0.0.1:{port}")
        except RuntimeError:
            await asyncio.sleep(0.05)
    raise AssertionError("server did not come up")


async def test_kill_9_then_restart_completes_everything(tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    port = free_port()
    task_queue = f"tq-{uuid.uuid4()}"
    started: list[str] = []
    with server_process(db, port) as process:
        client = await connect(port)
        # A worker makes progress (timers started, activities scheduled) ...
        async with Worker(client, task_queue=task_queue, workflows=[w.Sleeper, w.OneActivity]):
            for i in range(10):
                workflow_id = f"sleeper-{i}-{uuid.uuid4()}"
                await client.start_workflow(w.Sleeper.run, 1.0, id=workflow_id, task_queue=task_queue)
                started.append(workflow_id)
                workflow_id = f"activity-{i}-{uuid.uuid4()}"
                await client.start_workflow(
                    w.OneActivity.run, str(i), id=workflow_id, task_queue=task_queue
                )
                started.append(workflow_id)
            await asyncio.sleep(0.3)
            # ... and the server dies without warning.
            os.kill(process.pid, signal.SIGKILL)
            process.wait()

    with server_process(db, port):
        client = await connect(port)
        async with Worker(
            client, task_queue=task_queue, workflows=[w.Sleeper, w.OneActivity], activities=[w.greet]
        ):
            results = await asyncio.wait_for(
                asyncio.gather(*(client.get_workflow_handle(i).result() for i in started)), 60
            )
    expected = []
    for i in range(10):
        expected += ["woke", f"Hello, {i}!"]
    assert results == expected
