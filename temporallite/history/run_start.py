"""Starting a run. Every run — started by a client, a parent, continue-as-new,
a retry or a cron schedule — is described by its WorkflowExecutionStarted
attributes; this module builds them and the mutable state they imply."""

from __future__ import annotations

import uuid

from temporalio.api.enums.v1 import ContinueAsNewInitiator
from temporalio.api.history.v1 import WorkflowExecutionStartedEventAttributes as StartedAttrs
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import StartWorkflowExecutionRequest

from temporallite.clock import duration_seconds, timestamp_seconds, to_duration
from temporallite.history import cron, retry, workflow_time_skipping
from temporallite.history.mutable_state import MutableState

DEFAULT_WORKFLOW_TASK_TIMEOUT = 10.0
MAX_WORKFLOW_TASK_TIMEOUT = 120.0


def normalize_timeouts(attrs: StartedAttrs) -> None:
    """The real server's defaults: run ≤ execution, task ≤ 120 s and ≤ run."""
    execution = duration_seconds(attrs.workflow_execution_timeout)
    run = duration_seconds(attrs.workflow_run_timeout)
    if execution and (not run or run > execution):
        run = execution
    task = duration_seconds(attrs.workflow_task_timeout) or DEFAULT_WORKFLOW_TASK_TIMEOUT
    task = min(task, MAX_WORKFLOW_TASK_TIMEOUT)
    if run:
        task = min(task, run)
    attrs.workflow_execution_timeout.CopyFrom(to_duration(execution))
    attrs.workflow_run_timeout.CopyFrom(to_duration(run))
    attrs.workflow_task_timeout.CopyFrom(to_duration(task))


def from_request(request: StartWorkflowExecutionRequest, now: float) -> StartedAttrs:
    """The started attributes of a client's start request (a first run)."""
    attrs = StartedAttrs(
        workflow_type=request.workflow_type,
        task_queue=TaskQueue(name=request.task_queue.name, kind=1),  # type: ignore[arg-type]
        workflow_execution_timeout=request.workflow_execution_timeout,
        workflow_run_timeout=request.workflow_run_timeout,
        workflow_task_timeout=request.workflow_task_timeout,
        identity=request.identity,
        attempt=1,
        cron_schedule=request.cron_schedule,
        workflow_id=request.workflow_id,
    )
    for name in ("input", "retry_policy", "memo", "search_attributes", "header", "priority",
                 "time_skipping_config"):
        if request.HasField(name):
            getattr(attrs, name).CopyFrom(getattr(request, name))
    attrs.completion_callbacks.extend(request.completion_callbacks)
    normalize_timeouts(attrs)
    backoff = duration_seconds(request.workflow_start_delay)
    if request.cron_schedule:
        backoff = cron_backoff(request.cron_schedule, now, now)
        attrs.initiator = ContinueAsNewInitiator.CONTINUE_AS_NEW_INITIATOR_CRON_SCHEDULE
    # The real server always writes it, zero when there is no backoff.
    attrs.first_workflow_task_backoff.CopyFrom(to_duration(backoff))
    return attrs


def cron_backoff(schedule: str, run_start: float, now: float) -> float:
    """Seconds from `now` to the next cron time after the run's start,
    rounded up to whole seconds as the real server does."""
    parsed = cron.parse_cron(schedule)
    next_time = cron.next_time(parsed, run_start)
    while next_time < now:
        next_time = cron.next_time(parsed, next_time)
    backoff = next_time - now
    whole = int(backoff)
    return float(whole if backoff == whole else whole + 1)


