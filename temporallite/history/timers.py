"""Durable timers, armed in memory.

Timers are derived from mutable state (user timers, activity and workflow
task timeouts, retry backoff, run/execution timeouts), which is durable, so
the heap is rebuilt after a restart. Firing calls back into the engine, which
ignores timers that are no longer current.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from temporallite.clock import Clock

log = logging.getLogger("temporallite.timers")

# A timer that fired and is armed again for the same moment (its handler found
# nothing due, e.g. a deadline a rounding error away) waits this long instead
# of firing again at once, over and over.
REFIRE_DELAY = 1.0


@dataclass(frozen=True)
class TimerKey:
    """What fires: `kind` with its reference ids inside one run."""

    namespace_id: str
    workflow_id: str
    run_id: str
    kind: str
    ref: int | str = 0
    attempt: int = 0


FireCallback = Callable[[TimerKey], Awaitable[None]]


class TimerQueue:
    def __init__(self, clock: Clock, fire: FireCallback) -> None:
        self._clock = clock
        self._fire = fire
        self._heap: list[tuple[float, int, TimerKey]] = []
        self._armed: dict[TimerKey, float] = {}
        self._seq = itertools.count()
        self._changed = asyncio.Event()
        self._runner: asyncio.Task[None] | None = None
        self._inflight: set[asyncio.Task[None]] = set()
        self._fired: dict[TimerKey, float] = {}  # key → the fire time it last fired for
        self._stopping = False

    def start(self) -> None:
        self._runner = asyncio.create_task(self._run(), name="timers")

    async def stop(self) -> None:
        # The flag, not only the cancel: Python 3.11's wait_for can swallow a
        # cancellation that races its inner wait completing.
        self._stopping = True
        self._changed.set()
        if self._runner is not None:
            self._runner.cancel()
            try:
                await self._runner
            except asyncio.CancelledError:
                pass
        for task in list(self._inflight):
            task.cancel()

    def arm(self, key: TimerKey, fire_time: float) -> None:
        if self._armed.get(key) == fire_time:
            return
        if self._fired.pop(key, None) == fire_time:
            log.debug("timer %s fired and is due again at once: retried in %.0f s", key, REFIRE_DELAY)
            fire_time = max(fire_time, self._clock.now() + REFIRE_DELAY)
        self._armed[key] = fire_time
        heapq.heappush(self._heap, (fire_time, next(self._seq), key))
        if self._heap[0][2] == key:
            self._changed.set()

    def disarm(self, key: TimerKey) -> None:
        """Forget a timer; its heap entry is skipped when it comes up."""
        self._armed.pop(key, None)
        self._fired.pop(key, None)

    def has_fired(self, key: TimerKey, fire_time: float) -> bool:
        """The timer fired for this moment (and was not armed since)."""
        return self._fired.get(key) == fire_time

    def poke(self) -> None:
        """The clock jumped: re-check what is due."""
        self._changed.set()

    def next_fire_time(self) -> float | None:
        while self._heap and self._armed.get(self._heap[0][2]) != self._heap[0][0]:
            heapq.heappop(self._heap)
        return self._heap[0][0] if self._heap else None

    async def _run(self) -> None:
        while not self._stopping:
            self._changed.clear()
            fire_time = self.next_fire_time()
            delay = None if fire_time is None else fire_time - self._clock.now()
            if delay is None or delay > 0:
                try:
                    await asyncio.wait_for(self._changed.wait(), delay)
                except TimeoutError:
                    pass
                continue
            due, _, key = heapq.heappop(self._heap)
            if self._armed.get(key) == due:
                del self._armed[key]
                self._fired[key] = due
                task = asyncio.create_task(self._fire_safely(key))
                self._inflight.add(task)
                task.add_done_callback(self._inflight.discard)

    async def _fire_safely(self, key: TimerKey) -> None:
        try:
            await self._fire(key)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("timer %s failed", key)
