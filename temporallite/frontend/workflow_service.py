"""WorkflowService: validates requests, resolves namespaces, calls history.

Methods are named after the RPCs in snake_case; the transport routes every
RPC of the service descriptor, and those not defined here answer
UNIMPLEMENTED.
"""

from __future__ import annotations

import uuid
from typing import Any

from temporalio.api.enums.v1 import (
    PendingActivityState,
    QueryResultType,
    TaskQueueType,
    WorkflowIdConflictPolicy,
    WorkflowTaskFailedCause,
)
from temporalio.api.query.v1 import WorkflowQueryResult
from temporalio.api.taskqueue.v1 import PollerInfo, TaskQueue
from temporalio.api.workflow.v1 import (
    PendingActivityInfo,
    PendingChildExecutionInfo,
    PendingWorkflowTaskInfo,
    WorkflowExecutionConfig,
)
from temporalio.api.workflowservice.v1 import request_response_pb2 as wsv

from temporallite import __version__
from temporallite.clock import to_duration, to_timestamp
from temporallite.errors import (
    BAD_TASK_TOKEN,
    InvalidArgument,
    NamespaceNotFound,
    NotFound,
    PermissionDenied,
    ServiceError,
)
from temporallite.frontend import validation as check
from temporallite.frontend.namespace_api import NamespaceApi
from temporallite.frontend.time_skipping_api import TimeSkippingApi
from temporallite.frontend.visibility_api import VisibilityApi
from temporallite.history import activity, reset
from temporallite.history import workflow_time_skipping as wts
from temporallite.history.engine import HistoryEngine
from temporallite.history.executions import Executions
from temporallite.history.lifecycle import Signal
from temporallite.history.mutable_state import ActivityInfo
from temporallite.history.task_token import TaskToken
from temporallite.history.transaction import Transaction
from temporallite.history.updates import ACCEPTED as UPDATE_ACCEPTED
from temporallite.history.updates import ADMITTED as UPDATE_ADMITTED
from temporallite.history.updates import UPDATE_LONG_POLL, UpdateState
from temporallite.history.worker_tasks import WorkerTasks
from temporallite.namespaces import Namespace, NamespaceRegistry
from temporallite.visibility.rows import execution_info

SUPPORTED_CLIENTS = {
    **{
        name: "<2.0.0"
        for name in (
            "temporal-go", "temporal-java", "temporal-typescript", "temporal-php",
            "temporal-cli", "temporal-server", "Nexus-go-sdk",
        )
    },
    "temporal-ui": "<3.0.0",
}


ADMITTED_NOT_SUPPORTED = (
    "UpdateWorkflowExecution issued asynchronously and waiting on update admitted is not supported."
)


def _check_update(request: wsv.UpdateWorkflowExecutionRequest) -> None:
    if not request.request.meta.update_id:
        request.request.meta.update_id = str(uuid.uuid4())  # the server picks one
    check.required(request.request.input.name, "Update name is not set on request.")
    check.payloads_size(request.request.input.args)
    if request.wait_policy.lifecycle_stage == UPDATE_ADMITTED:
        raise PermissionDenied(ADMITTED_NOT_SUPPORTED)


def _start_operation_error(
    start: wsv.StartWorkflowExecutionRequest, namespace: str
) -> ServiceError | None:
    try:
        check.start_request(start)
        if start.cron_schedule:
            raise InvalidArgument("CronSchedule is not allowed.")
        if start.workflow_start_delay.ToNanoseconds():
            raise InvalidArgument("WorkflowStartDelay is not supported.")
        if start.request_eager_execution:
            raise InvalidArgument("RequestEagerExecution is not supported.")
    except ServiceError as err:
        return err
    return None


def _update_operation_error(
    update: wsv.UpdateWorkflowExecutionRequest, start: wsv.StartWorkflowExecutionRequest,
    namespace: str,
) -> ServiceError | None:
    try:
        if update.namespace and update.namespace != namespace:
            raise InvalidArgument("Operation namespace did not match request's namespace.")
        check.required(update.workflow_execution.workflow_id, "WorkflowId is not set on request.")
        if update.workflow_execution.workflow_id != start.workflow_id:
            raise InvalidArgument("WorkflowId is not consistent with previous operation(s).")
        if update.workflow_execution.run_id:
            check.run_id(update.workflow_execution.run_id)
            raise InvalidArgument("RunId is not allowed.")
        _check_update(update)
    except ServiceError as err:
        return err
    return None


