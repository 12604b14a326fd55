"""The workflow-task protocol driven by hand (as an SDK's core does): bad
commands, task timeouts and attempts, unhandled commands, history paging and
long polls. Checked against the real dev server with TEMPORAL_TEST_TARGET."""

from __future__ import annotations

import asyncio
import json
import uuid

import pytest
from google.protobuf.duration_pb2 import Duration
from temporalio.api.command.v1 import (
    Command,
    CompleteWorkflowExecutionCommandAttributes,
    ContinueAsNewWorkflowExecutionCommandAttributes,
    StartChildWorkflowExecutionCommandAttributes,
    StartTimerCommandAttributes,
    UpsertWorkflowSearchAttributesCommandAttributes,
)
from temporalio.api.common.v1 import Payload, SearchAttributes, WorkflowExecution, WorkflowType
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


async def test_a_retry_failing_again_is_dropped_not_failed(client: Client, task_queue: str) -> None:
    """As the real server: the same bad command on attempt 2 answers
    INVALID_ARGUMENT but leaves the task started (its timeout retries it), so
    a worker repeating the mistake does not spin."""
    workflow_id = await start(client, task_queue, task_timeout=1)
    first = await poll(client, task_queue)
    with pytest.raises(RPCError):
        await complete(client, first.task_token, timer_command("", 30))
    retry = await poll(client, task_queue)
    assert retry.attempt == 2
    with pytest.raises(RPCError) as info:
        await complete(client, retry.task_token, timer_command("", 30))
    assert info.value.status == RPCStatusCode.INVALID_ARGUMENT
    execution = WorkflowExecution(workflow_id=workflow_id)
    described = await client.workflow_service.describe_workflow_execution(
        ws.DescribeWorkflowExecutionRequest(namespace=NS, execution=execution)
    )
    pending = described.pending_workflow_task
    assert (pending.attempt, pending.state) == (2, 2)  # STARTED
    third = await poll(client, task_queue)  # after attempt 2's 1 s timeout
    assert third.attempt == 3
    assert types(list(third.history.events))[3:] == [
        "WORKFLOW_TASK_FAILED", "WORKFLOW_TASK_SCHEDULED", "WORKFLOW_TASK_STARTED",
    ]
    await complete(client, third.task_token, complete_command())


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


async def wait_for_poller(client: Client, queue: TaskQueue) -> None:
    """Until the server has seen a poll on the queue (a poll task may take a
    while to reach it on a loaded machine)."""
    for _ in range(250):
        response = await client.workflow_service.describe_task_queue(
            ws.DescribeTaskQueueRequest(namespace=NS, task_queue=queue)
        )
        if response.pollers:
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"no poller seen on {queue.name}")


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
    await wait_for_poller(client, TaskQueue(name=sticky, kind=TaskQueueKind.TASK_QUEUE_KIND_STICKY))
    sticky_poll.cancel()
    # Let the cancellation reach the server: a poll still waiting there would
    # take the task (on either server) and the worker would never see it.
    await asyncio.sleep(0.5)
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


# ---------------------------------------------------------------------------
# search attributes on commands: an unknown name or a bad value fails the
# task (BadSearchAttributes); a size over the limits (2048 bytes per value,
# 40960 for all, keyed by field names) terminates the workflow

SA_KEYWORD, SA_INT = "ProtoKeyword", "ProtoInt"


@pytest.fixture
async def sa_client(client: Client) -> Client:
    from tests.support.search_attributes import register_keyword_and_int

    return await register_keyword_and_int(client, SA_KEYWORD, SA_INT)


def _sa(name: str, value: object, pad: int = 0) -> SearchAttributes:
    metadata = {"encoding": b"json/plain"}
    if pad:
        metadata["pad"] = b"z" * pad  # counts in the total size only
    return SearchAttributes(
        indexed_fields={name: Payload(metadata=metadata, data=json.dumps(value).encode())}
    )


