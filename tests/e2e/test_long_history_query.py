"""A query on a closed workflow whose history is longer than one page: the
query task carries the first page and a token, the worker reads the rest (as
on the real server, rather than the whole history in one message)."""

from __future__ import annotations

import uuid

import pytest
from temporalio import workflow
from temporalio.client import Client
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

pytestmark = pytest.mark.timeout(60)

SIGNALS = 300  # a workflow task for most: ~2.5 events apiece, three pages


@workflow.defn
class Tally:
    def __init__(self) -> None:
        self.received = 0

    @workflow.signal
    def bump(self) -> None:
        self.received += 1

    @workflow.query
    def count(self) -> int:
        return self.received

    @workflow.run
    async def run(self, expected: int) -> int:
        await workflow.wait_condition(lambda: self.received >= expected)
        return self.received


async def test_query_replays_a_closed_history_of_several_pages(client: Client, task_queue: str) -> None:
    runner = UnsandboxedWorkflowRunner()
    async with Worker(client, task_queue=task_queue, workflows=[Tally], workflow_runner=runner):
        handle = await client.start_workflow(
            Tally.run, SIGNALS, id=f"tally-{uuid.uuid4()}", task_queue=task_queue
        )
        for _ in range(SIGNALS):
            await handle.signal(Tally.bump)
        assert await handle.result() == SIGNALS
    events = len((await handle.fetch_history()).events)
    assert events > 2 * 256
    # A fresh worker without a cache: it must read every page to replay.
    async with Worker(
        client, task_queue=task_queue, workflows=[Tally], max_cached_workflows=0, workflow_runner=runner
    ):
        assert await handle.query(Tally.count) == SIGNALS
