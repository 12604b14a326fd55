"""Commands that reach other workflows: start a child, signal or cancel an
external workflow. Each writes its 'initiated' event and leaves a transfer
for after commit (history/transfer.py); the outcome comes back as events."""

from __future__ import annotations

from collections.abc import Callable

from temporalio.api.command.v1 import Command
from temporalio.api.common.v1 import SearchAttributes, WorkflowExecution
from temporalio.api.enums.v1 import EventType, ParentClosePolicy, WorkflowIdReusePolicy
from temporalio.api.enums.v1 import WorkflowTaskFailedCause as Cause
from temporalio.api.taskqueue.v1 import TaskQueue

from temporallite.clock import duration_seconds, to_duration
from temporallite.history import limits, workflow_time_skipping
from temporallite.history.activity import CommandError
from temporallite.history.mutable_state import ChildInfo, ExternalRequest
from temporallite.history.run_start import DEFAULT_WORKFLOW_TASK_TIMEOUT
from temporallite.history.transaction import Transaction
from temporallite.visibility import search_attributes

ET = EventType


def _namespace(tx: Transaction, name: str, bad_cause: int) -> tuple[str, str]:
    """(name, id) of the namespace a command names (default: the workflow's)."""
    ms = tx.ms
    if not name or name == ms.namespace:
        return ms.namespace, ms.namespace_id
    namespace_id = tx.lookup_namespace_id(name) if tx.lookup_namespace_id else None
    if namespace_id is None:
        raise CommandError(bad_cause, f"Namespace {name} is not found.")
    return name, namespace_id


def unaliased(
    known: search_attributes.NamespaceSearchAttributes, attrs: SearchAttributes
) -> SearchAttributes:
    """The command's attributes keyed by field names; an unknown name fails
    the task before any other check of the command, as on the real server."""
    try:
        return known.unaliased(attrs)
    except search_attributes.SearchAttributeError as exc:
        raise CommandError(Cause.WORKFLOW_TASK_FAILED_CAUSE_BAD_SEARCH_ATTRIBUTES, str(exc)) from None


def check_search_attributes(
    known: search_attributes.NamespaceSearchAttributes,
    attrs: SearchAttributes,
    fields: SearchAttributes,
    size_cause: int,
    context: Callable[[str], str],
) -> None:
    """The search attributes of a child start or a continue-as-new: a bad
    value fails the task (its message put in `context`), a size over the
    limits terminates the workflow with `size_cause`."""
    try:
        known.check_values(attrs)
    except search_attributes.SearchAttributeError as exc:
        raise CommandError(
            Cause.WORKFLOW_TASK_FAILED_CAUSE_BAD_SEARCH_ATTRIBUTES, context(str(exc))
        ) from None
    try:
        known.check_sizes(attrs, fields)
    except search_attributes.SearchAttributeError as exc:
        raise CommandError(size_cause, str(exc), terminate=True) from None


