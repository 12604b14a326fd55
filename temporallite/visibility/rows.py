"""Visibility rows: written in the same transaction as the state change."""

from __future__ import annotations

from typing import Any

from temporalio.api.common.v1 import Memo, SearchAttributes, WorkflowExecution, WorkflowType
from temporalio.api.workflow.v1 import WorkflowExecutionInfo

from temporallite.clock import to_duration, to_timestamp
from temporallite.history.mutable_state import MutableState
from temporallite.visibility import search_attributes as sa

# The close order of a running run: after every close time, so running first.
RUNNING_CLOSE_ORDER = 2**63 - 1


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


def visibility_info(
    ms: MutableState, listed_attributes: SearchAttributes | None
) -> WorkflowExecutionInfo:
    """The run as List/Count/Scan return it, as the real server's visibility
    record has it: memo and search attributes always present (attributes
    with their types), no first run id nor parent namespace, and the
    close-time facts (close time, history length and size, transitions,
    duration) only once closed."""
    info = WorkflowExecutionInfo(
        execution=WorkflowExecution(workflow_id=ms.workflow_id, run_id=ms.run_id),
        type=WorkflowType(name=ms.workflow_type),
        start_time=to_timestamp(ms.start_time),
        status=ms.status,  # type: ignore[arg-type]
        execution_time=to_timestamp(ms.execution_time),
        task_queue=ms.task_queue,
    )
    if ms.parent is not None:  # the parent's namespace is not in the record
        parent = ms.parent.execution
        info.parent_execution.CopyFrom(
            WorkflowExecution(workflow_id=parent.workflow_id, run_id=parent.run_id)
        )
    info.root_execution.CopyFrom(
        WorkflowExecution(
            workflow_id=ms.root_workflow_id or ms.workflow_id,
            run_id=ms.root_run_id or ms.run_id,
        )
    )
    info.memo.SetInParent()
    if ms.memo:
        info.memo.MergeFromString(ms.memo)
    info.search_attributes.SetInParent()
    if listed_attributes is not None:
        info.search_attributes.CopyFrom(listed_attributes)
    if not ms.is_open:
        info.close_time.CopyFrom(to_timestamp(ms.close_time))
        info.history_length = ms.next_event_id - 1
        info.state_transition_count = ms.state_transition_count
        info.history_size_bytes = ms.history_size_bytes
        info.execution_duration.CopyFrom(to_duration(max(0.0, ms.close_time - ms.execution_time)))
    return info


def _nanos(ts: Any) -> int:
    return sa.truncate_micros(ts.ToNanoseconds())


_FIXED_COLUMNS = [
    "run_id", "namespace_id", "workflow_id", "workflow_type", "task_queue", "status",
    "start_time", "execution_time", "close_time", "close_order", "history_length",
    "history_size_bytes", "execution_duration", "state_transition_count",
    "parent_workflow_id", "parent_run_id", "root_workflow_id", "root_run_id",
]
_FIELD_NAMES = list(sa.FIELD_COLUMNS)
_COLUMNS = [*_FIXED_COLUMNS, *_FIELD_NAMES, "info"]
# Datetime fields are stored as the real schema's generated columns have
# them: STRFTIME('%Y-%m-%d %H:%M:%f+00:00', <RFC 3339 value>).
_PLACEHOLDERS = [
    sa.DATETIME_COLUMN_SQL if sa.FIELD_COLUMNS.get(c) == sa.DATETIME else "?" for c in _COLUMNS
]
UPSERT_SQL = (
    f"INSERT INTO visibility ({', '.join(_COLUMNS)}) VALUES ({', '.join(_PLACEHOLDERS)})"
    " ON CONFLICT (run_id) DO UPDATE SET "
    + ", ".join(f"{c} = excluded.{c}" for c in _COLUMNS[1:])
)


def visibility_row(ms: MutableState) -> tuple[Any, ...]:
    """The statement (and its parameters) that writes the run's visibility row."""
    listed: SearchAttributes | None = None
    fields: dict[str, Any] = {}
    if ms.search_attributes:
        attributes = sa.for_namespace(ms.namespace_id)
        listed, fields = attributes.index(SearchAttributes.FromString(ms.search_attributes))
    info = visibility_info(ms, listed)
    closed = not ms.is_open
    close_time = _nanos(info.close_time) if closed else None
    parent = ms.parent.execution if ms.parent is not None else None
    return (
        UPSERT_SQL,
        ms.run_id,
        ms.namespace_id,
        ms.workflow_id,
        ms.workflow_type,
        ms.task_queue,
        ms.status,
        _nanos(info.start_time),
        _nanos(info.execution_time),
        close_time,
        close_time if close_time is not None else RUNNING_CLOSE_ORDER,
        info.history_length if closed else None,
        info.history_size_bytes if closed else None,
        info.execution_duration.ToNanoseconds() if closed else None,
        info.state_transition_count if closed else None,
        parent.workflow_id if parent is not None else None,
        parent.run_id if parent is not None else None,
        info.root_execution.workflow_id,
        info.root_execution.run_id,
        *(fields.get(name) for name in _FIELD_NAMES),
        info.SerializeToString(),
    )
