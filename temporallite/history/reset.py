"""ResetWorkflowExecution: a new run that starts from a prefix of another
run's history (through a workflow task), fails that task with cause
RESET_WORKFLOW, reapplies later signals, and becomes the current run."""

from __future__ import annotations

import uuid

from temporalio.api.enums.v1 import (
    EventType,
    ResetReapplyExcludeType,
    ResetReapplyType,
    WorkflowTaskFailedCause,
)
from temporalio.api.failure.v1 import Failure, ResetWorkflowFailureInfo
from temporalio.api.history.v1 import HistoryEvent
from temporalio.api.workflowservice.v1 import ResetWorkflowExecutionRequest

from temporallite.errors import InvalidArgument
from temporallite.history import lifecycle, rebuild, workflow_task
from temporallite.history.engine import HistoryEngine, pending_tasks
from temporallite.history.transaction import Transaction
from temporallite.namespaces import Namespace

ET = EventType
RESETTER_IDENTITY = "history-resetter"
SERVER_IDENTITY = "history-service"


async def reset(
    engine: HistoryEngine, ns: Namespace, request: ResetWorkflowExecutionRequest
) -> str:
    execution = request.workflow_execution
    async with engine.lock(ns.id, execution.workflow_id):
        base = await engine.load(ns.id, execution.workflow_id, execution.run_id)
        finish_id = request.workflow_task_finish_event_id
        if finish_id <= 1 or finish_id >= base.next_event_id:
            raise InvalidArgument("Workflow task finish ID must be > 1 && <= workflow last event ID.")
        events = await engine.read_history(base.run_id, 1, base.next_event_id)
        # Events 1..F-1 are kept; they must end with a workflow task that was
        # scheduled (a started event is then added) or started.
        last_kept = events[finish_id - 2]
        if last_kept.event_type not in (
            ET.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED, ET.EVENT_TYPE_WORKFLOW_TASK_STARTED
        ):
            raise InvalidArgument(
                "Can only reset workflow to event ID in range "
                f"[WorkflowTaskScheduled +1, WorkflowTaskStarted + 1]: {finish_id}"
            )
        current = base
        if base.is_open is False:
            current_id = await engine.current_run_id(ns.id, base.workflow_id)
            if current_id and current_id != base.run_id:
                current = await engine.load(ns.id, base.workflow_id, current_id)
        new_run_id = str(uuid.uuid4())
        prefix = events[: finish_id - 1]
        tail = events[finish_id - 1:]
        now = engine.clock.now()

        new_ms = rebuild.replay(ns.id, ns.name, new_run_id, prefix)
        new_ms.start_request_id = request.request_id or str(uuid.uuid4())
        new_ms.parent = base.parent
        new_ms.first_run_id = base.first_run_id
        new_tx = Transaction(new_ms, now, limits=engine.limits)
        new_ms.next_event_id = 1
        for event in prefix:
            copy = HistoryEvent()
            copy.CopyFrom(event)
            new_tx.append(copy)
        if last_kept.event_type == ET.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED:
            started = new_tx.add(
                ET.EVENT_TYPE_WORKFLOW_TASK_STARTED,
                scheduled_event_id=last_kept.event_id,
                identity=SERVER_IDENTITY,
                request_id="emptyUuid",
            )
        else:
            started = last_kept
        scheduled_id = started.workflow_task_started_event_attributes.scheduled_event_id
        new_tx.add(
            ET.EVENT_TYPE_WORKFLOW_TASK_FAILED,
            scheduled_event_id=scheduled_id,
            started_event_id=started.event_id,
            cause=WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_RESET_WORKFLOW,
            failure=Failure(
                message=request.reason, reset_workflow_failure_info=ResetWorkflowFailureInfo()
            ),
            identity=request.identity,
            base_run_id=base.run_id,
            new_run_id=new_run_id,
        )
        for event in _reapplied(request, tail):
            lifecycle.reapply(new_tx, event)
        new_tx.visibility_changed = True
        workflow_task.schedule(new_tx)
        new_tx.tasks += [t for t in pending_tasks(new_ms, now) if t.kind == "activity"]

        if current.is_open:
            tx = engine.transaction(current)
            lifecycle.terminate(tx, request.reason, None, RESETTER_IDENTITY)
        else:
            tx = engine.transaction(current)
        tx.new_run = new_tx
        await engine.commit(tx)
        return new_run_id


def _reapplied(request: ResetWorkflowExecutionRequest, tail: list[HistoryEvent]) -> list[HistoryEvent]:
    if request.reset_reapply_type == ResetReapplyType.RESET_REAPPLY_TYPE_NONE:
        return []
    if ResetReapplyExcludeType.RESET_REAPPLY_EXCLUDE_TYPE_SIGNAL in request.reset_reapply_exclude_types:
        return []
    return [e for e in tail if e.event_type == ET.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED]

