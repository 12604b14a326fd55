"""Request validation with the real server's limits and messages."""

from __future__ import annotations

import uuid

from google.protobuf.duration_pb2 import Duration
from temporalio.api.common.v1 import Payloads, RetryPolicy, WorkflowExecution
from temporalio.api.enums.v1 import WorkflowIdConflictPolicy, WorkflowIdReusePolicy
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import StartWorkflowExecutionRequest

from temporallite.errors import InvalidArgument
from temporallite.visibility import search_attributes

MAX_ID_LENGTH = 1000
# The real server's default blob and memo size limits (limit.blobSize.error).
BLOB_SIZE_LIMIT = 2 * 1024 * 1024
RESERVED_TASK_QUEUE_PREFIX = "/_sys/"


def required(value: str, message: str) -> None:
    if not value:
        raise InvalidArgument(message)


def max_length(value: str, message: str) -> None:
    if len(value) > MAX_ID_LENGTH:
        raise InvalidArgument(message)


def payloads_size(payloads: Payloads | None) -> None:
    if payloads is not None and payloads.ByteSize() > BLOB_SIZE_LIMIT:
        raise InvalidArgument("Blob data size exceeds limit.")


def task_queue(tq: TaskQueue) -> None:
    required(tq.name, "missing task queue name")
    max_length(tq.name, "taskQueue length exceeds limit")
    if tq.name.startswith(RESERVED_TASK_QUEUE_PREFIX):
        raise InvalidArgument(
            f"task queue name cannot start with reserved prefix {RESERVED_TASK_QUEUE_PREFIX}"
        )


def run_id(value: str, message: str = "Invalid RunId.") -> None:
    if value:
        try:
            uuid.UUID(value)
        except ValueError as exc:
            raise InvalidArgument(message) from exc


def execution(ex: WorkflowExecution) -> None:
    required(ex.workflow_id, "WorkflowId is not set on request.")
    run_id(ex.run_id)


def _duration(d: Duration, name: str) -> None:
    if d.seconds < 0 or d.nanos < 0:
        raise InvalidArgument(
            f"An invalid {name} is set on request. cause: negative duration"
        )


def retry_policy(policy: RetryPolicy) -> None:
    if policy.backoff_coefficient and policy.backoff_coefficient < 1:
        raise InvalidArgument("BackoffCoefficient cannot be less than 1 on retry policy.")
    if policy.maximum_attempts < 0:
        raise InvalidArgument("MaximumAttempts cannot be negative on retry policy.")
    for d, name in ((policy.initial_interval, "InitialInterval"),
                    (policy.maximum_interval, "MaximumInterval")):
        if d.seconds < 0 or d.nanos < 0:
            raise InvalidArgument(f"{name} cannot be negative on retry policy.")
    initial = policy.initial_interval.ToTimedelta()
    maximum = policy.maximum_interval.ToTimedelta()
    if maximum and initial and maximum < initial:
        raise InvalidArgument(
            "MaximumInterval cannot be less than InitialInterval on retry policy."
        )


def start_request(request: StartWorkflowExecutionRequest, namespace_id: str = "") -> None:
    required(request.workflow_id, "WorkflowId is not set on request.")
    if len(request.workflow_id) > MAX_ID_LENGTH:
        raise InvalidArgument(
            f"WorkflowId exceeds maximum allowed length ({len(request.workflow_id)}/{MAX_ID_LENGTH})"
        )
    required(request.workflow_type.name, "WorkflowType is not set on request.")
    max_length(request.workflow_type.name, "WorkflowType length exceeds limit.")
    task_queue(request.task_queue)
    max_length(request.request_id, "RequestId length exceeds limit.")
    _duration(request.workflow_execution_timeout, "WorkflowExecutionTimeoutSeconds")
    _duration(request.workflow_run_timeout, "WorkflowRunTimeoutSeconds")
    _duration(request.workflow_task_timeout, "WorkflowTaskTimeoutSeconds")
    _duration(request.workflow_start_delay, "WorkflowStartDelaySeconds")
    if request.HasField("retry_policy"):
        retry_policy(request.retry_policy)
    if request.cron_schedule:
        from temporallite.history.cron import CronError, parse_cron

        try:
            parse_cron(request.cron_schedule)
        except CronError as exc:
            raise InvalidArgument("invalid CronSchedule.") from exc
    if (
        request.workflow_id_reuse_policy
        == WorkflowIdReusePolicy.WORKFLOW_ID_REUSE_POLICY_TERMINATE_IF_RUNNING
        and request.workflow_id_conflict_policy
        != WorkflowIdConflictPolicy.WORKFLOW_ID_CONFLICT_POLICY_UNSPECIFIED
    ):
        raise InvalidArgument(
            "Invalid WorkflowIDReusePolicy: WORKFLOW_ID_REUSE_POLICY_TERMINATE_IF_RUNNING"
            " cannot be used together with a WorkflowIDConflictPolicy"
        )
    payloads_size(request.input if request.HasField("input") else None)
    if request.HasField("memo") and request.memo.ByteSize() > BLOB_SIZE_LIMIT:
        raise InvalidArgument("Memo size exceeds limit.")
    if namespace_id and request.HasField("search_attributes"):
        try:
            search_attributes.for_namespace(namespace_id).validate(request.search_attributes)
        except search_attributes.SearchAttributeError as exc:
            raise InvalidArgument(str(exc)) from None
