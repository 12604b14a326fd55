"""Per-workflow time skipping RPCs of WorkflowService: the feature gate on
starts, UpdateWorkflowExecutionOptions (its `time_skipping_config` path) and
the PollWorkflowExecutionTimeSkipping long poll. Mixed into WorkflowService,
which provides `namespaces`, `engine` and the two settings below."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from temporalio.api.common.v1 import TimeSkippingConfig
from temporalio.api.enums.v1 import EventType
from temporalio.api.enums.v1.time_skipping_pb2 import FastForwardPollingResult
from temporalio.api.workflow.v1 import WorkflowExecutionOptions
from temporalio.api.workflowservice.v1 import request_response_pb2 as wsv

from temporallite.errors import WORKFLOW_COMPLETED, InvalidArgument, NotFound, Unimplemented
from temporallite.frontend import validation as check
from temporallite.history import workflow_time_skipping as wts
from temporallite.history.transaction import Transaction

if TYPE_CHECKING:
    from temporallite.history.engine import HistoryEngine
    from temporallite.namespaces import NamespaceRegistry

# The real server's frontend long-poll interval for this API.
TIME_SKIPPING_LONG_POLL = 20.0
OPTIONS_PATHS = ("time_skipping_config",)
Result = FastForwardPollingResult


class TimeSkippingApi:
    namespaces: NamespaceRegistry
    engine: HistoryEngine
    # frontend.WorkflowTimeSkippingEnabled / ...MaxSkipPerSession
    time_skipping_enabled: bool = True
    max_session_skip_count: int = wts.DEFAULT_MAX_SESSION_SKIP_COUNT

    def _time_skipping_config(self, config: TimeSkippingConfig) -> TimeSkippingConfig:
        if not self.time_skipping_enabled:
            raise Unimplemented(wts.NOT_ENABLED)
        if not config.enabled and config.HasField("fast_forward_config"):
            raise InvalidArgument("fast_forward_config cannot be set when time skipping is disabled.")
        if config.max_session_skip_count < 0:
            raise InvalidArgument("max_session_skip_count cannot be negative.")
        return wts.with_defaults(config, self.max_session_skip_count)

    def accept_time_skipping(self, request: wsv.StartWorkflowExecutionRequest) -> None:
        """Gate a start carrying a config; store it with defaults filled in."""
        if request.HasField("time_skipping_config"):
            request.time_skipping_config.CopyFrom(self._time_skipping_config(request.time_skipping_config))

    async def update_workflow_execution_options(
        self, request: wsv.UpdateWorkflowExecutionOptionsRequest
    ) -> wsv.UpdateWorkflowExecutionOptionsResponse:
        ns = self.namespaces.get(request.namespace)
        check.execution(request.workflow_execution)
        paths = list(request.update_mask.paths)
        unsupported = [p for p in paths if p not in OPTIONS_PATHS]
        if unsupported:
            raise Unimplemented(f"UpdateWorkflowExecutionOptions: {', '.join(unsupported)} not supported.")
        if not paths:
            raise InvalidArgument("UpdateMask is required.")
        config = self._time_skipping_config(request.workflow_execution_options.time_skipping_config)

        def transition(tx: Transaction) -> None:
            if not tx.ms.is_open:
                raise NotFound(WORKFLOW_COMPLETED)
            event = tx.new_event(
                EventType.EVENT_TYPE_WORKFLOW_EXECUTION_OPTIONS_UPDATED,
                unset_versioning_override=True,
                identity=request.identity,
                time_skipping_config=config,
                time_skipping_config_updated=True,
            )
            event.workflow_execution_options_updated_event_attributes.priority.SetInParent()
            event.worker_may_ignore = True
            wft = tx.ms.workflow_task
            if wft is not None and wft.started:
                tx.ms.buffered_events.append(event.SerializeToString())
            else:
                tx.append(event)
            wts.update_config(tx, config)

        execution = request.workflow_execution
        await self.engine.update(ns.id, execution.workflow_id, execution.run_id, transition)
        return wsv.UpdateWorkflowExecutionOptionsResponse(
            workflow_execution_options=WorkflowExecutionOptions(time_skipping_config=config)
        )

    async def poll_workflow_execution_time_skipping(
        self, request: wsv.PollWorkflowExecutionTimeSkippingRequest
    ) -> wsv.PollWorkflowExecutionTimeSkippingResponse:
        """Wait for the fast-forward `fast_forward_id` to complete. With an
        empty run id this follows the workflow's current run, so a
        fast-forward carried across continue-as-new / retry / cron is seen."""
        ns = self.namespaces.get(request.namespace)
        check.execution(request.workflow_execution)
        execution = request.workflow_execution
        loop = asyncio.get_running_loop()
        deadline = loop.time() + TIME_SKIPPING_LONG_POLL
        while True:
            ms = await self.engine.load(ns.id, execution.workflow_id, execution.run_id)
            info = wts.fast_forward_info(ms)
            response = wsv.PollWorkflowExecutionTimeSkippingResponse()
            if info is not None:
                response.fast_forward_info.CopyFrom(info)
            if info is None or info.fast_forward_id != request.fast_forward_id:
                response.fast_forward_polling_result = Result.FAST_FORWARD_POLLING_RESULT_FAST_FORWARD_FAILED
                response.failed_reason = wts.FAST_FORWARD_ID_MISMATCH
                return response
            if info.has_completed:
                response.fast_forward_polling_result = (
                    Result.FAST_FORWARD_POLLING_RESULT_FAST_FORWARD_COMPLETED
                )
                return response
            if not ms.is_open:
                # The current run closed without a next run: it never completes.
                response.fast_forward_polling_result = Result.FAST_FORWARD_POLLING_RESULT_FAST_FORWARD_FAILED
                response.failed_reason = wts.ENDED_BEFORE_FAST_FORWARD
                return response
            remaining = deadline - loop.time()
            if remaining <= 0:
                response.fast_forward_polling_result = Result.FAST_FORWARD_POLLING_RESULT_POLL_TIMEOUT
                return response
            # Re-check at least every second: a continue-as-new moves the
            # chain to a run this wait does not watch.
            await self.engine.wait_for_events(ms.run_id, min(remaining, 1.0))