def _sa_command(kind: str, attrs: SearchAttributes, child_id: str) -> Command:
    if kind == "child":
        return Command(
            command_type=CommandType.COMMAND_TYPE_START_CHILD_WORKFLOW_EXECUTION,
            start_child_workflow_execution_command_attributes=StartChildWorkflowExecutionCommandAttributes(
                workflow_id=child_id, workflow_type=WorkflowType(name="Child"), search_attributes=attrs
            ),
        )
    if kind == "continue_as_new":
        return Command(
            command_type=CommandType.COMMAND_TYPE_CONTINUE_AS_NEW_WORKFLOW_EXECUTION,
            continue_as_new_workflow_execution_command_attributes=ContinueAsNewWorkflowExecutionCommandAttributes(
                workflow_type=WorkflowType(name="Manual"), search_attributes=attrs
            ),
        )
    return Command(
        command_type=CommandType.COMMAND_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES,
        upsert_workflow_search_attributes_command_attributes=UpsertWorkflowSearchAttributesCommandAttributes(
            search_attributes=attrs
        ),
    )


SA_KINDS = ["child", "continue_as_new", "upsert"]
SIZE_CAUSE = {
    "child": WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_BAD_START_CHILD_EXECUTION_ATTRIBUTES,
    "continue_as_new": WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_BAD_CONTINUE_AS_NEW_ATTRIBUTES,
    "upsert": WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_BAD_SEARCH_ATTRIBUTES,
}


async def _complete_with_bad_sa(
    client: Client, kind: str, attrs: SearchAttributes, start_attrs: SearchAttributes | None = None
) -> tuple[str, str, str, list]:
    """Start, poll and complete with the command; (message the worker got,
    child id, task queue, the events after the task started)."""
    task_queue, child_id = f"tq-{uuid.uuid4()}", f"child-{uuid.uuid4()}"
    workflow_id = f"proto-{uuid.uuid4()}"
    await client.workflow_service.start_workflow_execution(
        ws.StartWorkflowExecutionRequest(
            namespace=NS, workflow_id=workflow_id, workflow_type=WorkflowType(name="Manual"),
            task_queue=TaskQueue(name=task_queue), request_id=str(uuid.uuid4()),
            search_attributes=start_attrs,
        )
    )
    task = await poll(client, task_queue)
    with pytest.raises(RPCError) as info:
        await complete(client, task.task_token, _sa_command(kind, attrs, child_id))
    assert info.value.status == RPCStatusCode.INVALID_ARGUMENT
    history = await client.workflow_service.get_workflow_execution_history(
        ws.GetWorkflowExecutionHistoryRequest(
            namespace=NS, execution=WorkflowExecution(workflow_id=workflow_id)
        )
    )
    events = list(history.history.events)[3:]
    if events[-1].event_type != EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED:
        await client.workflow_service.terminate_workflow_execution(
            ws.TerminateWorkflowExecutionRequest(
                namespace=NS, workflow_execution=WorkflowExecution(workflow_id=workflow_id)
            )
        )
    return info.value.message, child_id, task_queue, events


def _wrapped(kind: str, message: str, child_id: str, task_queue: str) -> str:
    if kind == "child":
        return (
            f"invalid SearchAttributes on StartChildWorkflowCommand: {message}."
            f" WorkflowId={child_id} WorkflowType=Child Namespace={NS}"
        )
    if kind == "continue_as_new":
        return (
            f"invalid SearchAttributes on ContinueAsNewWorkflowExecutionCommand: {message}."
            f' WorkflowType=Manual TaskQueue=name:"{task_queue}"  kind:TASK_QUEUE_KIND_NORMAL'
        )
    return message


@pytest.mark.parametrize("kind", SA_KINDS)
@pytest.mark.parametrize(
    ("attrs", "message", "wrapped"),
    [
        (_sa("NoSuchAttribute", "x"),
         f"Namespace {NS} has no mapping defined for search attribute NoSuchAttribute", False),
        (_sa("WorkflowId", "x"), "WorkflowId attribute can't be set in SearchAttributes", True),
        (_sa(SA_INT, "abc"), f"invalid value for search attribute {SA_INT} of type Int: abc", True),
    ],
)
async def test_bad_search_attributes_fail_the_workflow_task(
    sa_client: Client, kind: str, attrs: SearchAttributes, message: str, wrapped: bool
) -> None:
    got, child_id, task_queue, events = await _complete_with_bad_sa(sa_client, kind, attrs)
    expected = "BadSearchAttributes: " + (
        _wrapped(kind, message, child_id, task_queue) if wrapped else message
    )
    assert got == expected
    assert [e.event_type for e in events] == [
        EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED, EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED
    ]
    failed = events[0].workflow_task_failed_event_attributes
    assert failed.cause == WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_BAD_SEARCH_ATTRIBUTES
    assert failed.failure.message == expected