def multi_operation_failure(errors: list[ServiceError | None]) -> ServiceError:
    """Each failed operation's status, ABORTED for the others; the call
    fails with the first failure's code."""
    from google.protobuf.any_pb2 import Any as AnyProto
    from grpclib.const import Status
    from temporalio.api.errordetails.v1 import MultiOperationExecutionFailure
    from temporalio.api.failure.v1 import MultiOperationExecutionAborted

    aborted = AnyProto()
    aborted.Pack(MultiOperationExecutionAborted())
    statuses = []
    for err in errors:
        if err is None:
            statuses.append(
                MultiOperationExecutionFailure.OperationStatus(
                    code=Status.ABORTED.value, message="Operation was aborted.", details=[aborted]
                )
            )
            continue
        details = []
        if err.details is not None:
            packed = AnyProto()
            packed.Pack(err.details)
            details.append(packed)
        statuses.append(
            MultiOperationExecutionFailure.OperationStatus(
                code=err.status.value, message=err.message, details=details
            )
        )
    first = next(err for err in errors if err is not None)
    failure = ServiceError(
        "Update-with-Start could not be executed.",
        MultiOperationExecutionFailure(statuses=statuses),
    )
    failure.status = first.status
    return failure


class WorkflowService(NamespaceApi, VisibilityApi, TimeSkippingApi):
    def __init__(
        self, namespaces: NamespaceRegistry, engine: HistoryEngine,
        time_skipping_enabled: bool = True,
        max_session_skip_count: int = wts.DEFAULT_MAX_SESSION_SKIP_COUNT,
        activity_eager_execution: bool = True,
    ) -> None:
        super().__init__(namespaces)
        self.engine = engine
        self.time_skipping_enabled = time_skipping_enabled
        self.max_session_skip_count = max_session_skip_count
        self.executions = Executions(engine)
        self.worker_tasks = WorkerTasks(engine, activity_eager_execution)
        self.cluster_id = str(uuid.uuid4())

    # ---- cluster ----------------------------------------------------------

    async def get_system_info(self, request: wsv.GetSystemInfoRequest) -> wsv.GetSystemInfoResponse:
        return wsv.GetSystemInfoResponse(
            server_version=__version__,
            capabilities=wsv.GetSystemInfoResponse.Capabilities(
                signal_and_query_header=True,
                internal_error_differentiation=True,
                activity_failure_include_heartbeat=True,
                encoded_failure_attributes=True,
                upsert_memo=True,
                build_id_based_versioning=True,
                count_group_by_execution_status=True,
                sdk_metadata=True,
                eager_workflow_start=True,
            ),
        )

    async def get_cluster_info(self, request: wsv.GetClusterInfoRequest) -> wsv.GetClusterInfoResponse:
        return wsv.GetClusterInfoResponse(
            supported_clients=SUPPORTED_CLIENTS,
            server_version=__version__,
            cluster_id=self.cluster_id,
            cluster_name="active",
            history_shard_count=1,
            persistence_store="sqlite",
            visibility_store="sqlite",
            initial_failover_version=1,
            failover_version_increment=10,
        )

    # ---- workflow lifecycle -----------------------------------------------

    async def start_workflow_execution(
        self, request: wsv.StartWorkflowExecutionRequest
    ) -> wsv.StartWorkflowExecutionResponse:
        ns = self.namespaces.get(request.namespace)
        check.start_request(request, ns.id)
        self.accept_time_skipping(request)
        if not request.request_id:
            request.request_id = str(uuid.uuid4())
        run_id, started, status = await self.executions.start(ns, request)
        response = wsv.StartWorkflowExecutionResponse(
            run_id=run_id, started=started, status=status  # type: ignore[arg-type]
        )
        if request.request_eager_execution and started:
            task = await self.worker_tasks.eager_task(ns, request.workflow_id, run_id)
            if task is not None:
                response.eager_workflow_task.CopyFrom(task)
        return response

    async def execute_multi_operation(
        self, request: wsv.ExecuteMultiOperationRequest
    ) -> wsv.ExecuteMultiOperationResponse:
        """Update-with-start: start the workflow (or use the running one, by
        its conflict policy), then update it; the update rides on the first
        workflow task of a new run."""
        ns = self.namespaces.get(request.namespace)
        ops = request.operations
        if len(ops) != 2 or not ops[0].HasField("start_workflow") or not ops[1].HasField(
            "update_workflow"
        ):
            raise InvalidArgument("Operations have to be exactly [Start, Update].")
        start, update = ops[0].start_workflow, ops[1].update_workflow
        errors = [_start_operation_error(start, request.namespace),
                  _update_operation_error(update, start, request.namespace)]
        if any(errors):
            raise multi_operation_failure(errors)
        try:
            self.accept_time_skipping(start)
        except ServiceError as err:
            raise multi_operation_failure([err, None]) from None
        if not start.request_id:
            start.request_id = str(uuid.uuid4())
        updates = self.worker_tasks.updates
        admitted: list[UpdateState] = []
        try:
            run_id, started, status = await self.executions.start(
                ns, start, within=lambda tx: admitted.append(updates.admit(tx, update.request))
            )
        except ServiceError as err:
            raise multi_operation_failure([err, None]) from None
        try:
            if admitted:
                ms = await self.engine.load(ns.id, start.workflow_id, run_id)
                stage = update.wait_policy.lifecycle_stage or UPDATE_ACCEPTED
                update_response = await updates.wait(ms, admitted[0], stage, UPDATE_LONG_POLL)
            else:
                update.workflow_execution.run_id = run_id
                update_response = await self._update(ns, update)
        except ServiceError as err:
            raise multi_operation_failure([None, err]) from None
        return wsv.ExecuteMultiOperationResponse(
            responses=[
                wsv.ExecuteMultiOperationResponse.Response(
                    start_workflow=wsv.StartWorkflowExecutionResponse(
                        run_id=run_id, started=started, status=status  # type: ignore[arg-type]
                    )
                ),
                wsv.ExecuteMultiOperationResponse.Response(update_workflow=update_response),
            ]
        )

    async def signal_with_start_workflow_execution(
        self, request: wsv.SignalWithStartWorkflowExecutionRequest
    ) -> wsv.SignalWithStartWorkflowExecutionResponse:
        ns = self.namespaces.get(request.namespace)
        start = wsv.StartWorkflowExecutionRequest()
        for field, value in request.ListFields():
            if field.name not in start.DESCRIPTOR.fields_by_name:
                continue
            target = getattr(start, field.name)
            if hasattr(target, "MergeFrom"):
                target.MergeFrom(value)
            else:
                setattr(start, field.name, value)
        check.required(request.workflow_id, "WorkflowId is not set on request.")
        check.required(request.signal_name, "signal not set")
        check.max_length(request.signal_name, "SignalName length exceeds limit.")
        if (
            request.workflow_id_conflict_policy
            == WorkflowIdConflictPolicy.WORKFLOW_ID_CONFLICT_POLICY_FAIL
        ):
            raise InvalidArgument(
                "Invalid WorkflowIDConflictPolicy: WORKFLOW_ID_CONFLICT_POLICY_FAIL"
                " is not supported for this operation."
            )
        check.start_request(start, ns.id)
        self.accept_time_skipping(start)
        check.payloads_size(request.signal_input)
        if not start.request_id:
            start.request_id = str(uuid.uuid4())
        sig = Signal(
            request.signal_name,
            request.signal_input if request.HasField("signal_input") else None,
            request.identity,
            request.header if request.HasField("header") else None,
        )
        run_id, started, _ = await self.executions.start(ns, start, signal=sig)
        return wsv.SignalWithStartWorkflowExecutionResponse(run_id=run_id, started=started)

    async def signal_workflow_execution(
        self, request: wsv.SignalWorkflowExecutionRequest
    ) -> wsv.SignalWorkflowExecutionResponse:
        ns = self.namespaces.get(request.namespace)
        check.execution(request.workflow_execution)
        check.required(request.signal_name, "SignalName is not set on request.")
        check.max_length(request.signal_name, "SignalName length exceeds limit.")
        check.payloads_size(request.input)
        sig = Signal(
            request.signal_name,
            request.input if request.HasField("input") else None,
            request.identity,
            request.header if request.HasField("header") else None,
            request.request_id,
        )
        await self.executions.signal(ns, request.workflow_execution, sig)
        return wsv.SignalWorkflowExecutionResponse()

    async def request_cancel_workflow_execution(
        self, request: wsv.RequestCancelWorkflowExecutionRequest
    ) -> wsv.RequestCancelWorkflowExecutionResponse:
        ns = self.namespaces.get(request.namespace)
        check.execution(request.workflow_execution)
        await self.executions.request_cancel(
            ns, request.workflow_execution, request.identity, request.request_id, request.reason
        )
        return wsv.RequestCancelWorkflowExecutionResponse()

    async def terminate_workflow_execution(
        self, request: wsv.TerminateWorkflowExecutionRequest
    ) -> wsv.TerminateWorkflowExecutionResponse:
        ns = self.namespaces.get(request.namespace)
        check.execution(request.workflow_execution)
        await self.executions.terminate(
            ns,
            request.workflow_execution,
            request.reason,
            request.details if request.HasField("details") else None,
            request.identity,
        )
        return wsv.TerminateWorkflowExecutionResponse()

    async def reset_workflow_execution(
        self, request: wsv.ResetWorkflowExecutionRequest
    ) -> wsv.ResetWorkflowExecutionResponse:
        ns = self.namespaces.get(request.namespace)
        check.execution(request.workflow_execution)
        run_id = await reset.reset(self.engine, ns, request)
        return wsv.ResetWorkflowExecutionResponse(run_id=run_id)

    async def delete_workflow_execution(
        self, request: wsv.DeleteWorkflowExecutionRequest
    ) -> wsv.DeleteWorkflowExecutionResponse:
        ns = self.namespaces.get(request.namespace)
        check.execution(request.workflow_execution)
        await self.executions.delete(ns, request.workflow_execution)
        return wsv.DeleteWorkflowExecutionResponse()

    async def get_workflow_execution_history(
        self, request: wsv.GetWorkflowExecutionHistoryRequest
    ) -> wsv.GetWorkflowExecutionHistoryResponse:
        ns = self.namespaces.get(request.namespace)
        check.execution(request.execution)
        return await self.executions.get_history(ns, request)

    async def get_workflow_execution_history_reverse(
        self, request: wsv.GetWorkflowExecutionHistoryReverseRequest
    ) -> wsv.GetWorkflowExecutionHistoryReverseResponse:
        ns = self.namespaces.get(request.namespace)
        check.execution(request.execution)
        return await self.executions.get_history_reverse(ns, request)

    async def describe_workflow_execution(
        self, request: wsv.DescribeWorkflowExecutionRequest
    ) -> wsv.DescribeWorkflowExecutionResponse:
        ns = self.namespaces.get(request.namespace)
        check.execution(request.execution)
        ms = await self.executions.describe(ns, request.execution)
        response = wsv.DescribeWorkflowExecutionResponse(
            execution_config=WorkflowExecutionConfig(
                task_queue=TaskQueue(name=ms.task_queue, kind=1),  # type: ignore[arg-type]
                workflow_execution_timeout=to_duration(ms.execution_timeout),
                workflow_run_timeout=to_duration(ms.run_timeout),
                default_workflow_task_timeout=to_duration(ms.workflow_task_timeout),
            ),
            workflow_execution_info=execution_info(ms),
        )
        response.workflow_execution_info.history_length = ms.next_event_id - 1
        for info in ms.activities.values():
            response.pending_activities.append(_pending_activity(info))
        for child in ms.children.values():
            if child.run_id:
                response.pending_children.append(
                    PendingChildExecutionInfo(
                        workflow_id=child.workflow_id,
                        run_id=child.run_id,
                        workflow_type_name=child.workflow_type,
                        initiated_id=child.initiated_event_id,
                        parent_close_policy=child.parent_close_policy,  # type: ignore[arg-type]
                    )
                )
        wft = ms.workflow_task
        if wft is not None:
            pending = PendingWorkflowTaskInfo(
                state=2 if wft.started else 1,  # type: ignore[arg-type]
                scheduled_time=to_timestamp(wft.scheduled_time),
                original_scheduled_time=to_timestamp(wft.scheduled_time),
                attempt=wft.attempt,
            )
            if wft.started:
                pending.started_time.CopyFrom(to_timestamp(wft.started_time))
            response.pending_workflow_task.CopyFrom(pending)
        time_skipping = wts.describe(ms, self.engine.clock.now())
        if time_skipping is not None:
            response.workflow_extended_info.time_skipping_info.CopyFrom(time_skipping)
        return response

    # ---- updates ------------------------------------------------------------

    async def update_workflow_execution(
        self, request: wsv.UpdateWorkflowExecutionRequest
    ) -> wsv.UpdateWorkflowExecutionResponse:
        ns = self.namespaces.get(request.namespace)
        check.execution(request.workflow_execution)
        _check_update(request)
        return await self._update(ns, request)

    async def _update(
        self, ns: Namespace, request: wsv.UpdateWorkflowExecutionRequest
    ) -> wsv.UpdateWorkflowExecutionResponse:
        updates = self.worker_tasks.updates
        execution = request.workflow_execution
        update_id = request.request.meta.update_id

        def transition(tx: Transaction) -> UpdateState | None:
            if update_id in tx.ms.updates:
                return None  # accepted before: answer from history
            return updates.admit(tx, request.request)

        state = await self.engine.update(ns.id, execution.workflow_id, execution.run_id, transition)
        ms = await self.engine.load(ns.id, execution.workflow_id, execution.run_id)
        if state is None:
            state = await updates.recorded(ms, update_id)
            assert state is not None
        stage = request.wait_policy.lifecycle_stage or UPDATE_ACCEPTED
        return await updates.wait(ms, state, stage, UPDATE_LONG_POLL)

    async def poll_workflow_execution_update(
        self, request: wsv.PollWorkflowExecutionUpdateRequest
    ) -> wsv.PollWorkflowExecutionUpdateResponse:
        ns = self.namespaces.get(request.namespace)
        ref = request.update_ref
        check.execution(ref.workflow_execution)
        check.required(ref.update_id, "Update id is not set on request.")
        updates = self.worker_tasks.updates
        ms = await self.engine.load(ns.id, ref.workflow_execution.workflow_id,
                                    ref.workflow_execution.run_id)
        state = updates.find(ms.run_id, ref.update_id) or await updates.recorded(ms, ref.update_id)
        if state is None:
            raise NotFound(f'update "{ref.update_id}" not found')
        # No stage asked: answer at once with the stage reached.
        stage = request.wait_policy.lifecycle_stage
        timeout = UPDATE_LONG_POLL if stage else 0.0
        response = await updates.wait(ms, state, stage, timeout)
        return wsv.PollWorkflowExecutionUpdateResponse(
            outcome=response.outcome if response.HasField("outcome") else None,
            stage=response.stage,
            update_ref=response.update_ref,
        )

    # ---- queries ------------------------------------------------------------

    async def query_workflow(self, request: wsv.QueryWorkflowRequest) -> wsv.QueryWorkflowResponse:
        ns = self.namespaces.get(request.namespace)
        check.execution(request.execution)
        check.required(request.query.query_type, "QueryType is not set on request.")
        return await self.worker_tasks.queries.query(
            ns, request.execution.workflow_id, request.execution.run_id, request.query,
            request.query_reject_condition, None,
        )

    async def respond_query_task_completed(
        self, request: wsv.RespondQueryTaskCompletedRequest
    ) -> wsv.RespondQueryTaskCompletedResponse:
        token, _ = self._decode_token(request)
        if not token.query_id:
            raise InvalidArgument(BAD_TASK_TOKEN)
        queries = self.worker_tasks.queries
        if request.completed_type == QueryResultType.QUERY_RESULT_TYPE_ANSWERED:
            found = queries.answer(
                token.query_id,
                WorkflowQueryResult(
                    result_type=QueryResultType.QUERY_RESULT_TYPE_ANSWERED,
                    answer=request.query_result,
                ),
            )
        else:
            found = queries.answer_failed(
                token.query_id, request.error_message,
                request.failure if request.HasField("failure") else None,
            )
        if not found:
            raise NotFound("query task not found, or already expired")
        return wsv.RespondQueryTaskCompletedResponse()

    # ---- workflow tasks ---------------------------------------------------

    async def poll_workflow_task_queue(
        self, request: wsv.PollWorkflowTaskQueueRequest
    ) -> wsv.PollWorkflowTaskQueueResponse:
        ns = self.namespaces.get(request.namespace)
        check.task_queue(request.task_queue)
        return await self.worker_tasks.poll_workflow_task(ns, request.task_queue, request.identity)

    async def respond_workflow_task_completed(
        self, request: wsv.RespondWorkflowTaskCompletedRequest
    ) -> wsv.RespondWorkflowTaskCompletedResponse:
        token, ns = self._decode_token(request)
        return await self.worker_tasks.respond_workflow_task_completed(ns, token, request)

    async def respond_workflow_task_failed(
        self, request: wsv.RespondWorkflowTaskFailedRequest
    ) -> wsv.RespondWorkflowTaskFailedResponse:
        token, ns = self._decode_token(request)
        cause = request.cause or WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_UNSPECIFIED
        await self.worker_tasks.respond_workflow_task_failed(
            ns, token, cause, request.failure if request.HasField("failure") else None,
            request.identity,
        )
        return wsv.RespondWorkflowTaskFailedResponse()

    async def describe_task_queue(
        self, request: wsv.DescribeTaskQueueRequest
    ) -> wsv.DescribeTaskQueueResponse:
        ns = self.namespaces.get(request.namespace)
        check.task_queue(request.task_queue)
        kind = (
            "activity" if request.task_queue_type == TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY
            else "workflow"
        )
        pollers = self.engine.matching.recent_pollers(ns.id, request.task_queue.name, kind)
        return wsv.DescribeTaskQueueResponse(
            pollers=[
                PollerInfo(identity=who, last_access_time=to_timestamp(when))
                for who, when in sorted(pollers.items(), key=lambda item: -item[1])
            ]
        )

    async def reset_sticky_task_queue(
        self, request: wsv.ResetStickyTaskQueueRequest
    ) -> wsv.ResetStickyTaskQueueResponse:
        ns = self.namespaces.get(request.namespace)
        check.execution(request.execution)
        await self.worker_tasks.reset_sticky(ns, request.execution)
        return wsv.ResetStickyTaskQueueResponse()

    async def shutdown_worker(
        self, request: wsv.ShutdownWorkerRequest
    ) -> wsv.ShutdownWorkerResponse:
        ns = self.namespaces.get(request.namespace)
        if request.sticky_task_queue:
            self.engine.matching.unload_sticky(ns.id, request.sticky_task_queue)
        return wsv.ShutdownWorkerResponse()

    # ---- activity tasks ---------------------------------------------------

    async def poll_activity_task_queue(
        self, request: wsv.PollActivityTaskQueueRequest
    ) -> wsv.PollActivityTaskQueueResponse:
        ns = self.namespaces.get(request.namespace)
        check.task_queue(request.task_queue)
        return await self.worker_tasks.poll_activity_task(ns, request.task_queue, request.identity)

    async def _activity(self, request: object, change: object) -> bool:
        if not hasattr(request, "activity_id"):
            token, ns = self._decode_token(request)
            return await self.worker_tasks.on_activity(ns, token, None, change)  # type: ignore[arg-type]
        ns = self.namespaces.get(request.namespace)  # type: ignore[attr-defined]
        check.required(request.activity_id, "ActivityId is not set on request.")  # type: ignore[attr-defined]
        check.run_id(request.run_id, "RunId is not valid UUID.")  # type: ignore[attr-defined]
        by_id = (request.workflow_id, request.run_id, request.activity_id)  # type: ignore[attr-defined]
        return await self.worker_tasks.on_activity(ns, None, by_id, change)  # type: ignore[arg-type]

    async def respond_activity_task_completed(
        self, request: wsv.RespondActivityTaskCompletedRequest
    ) -> wsv.RespondActivityTaskCompletedResponse:
        check.payloads_size(request.result)
        await self._activity(request, _completer(request))
        return wsv.RespondActivityTaskCompletedResponse()

    async def respond_activity_task_completed_by_id(
        self, request: wsv.RespondActivityTaskCompletedByIdRequest
    ) -> wsv.RespondActivityTaskCompletedByIdResponse:
        check.payloads_size(request.result)
        await self._activity(request, _completer(request))
        return wsv.RespondActivityTaskCompletedByIdResponse()

    async def respond_activity_task_failed(
        self, request: wsv.RespondActivityTaskFailedRequest
    ) -> wsv.RespondActivityTaskFailedResponse:
        await self._activity(request, _failer(request))
        return wsv.RespondActivityTaskFailedResponse()

    async def respond_activity_task_failed_by_id(
        self, request: wsv.RespondActivityTaskFailedByIdRequest
    ) -> wsv.RespondActivityTaskFailedByIdResponse:
        await self._activity(request, _failer(request))
        return wsv.RespondActivityTaskFailedByIdResponse()

    async def respond_activity_task_canceled(
        self, request: wsv.RespondActivityTaskCanceledRequest
    ) -> wsv.RespondActivityTaskCanceledResponse:
        await self._activity(request, _canceler(request))
        return wsv.RespondActivityTaskCanceledResponse()

    async def respond_activity_task_canceled_by_id(
        self, request: wsv.RespondActivityTaskCanceledByIdRequest
    ) -> wsv.RespondActivityTaskCanceledByIdResponse:
        await self._activity(request, _canceler(request))
        return wsv.RespondActivityTaskCanceledByIdResponse()

    async def record_activity_task_heartbeat(
        self, request: wsv.RecordActivityTaskHeartbeatRequest
    ) -> wsv.RecordActivityTaskHeartbeatResponse:
        check.payloads_size(request.details)
        cancel = await self._activity(request, _heartbeater(request))
        return wsv.RecordActivityTaskHeartbeatResponse(cancel_requested=cancel)

    async def record_activity_task_heartbeat_by_id(
        self, request: wsv.RecordActivityTaskHeartbeatByIdRequest
    ) -> wsv.RecordActivityTaskHeartbeatByIdResponse:
        check.payloads_size(request.details)
        cancel = await self._activity(request, _heartbeater(request))
        return wsv.RecordActivityTaskHeartbeatByIdResponse(cancel_requested=cancel)

    def _decode_token(self, request: Any) -> tuple[TaskToken, Namespace]:
        """The namespace named on the request is checked before the token."""
        if request.namespace:
            self.namespaces.get(request.namespace)
        token = TaskToken.decode(request.task_token)
        ns = self.namespaces.by_id(token.namespace_id)
        if ns is None:
            raise NamespaceNotFound(token.namespace_id)
        return token, ns


