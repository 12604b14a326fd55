"""Long polls cancelled by the client leave nothing behind in the server: no
per-queue structures in matching, no finished request tasks in the transport
(grpclib alone keeps them until ten more streams arrive on the connection).
The pollers stay listed by DescribeTaskQueue, as on the real server."""

from __future__ import annotations

import asyncio
import gc
import uuid
from typing import Any

from grpclib.client import Channel, UnaryUnaryMethod
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import (
    DescribeTaskQueueRequest,
    DescribeTaskQueueResponse,
    PollWorkflowTaskQueueRequest,
    PollWorkflowTaskQueueResponse,
)

import temporallite.testing

SERVICE = "/temporal.api.workflowservice.v1.WorkflowService"


def finished_request_tasks() -> int:
    gc.collect()
    return sum(
        1
        for obj in gc.get_objects()
        if isinstance(obj, asyncio.Task) and obj.done() and obj.get_coro().__qualname__ == "request_handler"
    )


async def test_cancelled_polls_are_forgotten() -> None:
    async with temporallite.testing.start() as running:
        host, port = running.target.rsplit(":", 1)
        channel = Channel(host, int(port))
        try:
            poll: UnaryUnaryMethod[Any, Any] = UnaryUnaryMethod(
                channel, f"{SERVICE}/PollWorkflowTaskQueue",
                PollWorkflowTaskQueueRequest, PollWorkflowTaskQueueResponse,
            )
            describe: UnaryUnaryMethod[Any, Any] = UnaryUnaryMethod(
                channel, f"{SERVICE}/DescribeTaskQueue", DescribeTaskQueueRequest, DescribeTaskQueueResponse
            )
            prefix = f"cancelled-{uuid.uuid4().hex[:8]}"
            before = finished_request_tasks()
            polls = [
                asyncio.create_task(poll(
                    PollWorkflowTaskQueueRequest(
                        namespace="default", task_queue=TaskQueue(name=f"{prefix}-{i}"), identity=f"w-{i}"
                    ),
                    timeout=60,
                ))
                for i in range(50)
            ]
            matching = running.server._matching
            assert matching is not None
            for _ in range(200):
                if matching.sizes()[0] == 50:
                    break
                await asyncio.sleep(0.01)
            assert matching.sizes()[0] == 50
            for task in polls:
                task.cancel()
            await asyncio.gather(*polls, return_exceptions=True)
            for _ in range(200):
                if matching.sizes()[0] == 0:
                    break
                await asyncio.sleep(0.01)
            assert matching.sizes()[0] == 0
            assert finished_request_tasks() <= before
            reply = await describe(
                DescribeTaskQueueRequest(namespace="default", task_queue=TaskQueue(name=f"{prefix}-3"))
            )
            assert [p.identity for p in reply.pollers] == ["w-3"]
        finally:
            channel.close()