def start_child(tx: Transaction, command: Command, completed_event_id: int) -> None:
    attrs = command.start_child_workflow_execution_command_attributes
    bad = Cause.WORKFLOW_TASK_FAILED_CAUSE_BAD_START_CHILD_EXECUTION_ATTRIBUTES
    namespace, namespace_id = _namespace(tx, attrs.namespace, bad)
    known = search_attributes.for_namespace(namespace_id)
    fields = unaliased(known, attrs.search_attributes)
    if not attrs.workflow_id:
        raise CommandError(bad, "Required field WorkflowId is not set on command.")
    if not attrs.workflow_type.name:
        raise CommandError(bad, "Required field WorkflowType is not set on command.")
    check_search_attributes(
        known, attrs.search_attributes, fields, bad,
        lambda message: f"invalid SearchAttributes on StartChildWorkflowCommand: {message}."
        f" WorkflowId={attrs.workflow_id} WorkflowType={attrs.workflow_type.name} Namespace={namespace}",
    )
    limits.check_pending(tx.ms, tx.limits, "child")
    policy = attrs.parent_close_policy or ParentClosePolicy.PARENT_CLOSE_POLICY_TERMINATE
    event = tx.add(
        ET.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED,
        namespace=namespace,
        namespace_id=namespace_id,
        workflow_id=attrs.workflow_id,
        workflow_type=attrs.workflow_type,
        task_queue=TaskQueue(name=attrs.task_queue.name or tx.ms.task_queue, kind=1),  # type: ignore[arg-type]
        input=attrs.input if attrs.HasField("input") else None,
        workflow_execution_timeout=attrs.workflow_execution_timeout,
        workflow_run_timeout=attrs.workflow_run_timeout,
        workflow_task_timeout=attrs.workflow_task_timeout
        if duration_seconds(attrs.workflow_task_timeout)
        else to_duration(DEFAULT_WORKFLOW_TASK_TIMEOUT),
        parent_close_policy=policy,
        control=attrs.control,
        workflow_task_completed_event_id=completed_event_id,
        workflow_id_reuse_policy=attrs.workflow_id_reuse_policy
        or WorkflowIdReusePolicy.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
        retry_policy=attrs.retry_policy if attrs.HasField("retry_policy") else None,
        cron_schedule=attrs.cron_schedule,
        header=attrs.header if attrs.HasField("header") else None,
        memo=attrs.memo if attrs.HasField("memo") else None,
        search_attributes=attrs.search_attributes if attrs.HasField("search_attributes") else None,
        priority=attrs.priority if attrs.HasField("priority") else None,
        **workflow_time_skipping.propagate_to_child(tx.ms),
    )
    tx.ms.children[event.event_id] = ChildInfo(
        initiated_event_id=event.event_id,
        namespace_id=namespace_id,
        namespace=namespace,
        workflow_id=attrs.workflow_id,
        workflow_type=attrs.workflow_type.name,
        parent_close_policy=policy,
        initiated_event=event.SerializeToString(),
    )
    tx.transfers.append(("start_child", event.event_id))


def signal_external(tx: Transaction, command: Command, completed_event_id: int) -> None:
    attrs = command.signal_external_workflow_execution_command_attributes
    bad = Cause.WORKFLOW_TASK_FAILED_CAUSE_BAD_SIGNAL_WORKFLOW_EXECUTION_ATTRIBUTES
    if not attrs.execution.workflow_id:
        raise CommandError(bad, "WorkflowId is not set on command.")
    if not attrs.signal_name:
        raise CommandError(bad, "SignalName is not set on command.")
    namespace, namespace_id = _namespace(tx, attrs.namespace, bad)
    limits.check_pending(tx.ms, tx.limits, "signal")
    event = tx.add(
        ET.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED,
        workflow_task_completed_event_id=completed_event_id,
        namespace=namespace,
        namespace_id=namespace_id,
        workflow_execution=WorkflowExecution(
            workflow_id=attrs.execution.workflow_id, run_id=attrs.execution.run_id
        ),
        signal_name=attrs.signal_name,
        input=attrs.input if attrs.HasField("input") else None,
        control=attrs.control,
        child_workflow_only=attrs.child_workflow_only,
        header=attrs.header if attrs.HasField("header") else None,
    )
    tx.ms.external_requests[event.event_id] = ExternalRequest(
        event.event_id, "signal", event.SerializeToString()
    )
    tx.transfers.append(("signal_external", event.event_id))


def cancel_external(tx: Transaction, command: Command, completed_event_id: int) -> None:
    attrs = command.request_cancel_external_workflow_execution_command_attributes
    bad = Cause.WORKFLOW_TASK_FAILED_CAUSE_BAD_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_ATTRIBUTES
    if not attrs.workflow_id:
        raise CommandError(bad, "WorkflowId is not set on command.")
    namespace, namespace_id = _namespace(tx, attrs.namespace, bad)
    limits.check_pending(tx.ms, tx.limits, "cancel")
    event = tx.add(
        ET.EVENT_TYPE_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED,
        workflow_task_completed_event_id=completed_event_id,
        namespace=namespace,
        namespace_id=namespace_id,
        workflow_execution=WorkflowExecution(workflow_id=attrs.workflow_id, run_id=attrs.run_id),
        control=attrs.control,
        child_workflow_only=attrs.child_workflow_only,
        reason=attrs.reason,
    )
    tx.ms.external_requests[event.event_id] = ExternalRequest(
        event.event_id, "cancel", event.SerializeToString()
    )
    tx.transfers.append(("cancel_external", event.event_id))
