"""Recent runs' history, kept in memory after commit.

A run's history is read back right after it is written: by the worker that
polls the next workflow task, by the client waiting for the result. Keeping
the events of recently written runs saves those reads a trip to SQLite's
thread and a decode. History is append-only, so the copy never goes stale;
only whole runs are cached (from event 1, without gaps), and the oldest runs
leave first once the byte budget is spent. Cached events are shared: readers
must not change them.
"""

from __future__ import annotations

from collections import OrderedDict

from temporalio.api.history.v1 import HistoryEvent

DEFAULT_BUDGET_BYTES = 8 * 1024 * 1024
MAX_RUN_BYTES = 512 * 1024  # longer runs are read from SQLite


class _Run:
    __slots__ = ("events", "size")

    def __init__(self) -> None:
        self.events: list[HistoryEvent] = []
        self.size = 0


class HistoryCache:
    def __init__(self, budget_bytes: int = DEFAULT_BUDGET_BYTES) -> None:
        self._budget = budget_bytes
        self._size = 0
        self._runs: OrderedDict[str, _Run] = OrderedDict()

    def append(self, run_id: str, events: list[HistoryEvent], size: int) -> None:
        """Events just committed for the run (`size`: their serialized bytes)."""
        if not events:
            return
        run = self._runs.get(run_id)
        if run is None:
            if events[0].event_id != 1:
                return  # the run's beginning is not here: leave it to SQLite
            run = self._runs[run_id] = _Run()
        elif run.events[-1].event_id + 1 != events[0].event_id:
            self.drop(run_id)  # a gap: never serve a partial history
            return
        else:
            self._runs.move_to_end(run_id)
        run.events.extend(events)
        run.size += size
        self._size += size
        if run.size > MAX_RUN_BYTES:
            self.drop(run_id)
        while self._size > self._budget and self._runs:
            self.drop(next(iter(self._runs)))

    def read(self, run_id: str, first_event_id: int, next_event_id: int) -> list[HistoryEvent] | None:
        """Events with first_event_id <= id < next_event_id, or None when the
        cache cannot answer for all of them."""
        run = self._runs.get(run_id)
        if run is None or next_event_id - 1 > run.events[-1].event_id:
            return None
        start = max(first_event_id, 1) - 1
        return run.events[start : max(next_event_id - 1, start)]

    def drop(self, run_id: str) -> None:
        run = self._runs.pop(run_id, None)
        if run is not None:
            self._size -= run.size
