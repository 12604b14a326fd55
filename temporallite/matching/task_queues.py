"""Task queues in memory: ready tasks plus waiting long-pollers.

A task added while a poller waits is matched at once (sync match); otherwise
it waits in the backlog. Tasks are derived from durable mutable state, so
after a restart the engine re-adds them; the matcher itself keeps nothing.
Whoever takes a task must still ask the engine to record it started, which
rejects stale tasks.

A queue lives in memory only while it has waiting pollers or ready tasks;
what is remembered of its pollers after they leave (for DescribeTaskQueue and
sticky-worker liveness) is kept for five minutes, as the real server keeps
its poller history, and then forgotten, so many short-lived queues (a
thousand workers' sticky queues, say) leave nothing behind.
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
# Pollers are listed by DescribeTaskQueue this long after their last poll
# (the real server's poller history TTL).
POLLER_HISTORY = 300.0
# How often expired poller history is swept (on a poll, at most this often).
PRUNE_INTERVAL = 30.0

Key = tuple[str, str, str]  # namespace id, task queue name, kind


@dataclass
class TaskQueue:
    """A queue with work in flight: waiting pollers and/or ready tasks."""

    backlog: deque[Task] = field(default_factory=deque)
    pollers: deque[asyncio.Future[Task]] = field(default_factory=deque)


@dataclass
class PollerHistory:
    """Who polled a queue lately; outlives the queue's pollers by POLLER_HISTORY."""

    last_poll_time: float = 0.0  # loop time
    # Worker identity → (wall-clock time for DescribeTaskQueue, loop time for expiry).
    identities: dict[str, tuple[float, float]] = field(default_factory=dict)


class Matching:
    def __init__(self, poll_timeout: float = POLL_TIMEOUT) -> None:
        self.poll_timeout = poll_timeout
        self._queues: dict[Key, TaskQueue] = {}
        self._history: dict[Key, PollerHistory] = {}
        self._next_prune = 0.0
        self._closed = False

    def _queue(self, key: Key) -> TaskQueue:
        queue = self._queues.get(key)
        if queue is None:
            queue = self._queues[key] = TaskQueue()
        return queue

    def _release(self, key: Key, queue: TaskQueue) -> None:
        """Forget a queue with nothing in it (its poller history stays)."""
        if not queue.pollers and not queue.backlog and self._queues.get(key) is queue:
            del self._queues[key]

    def _record_poll(self, key: Key, identity: str) -> None:
        now = asyncio.get_running_loop().time()
        history = self._history.get(key)
        if history is None:
            history = self._history[key] = PollerHistory()
        history.last_poll_time = now
        history.identities[identity] = (time.time(), now)
        if now >= self._next_prune:
            self._next_prune = now + PRUNE_INTERVAL
            self.prune_history(now)

    def prune_history(self, now: float | None = None) -> None:
        """Drop poller history older than POLLER_HISTORY."""
        horizon = (asyncio.get_running_loop().time() if now is None else now) - POLLER_HISTORY
        for key in [k for k, h in self._history.items() if h.last_poll_time < horizon]:
            del self._history[key]
        for history in self._history.values():
            for who in [w for w, (_, at) in history.identities.items() if at < horizon]:
                del history.identities[who]

    def sizes(self) -> tuple[int, int]:
        """(queues with pollers or tasks, queues with poller history): what matching holds."""
        return len(self._queues), len(self._history)

    def add_task(self, task: Task) -> None:
        if task.normal_task_queue and not self._sticky_worker_available(task):
            task = replace(task, task_queue=task.normal_task_queue, normal_task_queue="")
        self._offer((task.namespace_id, task.task_queue, task.kind), task, front=False)

    def _offer(self, key: Key, task: Task, front: bool) -> None:
        """To a waiting poller, else into the backlog (at its front: a task given back)."""
        queue = self._queue(key)
        while queue.pollers:
            poller = queue.pollers.popleft()
            if not poller.done():
                poller.set_result(task)
                self._release(key, queue)
                return
        if front:
            queue.backlog.appendleft(task)
        else:
            queue.backlog.append(task)

    async def poll(self, namespace_id: str, name: str, kind: str, identity: str = "") -> Task | None:
        """Wait for a task; None when the poll times out or the server stops."""
        if self._closed:
            return None
        key = (namespace_id, name, kind)
        self._record_poll(key, identity)
        queue = self._queue(key)
        if queue.backlog:
            task = queue.backlog.popleft()
            self._release(key, queue)
            return task
        poller: asyncio.Future[Task] = asyncio.get_running_loop().create_future()
        queue.pollers.append(poller)
        try:
            return await asyncio.wait_for(asyncio.shield(poller), self.poll_timeout)
        except (TimeoutError, asyncio.CancelledError):
            # A task handed over just as the poll ended goes back to the front.
            if poller.done() and not poller.cancelled() and poller.result() is not None:
                self._offer(key, poller.result(), front=True)
            elif not poller.done():
                poller.cancel()
            if asyncio.current_task() and asyncio.current_task().cancelling():  # type: ignore[union-attr]
                raise
            return None
        finally:
            if poller in queue.pollers:
                queue.pollers.remove(poller)
            self._release(key, queue)

    def _sticky_worker_available(self, task: Task) -> bool:
        key = (task.namespace_id, task.task_queue, task.kind)
        queue = self._queues.get(key)
        if queue is not None and queue.pollers:
            return True
        history = self._history.get(key)
        if history is None:
            return False
        recently = asyncio.get_running_loop().time() - history.last_poll_time
        return recently < STICKY_POLLER_UNAVAILABLE_WINDOW

    def unload_sticky(self, namespace_id: str, name: str) -> None:
        """A worker shut down: its sticky queue's tasks go to their normal queues."""
        key = (namespace_id, name, "workflow")
        self._history.pop(key, None)
        queue = self._queues.pop(key, None)
        if queue is None:
            return
        for poller in queue.pollers:
            if not poller.done():
                poller.cancel()
        for task in queue.backlog:
            self.add_task(task)

    def recent_pollers(self, namespace_id: str, name: str, kind: str) -> dict[str, float]:
        """Identities that polled in the last five minutes, as the real server reports."""
        history = self._history.get((namespace_id, name, kind))
        if history is None:
            return {}
        horizon = asyncio.get_running_loop().time() - POLLER_HISTORY
        return {who: wall for who, (wall, at) in history.identities.items() if at >= horizon}

    def backlog_size(self, namespace_id: str, name: str, kind: str) -> int:
        queue = self._queues.get((namespace_id, name, kind))
        return len(queue.backlog) if queue else 0

    def close(self) -> None:
        """Answer every waiting poll empty (server shutdown)."""
        self._closed = True
        for queue in list(self._queues.values()):
            while queue.pollers:
                poller = queue.pollers.popleft()
                if not poller.done():
                    poller.cancel()
