"""Operations from workers: polling for workflow and activity tasks and
answering them; and the timers that fire on tasks."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable

from temporalio.api.common.v1 import Payloads, WorkflowExecution
from temporalio.api.enums.v1 import CommandType, TaskQueueKind, TimeoutType, WorkflowTaskFailedCause
from temporalio.api.failure.v1 import Failure, ServerFailureInfo
from temporalio.api.history.v1 import History
from temporalio.api.protocol.v1 import Message
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import (
    PollActivityTaskQueueResponse,
    PollWorkflowTaskQueueResponse,
    RespondWorkflowTaskCompletedRequest,
    RespondWorkflowTaskCompletedResponse,
)

from temporallite.clock import to_duration, to_timestamp
from temporallite.errors import WORKFLOW_COMPLETED, InvalidArgument, NotFound
from temporallite.history import (
    activity,
    commands,
    continuation,
    lifecycle,
    workflow_task,
    workflow_time_skipping,
)
from temporallite.history.activity import CommandError
from temporallite.history.engine import HistoryEngine, Unchanged, awaiting_first_workflow_task
from temporallite.history.executions import HISTORY_PAGE_SIZE, history_token
from temporallite.history.limits import HistoryLimitExceeded
from temporallite.history.mutable_state import ActivityInfo, MutableState
from temporallite.history.queries import Queries
from temporallite.history.task_token import TaskToken
from temporallite.history.timers import TimerKey
from temporallite.history.transaction import Task, Transaction
from temporallite.history.transfer import SERVER_IDENTITY
from temporallite.history.updates import ADMITTED, Updates
from temporallite.namespaces import Namespace
from temporallite.visibility import build_ids

_ActivityFinder = Callable[[MutableState], "ActivityInfo | None"]
_ActivityChange = Callable[[Transaction, ActivityInfo], None]

WFT_NOT_FOUND = "Workflow task not found."
# The real server's request id for a task handed back by RespondWorkflowTaskCompleted.
INLINE_REQUEST_ID = "request-from-RespondWorkflowTaskCompleted"
ACTIVITY_NOT_FOUND = "Activity task not found."


class WorkerTasks:
    def __init__(self, engine: HistoryEngine, eager_activities: bool = True) -> None:
        self.engine = engine
        # system.enableActivityEagerExecution (on in the real dev server).
        self.eager_activities = eager_activities
        self.queries = Queries(engine)
        self.updates = Updates(engine)
        engine.after_commit.append(self.updates.after_commit)
        # Query ids riding on a started workflow task, by (run, scheduled id).
        self._attached: dict[tuple[str, int], list[str]] = {}
        engine.timer_handlers.update(
            {
                "workflow_run_timeout": _on_workflow_timeout,
                "workflow_execution_timeout": _on_workflow_timeout,
                "workflow_backoff": _on_workflow_backoff,
                "workflow_task_timeout": _on_workflow_task_timeout,
                "workflow_task_schedule_to_start": _on_workflow_task_schedule_to_start,
                "user_timer": _on_user_timer,
                "activity_retry": _on_activity_retry,
                "time_skipping_fast_forward": _on_fast_forward,
            }
        )
        for timeout_type in activity.TIMEOUT_NAMES:
            engine.timer_handlers[f"activity_timeout:{timeout_type}"] = _on_activity_timeout

    # ---- workflow tasks ---------------------------------------------------

    async def poll_workflow_task(
        self, ns: Namespace, task_queue: TaskQueue, identity: str
    ) -> PollWorkflowTaskQueueResponse:
        while True:
            task = await self.engine.matching.poll(ns.id, task_queue.name, "workflow", identity)
            if task is None:
                return PollWorkflowTaskQueueResponse()
            if task.query_id:
                response = await self._query_task(ns, task, task_queue)
            else:
                response = await self._start_workflow_task(ns, task, task_queue, identity)
            if response is not None:
                return response

    async def _start_workflow_task(
        self, ns: Namespace, task: Task, polled_queue: TaskQueue, identity: str
    ) -> PollWorkflowTaskQueueResponse | None:
        request_id = str(uuid.uuid4())

        def transition(tx: Transaction) -> MutableState | None:
            ms = tx.ms
            wft = ms.workflow_task
            if (
                not ms.is_open
                or wft is None
                or wft.started
                or wft.scheduled_event_id != task.scheduled_event_id
                or wft.attempt != task.attempt
            ):
                raise _Stale()
            workflow_task.record_started(tx, identity, request_id)
            return ms

        try:
            ms = await self.engine.update(task.namespace_id, task.workflow_id, task.run_id, transition)
        except (_Stale, NotFound, HistoryLimitExceeded):  # the last: the run was just terminated
            return None
        assert ms is not None and ms.workflow_task is not None
        return await self._workflow_task_response(ms, polled_queue)

    async def _query_task(
        self, ns: Namespace, task: Task, polled_queue: TaskQueue
    ) -> PollWorkflowTaskQueueResponse | None:
        pending = self.queries.get(task.query_id)
        if pending is None:
            return None
        try:
            ms = await self.engine.load(task.namespace_id, task.workflow_id, task.run_id)
        except NotFound:
            return None
        sticky = polled_queue.kind == TaskQueueKind.TASK_QUEUE_KIND_STICKY
        # A sticky worker has the workflow cached: it needs no history. Else
        # the first page, as the real server: the worker reads the rest.
        end = 1 if sticky else min(ms.next_event_id, 1 + HISTORY_PAGE_SIZE)
        events = await self.engine.read_history(ms.run_id, 1, end) if end > 1 else []
        next_page_token = b""
        if not sticky and end < ms.next_event_id:
            next_page_token = history_token(ms.run_id, end, ms.next_event_id)
        token = TaskToken(ms.namespace_id, ms.workflow_id, ms.run_id, 0, 0, query_id=task.query_id)
        return PollWorkflowTaskQueueResponse(
            task_token=token.encode(),
            workflow_execution=WorkflowExecution(workflow_id=ms.workflow_id, run_id=ms.run_id),
            workflow_type={"name": ms.workflow_type},  # type: ignore[arg-type]
            previous_started_event_id=ms.previous_started_event_id,
            started_event_id=ms.previous_started_event_id,
            history=History(events=events),
            next_page_token=next_page_token,
            query=pending.query,
            workflow_execution_task_queue=TaskQueue(name=ms.task_queue, kind=1),  # type: ignore[arg-type]
        )

    async def _workflow_task_response(
        self, ms: MutableState, polled_queue: TaskQueue
    ) -> PollWorkflowTaskQueueResponse:
        wft = ms.workflow_task
        assert wft is not None
        sticky = polled_queue.kind == TaskQueueKind.TASK_QUEUE_KIND_STICKY
        first = ms.previous_started_event_id + 1 if sticky and ms.previous_started_event_id else 1
        transient = workflow_task.transient_events(wft)
        # History up to (excluding) the transient events, or through started.
        history_end = wft.started_event_id + 1 if not transient else transient[0].event_id
        end = history_end if sticky else min(history_end, first + HISTORY_PAGE_SIZE)
        events = await self.engine.read_history(ms.run_id, first, end)
        next_page_token = b""
        if end < history_end:
            next_page_token = history_token(ms.run_id, end)
        else:
            events.extend(transient)
        token = TaskToken(ms.namespace_id, ms.workflow_id, ms.run_id, wft.scheduled_event_id,
                          wft.attempt)
        queries = self.queries.take_buffered(ms.run_id)
        if queries:
            self._attached[(ms.run_id, wft.scheduled_event_id)] = list(queries)
        return PollWorkflowTaskQueueResponse(
            queries=queries,
            messages=self.updates.messages_for(ms, wft.scheduled_event_id, wft.attempt),
            task_token=token.encode(),
            workflow_execution=WorkflowExecution(workflow_id=ms.workflow_id, run_id=ms.run_id),
            workflow_type={"name": ms.workflow_type},  # type: ignore[arg-type]
            previous_started_event_id=ms.previous_started_event_id,
            started_event_id=wft.started_event_id,
            attempt=wft.attempt,
            backlog_count_hint=self.engine.matching.backlog_size(
                ms.namespace_id, polled_queue.name, "workflow"
            ),
            history=History(events=events),
            next_page_token=next_page_token,
            workflow_execution_task_queue=TaskQueue(name=ms.task_queue, kind=1),  # type: ignore[arg-type]
            scheduled_time=to_timestamp(wft.scheduled_time),
            started_time=to_timestamp(wft.started_time),
        )

    async def eager_task(
        self, ns: Namespace, workflow_id: str, run_id: str
    ) -> PollWorkflowTaskQueueResponse | None:
        """The first workflow task of an eagerly started run, already started."""
        ms = await self.engine.load(ns.id, workflow_id, run_id)
        if ms.workflow_task is None or not ms.workflow_task.started:
            return None
        return await self._workflow_task_response(ms, TaskQueue(name=ms.task_queue, kind=1))  # type: ignore[arg-type]

    def _current_workflow_task(self, tx: Transaction, token: TaskToken) -> None:
        ms = tx.ms
        wft = ms.workflow_task
        if not ms.is_open:
            raise NotFound(WORKFLOW_COMPLETED)
        if (
            wft is None
            or not wft.started
            or wft.scheduled_event_id != token.scheduled_event_id
            or wft.attempt != token.attempt
        ):
            raise NotFound(WFT_NOT_FOUND)

    async def respond_workflow_task_completed(
        self, ns: Namespace, token: TaskToken, request: RespondWorkflowTaskCompletedRequest
    ) -> RespondWorkflowTaskCompletedResponse:
        """Apply the completion. The response carries the next workflow task,
        already started, when the worker asked for it and one was created."""
        dropped: list[int] = []
        eager: list[ActivityInfo] = []

        def transition(tx: Transaction) -> bool:
            self._current_workflow_task(tx, token)
            ms = tx.ms
            closes = any(c.command_type in commands.CLOSING for c in request.commands)
            if closes and ms.buffered_events:
                # New events arrived while the worker decided to close: it must
                # see them first.
                raise _BadCommand(
                    CommandError(WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_UNHANDLED_COMMAND)
                )
            extra: dict[str, object] = {"binary_checksum": request.binary_checksum}
            if request.HasField("sdk_metadata"):
                extra["sdk_metadata"] = request.sdk_metadata
            if request.HasField("metering_metadata"):
                extra["metering_metadata"] = request.metering_metadata
            if request.HasField("worker_version_stamp"):
                extra["worker_version"] = request.worker_version_stamp
            wft = ms.workflow_task
            assert wft is not None
            messages: dict[str, Message | None] = {m.id: m for m in request.messages}
            if (
                wft.speculative
                and not request.commands
                and not ms.buffered_events
                and not request.force_create_new_workflow_task
                and self.updates.only_rejections(ms.run_id, list(request.messages))
            ):
                # Only rejected updates: the speculative task leaves no trace.
                workflow_task.drop_speculative(tx)
                for message in request.messages:
                    self.updates.apply_message(tx, message, 0)
                self._set_sticky(ms, request)
                dropped.append(ms.previous_started_event_id)
                return False
            completed_id = workflow_task.complete(tx, request.identity, extra)
            build_ids.on_workflow_task_completed(tx, request)
            self._set_sticky(ms, request)
            try:
                for command in request.commands:
                    if command.command_type == CommandType.COMMAND_TYPE_PROTOCOL_MESSAGE:
                        message_id = command.protocol_message_command_attributes.message_id
                        sequenced = messages.pop(message_id, None)
                        if sequenced is not None:
                            self.updates.apply_message(tx, sequenced, completed_id)
                    else:
                        commands.apply(tx, [command], completed_id)
            except CommandError as err:
                raise _BadCommand(err) from None
            for leftover in messages.values():  # not sequenced by a command: last
                if leftover is not None:
                    self.updates.apply_message(tx, leftover, completed_id)
            if self.eager_activities:
                eager[:] = _start_eager_activities(tx, request)
            if ms.is_open and (
                ms.buffered_events or request.force_create_new_workflow_task
                or tx.needs_workflow_task or self._updates_waiting(tx)
            ):
                workflow_task.schedule(tx)
            new_task = ms.workflow_task
            if not request.return_new_workflow_task or new_task is None or new_task.started:
                return False
            # Hand the new task straight back to this worker, started.
            tx.tasks = [t for t in tx.tasks if t.kind != "workflow" or t.query_id]
            workflow_task.record_started(tx, request.identity, INLINE_REQUEST_ID)
            return True

        attached = self._attached.pop((token.run_id, token.scheduled_event_id), [])
        try:
            returned = await self.engine.update(ns.id, token.workflow_id, token.run_id, transition)
        except _BadCommand as bad:
            self.queries.rebuffer(token.run_id, attached)
            await self._fail_for_bad_command(ns, token, bad.error, request.identity)
            return RespondWorkflowTaskCompletedResponse()
        for query_id, result in request.query_results.items():
            self.queries.answer(query_id, result)
        self.queries.rebuffer(token.run_id, [q for q in attached if q not in request.query_results])
        activity_tasks = []
        if eager:
            ms = await self.engine.load(ns.id, token.workflow_id, token.run_id)
            activity_tasks = [_activity_task_response(ns, ms, info) for info in eager]
        if returned:
            ms = await self.engine.load(ns.id, token.workflow_id, token.run_id)
            kind = (TaskQueueKind.TASK_QUEUE_KIND_STICKY if ms.sticky_task_queue
                    else TaskQueueKind.TASK_QUEUE_KIND_NORMAL)
            queue = TaskQueue(name=ms.sticky_task_queue or ms.task_queue, kind=kind)
            return RespondWorkflowTaskCompletedResponse(
                workflow_task=await self._workflow_task_response(ms, queue),
                activity_tasks=activity_tasks,
            )
        await self._send_waiting_queries(ns, token)
        # After a dropped speculative task the worker rewinds its history.
        return RespondWorkflowTaskCompletedResponse(
            reset_history_event_id=dropped[0] if dropped else 0, activity_tasks=activity_tasks
        )

    def _updates_waiting(self, tx: Transaction) -> bool:
        answered = {o[0] for o in tx.update_outcomes}
        return any(
            s.stage == ADMITTED and s.update_id not in answered
            for s in self.updates.pending(tx.ms.run_id)
        )

    @staticmethod
    def _set_sticky(ms: MutableState, request: RespondWorkflowTaskCompletedRequest) -> None:
        if request.HasField("sticky_attributes") and request.sticky_attributes.worker_task_queue.name:
            ms.sticky_task_queue = request.sticky_attributes.worker_task_queue.name
            ms.sticky_schedule_to_start_timeout = (
                request.sticky_attributes.schedule_to_start_timeout.ToMicroseconds() / 1e6
            )
        else:
            workflow_task.clear_sticky(ms)

    async def _send_waiting_queries(self, ns: Namespace, token: TaskToken) -> None:
        if not self.queries.has_buffered(token.run_id):
            return
        try:
            ms = await self.engine.load(ns.id, token.workflow_id, token.run_id)
        except NotFound:
            return
        self.queries.flush_buffered(ms)

    async def _fail_for_bad_command(
        self, ns: Namespace, token: TaskToken, error: CommandError, identity: str
    ) -> None:
        """Fail the task (nothing of the completion is kept) and tell the worker.
        A command the real server answers with termination also terminates
        the workflow, after the failed task, by the history service."""
        failure = Failure(message=error.message, server_failure_info=ServerFailureInfo())

        def transition(tx: Transaction) -> None:
            self._current_workflow_task(tx, token)
            task = tx.ms.workflow_task
            if (
                task is not None and task.attempt > 1
                and error.cause != WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_UNHANDLED_COMMAND
            ):
                # As the real server: a retry that fails again is dropped, not
                # failed; it stays started until its timeout retries it. (Else a
                # worker sending the same bad commands would spin.)
                raise Unchanged
            terminate = error.terminate and task is not None
            workflow_task.fail(tx, error.cause, failure, identity, reschedule=not terminate)
            if terminate:
                lifecycle.terminate(tx, error.message, None, SERVER_IDENTITY)

        with contextlib.suppress(Unchanged):
            await self.engine.update(ns.id, token.workflow_id, token.run_id, transition)
        raise InvalidArgument(error.message)

    async def respond_workflow_task_failed(
        self, ns: Namespace, token: TaskToken, cause: int, failure: Failure | None, identity: str
    ) -> None:
        def transition(tx: Transaction) -> None:
            self._current_workflow_task(tx, token)
            workflow_task.fail(tx, cause, failure, identity)

        attached = self._attached.pop((token.run_id, token.scheduled_event_id), [])
        self.queries.rebuffer(token.run_id, attached)
        await self.engine.update(ns.id, token.workflow_id, token.run_id, transition)

    async def reset_sticky(self, ns: Namespace, execution: WorkflowExecution) -> None:
        def transition(tx: Transaction) -> None:
            if tx.ms.is_open:
                workflow_task.clear_sticky(tx.ms)

        await self.engine.update(ns.id, execution.workflow_id, execution.run_id, transition)

    # ---- activity tasks ---------------------------------------------------

    async def poll_activity_task(
        self, ns: Namespace, task_queue: TaskQueue, identity: str
    ) -> PollActivityTaskQueueResponse:
        while True:
            task = await self.engine.matching.poll(ns.id, task_queue.name, "activity", identity)
            if task is None:
                return PollActivityTaskQueueResponse()
            response = await self._start_activity_task(ns, task, identity)
            if response is not None:
                return response

    async def _start_activity_task(
        self, ns: Namespace, task: Task, identity: str
    ) -> PollActivityTaskQueueResponse | None:
        request_id = str(uuid.uuid4())

        def transition(tx: Transaction) -> tuple[MutableState, ActivityInfo]:
            ms = tx.ms
            info = ms.activities.get(task.scheduled_event_id)
            if not ms.is_open or info is None or info.started or info.attempt != task.attempt:
                raise _Stale()
            activity.record_started(tx, info, identity, request_id)
            return ms, info

        try:
            ms, info = await self.engine.update(
                task.namespace_id, task.workflow_id, task.run_id, transition
            )
        except (_Stale, NotFound, HistoryLimitExceeded):
            return None
        return _activity_task_response(ns, ms, info)

    async def _update_activity(
        self, ns: Namespace, execution: tuple[str, str], find: _ActivityFinder,
        change: _ActivityChange, not_found: str = ACTIVITY_NOT_FOUND,
    ) -> bool:
        """Run `change` on the activity the finder names; returns cancel_requested."""
        workflow_id, run_id = execution

        def transition(tx: Transaction) -> bool:
            ms = tx.ms
            if not ms.is_open:
                raise NotFound(WORKFLOW_COMPLETED)
            info = find(ms)
            if info is None or not info.started:
                raise NotFound(not_found)
            cancel_requested = info.cancel_requested
            change(tx, info)
            return cancel_requested

        return await self.engine.update(ns.id, workflow_id, run_id, transition)

    async def on_activity(
        self, ns: Namespace, token: TaskToken | None, by_id: tuple[str, str, str] | None,
        change: _ActivityChange,
    ) -> bool:
        if token is not None:
            def find(ms: MutableState) -> ActivityInfo | None:
                info = ms.activities.get(token.scheduled_event_id)
                if info is None or info.attempt != token.attempt:
                    return None
                return info

            return await self._update_activity(ns, (token.workflow_id, token.run_id), find, change)
        assert by_id is not None
        workflow_id, run_id, activity_id = by_id
        if not workflow_id:
            raise NotFound(f"activity not found for ID: {activity_id}")
        return await self._update_activity(
            ns, (workflow_id, run_id), lambda ms: ms.activity_by_id(activity_id), change,
            not_found=f"cannot find pending activity with ActivityID {activity_id},"
            " check workflow execution history for more details",
        )




class _Stale(Unchanged):
    """The task a poller took is no longer current."""


class _BadCommand(Exception):
    def __init__(self, error: CommandError) -> None:
        super().__init__(error.message)
        self.error = error


def _activity_task_response(
    ns: Namespace, ms: MutableState, info: ActivityInfo
) -> PollActivityTaskQueueResponse:
    """A started activity task, as a poll (or an eager start) hands it to the worker."""
    scheduled = activity.scheduled_event(info).activity_task_scheduled_event_attributes
    token = TaskToken(ms.namespace_id, ms.workflow_id, ms.run_id, info.scheduled_event_id,
                      info.attempt, info.activity_id)
    response = PollActivityTaskQueueResponse(
        task_token=token.encode(),
        workflow_namespace=ns.name,
        workflow_type={"name": ms.workflow_type},  # type: ignore[arg-type]
        workflow_execution=WorkflowExecution(workflow_id=ms.workflow_id, run_id=ms.run_id),
        activity_type=scheduled.activity_type,
        activity_id=info.activity_id,
        header=scheduled.header,
        input=scheduled.input,
        scheduled_time=to_timestamp(info.first_scheduled_time),
        current_attempt_scheduled_time=to_timestamp(info.scheduled_time),
        started_time=to_timestamp(info.started_time),
        attempt=info.attempt,
        schedule_to_close_timeout=to_duration(info.schedule_to_close_timeout),
        start_to_close_timeout=to_duration(info.start_to_close_timeout),
        heartbeat_timeout=to_duration(info.heartbeat_timeout),
        retry_policy=scheduled.retry_policy,
    )
    if info.heartbeat_details:
        response.heartbeat_details.CopyFrom(Payloads.FromString(info.heartbeat_details))
    if scheduled.HasField("priority"):
        response.priority.CopyFrom(scheduled.priority)
    return response


def _start_eager_activities(
    tx: Transaction, request: RespondWorkflowTaskCompletedRequest
) -> list[ActivityInfo]:
    """Start, in the completing transaction, the activities the worker asked to
    run eagerly: the real server hands them back in the completion's response
    instead of dispatching them to a poller."""
    ms = tx.ms
    if not ms.is_open:
        return []
    versioned = request.worker_version_stamp.use_versioning
    started: list[ActivityInfo] = []
    for command in request.commands:
        if command.command_type != CommandType.COMMAND_TYPE_SCHEDULE_ACTIVITY_TASK:
            continue
        attrs = command.schedule_activity_task_command_attributes
        if not attrs.request_eager_execution or (versioned and not attrs.use_workflow_build_id):
            continue
        info = ms.activity_by_id(attrs.activity_id)
        if info is None or info.started:
            continue  # canceled in the same workflow task
        activity.record_started(tx, info, request.identity, str(uuid.uuid4()))
        started.append(info)
    if started:
        eager_ids = {info.scheduled_event_id for info in started}
        tx.tasks = [t for t in tx.tasks if t.kind != "activity" or t.scheduled_event_id not in eager_ids]
    return started


# ---- timers --------------------------------------------------------------


def _on_workflow_timeout(tx: Transaction, key: TimerKey) -> None:
    ms = tx.ms
    deadline = (
        ms.run_expiration_time if key.kind == "workflow_run_timeout" else ms.execution_expiration_time
    )
    if deadline and deadline <= tx.now + 1e-3:
        continuation.time_out(tx)


def _on_fast_forward(tx: Transaction, key: TimerKey) -> None:
    workflow_time_skipping.on_fast_forward_timer(tx)


def _on_workflow_backoff(tx: Transaction, key: TimerKey) -> None:
    if tx.ms.workflow_task is None and awaiting_first_workflow_task(tx.ms):
        workflow_task.schedule(tx)


def _matches_wft(tx: Transaction, key: TimerKey) -> bool:
    wft = tx.ms.workflow_task
    return wft is not None and wft.scheduled_event_id == key.ref and wft.attempt == key.attempt


def _on_workflow_task_timeout(tx: Transaction, key: TimerKey) -> None:
    wft = tx.ms.workflow_task
    if _matches_wft(tx, key) and wft is not None and wft.started:
        if wft.started_time + wft.start_to_close_timeout <= tx.now + 1e-3:
            workflow_task.time_out(tx, TimeoutType.TIMEOUT_TYPE_START_TO_CLOSE)


def _on_workflow_task_schedule_to_start(tx: Transaction, key: TimerKey) -> None:
    wft = tx.ms.workflow_task
    if _matches_wft(tx, key) and wft is not None and not wft.started:
        workflow_task.time_out(tx, TimeoutType.TIMEOUT_TYPE_SCHEDULE_TO_START)


def _on_user_timer(tx: Transaction, key: TimerKey) -> None:
    timer = tx.ms.timers.get(str(key.ref))
    if timer is None or timer.fire_time > tx.now + 1e-3:
        return
    del tx.ms.timers[timer.timer_id]
    tx.add_or_buffer(
        lifecycle.ET.EVENT_TYPE_TIMER_FIRED,
        timer_id=timer.timer_id,
        started_event_id=timer.started_event_id,
    )
    workflow_task.schedule(tx)


def _on_activity_retry(tx: Transaction, key: TimerKey) -> None:
    info = tx.ms.activities.get(int(key.ref))
    if info is not None and info.attempt == key.attempt and not info.started:
        tx.tasks.append(activity.dispatch_task(tx, info))


def _on_activity_timeout(tx: Transaction, key: TimerKey) -> None:
    info = tx.ms.activities.get(int(key.ref))
    if info is None or info.attempt != key.attempt:
        return
    timeout_type = int(key.kind.split(":")[1])
    for kind, deadline in activity.timeout_deadlines(info):
        if kind == timeout_type and deadline <= tx.now + 1e-3:
            activity.time_out(tx, info, timeout_type)
            return