def new_mutable_state(
    namespace_id: str,
    namespace: str,
    run_id: str,
    attrs: StartedAttrs,
    request_id: str,
    now: float,
) -> MutableState:
    """The state of a run about to start. First runs get their ids here."""
    if not attrs.original_execution_run_id:
        attrs.original_execution_run_id = run_id
    if not attrs.first_execution_run_id:
        attrs.first_execution_run_id = run_id
    backoff = duration_seconds(attrs.first_workflow_task_backoff)
    execution_timeout = duration_seconds(attrs.workflow_execution_timeout)
    run_timeout = duration_seconds(attrs.workflow_run_timeout)
    if attrs.HasField("workflow_execution_expiration_time"):
        execution_expiration = timestamp_seconds(attrs.workflow_execution_expiration_time)
    elif execution_timeout:
        execution_expiration = now + backoff + execution_timeout
        attrs.workflow_execution_expiration_time.FromNanoseconds(int(execution_expiration * 1e9))
    else:
        execution_expiration = 0.0
    ms = MutableState(
        namespace_id=namespace_id,
        namespace=namespace,
        workflow_id=attrs.workflow_id,
        run_id=run_id,
        first_run_id=attrs.first_execution_run_id,
        workflow_type=attrs.workflow_type.name,
        task_queue=attrs.task_queue.name,
        start_time=now,
        execution_time=now + backoff,
        start_request_id=request_id,
        workflow_task_timeout=duration_seconds(attrs.workflow_task_timeout),
        run_timeout=run_timeout,
        execution_timeout=execution_timeout,
        run_expiration_time=now + backoff + run_timeout if run_timeout else 0.0,
        execution_expiration_time=execution_expiration,
        first_workflow_task_time=now + backoff if backoff else 0.0,
        memo=attrs.memo.SerializeToString() if attrs.HasField("memo") else b"",
        search_attributes=(
            attrs.search_attributes.SerializeToString()
            if attrs.HasField("search_attributes")
            else b""
        ),
        retry_policy=retry.from_proto(attrs.retry_policy) if attrs.HasField("retry_policy") else None,
        attempt=attrs.attempt or 1,
        cron_schedule=attrs.cron_schedule,
        root_workflow_id=attrs.root_workflow_execution.workflow_id or attrs.workflow_id,
        root_run_id=attrs.root_workflow_execution.run_id or run_id,
    )
    workflow_time_skipping.init_run(ms, attrs)
    return ms


def next_run_attributes(
    ms: MutableState,
    previous: StartedAttrs,
    initiator: int,
    backoff: float,
) -> tuple[str, StartedAttrs]:
    """A retry or cron run: the same workflow again, as the previous run
    was started, with the current memo and search attributes."""
    run_id = str(uuid.uuid4())
    attrs = StartedAttrs()
    attrs.CopyFrom(previous)
    attrs.continued_execution_run_id = ms.run_id
    attrs.original_execution_run_id = run_id
    attrs.initiator = initiator  # type: ignore[assignment]
    attrs.first_workflow_task_backoff.CopyFrom(to_duration(0))
    attrs.ClearField("continued_failure")
    attrs.ClearField("last_completion_result")
    attrs.ClearField("identity")
    if backoff:
        attrs.first_workflow_task_backoff.CopyFrom(to_duration(backoff))
    if initiator == ContinueAsNewInitiator.CONTINUE_AS_NEW_INITIATOR_RETRY:
        attrs.attempt = ms.attempt + 1
    else:
        attrs.attempt = 1
    if ms.memo:
        attrs.memo.ParseFromString(ms.memo)
    carry_search_attributes(attrs, ms.search_attributes)
    return run_id, attrs


# Kept by the server for each run (visibility/build_ids.py), never carried.
SERVER_SEARCH_ATTRIBUTES = ("BuildIds",)


def carry_search_attributes(attrs: StartedAttrs, serialized: bytes) -> None:
    """The run's search attributes, as a next run starts with them."""
    attrs.ClearField("search_attributes")
    if not serialized:
        return
    attrs.search_attributes.ParseFromString(serialized)
    for name in SERVER_SEARCH_ATTRIBUTES:
        attrs.search_attributes.indexed_fields.pop(name, None)
    if not attrs.search_attributes.indexed_fields:
        attrs.ClearField("search_attributes")
