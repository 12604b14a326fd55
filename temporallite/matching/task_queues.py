"""Task queues in memory: ready tasks plus waiting long-pollers.

A task added while a poller waits is matched at once (sync match); otherwise
it waits in the backlog. Tasks are derived from durable mutable state, so
after a restart the engine re-adds them; the matcher itself keeps nothing.
Whoever takes a task must still ask the engine to record it started, which
rejects stale tasks.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from dataclasses import dataclass, field, replace

from temporallite.history.transaction import Task

# The real server answers an empty poll after a minute less a second.
POLL_TIMEOUT = 59.0
# A sticky queue nobody polled for this long has lost its worker: its tasks
# go to the normal queue (the real server's StickyPollerUnavailableWindow).
STICKY_POLLER_UNAVAILABLE_WINDOW = 10.0
POLLER_HISTORY = 300.0


@dataclass
class TaskQueue:
    backlog: deque[Task] = field(default_factory=deque)
    pollers: deque[asyncio.Future[Task]] = field(default_factory=deque)
    last_poll_time: float = 0.0
    # Worker identity → wall-clock time of its last poll (DescribeTaskQueue).
    poller_identities: dict[str, float] = field(default_factory=dict)


class Matching:
    def __init__(self, poll_timeout: float = POLL_TIMEOUT) -> None:
        self.poll_timeout = poll_timeout
        self._queues: dict[tuple[str, str, str], TaskQueue] = {}
        self._closed = False

    def _queue(self, namespace_id: str, name: str, kind: str) -> TaskQueue:
        key = (namespace_id, name, kind)
        queue = self._queues.get(key)
        if queue is None:
            queue = self._queues[key] = TaskQueue()
        return queue

    def add_task(self, task: Task) -> None:
        if task.normal_task_queue and not self._sticky_worker_available(task):
            task = replace(task, task_queue=task.normal_task_queue, normal_task_queue="")
        queue = self._queue(task.namespace_id, task.task_queue, task.kind)
        while queue.pollers:
            poller = queue.pollers.popleft()
            if not poller.done():
                poller.set_result(task)
                return
        queue.backlog.append(task)

    async def poll(self, namespace_id: str, name: str, kind: str, identity: str = "") -> Task | None:
        """Wait for a task; None when the poll times out or the server stops."""
        if self._closed:
            return None
        queue = self._queue(namespace_id, name, kind)
        queue.last_poll_time = asyncio.get_running_loop().time()
        queue.poller_identities[identity] = time.time()
        if queue.backlog:
            return queue.backlog.popleft()
        poller: asyncio.Future[Task] = asyncio.get_running_loop().create_future()
        queue.pollers.append(poller)
        try:
            return await asyncio.wait_for(asyncio.shield(poller), self.poll_timeout)
        except (TimeoutError, asyncio.CancelledError):
            # A task handed over just as the poll ended goes back to the front.
            if poller.done() and not poller.cancelled() and poller.result() is not None:
                queue.backlog.appendleft(poller.result())
            elif not poller.done():
                poller.cancel()
            if asyncio.current_task() and asyncio.current_task().cancelling():  # type: ignore[union-attr]
                raise
            return None
        finally:
            if poller in queue.pollers:
                queue.pollers.remove(poller)

    def _sticky_worker_available(self, task: Task) -> bool:
        queue = self._queues.get((task.namespace_id, task.task_queue, task.kind))
        if queue is None:
            return False
        recently = asyncio.get_running_loop().time() - queue.last_poll_time
        return bool(queue.pollers) or recently < STICKY_POLLER_UNAVAILABLE_WINDOW

    def unload_sticky(self, namespace_id: str, name: str) -> None:
        """A worker shut down: its sticky queue's tasks go to their normal queues."""
        queue = self._queues.pop((namespace_id, name, "workflow"), None)
        if queue is None:
            return
        for poller in queue.pollers:
            if not poller.done():
                poller.cancel()
        for task in queue.backlog:
            self.add_task(task)

    def recent_pollers(self, namespace_id: str, name: str, kind: str) -> dict[str, float]:
        """Identities that polled in the last five minutes, as the real server reports."""
        queue = self._queues.get((namespace_id, name, kind))
        if queue is None:
            return {}
        horizon = time.time() - POLLER_HISTORY
        return {who: when for who, when in queue.poller_identities.items() if when >= horizon}

    def backlog_size(self, namespace_id: str, name: str, kind: str) -> int:
        queue = self._queues.get((namespace_id, name, kind))
        return len(queue.backlog) if queue else 0

    def close(self) -> None:
        """Answer every waiting poll empty (server shutdown)."""
        self._closed = True
        for queue in self._queues.values():
            while queue.pollers:
                poller = queue.pollers.popleft()
                if not poller.done():
                    poller.cancel()