def _completer(request: object) -> object:
    result = request.result if request.HasField("result") else None  # type: ignore[attr-defined]

    def change(tx: Transaction, info: ActivityInfo) -> None:
        activity.complete(tx, info, result, request.identity)  # type: ignore[attr-defined]

    return change


def _failer(request: object) -> object:
    def change(tx: Transaction, info: ActivityInfo) -> None:
        details = (
            request.last_heartbeat_details  # type: ignore[attr-defined]
            if request.HasField("last_heartbeat_details")  # type: ignore[attr-defined]
            else None
        )
        activity.fail(tx, info, request.failure, request.identity, details)  # type: ignore[attr-defined]

    return change


def _canceler(request: object) -> object:
    details = request.details if request.HasField("details") else None  # type: ignore[attr-defined]

    def change(tx: Transaction, info: ActivityInfo) -> None:
        activity.canceled(tx, info, details, request.identity)  # type: ignore[attr-defined]

    return change


def _heartbeater(request: object) -> object:
    def change(tx: Transaction, info: ActivityInfo) -> None:
        info.last_heartbeat_time = tx.now
        if request.HasField("details"):  # type: ignore[attr-defined]
            info.heartbeat_details = request.details.SerializeToString()  # type: ignore[attr-defined]

    return change


def _pending_activity(info: ActivityInfo) -> PendingActivityInfo:
    scheduled = activity.scheduled_event(info).activity_task_scheduled_event_attributes
    if info.cancel_requested:
        state = PendingActivityState.PENDING_ACTIVITY_STATE_CANCEL_REQUESTED
    elif info.started:
        state = PendingActivityState.PENDING_ACTIVITY_STATE_STARTED
    else:
        state = PendingActivityState.PENDING_ACTIVITY_STATE_SCHEDULED
    pending = PendingActivityInfo(
        activity_id=info.activity_id,
        activity_type=scheduled.activity_type,
        state=state,
        attempt=info.attempt,
        maximum_attempts=info.retry_policy.maximum_attempts if info.retry_policy else 0,
        scheduled_time=to_timestamp(info.scheduled_time),
        last_worker_identity=info.started_identity or info.last_worker_identity,
    )
    if info.heartbeat_details:
        from temporalio.api.common.v1 import Payloads

        pending.heartbeat_details.CopyFrom(Payloads.FromString(info.heartbeat_details))
    if info.last_heartbeat_time:
        pending.last_heartbeat_time.CopyFrom(to_timestamp(info.last_heartbeat_time))
    if info.started:
        pending.last_started_time.CopyFrom(to_timestamp(info.started_time))
    if info.last_failure:
        from temporalio.api.failure.v1 import Failure

        pending.last_failure.CopyFrom(Failure.FromString(info.last_failure))
    if info.schedule_to_close_timeout:
        pending.expiration_time.CopyFrom(
            to_timestamp(info.first_scheduled_time + info.schedule_to_close_timeout)
        )
    return pending
