"""Visibility at scale: List and Count over 100k executions.

    python -m bench.visibility_bench                 # 100k runs in a temp DB file
    python -m bench.visibility_bench --runs 20000 --db /tmp/vis.db

Writes visibility rows exactly as the history engine does (rows.py, through
the store's group commit), then times the read side (query conversion +
SQL + response blobs) for the common filters: the default list, first page
and deep pages, by type, status, custom Keyword/Int/Datetime attributes,
STARTS_WITH, KeywordList and Text matches, and Count with and without
GROUP BY. Each timing is the median of several runs.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from typing import Any

from temporalio.api.common.v1 import Payload, SearchAttributes
from temporalio.api.enums.v1 import WorkflowExecutionStatus as S

from temporallite.history.mutable_state import MutableState
from temporallite.persistence.store import Store, WriteBatch
from temporallite.visibility import search_attributes as sa
from temporallite.visibility import store as visibility
from temporallite.visibility.query import convert
from temporallite.visibility.rows import visibility_row

NS_ID = "bench-namespace"
ALIASES = {
    "Keyword01": "CustomerId",
    "Int01": "Amount",
    "Datetime01": "DueDate",
    "KeywordList01": "Tags",
    "Text01": "Notes",
}
TYPES = ["OrderWorkflow", "PaymentWorkflow", "ShippingWorkflow", "RefundWorkflow"]
CLOSED = [
    S.WORKFLOW_EXECUTION_STATUS_COMPLETED,
    S.WORKFLOW_EXECUTION_STATUS_FAILED,
    S.WORKFLOW_EXECUTION_STATUS_TERMINATED,
]
BATCH = 2000
T0 = 1_750_000_000.0


def _payload(value: Any, type_name: str) -> Payload:
    return Payload(
        metadata={"encoding": b"json/plain", "type": type_name.encode()},
        data=json.dumps(value).encode(),
    )


def make_run(i: int, rng: random.Random) -> MutableState:
    start = T0 + i * 0.5
    running = rng.random() < 0.2
    ms = MutableState(
        namespace_id=NS_ID,
        namespace="default",
        workflow_id=f"order-{i:07d}",
        run_id=f"{i:08d}-0000-4000-8000-{rng.getrandbits(48):012x}",
        first_run_id="",
        workflow_type=rng.choice(TYPES),
        task_queue=f"tq-{i % 10}",
        start_time=start,
        execution_time=start,
        start_request_id="r",
        workflow_task_timeout=10.0,
    )
    if not running:
        ms.status = rng.choice(CLOSED)
        ms.close_time = start + rng.uniform(0.1, 600)
        ms.next_event_id = rng.randint(5, 40)
        ms.history_size_bytes = ms.next_event_id * 120
        ms.state_transition_count = ms.next_event_id // 2
    else:
        ms.next_event_id = 3
    attrs = {
        "CustomerId": _payload(f"c{rng.randrange(5000)}", "Keyword"),
        "Amount": _payload(rng.randrange(10_000), "Int"),
        "DueDate": _payload(
            f"2025-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}T12:00:00.250Z", "Datetime"
        ),
        "BuildIds": _payload(["unversioned", "unversioned:bench"], "KeywordList"),
    }
    if i % 4 == 0:
        attrs["Tags"] = _payload(rng.sample(["vip", "express", "gift", "bulk", "intl"], 2), "KeywordList")
    if i % 10 == 0:
        attrs["Notes"] = _payload(rng.choice(["call the customer", "leave at door", "fragile glass"]), "Text")
    ms.search_attributes = SearchAttributes(indexed_fields=attrs).SerializeToString()
    ms.memo = b""
    return ms


async def insert(store: Store, runs: int) -> float:
    rng = random.Random(42)
    began = time.perf_counter()
    pending: list[Awaitable[None]] = []
    for first in range(0, runs, BATCH):
        batch = WriteBatch()
        for i in range(first, min(first + BATCH, runs)):
            batch.add(*visibility_row(make_run(i, rng)))
        pending.append(store.commit(batch))
        if len(pending) >= 4:
            await asyncio.gather(*pending)
            pending = []
    await asyncio.gather(*pending)
    return time.perf_counter() - began


async def timed(fn: Callable[[], Awaitable[Any]], repeat: int = 7) -> tuple[float, Any]:
    await fn()  # warm
    samples = []
    result = None
    for _ in range(repeat):
        began = time.perf_counter()
        result = await fn()
        samples.append(time.perf_counter() - began)
    return statistics.median(samples) * 1000, result


LIST_QUERIES = [
    ("list, no filter", ""),
    ("list, WorkflowType", "WorkflowType = 'PaymentWorkflow'"),
    ("list, ExecutionStatus = 'Running'", "ExecutionStatus = 'Running'"),
    ("list, ExecutionStatus = 'Failed'", "ExecutionStatus = 'Failed'"),
    ("list, WorkflowId", "WorkflowId = 'order-0054321'"),
    ("list, WorkflowId STARTS_WITH", "WorkflowId STARTS_WITH 'order-00123'"),
    ("list, TaskQueue + status", "TaskQueue = 'tq-3' AND ExecutionStatus = 'Completed'"),
    ("list, custom Keyword", "CustomerId = 'c42'"),
    ("list, custom Int range", "Amount BETWEEN 100 AND 200"),
    ("list, custom Datetime range", "DueDate > '2025-12-01T00:00:00Z'"),
    ("list, KeywordList", "Tags = 'vip'"),
    ("list, Text", "Notes = 'fragile'"),
    ("list, StartTime range", "StartTime BETWEEN '2025-06-15T18:00:00Z' AND '2025-06-15T20:00:00Z'"),
    ("list, CloseTime > (closed only)", "CloseTime > '2025-06-15T00:00:00Z'"),
    (
        "list, OR of types + NOT status",
        "(WorkflowType = 'OrderWorkflow' OR WorkflowType = 'RefundWorkflow')"
        " AND NOT ExecutionStatus = 'Running'",
    ),
]
COUNT_QUERIES = [
    ("count, all", ""),
    ("count, GROUP BY ExecutionStatus", "GROUP BY ExecutionStatus"),
    ("count, WorkflowType", "WorkflowType = 'PaymentWorkflow'"),
    ("count, ExecutionStatus = 'Running'", "ExecutionStatus = 'Running'"),
    ("count, custom Keyword", "CustomerId = 'c42'"),
    ("count, custom Int range", "Amount > 5000"),
    ("count, KeywordList", "Tags = 'vip'"),
    ("count, Text", "Notes = 'fragile'"),
]


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=100_000)
    parser.add_argument("--db", default=None, help="database file (default: a temporary file)")
    args = parser.parse_args()
    sa.publish(NS_ID, "default", ALIASES)
    attributes = sa.for_namespace(NS_ID)
    tmp = None
    path = args.db
    if path is None:
        tmp = tempfile.mkdtemp(prefix="vis-bench-")
        path = os.path.join(tmp, "vis.db")
    store = await Store.open(path)
    try:
        print(f"visibility bench: {args.runs:,} executions in {path}")
        elapsed = await insert(store, args.runs)
        print(
            f"  insert              {elapsed:8.2f} s   ({args.runs / elapsed:,.0f} rows/s,"
            f" batches of {BATCH})"
        )
        print(f"  {'query':<45} {'page 100':>10} {'page 1000':>10} {'rows':>6}")
        for label, query in LIST_QUERIES:
            flt = convert(query, attributes)

            def page(size: int, flt: Any = flt, query: str = query) -> Callable[[], Awaitable[Any]]:
                async def run() -> Any:
                    return await visibility.list_executions(
                        store, NS_ID, convert(query, attributes), size, b""
                    )

                return run

            small, (rows, _) = await timed(page(100))
            large, (rows_large, _) = await timed(page(1000))
            print(f"  {label:<45} {small:8.2f}ms {large:8.2f}ms {len(rows_large):>6}")

        # Deep paging: the 50th page of 100, following tokens.
        async def deep() -> int:
            token = b""
            for _ in range(50):
                _, token = await visibility.list_executions(store, NS_ID, convert("", attributes), 100, token)
            return 50

        ms, _ = await timed(deep, repeat=3)
        print(f"  {'list, 50 pages of 100 via tokens (total)':<45} {ms:8.2f}ms")
        print(f"  {'count query':<45} {'time':>10} {'count':>10}")
        for label, query in COUNT_QUERIES:

            async def count(query: str = query) -> Any:
                return await visibility.count_executions(store, NS_ID, convert(query, attributes))

            ms, (total, groups) = await timed(count)
            print(f"  {label:<45} {ms:8.2f}ms {total:>10,}" + (f"  {len(groups)} groups" if groups else ""))
    finally:
        await store.close()
        if tmp is not None:
            for name in os.listdir(tmp):
                os.unlink(os.path.join(tmp, name))
            os.rmdir(tmp)


if __name__ == "__main__":
    asyncio.run(main())
