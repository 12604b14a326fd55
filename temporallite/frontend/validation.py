"""Request validation with the real server's limits and messages."""

from __future__ import annotations

from temporalio.api.common.v1 import Payloads, WorkflowExecution
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import StartWorkflowExecutionRequest

from temporallite.errors import InvalidArgument

MAX_ID_LENGTH = 1000
# The real server's default blob size limit (limit.blobSize.error).
BLOB_SIZE_LIMIT = 2 * 1024 * 1024


def required(value: str, message: str) -> None:
    if not value:
        raise InvalidArgument(message)


def id_length(value: str, what: str) -> None:
    if len(value) > MAX_ID_LENGTH:
        raise InvalidArgument(f"{what} exceeds length limit.")


def payloads_size(payloads: Payloads | None) -> None:
    if payloads is not None and payloads.ByteSize() > BLOB_SIZE_LIMIT:
        raise InvalidArgument("Blob data size exceeds limit.")


def duration_not_negative(seconds: float, what: str) -> None:
    if seconds < 0:
        raise InvalidArgument(f"Invalid {what}.")


def task_queue(tq: TaskQueue) -> None:
    required(tq.name, "TaskQueue is not set on request.")
    id_length(tq.name, "TaskQueue")


def execution(ex: WorkflowExecution) -> None:
    required(ex.workflow_id, "WorkflowId is not set on request.")
    id_length(ex.workflow_id, "WorkflowId")
    if ex.run_id:
        _uuid(ex.run_id)


def _uuid(run_id: str) -> None:
    import uuid

    try:
        uuid.UUID(run_id)
    except ValueError as exc:
        raise InvalidArgument("Invalid RunId.") from exc


def start_request(request: StartWorkflowExecutionRequest) -> None:
    required(request.workflow_id, "WorkflowId is not set on request.")
    id_length(request.workflow_id, "WorkflowId")
    required(request.workflow_type.name, "WorkflowType is not set on request.")
    id_length(request.workflow_type.name, "WorkflowType")
    task_queue(request.task_queue)
    for field, what in (
        ("workflow_execution_timeout", "WorkflowExecutionTimeout"),
        ("workflow_run_timeout", "WorkflowRunTimeout"),
        ("workflow_task_timeout", "WorkflowTaskTimeout"),
        ("workflow_start_delay", "WorkflowStartDelay"),
    ):
        d = getattr(request, field)
        duration_not_negative(d.seconds + d.nanos / 1e9, what)
    if request.request_id:
        id_length(request.request_id, "RequestId")
    payloads_size(request.input if request.HasField("input") else None)
    if request.HasField("memo") and request.memo.ByteSize() > BLOB_SIZE_LIMIT:
        raise InvalidArgument("Memo size exceeds limit.")