@pytest.mark.parametrize("kind", SA_KINDS)
@pytest.mark.parametrize(
    ("attrs", "message"),
    [
        (_sa(SA_KEYWORD, "x" * 2047),
         f"search attribute {SA_KEYWORD} value size 2049 exceeds size limit 2048"),
        (_sa(SA_KEYWORD, "x", pad=41000), None),
    ],
)
async def test_search_attributes_over_the_size_limits_terminate(
    sa_client: Client, kind: str, attrs: SearchAttributes, message: str | None
) -> None:
    got, _, _, events = await _complete_with_bad_sa(sa_client, kind, attrs)
    if message is None:
        fields = _sa("Keyword01", "x", 41000)  # keyed by its field (Keyword01…10)
        if kind == "upsert":
            # the run's attributes after the upsert: with the BuildIds the
            # server set when the task completed
            fields.indexed_fields["BuildIds"].CopyFrom(
                Payload(metadata={"encoding": b"json/plain", "type": b"KeywordList"},
                        data=b'["unversioned"]')
            )
        total = fields.ByteSize()
        message = f"total size of search attributes {total} exceeds size limit 40960"
    cause = SIZE_CAUSE[kind]
    expected = _cause_text(cause) + ": " + message
    assert got == expected
    assert [e.event_type for e in events] == [
        EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED, EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED
    ]
    assert events[0].workflow_task_failed_event_attributes.cause == cause
    terminated = events[1].workflow_execution_terminated_event_attributes
    assert (terminated.reason, terminated.identity) == (expected, "history-service")


def _cause_text(cause: int) -> str:
    name = WorkflowTaskFailedCause.Name(cause).removeprefix("WORKFLOW_TASK_FAILED_CAUSE_")  # type: ignore[arg-type]
    return "".join(part.capitalize() for part in name.split("_"))


async def test_upsert_total_size_counts_the_attributes_already_set(sa_client: Client) -> None:
    half = 21000
    got, _, _, events = await _complete_with_bad_sa(
        sa_client, "upsert", _sa(SA_INT, 5, pad=half), start_attrs=_sa(SA_KEYWORD, "x", pad=half)
    )
    assert got.startswith("BadSearchAttributes: total size of search attributes ")
    assert events[-1].event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED


async def test_a_retry_waiting_for_a_worker_costs_nothing(client: Client, task_queue: str) -> None:
    """An activity whose retry backoff is over waits in the queue; the server
    does no work for it meanwhile (its retry timer fired once, no more)."""
    workflow_id = await start(client, task_queue)
    task = await poll(client, task_queue)
    command = activity_command("flaky", task_queue, False)
    policy = command.schedule_activity_task_command_attributes.retry_policy
    policy.initial_interval.FromMilliseconds(200)
    policy.maximum_attempts = 5
    await complete(client, task.task_token, command)
    attempt = await client.workflow_service.poll_activity_task_queue(
        ws.PollActivityTaskQueueRequest(namespace=NS, task_queue=TaskQueue(name=task_queue), identity="w")
    )
    await client.workflow_service.respond_activity_task_failed(
        ws.RespondActivityTaskFailedRequest(namespace=NS, task_token=attempt.task_token, identity="w")
    )
    execution = WorkflowExecution(workflow_id=workflow_id)

    async def transitions() -> int:
        described = await client.workflow_service.describe_workflow_execution(
            ws.DescribeWorkflowExecutionRequest(namespace=NS, execution=execution)
        )
        return described.workflow_execution_info.state_transition_count

    await asyncio.sleep(0.6)  # the backoff is over: attempt 2 waits for a poller
    before = await transitions()
    await asyncio.sleep(1.5)
    assert await transitions() == before
    second = await client.workflow_service.poll_activity_task_queue(
        ws.PollActivityTaskQueueRequest(namespace=NS, task_queue=TaskQueue(name=task_queue), identity="w")
    )
    assert (second.activity_id, second.attempt) == ("flaky", 2)
