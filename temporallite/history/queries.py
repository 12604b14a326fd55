"""Workflow queries. A query needs a worker to replay the workflow, and is
never written to history: it rides on the next workflow task when one is
pending (answered in RespondWorkflowTaskCompleted.query_results), otherwise
it goes out alone as a query task (answered by RespondQueryTaskCompleted).
Queries live in memory only; they are synchronous for the caller."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field

from temporalio.api.enums.v1 import (
    QueryRejectCondition,
    QueryResultType,
    WorkflowExecutionStatus,
)
from temporalio.api.failure.v1 import Failure
from temporalio.api.query.v1 import QueryRejected, WorkflowQuery, WorkflowQueryResult
from temporalio.api.workflowservice.v1 import QueryWorkflowResponse

from temporallite.errors import DeadlineExceeded, QueryFailed, WorkflowNotReady
from temporallite.history.engine import HistoryEngine
from temporallite.history.mutable_state import MutableState
from temporallite.history.transaction import Task
from temporallite.namespaces import Namespace

S = WorkflowExecutionStatus
# How long a query waits for a worker when the caller sets no deadline (the
# real server answers after about 30 s).
DEFAULT_QUERY_TIMEOUT = 30.0


@dataclass
class PendingQuery:
    query_id: str
    namespace_id: str
    workflow_id: str
    run_id: str
    query: WorkflowQuery
    answer: asyncio.Future[WorkflowQueryResult] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


class Queries:
    def __init__(self, engine: HistoryEngine) -> None:
        self.engine = engine
        self._pending: dict[str, PendingQuery] = {}
        # Queries waiting for the run's next workflow task, by run id.
        self._buffered: dict[str, list[str]] = {}

    async def query(
        self, ns: Namespace, workflow_id: str, run_id: str, query: WorkflowQuery,
        reject_condition: int, timeout: float | None,
    ) -> QueryWorkflowResponse:
        ms = await self.engine.load(ns.id, workflow_id, run_id)
        rejected = _rejection(ms, reject_condition)
        if rejected is not None:
            return QueryWorkflowResponse(query_rejected=rejected)
        if not ms.is_open and ms.previous_started_event_id == 0:
            raise WorkflowNotReady("Workflow execution closed before WorkflowTaskStarted event")
        pending = PendingQuery(str(uuid.uuid4()), ns.id, ms.workflow_id, ms.run_id, query)
        self._pending[pending.query_id] = pending
        try:
            if ms.is_open and ms.workflow_task is not None:
                self._buffered.setdefault(ms.run_id, []).append(pending.query_id)
            else:
                self.dispatch(ms, pending)
            try:
                result = await asyncio.wait_for(
                    asyncio.shield(pending.answer), timeout or DEFAULT_QUERY_TIMEOUT
                )
            except TimeoutError:
                raise DeadlineExceeded("query timed out before a worker could process it") from None
        finally:
            self._pending.pop(pending.query_id, None)
            for hook in self.engine.on_idle:
                hook()
            buffered = self._buffered.get(ms.run_id)
            if buffered and pending.query_id in buffered:
                buffered.remove(pending.query_id)
        if result.result_type == QueryResultType.QUERY_RESULT_TYPE_ANSWERED:
            return QueryWorkflowResponse(query_result=result.answer)
        raise QueryFailed(result.error_message, result.failure if result.HasField("failure") else None)

    def dispatch(self, ms: MutableState, pending: PendingQuery) -> None:
        """A query task on its own, to the worker that has the workflow."""
        if ms.sticky_task_queue:
            queue, normal = ms.sticky_task_queue, ms.task_queue
        else:
            queue, normal = ms.task_queue, ""
        self.engine.matching.add_task(
            Task("workflow", ms.namespace_id, queue, ms.workflow_id, ms.run_id, 0, 0,
                 normal_task_queue=normal, query_id=pending.query_id)
        )

    def has_buffered(self, run_id: str) -> bool:
        return bool(self._buffered.get(run_id))

    def count(self) -> int:
        return len(self._pending)

    def get(self, query_id: str) -> PendingQuery | None:
        return self._pending.get(query_id)

    def take_buffered(self, run_id: str) -> dict[str, WorkflowQuery]:
        """Queries to ride on a workflow task of the run starting now."""
        ids = self._buffered.pop(run_id, [])
        return {qid: self._pending[qid].query for qid in ids if qid in self._pending}

    def rebuffer(self, run_id: str, query_ids: list[str]) -> None:
        self._buffered.setdefault(run_id, []).extend(q for q in query_ids if q in self._pending)

    def flush_buffered(self, ms: MutableState) -> None:
        """No workflow task is coming: send the waiting queries on their own."""
        if ms.workflow_task is not None and ms.is_open:
            return
        for qid in self._buffered.pop(ms.run_id, []):
            pending = self._pending.get(qid)
            if pending is not None:
                self.dispatch(ms, pending)

    def answer(self, query_id: str, result: WorkflowQueryResult) -> bool:
        pending = self._pending.get(query_id)
        if pending is None or pending.answer.done():
            return False
        pending.answer.set_result(result)
        return True

    def answer_failed(self, query_id: str, message: str, failure: Failure | None) -> bool:
        result = WorkflowQueryResult(
            result_type=QueryResultType.QUERY_RESULT_TYPE_FAILED, error_message=message
        )
        if failure is not None:
            result.failure.CopyFrom(failure)
        return self.answer(query_id, result)


def _rejection(ms: MutableState, condition: int) -> QueryRejected | None:
    if ms.is_open:
        return None
    if condition == QueryRejectCondition.QUERY_REJECT_CONDITION_NOT_OPEN:
        return QueryRejected(status=ms.status)  # type: ignore[arg-type]
    if (
        condition == QueryRejectCondition.QUERY_REJECT_CONDITION_NOT_COMPLETED_CLEANLY
        and ms.status != S.WORKFLOW_EXECUTION_STATUS_COMPLETED
    ):
        return QueryRejected(status=ms.status)  # type: ignore[arg-type]
    return None

