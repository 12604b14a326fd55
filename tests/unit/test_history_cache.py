"""The in-memory history of recent runs: whole runs only, never a gap, within budget."""

from __future__ import annotations

from temporalio.api.history.v1 import History, HistoryEvent

from temporallite.history.history_cache import HistoryCache


def batch(first: int, last: int) -> tuple[int, int, bytes]:
    events = [HistoryEvent(event_id=i) for i in range(first, last + 1)]
    return first, last, History(events=events).SerializeToString()


def ids(found: list[HistoryEvent] | None) -> list[int] | None:
    return None if found is None else [e.event_id for e in found]


def test_reads_ranges_of_a_run_written_from_its_start() -> None:
    cache = HistoryCache()
    cache.append("r", *batch(1, 3))
    cache.append("r", *batch(4, 6))
    assert ids(cache.read("r", 1, 7)) == [1, 2, 3, 4, 5, 6]
    assert ids(cache.read("r", 3, 5)) == [3, 4]
    assert ids(cache.read("r", 5, 7)) == [5, 6]
    assert ids(cache.read("r", 6, 6)) == []
    assert cache.read("r", 1, 8) is None  # event 7 is not known here
    assert cache.read("other", 1, 2) is None


def test_a_run_first_seen_mid_history_is_left_to_the_store() -> None:
    cache = HistoryCache()
    cache.append("r", *batch(5, 6))
    assert cache.read("r", 5, 7) is None


def test_a_gap_drops_the_run() -> None:
    cache = HistoryCache()
    cache.append("r", *batch(1, 2))
    cache.append("r", *batch(4, 5))
    assert cache.read("r", 1, 3) is None


def test_the_oldest_runs_leave_first_once_over_budget() -> None:
    first, last, blob = batch(1, 2)
    cache = HistoryCache(budget_bytes=len(blob) * 3 // 2)
    cache.append("old", first, last, blob)
    cache.append("new", first, last, blob)
    assert cache.read("old", 1, 3) is None
    assert ids(cache.read("new", 1, 3)) == [1, 2]
