"""Matching keeps a task queue only while it has pollers or tasks; its poller
history is listed for five minutes after the last poll, then forgotten."""

from __future__ import annotations

import asyncio

from temporallite.history.transaction import Task
from temporallite.matching.task_queues import POLLER_HISTORY, STICKY_POLLER_UNAVAILABLE_WINDOW, Matching


def task(queue: str, normal: str = "") -> Task:
    return Task("workflow", "ns", queue, "wf", "run", 2, 1, normal_task_queue=normal)


async def test_cancelled_polls_on_many_queues_leave_no_queue_behind() -> None:
    matching = Matching()
    polls = [asyncio.create_task(matching.poll("ns", f"q-{i}", "workflow", f"w-{i}")) for i in range(200)]
    await asyncio.sleep(0)
    assert matching.sizes() == (200, 200)
    for poll in polls:
        poll.cancel()
    await asyncio.gather(*polls, return_exceptions=True)
    assert matching.sizes() == (0, 200)
    # As the real server: a poller that left is still listed for a while ...
    assert list(matching.recent_pollers("ns", "q-7", "workflow")) == ["w-7"]
    # ... and forgotten after five minutes.
    matching.prune_history(asyncio.get_running_loop().time() + POLLER_HISTORY + 1)
    assert matching.sizes() == (0, 0)
    assert matching.recent_pollers("ns", "q-7", "workflow") == {}


async def test_timed_out_and_answered_polls_release_their_queue() -> None:
    matching = Matching(poll_timeout=0.01)
    assert await matching.poll("ns", "q", "workflow") is None
    assert matching.sizes()[0] == 0
    waiting = asyncio.create_task(matching.poll("ns", "q", "workflow"))
    await asyncio.sleep(0)
    matching.add_task(task("q"))
    assert (await waiting) == task("q")
    assert matching.sizes()[0] == 0
    matching.add_task(task("q"))  # no poller: into the backlog, which holds the queue
    assert matching.sizes()[0] == 1 and matching.backlog_size("ns", "q", "workflow") == 1
    assert await matching.poll("ns", "q", "workflow") == task("q")
    assert matching.sizes()[0] == 0


async def test_sticky_liveness_survives_the_queue() -> None:
    matching = Matching(poll_timeout=0.01)
    assert await matching.poll("ns", "sticky", "workflow") is None
    assert matching.sizes()[0] == 0
    # The worker polled its sticky queue just now: the task waits there for it.
    matching.add_task(task("sticky", normal="normal"))
    assert matching.backlog_size("ns", "sticky", "workflow") == 1
    matching.prune_history(asyncio.get_running_loop().time() + POLLER_HISTORY + 1)
    # Nobody polled for longer than the sticky window: the task goes to the normal queue.
    assert STICKY_POLLER_UNAVAILABLE_WINDOW < POLLER_HISTORY
    matching.add_task(task("sticky", normal="normal"))
    assert matching.backlog_size("ns", "normal", "workflow") == 1
