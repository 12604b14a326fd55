"""Visibility rows: written in the same transaction as the state change."""

from __future__ import annotations

from typing import Any

from temporalio.api.common.v1 import Memo, SearchAttributes, WorkflowExecution, WorkflowType
from temporalio.api.workflow.v1 import WorkflowExecutionInfo

from temporallite.clock import to_duration, to_timestamp
from temporallite.history.mutable_state import MutableState


def execution_info(ms: MutableState) -> WorkflowExecutionInfo:
    info = WorkflowExecutionInfo(
        execution=WorkflowExecution(workflow_id=ms.workflow_id, run_id=ms.run_id),
        type=WorkflowType(name=ms.workflow_type),
        start_time=to_timestamp(ms.start_time),
        status=ms.status,  # type: ignore[arg-type]
        execution_time=to_timestamp(ms.execution_time),
        task_queue=ms.task_queue,
        first_run_id=ms.first_run_id,
        state_transition_count=ms.state_transition_count,
        history_size_bytes=ms.history_size_bytes,
    )
    if ms.parent is not None:
        parent = ms.parent.execution
        info.parent_namespace_id = parent.namespace_id
        info.parent_execution.CopyFrom(
            WorkflowExecution(workflow_id=parent.workflow_id, run_id=parent.run_id)
        )
    if ms.root_workflow_id:
        info.root_execution.CopyFrom(
            WorkflowExecution(workflow_id=ms.root_workflow_id, run_id=ms.root_run_id)
        )
    if ms.memo:
        info.memo.CopyFrom(Memo.FromString(ms.memo))
    else:
        info.memo.SetInParent()
    if ms.search_attributes:
        info.search_attributes.CopyFrom(SearchAttributes.FromString(ms.search_attributes))
    if not ms.is_open:
        info.close_time.CopyFrom(to_timestamp(ms.close_time))
        info.history_length = ms.next_event_id - 1
        info.execution_duration.CopyFrom(to_duration(max(0.0, ms.close_time - ms.execution_time)))
    return info


def visibility_row(ms: MutableState) -> tuple[Any, ...]:
    return (
        "INSERT OR REPLACE INTO visibility (namespace_id, run_id, workflow_id, workflow_type,"
        " task_queue, status, start_time, execution_time, close_time, history_length, info)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        ms.namespace_id,
        ms.run_id,
        ms.workflow_id,
        ms.workflow_type,
        ms.task_queue,
        ms.status,
        ms.start_time,
        ms.execution_time,
        ms.close_time or None,
        None if ms.is_open else ms.next_event_id - 1,
        execution_info(ms).SerializeToString(),
    )
