"""Recent runs' history, kept in memory after commit.

A run's history is read back right after it is written: by the worker that
polls the next workflow task, by the client waiting for the result. Keeping
the batches of recently written runs saves those reads a trip to SQLite.
History is append-only, so the copy never goes stale; only whole runs are
cached (from event 1, without gaps), and the oldest runs leave first once the
byte budget is spent. Batches are kept serialized, as they are stored: a
parsed event costs ~20 times its serialized size in memory.
"""

from __future__ import annotations

from collections import OrderedDict

from temporalio.api.history.v1 import History, HistoryEvent

DEFAULT_BUDGET_BYTES = 8 * 1024 * 1024
MAX_RUN_BYTES = 512 * 1024  # longer runs are read from SQLite


class _Run:
    __slots__ = ("batches", "next_event_id", "size")

    def __init__(self) -> None:
        self.batches: list[tuple[int, bytes]] = []  # (first event id, serialized History)
        self.next_event_id = 1
        self.size = 0


class HistoryCache:
    def __init__(self, budget_bytes: int = DEFAULT_BUDGET_BYTES) -> None:
        self._budget = budget_bytes
        self._size = 0
        self._runs: OrderedDict[str, _Run] = OrderedDict()

    def append(self, run_id: str, first_event_id: int, last_event_id: int, blob: bytes) -> None:
        """A batch just committed for the run: events first..last, serialized."""
        run = self._runs.get(run_id)
        if run is None:
            if first_event_id != 1:
                return  # the run's beginning is not here: leave it to SQLite
            run = self._runs[run_id] = _Run()
        elif run.next_event_id != first_event_id:
            self.drop(run_id)  # a gap: never serve a partial history
            return
        else:
            self._runs.move_to_end(run_id)
        run.batches.append((first_event_id, blob))
        run.next_event_id = last_event_id + 1
        run.size += len(blob)
        self._size += len(blob)
        if run.size > MAX_RUN_BYTES:
            self.drop(run_id)
        while self._size > self._budget and self._runs:
            self.drop(next(iter(self._runs)))

    def read(self, run_id: str, first_event_id: int, next_event_id: int) -> list[HistoryEvent] | None:
        """Events with first_event_id <= id < next_event_id, or None when the
        cache cannot answer for all of them."""
        run = self._runs.get(run_id)
        if run is None or next_event_id > run.next_event_id:
            return None
        events: list[HistoryEvent] = []
        for index, (first, blob) in enumerate(run.batches):
            if first >= next_event_id:
                break
            following = run.batches[index + 1][0] if index + 1 < len(run.batches) else run.next_event_id
            if following <= first_event_id:
                continue
            events.extend(
                e for e in History.FromString(blob).events if first_event_id <= e.event_id < next_event_id
            )
        return events

    def drop(self, run_id: str) -> None:
        run = self._runs.pop(run_id, None)
        if run is not None:
            self._size -= run.size
