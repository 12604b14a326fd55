"""The workflow-task protocol driven by hand (as an SDK's core does): bad
commands, task timeouts and attempts, unhandled commands, history paging and
long polls. Checked against the real dev server with TEMPORAL_TEST_TARGET."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from google.protobuf.duration_pb2 import Duration
from temporalio.api.command.v1 import (
    Command,
    CompleteWorkflowExecutionCommandAttributes,
    StartTimerCommandAttributes,
)
from temporalio.api.common.v1 import WorkflowExecution, WorkflowType
from temporalio.api.enums.v1 import (
    CommandType,
    EventType,
    HistoryEventFilterType,
    TaskQueueKind,
    TimeoutType,
    WorkflowTaskFailedCause,
)
from temporalio.api.taskqueue.v1 import StickyExecutionAttributes, TaskQueue
from temporalio.api.workflowservice import v1 as ws
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

pytestmark = pytest.mark.timeout(60)
NS = "default"


async def start(client: Client, task_queue: str, task_timeout: float = 10.0) -> str:
    workflow_id = f"proto-{uuid.uuid4()}"
    await client.workflow_service.start_workflow_execution(
        ws.StartWorkflowExecutionRequest(
            namespace=NS,
            workflow_id=workflow_id,
            workflow_type=WorkflowType(name="Manual"),
            task_queue=TaskQueue(name=task_queue),
            workflow_task_timeout=Duration(seconds=int(task_timeout)),
            request_id=str(uuid.uuid4()),
            identity="test",
        )
    )
    return workflow_id


async def poll(client: Client, task_queue: str) -> ws.PollWorkflowTaskQueueResponse:
    return await client.workflow_service.poll_workflow_task_queue(
        ws.PollWorkflowTaskQueueRequest(
            namespace=NS, task_queue=TaskQueue(name=task_queue), identity="manual-worker"
        )
    )


async def complete(client: Client, token: bytes, *commands: Command) -> None:
    await client.workflow_service.respond_workflow_task_completed(
        ws.RespondWorkflowTaskCompletedRequest(
            namespace=NS, task_token=token, commands=list(commands), identity="manual-worker"
        )
    )


def complete_command() -> Command:
    return Command(
        command_type=CommandType.COMMAND_TYPE_COMPLETE_WORKFLOW_EXECUTION,
        complete_workflow_execution_command_attributes=CompleteWorkflowExecutionCommandAttributes(),
    )


def timer_command(timer_id: str, seconds: int) -> Command:
    return Command(
        command_type=CommandType.COMMAND_TYPE_START_TIMER,
        start_timer_command_attributes=StartTimerCommandAttributes(
            timer_id=timer_id, start_to_fire_timeout=Duration(seconds=seconds)
        ),
    )


async def history(client: Client, workflow_id: str) -> list:  # type: ignore[type-arg]
    response = await client.workflow_service.get_workflow_execution_history(
        ws.GetWorkflowExecutionHistoryRequest(
            namespace=NS, execution=WorkflowExecution(workflow_id=workflow_id)
        )
    )
    return list(response.history.events)


def types(events: list) -> list[str]:  # type: ignore[type-arg]
    return [EventType.Name(e.event_type).removeprefix("EVENT_TYPE_") for e in events]


async def test_bad_command_fails_the_task_with_its_cause(client: Client, task_queue: str) -> None:
    workflow_id = await start(client, task_queue)
    task = await poll(client, task_queue)
    with pytest.raises(RPCError) as info:
        await complete(client, task.task_token, timer_command("", 1))
    assert info.value.status == RPCStatusCode.INVALID_ARGUMENT
    assert info.value.message == "BadStartTimerAttributes: TimerId is not set on StartTimerCommand."
    events = await history(client, workflow_id)
    assert types(events) == [
        "WORKFLOW_EXECUTION_STARTED", "WORKFLOW_TASK_SCHEDULED", "WORKFLOW_TASK_STARTED",
        "WORKFLOW_TASK_FAILED", "WORKFLOW_TASK_SCHEDULED",
    ]
    failed = events[3].workflow_task_failed_event_attributes
    assert failed.cause == WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_BAD_START_TIMER_ATTRIBUTES
    assert failed.failure.message == info.value.message
    assert failed.failure.HasField("server_failure_info")
    # The transient attempt 2 is shown at the end of the history, not stored.
    assert events[4].workflow_task_scheduled_event_attributes.attempt == 2
    retry = await poll(client, task_queue)
    assert retry.attempt == 2
    assert types(list(retry.history.events))[-2:] == ["WORKFLOW_TASK_SCHEDULED", "WORKFLOW_TASK_STARTED"]
    await complete(client, retry.task_token, complete_command())
    assert types(await history(client, workflow_id))[-4:] == [
        "WORKFLOW_TASK_SCHEDULED", "WORKFLOW_TASK_STARTED", "WORKFLOW_TASK_COMPLETED",
        "WORKFLOW_EXECUTION_COMPLETED",
    ]


async def test_stale_task_token_is_not_found(client: Client, task_queue: str) -> None:
    await start(client, task_queue)
    task = await poll(client, task_queue)
    await complete(client, task.task_token, timer_command("t", 30))
    with pytest.raises(RPCError) as info:
        await complete(client, task.task_token, complete_command())
    assert info.value.status == RPCStatusCode.NOT_FOUND


async def test_workflow_task_timeout_and_attempts(client: Client, task_queue: str) -> None:
    workflow_id = await start(client, task_queue, task_timeout=1)
    first = await poll(client, task_queue)
    assert first.attempt == 1
    second = await poll(client, task_queue)  # after the 1 s start-to-close timeout
    assert second.attempt == 2
    third = await poll(client, task_queue)
    assert third.attempt == 3
    events = await history(client, workflow_id)
    # One timed-out event; the running transient attempt closes the history.
    assert types(events) == [
        "WORKFLOW_EXECUTION_STARTED", "WORKFLOW_TASK_SCHEDULED", "WORKFLOW_TASK_STARTED",
        "WORKFLOW_TASK_TIMED_OUT", "WORKFLOW_TASK_SCHEDULED", "WORKFLOW_TASK_STARTED",
    ]
    assert events[4].workflow_task_scheduled_event_attributes.attempt == 3
    await complete(client, third.task_token, complete_command())
    events = await history(client, workflow_id)
    assert events[4].workflow_task_scheduled_event_attributes.attempt == 3
    assert types(events)[-1] == "WORKFLOW_EXECUTION_COMPLETED"


async def test_signal_during_completion_is_an_unhandled_command(
    client: Client, task_queue: str
) -> None:
    workflow_id = await start(client, task_queue)
    task = await poll(client, task_queue)
    await client.workflow_service.signal_workflow_execution(
        ws.SignalWorkflowExecutionRequest(
            namespace=NS, workflow_execution=WorkflowExecution(workflow_id=workflow_id),
            signal_name="late", identity="test",
        )
    )
    with pytest.raises(RPCError) as info:
        await complete(client, task.task_token, complete_command())
    assert (info.value.status, info.value.message) == (RPCStatusCode.INVALID_ARGUMENT, "UnhandledCommand")
    events = await history(client, workflow_id)
    assert types(events) == [
        "WORKFLOW_EXECUTION_STARTED", "WORKFLOW_TASK_SCHEDULED", "WORKFLOW_TASK_STARTED",
        "WORKFLOW_TASK_FAILED", "WORKFLOW_EXECUTION_SIGNALED", "WORKFLOW_TASK_SCHEDULED",
    ]
    cause = events[3].workflow_task_failed_event_attributes.cause
    assert cause == WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_UNHANDLED_COMMAND
    # New events make the next attempt a normal task.
    assert events[5].workflow_task_scheduled_event_attributes.attempt == 1
    retry = await poll(client, task_queue)
    await complete(client, retry.task_token, complete_command())
    assert types(await history(client, workflow_id))[-1] == "WORKFLOW_EXECUTION_COMPLETED"


async def test_history_pages(client: Client, task_queue: str) -> None:
    workflow_id = await start(client, task_queue)
    task = await poll(client, task_queue)
    await complete(client, task.task_token, *(timer_command(f"t{i}", 60) for i in range(20)))
    events: list = []  # type: ignore[type-arg]
    token = b""
    pages = 0
    while True:
        response = await client.workflow_service.get_workflow_execution_history(
            ws.GetWorkflowExecutionHistoryRequest(
                namespace=NS, execution=WorkflowExecution(workflow_id=workflow_id),
                maximum_page_size=7, next_page_token=token,
            )
        )
        events.extend(response.history.events)
        pages += 1
        token = response.next_page_token
        if not token:
            break
    # The real server pages at event-batch boundaries; either way the ids are dense.
    assert [e.event_id for e in events] == list(range(1, 25))
    assert pages >= 1


async def test_long_poll_for_close_event(client: Client, task_queue: str) -> None:
    workflow_id = await start(client, task_queue)

    async def wait_for_close() -> list:  # type: ignore[type-arg]
        response = await client.workflow_service.get_workflow_execution_history(
            ws.GetWorkflowExecutionHistoryRequest(
                namespace=NS, execution=WorkflowExecution(workflow_id=workflow_id),
                wait_new_event=True,
                history_event_filter_type=HistoryEventFilterType.HISTORY_EVENT_FILTER_TYPE_CLOSE_EVENT,
            )
        )
        return list(response.history.events)

    waiter = asyncio.create_task(wait_for_close())
    task = await poll(client, task_queue)
    await asyncio.sleep(0.2)
    assert not waiter.done()
    await complete(client, task.task_token, complete_command())
    events = await asyncio.wait_for(waiter, 10)
    assert types(events) == ["WORKFLOW_EXECUTION_COMPLETED"]


async def test_long_poll_for_new_events(client: Client, task_queue: str) -> None:
    workflow_id = await start(client, task_queue)
    first = await client.workflow_service.get_workflow_execution_history(
        ws.GetWorkflowExecutionHistoryRequest(
            namespace=NS, execution=WorkflowExecution(workflow_id=workflow_id),
            wait_new_event=True,
        )
    )
    assert types(list(first.history.events)) == ["WORKFLOW_EXECUTION_STARTED", "WORKFLOW_TASK_SCHEDULED"]
    assert first.next_page_token

    async def next_events() -> list:  # type: ignore[type-arg]
        response = await client.workflow_service.get_workflow_execution_history(
            ws.GetWorkflowExecutionHistoryRequest(
                namespace=NS, execution=WorkflowExecution(workflow_id=workflow_id),
                wait_new_event=True, next_page_token=first.next_page_token,
            )
        )
        return list(response.history.events)

    waiter = asyncio.create_task(next_events())
    await asyncio.sleep(0.2)
    assert not waiter.done()
    await poll(client, task_queue)
    events = await asyncio.wait_for(waiter, 10)
    assert types(events) == ["WORKFLOW_TASK_STARTED"]


async def test_sticky_schedule_to_start_timeout_falls_back_to_normal_queue(
    client: Client, task_queue: str
) -> None:
    """A sticky worker that vanished without ShutdownWorker: its task times out
    (schedule-to-start) and is scheduled again on the normal queue."""
    workflow_id = await start(client, task_queue)
    sticky = f"{task_queue}-sticky"
    first = await poll(client, task_queue)
    await client.workflow_service.respond_workflow_task_completed(
        ws.RespondWorkflowTaskCompletedRequest(
            namespace=NS, task_token=first.task_token, identity="manual-worker",
            sticky_attributes=StickyExecutionAttributes(
                worker_task_queue=TaskQueue(name=sticky, kind=TaskQueueKind.TASK_QUEUE_KIND_STICKY),
                schedule_to_start_timeout=Duration(seconds=1),
            ),
        )
    )
    # The sticky worker polls once (so the server knows it), then goes away.
    sticky_poll = asyncio.create_task(
        client.workflow_service.poll_workflow_task_queue(
            ws.PollWorkflowTaskQueueRequest(
                namespace=NS, identity="manual-worker",
                task_queue=TaskQueue(name=sticky, kind=TaskQueueKind.TASK_QUEUE_KIND_STICKY,
                                     normal_name=task_queue),
            )
        )
    )
    await asyncio.sleep(0.3)
    sticky_poll.cancel()
    await client.workflow_service.signal_workflow_execution(
        ws.SignalWorkflowExecutionRequest(
            namespace=NS, workflow_execution=WorkflowExecution(workflow_id=workflow_id),
            signal_name="wake", identity="test",
        )
    )
    task = await poll(client, task_queue)  # the normal queue, after the 1 s timeout
    assert types(list(task.history.events))[4:] == [
        "WORKFLOW_EXECUTION_SIGNALED", "WORKFLOW_TASK_SCHEDULED", "WORKFLOW_TASK_TIMED_OUT",
        "WORKFLOW_TASK_SCHEDULED", "WORKFLOW_TASK_STARTED",
    ]
    events = list(task.history.events)
    sticky_kind = events[5].workflow_task_scheduled_event_attributes.task_queue.kind
    assert sticky_kind == TaskQueueKind.TASK_QUEUE_KIND_STICKY
    timed_out = events[6].workflow_task_timed_out_event_attributes
    assert timed_out.timeout_type == TimeoutType.TIMEOUT_TYPE_SCHEDULE_TO_START
    normal = events[7].workflow_task_scheduled_event_attributes
    assert normal.task_queue.kind == TaskQueueKind.TASK_QUEUE_KIND_NORMAL
    assert normal.attempt == 1
    await complete(client, task.task_token, complete_command())


async def test_history_reverse_pages(client: Client, task_queue: str) -> None:
    workflow_id = await start(client, task_queue)
    task = await poll(client, task_queue)
    await complete(client, task.task_token, *(timer_command(f"t{i}", 60) for i in range(6)))
    ids: list[int] = []
    token = b""
    while True:
        response = await client.workflow_service.get_workflow_execution_history_reverse(
            ws.GetWorkflowExecutionHistoryReverseRequest(
                namespace=NS, execution=WorkflowExecution(workflow_id=workflow_id),
                maximum_page_size=4, next_page_token=token,
            )
        )
        ids += [e.event_id for e in response.history.events]
        token = response.next_page_token
        if not token:
            break
    assert ids == list(range(10, 0, -1))


async def test_describe_task_queue_lists_pollers(client: Client, task_queue: str) -> None:
    poller = asyncio.create_task(poll(client, task_queue))
    try:
        for _ in range(100):
            response = await client.workflow_service.describe_task_queue(
                ws.DescribeTaskQueueRequest(namespace=NS, task_queue=TaskQueue(name=task_queue))
            )
            if response.pollers:
                break
            await asyncio.sleep(0.02)
        assert [p.identity for p in response.pollers] == ["manual-worker"]
        assert response.pollers[0].HasField("last_access_time")
    finally:
        poller.cancel()


def activity_command(activity_id: str, task_queue: str, eager: bool) -> Command:
    command = Command(command_type=CommandType.COMMAND_TYPE_SCHEDULE_ACTIVITY_TASK)
    attrs = command.schedule_activity_task_command_attributes
    attrs.activity_id = activity_id
    attrs.activity_type.name = "Echo"
    attrs.task_queue.name = task_queue
    attrs.start_to_close_timeout.seconds = 10
    attrs.request_eager_execution = eager
    return command


async def test_eager_activity_starts_in_the_completion(client: Client, task_queue: str) -> None:
    """As the real dev server (system.enableActivityEagerExecution on): an
    activity requested eagerly comes back started in the completion's response;
    one not requested eagerly waits for a poller."""
    workflow_id = await start(client, task_queue)
    task = await poll(client, task_queue)
    response = await client.workflow_service.respond_workflow_task_completed(
        ws.RespondWorkflowTaskCompletedRequest(
            namespace=NS,
            task_token=task.task_token,
            commands=[
                activity_command("eager", task_queue, True),
                activity_command("polled", task_queue, False),
            ],
            identity="manual-worker",
        )
    )
    assert [t.activity_id for t in response.activity_tasks] == ["eager"]
    eager = response.activity_tasks[0]
    assert eager.attempt == 1 and eager.HasField("started_time") and eager.workflow_type.name == "Manual"
    assert eager.workflow_execution.workflow_id == workflow_id and eager.workflow_namespace == NS
    execution = WorkflowExecution(workflow_id=workflow_id)
    described = await client.workflow_service.describe_workflow_execution(
        ws.DescribeWorkflowExecutionRequest(namespace=NS, execution=execution)
    )
    states = {p.activity_id: (p.state, p.last_worker_identity) for p in described.pending_activities}
    assert states == {"eager": (2, "manual-worker"), "polled": (1, "")}  # STARTED / SCHEDULED
    assert described.workflow_execution_info.state_transition_count == 3
    await client.workflow_service.respond_activity_task_completed(
        ws.RespondActivityTaskCompletedRequest(namespace=NS, task_token=eager.task_token, identity="w")
    )
    polled = await client.workflow_service.poll_activity_task_queue(
        ws.PollActivityTaskQueueRequest(namespace=NS, task_queue=TaskQueue(name=task_queue), identity="w")
    )
    assert polled.activity_id == "polled"
    started = [
        e for e in await history(client, workflow_id)
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED
    ]
    assert [e.activity_task_started_event_attributes.identity for e in started] == ["manual-worker"]
