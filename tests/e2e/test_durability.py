"""State survives a restart on the same database file: open workflows resume
(timers fire, tasks are dispatched again), closed ones keep their history."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from temporalio.client import Client
from temporalio.worker import Worker

from temporallite.config import ServerConfig
from temporallite.server import TemporalLiteServer
from tests.e2e import workflows as w
from tests.support.servers import free_port

pytestmark = pytest.mark.timeout(60)


@asynccontextmanager
async def running(db: Path, port: int) -> AsyncIterator[Client]:
    server = TemporalLiteServer(ServerConfig(port=port, db_filename=str(db)))
    await server.start()
    try:
        yield await Client.connect(server.target)
    finally:
        await server.stop()


async def test_workflows_resume_after_restart(tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    port = free_port()
    task_queue = f"tq-{uuid.uuid4()}"
    ids = {name: f"{name}-{uuid.uuid4()}" for name in ("timer", "signal", "activity", "done")}

    async with running(db, port) as client:
        async with Worker(client, task_queue=task_queue, workflows=[w.ReturnAtOnce]):
            await client.execute_workflow(
                w.ReturnAtOnce.run, "kept", id=ids["done"], task_queue=task_queue
            )
        # No worker for these yet: their tasks wait in the DB.
        await client.start_workflow(w.Sleeper.run, 1.5, id=ids["timer"], task_queue=task_queue)
        await client.start_workflow(
            w.SignalCollector.run, 1, id=ids["signal"], task_queue=task_queue
        )
        await client.start_workflow(
            w.OneActivity.run, "after restart", id=ids["activity"], task_queue=task_queue
        )

    async with running(db, port) as client:
        await client.get_workflow_handle(ids["signal"]).signal(w.SignalCollector.add, "x")
        async with Worker(
            client, task_queue=task_queue,
            workflows=[w.Sleeper, w.SignalCollector, w.OneActivity], activities=[w.greet],
        ):
            results = await asyncio.gather(
                client.get_workflow_handle(ids["timer"]).result(),
                client.get_workflow_handle(ids["signal"]).result(),
                client.get_workflow_handle(ids["activity"]).result(),
            )
        assert results == ["woke", ["x"], "Hello, after restart!"]
        assert await client.get_workflow_handle(ids["done"]).result() == "kept"


async def test_timer_started_before_restart_fires_after(tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    port = free_port()
    task_queue = f"tq-{uuid.uuid4()}"
    workflow_id = f"sleeper-{uuid.uuid4()}"
    async with running(db, port) as client:
        async with Worker(client, task_queue=task_queue, workflows=[w.Sleeper]):
            handle = await client.start_workflow(
                w.Sleeper.run, 1.0, id=workflow_id, task_queue=task_queue
            )
            for _ in range(100):  # until the timer is started
                if any(e.HasField("timer_started_event_attributes")
                       for e in (await handle.fetch_history()).events):
                    break
                await asyncio.sleep(0.02)
    async with running(db, port) as client:
        async with Worker(client, task_queue=task_queue, workflows=[w.Sleeper]):
            assert await client.get_workflow_handle(workflow_id).result() == "woke"
