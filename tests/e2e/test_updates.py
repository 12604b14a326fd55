"""Workflow updates, update-with-start and eager workflow start, end to end
with the Python SDK, as users write them.

Checked against the real dev server (TEMPORAL_TEST_TARGET=host:port); the
facts these tests pin down, as the real server (1.32, CLI 1.9.1) gives them:

* An update on a closed workflow fails with NOT_FOUND, "workflow execution
  already completed" (a NotFoundFailure detail); the SDK raises RPCError.
  But an update id already completed on that run is answered with its
  recorded outcome, even after the workflow closed.
* Polling an update id the run does not know: NOT_FOUND,
  'update "<id>" not found'.
* A rejected update (validator) leaves no event at all: its speculative
  workflow task is dropped.
* Update-with-start on a new workflow id: the update request rides on the
  first workflow task (UpdateAccepted's accepted_request_sequencing_event_id
  is 2, the first WorkflowTaskScheduled).
* An update admitted but not yet accepted when the workflow closes: the
  caller gets NOT_FOUND "workflow update was aborted by closing workflow".
  An accepted update not yet completed when it closes: outcome failure
  ApplicationError type "AcceptedUpdateCompletedWorkflow", "Workflow Update
  failed because the Workflow completed before the Update completed."
* UpdateWorkflowExecution waiting for ADMITTED only: PERMISSION_DENIED
  "UpdateWorkflowExecution issued asynchronously and waiting on update
  admitted is not supported." (PermissionDeniedFailure). An empty update id
  is accepted (the server picks one). PollWorkflowExecutionUpdate with no
  wait stage answers at once with the stage reached.
* Update-with-start with conflict policy FAIL (or UNSPECIFIED, taken as
  FAIL) on a running workflow: ALREADY_EXISTS "Update-with-Start could not
  be executed." with a MultiOperationExecutionFailure detail holding
  [ALREADY_EXISTS "Workflow execution is already running. WorkflowId: <id>,
  RunId: <run id>." + WorkflowExecutionAlreadyStartedFailure (run id, first
  execution run id, start request id), ABORTED "Operation was aborted." +
  MultiOperationExecutionAborted]; the SDK raises WorkflowAlreadyStartedError.
  Invalid requests get the same wrapping (the failing operation's own
  status, ABORTED for the other); a wrong list of operations is a bare
  INVALID_ARGUMENT "Operations have to be exactly [Start, Update].".
* Eager workflow start: WorkflowExecutionStarted has
  eager_execution_accepted=true and the start already wrote
  WorkflowTaskScheduled and WorkflowTaskStarted (the task was handed to the
  starting client's worker in the StartWorkflowExecution response).
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

import pytest
from google.protobuf.duration_pb2 import Duration
from temporalio.api.common.v1 import Payload, Payloads, WorkflowExecution, WorkflowType
from temporalio.api.enums.v1 import (
    EventType,
    UpdateWorkflowExecutionLifecycleStage,
    WorkflowIdConflictPolicy,
)
from temporalio.api.errordetails.v1 import (
    MultiOperationExecutionFailure,
    WorkflowExecutionAlreadyStartedFailure,
)
from temporalio.api.failure.v1 import MultiOperationExecutionAborted
from temporalio.api.history.v1 import HistoryEvent
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.update.v1 import Input, Meta, Request, UpdateRef, WaitPolicy
from temporalio.api.workflowservice.v1 import (
    DescribeNamespaceRequest,
    ExecuteMultiOperationRequest,
    PollWorkflowExecutionUpdateRequest,
    StartWorkflowExecutionRequest,
    UpdateWorkflowExecutionRequest,
)
from temporalio.client import (
    Client,
    WithStartWorkflowOperation,
    WorkflowHandle,
    WorkflowUpdateFailedError,
    WorkflowUpdateStage,
)
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode
from temporalio.worker import Worker

from tests.e2e import update_workflows as uw
from tests.support.scenarios import wait_idle
from tests.support.servers import free_port

pytestmark = pytest.mark.timeout(30)

ET = EventType
ADMITTED = UpdateWorkflowExecutionLifecycleStage.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_ADMITTED
COMPLETED = UpdateWorkflowExecutionLifecycleStage.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_COMPLETED
T = TypeVar("T")

# Bound on any single wait, well inside the test timeout, so a hang reports
# what it was waiting for.
STEP_S = 10.0


def worker(client: Client, task_queue: str) -> Worker:
    return Worker(client, task_queue=task_queue, workflows=uw.WORKFLOWS, activities=uw.ACTIVITIES)


def wid(prefix: str = "upd") -> str:
    return f"{prefix}-{uuid.uuid4()}"


async def within(awaitable: Awaitable[T], what: str, seconds: float = STEP_S) -> T:
    try:
        return await asyncio.wait_for(awaitable, seconds)
    except TimeoutError:
        pytest.fail(f"{what}: no answer within {seconds:.0f}s")


async def events(handle: WorkflowHandle) -> list[HistoryEvent]:
    return list((await handle.fetch_history()).events)


def names(history: list[HistoryEvent]) -> list[str]:
    return [ET.Name(e.event_type).removeprefix("EVENT_TYPE_") for e in history]


def of_type(history: list[HistoryEvent], event_type: Any) -> list[HistoryEvent]:
    return [e for e in history if e.event_type == event_type]


async def start_accumulator(client: Client, task_queue: str, prefix: str = "acc") -> WorkflowHandle:
    handle = await client.start_workflow(uw.Accumulator.run, id=wid(prefix), task_queue=task_queue)
    await wait_idle(handle)  # its first workflow task is done
    return handle


# ---------------------------------------------------------------------------
# Updates


async def test_execute_update_returns_value(client: Client, task_queue: str) -> None:
    async with worker(client, task_queue):
        handle = await start_accumulator(client, task_queue)
        assert await within(handle.execute_update(uw.Accumulator.add, 5), "update") == 5
        assert await within(handle.execute_update(uw.Accumulator.add, 2), "update") == 7
        assert await within(handle.execute_update(uw.Accumulator.finish), "finish") == 7
        assert await within(handle.result(), "result") == 7
    history = await events(handle)
    assert names(history) == [
        "WORKFLOW_EXECUTION_STARTED",
        "WORKFLOW_TASK_SCHEDULED",
        "WORKFLOW_TASK_STARTED",
        "WORKFLOW_TASK_COMPLETED",
        *(["WORKFLOW_TASK_SCHEDULED", "WORKFLOW_TASK_STARTED", "WORKFLOW_TASK_COMPLETED",
           "WORKFLOW_EXECUTION_UPDATE_ACCEPTED", "WORKFLOW_EXECUTION_UPDATE_COMPLETED"] * 3),
        "WORKFLOW_EXECUTION_COMPLETED",
    ]
    accepted = of_type(history, ET.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED)
    completed = of_type(history, ET.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED)
    for acc, done in zip(accepted, completed, strict=True):
        a = acc.workflow_execution_update_accepted_event_attributes
        c = done.workflow_execution_update_completed_event_attributes
        assert a.accepted_request.meta.update_id == a.protocol_instance_id
        assert a.accepted_request_message_id == f"{a.protocol_instance_id}/request"
        # Sequenced after the workflow task that carried it was scheduled.
        assert a.accepted_request_sequencing_event_id == acc.event_id - 3
        assert c.accepted_event_id == acc.event_id
        assert c.meta.update_id == a.protocol_instance_id
        assert c.outcome.HasField("success")
    assert [
        a.workflow_execution_update_accepted_event_attributes.accepted_request.input.name
        for a in accepted
    ] == ["add", "add", "finish"]
    assert completed[0].workflow_execution_update_completed_event_attributes.outcome.success.payloads[
        0
    ].data == b"5"


async def test_validator_rejects_update_leaving_no_trace(client: Client, task_queue: str) -> None:
    async with worker(client, task_queue):
        handle = await start_accumulator(client, task_queue)
        before = await events(handle)
        with pytest.raises(WorkflowUpdateFailedError) as info:
            await within(handle.execute_update(uw.Accumulator.add, -3), "rejected update")
        cause = info.value.cause
        assert isinstance(cause, ApplicationError)
        assert cause.type == "NegativeAmount"
        assert cause.message == "cannot add -3"
        # The rejected update left nothing: no update event, no workflow task.
        after = await events(handle)
        assert names(after) == names(before)
        assert len(after) == 4
        # The workflow goes on; the next update is accepted.
        assert await within(handle.execute_update(uw.Accumulator.add, 4), "update") == 4
        await handle.signal(uw.Accumulator.finish_signal)
        assert await within(handle.result(), "result") == 4
    history = await events(handle)
    assert len(of_type(history, ET.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED)) == 1
    assert not of_type(history, ET.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_REJECTED)
    accepted = of_type(history, ET.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED)[0]
    assert accepted.event_id == 8  # right after the first task and one more task
    assert names(history)[4:7] == [
        "WORKFLOW_TASK_SCHEDULED", "WORKFLOW_TASK_STARTED", "WORKFLOW_TASK_COMPLETED"
    ]


async def test_update_on_completed_workflow(client: Client, task_queue: str) -> None:
    async with worker(client, task_queue):
        handle = await client.start_workflow(
            uw.QuickReturn.run, "x", id=wid("done"), task_queue=task_queue
        )
        assert await within(handle.result(), "result") == "hi x"
        with pytest.raises(RPCError) as info:
            await within(handle.execute_update(uw.QuickReturn.poke), "update on closed workflow")
    assert info.value.status == RPCStatusCode.NOT_FOUND
    assert info.value.message == "workflow execution already completed"
    assert not of_type(await events(handle), ET.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED)


async def test_update_on_unknown_workflow(client: Client) -> None:
    handle = client.get_workflow_handle(wid("nobody"))
    with pytest.raises(RPCError) as info:
        await within(handle.execute_update(uw.Accumulator.add, 1), "update on unknown workflow")
    assert info.value.status == RPCStatusCode.NOT_FOUND
    assert info.value.message == f"workflow not found for ID: {handle.id}"


async def test_start_update_accepted_then_result(client: Client, task_queue: str) -> None:
    async with worker(client, task_queue):
        handle = await start_accumulator(client, task_queue)
        update = await within(
            handle.start_update(
                uw.Accumulator.add, 6, id="add-six", wait_for_stage=WorkflowUpdateStage.ACCEPTED
            ),
            "start_update",
        )
        assert update.id == "add-six"
        assert update.workflow_id == handle.id
        assert await within(update.result(), "update result") == 6
        # The update that runs an activity is surely still running when
        # ACCEPTED is reached.
        slow = await within(
            handle.start_update(
                uw.Accumulator.shout, "hey", wait_for_stage=WorkflowUpdateStage.ACCEPTED
            ),
            "start_update",
        )
        assert await within(slow.result(), "update result") == "HEY!"
        await handle.signal(uw.Accumulator.finish_signal)
        assert await within(handle.result(), "result") == 6


async def test_get_update_handle_later(client: Client, task_queue: str) -> None:
    async with worker(client, task_queue):
        handle = await start_accumulator(client, task_queue)
        assert await within(handle.execute_update(uw.Accumulator.add, 11, id="eleven"), "update") == 11
        # A fresh handle, from a handle made from the workflow id alone.
        later = client.get_workflow_handle(handle.id).get_update_handle("eleven", result_type=int)
        assert await within(later.result(), "update result") == 11
        await handle.signal(uw.Accumulator.finish_signal)
        assert await within(handle.result(), "result") == 11
    # Still answered once the workflow is closed.
    closed = client.get_workflow_handle(handle.id).get_update_handle("eleven", result_type=int)
    assert await within(closed.result(), "update result after close") == 11


async def test_poll_unknown_update_id(client: Client, task_queue: str) -> None:
    async with worker(client, task_queue):
        handle = await start_accumulator(client, task_queue)
        with pytest.raises(RPCError) as info:
            await within(handle.get_update_handle("no-such-update").result(), "poll")
        assert info.value.status == RPCStatusCode.NOT_FOUND
        assert info.value.message == 'update "no-such-update" not found'
        await handle.signal(uw.Accumulator.finish_signal)
        assert await within(handle.result(), "result") == 0
    # Same answer once the workflow is closed.
    with pytest.raises(RPCError) as info:
        await within(handle.get_update_handle("no-such-update").result(), "poll after close")
    assert info.value.status == RPCStatusCode.NOT_FOUND
    assert info.value.message == 'update "no-such-update" not found'


async def test_duplicate_update_id(client: Client, task_queue: str) -> None:
    async with worker(client, task_queue):
        handle = await start_accumulator(client, task_queue)
        first = await within(handle.execute_update(uw.Accumulator.add, 3, id="dup"), "update")
        again = await within(handle.execute_update(uw.Accumulator.add, 3, id="dup"), "same update")
        # Even with other arguments, the id wins: the recorded outcome.
        other = await within(handle.execute_update(uw.Accumulator.add, 100, id="dup"), "same id")
        assert first == again == other == 3
        assert await within(handle.query(uw.Accumulator.amounts), "query") == [3]
        await handle.signal(uw.Accumulator.finish_signal)
        assert await within(handle.result(), "result") == 3
        # After the workflow closed, the id is still answered with its outcome
        # (not "workflow execution already completed").
        closed = await within(handle.execute_update(uw.Accumulator.add, 3, id="dup"), "after close")
        assert closed == 3
    history = await events(handle)
    accepted = of_type(history, ET.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED)
    assert len(accepted) == 1
    assert accepted[0].workflow_execution_update_accepted_event_attributes.protocol_instance_id == "dup"
    assert len(of_type(history, ET.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED)) == 1


async def test_update_releases_wait_condition(client: Client, task_queue: str) -> None:
    async with worker(client, task_queue):
        handle = await client.start_workflow(uw.Gate.run, id=wid("gate"), task_queue=task_queue)
        await wait_idle(handle)
        assert await within(handle.execute_update(uw.Gate.open, "the key"), "update") == "opening"
        assert await within(handle.result(), "result") == "opened with the key"
    history = await events(handle)
    # The update's workflow task both accepts/completes the update and
    # completes the workflow.
    assert names(history)[-4:] == [
        "WORKFLOW_TASK_COMPLETED",
        "WORKFLOW_EXECUTION_UPDATE_ACCEPTED",
        "WORKFLOW_EXECUTION_UPDATE_COMPLETED",
        "WORKFLOW_EXECUTION_COMPLETED",
    ]


async def test_twenty_concurrent_updates(client: Client, task_queue: str) -> None:
    async with worker(client, task_queue):
        handle = await start_accumulator(client, task_queue)
        results = await within(
            asyncio.gather(
                *(handle.execute_update(uw.Accumulator.add, 1, id=f"c{i}") for i in range(20))
            ),
            "20 concurrent updates",
            20,
        )
        # Each saw the running total after its own addition: 1..20 once each.
        assert sorted(results) == list(range(1, 21))
        assert await within(handle.execute_update(uw.Accumulator.finish), "finish") == 20
        assert await within(handle.result(), "result") == 20
    history = await events(handle)
    accepted = of_type(history, ET.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED)
    completed = of_type(history, ET.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED)
    ids = [e.workflow_execution_update_accepted_event_attributes.protocol_instance_id for e in accepted]
    assert len(accepted) == len(completed) == 21  # the 20, then finish
    assert sorted(ids[:20]) == sorted(f"c{i}" for i in range(20))
    by_id = {
        e.workflow_execution_update_completed_event_attributes.meta.update_id:
            e.workflow_execution_update_completed_event_attributes.outcome.success.payloads[0].data
        for e in completed
    }
    assert sorted(int(by_id[f"c{i}"]) for i in range(20)) == list(range(1, 21))
    for event in completed:
        attrs = event.workflow_execution_update_completed_event_attributes
        accepted_event = history[attrs.accepted_event_id - 1]
        assert accepted_event.event_type == ET.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED


async def test_update_handler_raises(client: Client, task_queue: str) -> None:
    async with worker(client, task_queue):
        handle = await start_accumulator(client, task_queue)
        with pytest.raises(WorkflowUpdateFailedError) as info:
            await within(handle.execute_update(uw.Accumulator.explode, "boom", id="boom"), "update")
        cause = info.value.cause
        assert isinstance(cause, ApplicationError)
        assert cause.type == "UpdateBroken"
        assert cause.message == "boom"
        assert cause.details == ({"why": "boom"},)
        # The workflow is unharmed.
        assert await within(handle.execute_update(uw.Accumulator.add, 1), "update") == 1
        await handle.signal(uw.Accumulator.finish_signal)
        assert await within(handle.result(), "result") == 1
    history = await events(handle)
    accepted = of_type(history, ET.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED)
    completed = of_type(history, ET.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED)
    assert accepted[0].workflow_execution_update_accepted_event_attributes.protocol_instance_id == "boom"
    outcome = completed[0].workflow_execution_update_completed_event_attributes.outcome
    assert outcome.HasField("failure")
    assert outcome.failure.message == "boom"
    assert outcome.failure.application_failure_info.type == "UpdateBroken"
    assert history[-1].event_type == ET.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED


async def test_update_runs_activity(client: Client, task_queue: str) -> None:
    async with worker(client, task_queue):
        handle = await start_accumulator(client, task_queue)
        assert await within(
            handle.execute_update(uw.Accumulator.shout, "hello", id="shout"), "update"
        ) == "HELLO!"
        await handle.signal(uw.Accumulator.finish_signal)
        assert await within(handle.result(), "result") == 0
    types = names(await events(handle))
    accepted_at = types.index("WORKFLOW_EXECUTION_UPDATE_ACCEPTED")
    assert types[accepted_at + 1] == "ACTIVITY_TASK_SCHEDULED"
    assert types.index("ACTIVITY_TASK_COMPLETED") < types.index("WORKFLOW_EXECUTION_UPDATE_COMPLETED")


async def test_update_sent_before_worker_runs(client: Client, task_queue: str) -> None:
    handle = await client.start_workflow(uw.Accumulator.run, id=wid("early"), task_queue=task_queue)
    update = asyncio.create_task(handle.execute_update(uw.Accumulator.add, 9, id="early"))
    await asyncio.sleep(1.0)
    assert not update.done()
    async with worker(client, task_queue):
        assert await within(update, "update sent before the worker ran") == 9
        await handle.signal(uw.Accumulator.finish_signal)
        assert await within(handle.result(), "result") == 9
    history = await events(handle)
    accepted = of_type(history, ET.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED)
    assert len(accepted) == 1
    # Delivered with the first workflow task (the one the start scheduled).
    attrs = accepted[0].workflow_execution_update_accepted_event_attributes
    assert attrs.accepted_request_sequencing_event_id == 2
    assert names(history)[:6] == [
        "WORKFLOW_EXECUTION_STARTED",
        "WORKFLOW_TASK_SCHEDULED",
        "WORKFLOW_TASK_STARTED",
        "WORKFLOW_TASK_COMPLETED",
        "WORKFLOW_EXECUTION_UPDATE_ACCEPTED",
        "WORKFLOW_EXECUTION_UPDATE_COMPLETED",
    ]


async def wait_admitted(client: Client, workflow_id: str, update_id: str) -> None:
    """Until the server knows the update (PollWorkflowExecutionUpdate with
    stage ADMITTED answers at once once it does, NOT_FOUND before)."""
    request = PollWorkflowExecutionUpdateRequest(
        namespace=client.namespace,
        update_ref=UpdateRef(
            workflow_execution=WorkflowExecution(workflow_id=workflow_id), update_id=update_id
        ),
        wait_policy=WaitPolicy(lifecycle_stage=ADMITTED),
    )
    deadline = asyncio.get_running_loop().time() + STEP_S
    while True:
        try:
            response = await client.workflow_service.poll_workflow_execution_update(
                request, timeout=timedelta(seconds=2)
            )
        except RPCError as err:
            if err.status != RPCStatusCode.NOT_FOUND:
                raise
        else:
            assert response.stage >= ADMITTED
            return
        if asyncio.get_running_loop().time() > deadline:
            pytest.fail(f"update {update_id!r} was never admitted")
        await asyncio.sleep(0.05)


async def test_update_aborted_when_workflow_closes_before_acceptance(
    client: Client, task_queue: str
) -> None:
    # No worker: the update stays admitted until the workflow is terminated.
    handle = await client.start_workflow(uw.Accumulator.run, id=wid("abort"), task_queue=task_queue)
    update = asyncio.create_task(handle.execute_update(uw.Accumulator.add, 1, id="never-accepted"))
    await wait_admitted(client, handle.id, "never-accepted")
    await handle.terminate("stop")
    with pytest.raises(RPCError) as info:
        await within(update, "update of a terminated workflow")
    assert info.value.status == RPCStatusCode.NOT_FOUND
    assert info.value.message == "workflow update was aborted by closing workflow"
    types = names(await events(handle))
    assert types == ["WORKFLOW_EXECUTION_STARTED", "WORKFLOW_TASK_SCHEDULED", "WORKFLOW_EXECUTION_TERMINATED"]


async def test_accepted_update_fails_when_workflow_closes(client: Client, task_queue: str) -> None:
    async with Worker(
        client, task_queue=task_queue, workflows=uw.WORKFLOWS, activities=uw.ACTIVITIES,
        graceful_shutdown_timeout=timedelta(0),
    ):
        handle = await start_accumulator(client, task_queue, "closes")
        update = await within(
            handle.start_update(
                uw.Accumulator.stall, 30.0, id="stalled", wait_for_stage=WorkflowUpdateStage.ACCEPTED
            ),
            "start_update",
        )
        await handle.terminate("stop")
        for what, update_handle in (
            ("the update's handle", update),
            ("a new handle", client.get_workflow_handle(handle.id).get_update_handle("stalled")),
        ):
            with pytest.raises(WorkflowUpdateFailedError) as info:
                await within(update_handle.result(), what)
            cause = info.value.cause
            assert isinstance(cause, ApplicationError)
            assert cause.type == "AcceptedUpdateCompletedWorkflow"
            assert cause.message == (
                "Workflow Update failed because the Workflow completed before the Update completed."
            )
    history = await events(handle)
    assert history[-1].event_type == ET.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED
    assert len(of_type(history, ET.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED)) == 1
    assert not of_type(history, ET.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED)


def _update_request(
    workflow_id: str, update_id: str, stage: int, amount: int | None = 1
) -> UpdateWorkflowExecutionRequest:
    return UpdateWorkflowExecutionRequest(
        namespace="default",
        workflow_execution=WorkflowExecution(workflow_id=workflow_id),
        request=Request(meta=Meta(update_id=update_id), input=_add_input(amount)),
        wait_policy=WaitPolicy(lifecycle_stage=stage),  # type: ignore[arg-type]
    )


async def test_wait_for_admitted_is_refused(client: Client, task_queue: str) -> None:
    """The SDKs never ask to wait for ADMITTED only; the server refuses it."""
    handle = await client.start_workflow(uw.Accumulator.run, id=wid("admitted"), task_queue=task_queue)
    try:
        with pytest.raises(RPCError) as info:
            await client.workflow_service.update_workflow_execution(
                _update_request(handle.id, "admitted-only", ADMITTED), timeout=timedelta(seconds=3)
            )
        assert info.value.status == RPCStatusCode.PERMISSION_DENIED
        assert info.value.message == (
            "UpdateWorkflowExecution issued asynchronously and waiting on update admitted is not supported."
        )
        assert [d.type_url.rsplit(".", 1)[-1] for d in info.value.grpc_status.details] == [
            "PermissionDeniedFailure"
        ]
        # Nothing was admitted.
        with pytest.raises(RPCError) as polled:
            await handle.get_update_handle("admitted-only").result()
        assert polled.value.status == RPCStatusCode.NOT_FOUND
    finally:
        await handle.terminate()


async def test_update_without_id_gets_one(client: Client, task_queue: str) -> None:
    async with worker(client, task_queue):
        handle = await start_accumulator(client, task_queue, "no-id")
        response = await within(
            client.workflow_service.update_workflow_execution(
                _update_request(handle.id, "", COMPLETED, amount=4)
            ),
            "update without an id",
        )
        update_id = response.update_ref.update_id
        assert update_id  # chosen by the server
        assert response.outcome.success.payloads[0].data == b"4"
        later = handle.get_update_handle(update_id, result_type=int)
        assert await within(later.result(), "update result") == 4
        await handle.signal(uw.Accumulator.finish_signal)
        assert await within(handle.result(), "result") == 4
    accepted = of_type(await events(handle), ET.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED)
    assert accepted[0].workflow_execution_update_accepted_event_attributes.protocol_instance_id == update_id


async def test_poll_without_stage_answers_at_once(client: Client, task_queue: str) -> None:
    """PollWorkflowExecutionUpdate with no wait stage returns the stage
    reached (ADMITTED here: no worker) without waiting."""
    handle = await client.start_workflow(uw.Accumulator.run, id=wid("poll"), task_queue=task_queue)
    update = asyncio.create_task(handle.execute_update(uw.Accumulator.add, 1, id="pending"))
    try:
        await wait_admitted(client, handle.id, "pending")
        loop = asyncio.get_running_loop()
        began = loop.time()
        response = await client.workflow_service.poll_workflow_execution_update(
            PollWorkflowExecutionUpdateRequest(
                namespace="default",
                update_ref=UpdateRef(
                    workflow_execution=WorkflowExecution(workflow_id=handle.id), update_id="pending"
                ),
                wait_policy=WaitPolicy(),
            ),
            timeout=timedelta(seconds=3),
        )
        assert loop.time() - began < 1.5
        assert response.stage == ADMITTED
        assert not response.HasField("outcome")
    finally:
        update.cancel()
        await handle.terminate()


@asynccontextmanager
async def _temporallite(db: Path, port: int) -> AsyncIterator[Client]:
    from temporallite.config import ServerConfig
    from temporallite.server import TemporalLiteServer

    server = TemporalLiteServer(ServerConfig(port=port, db_filename=str(db)))
    await server.start()
    try:
        yield await Client.connect(server.target)
    finally:
        await server.stop()


@pytest.mark.skipif(
    bool(os.environ.get("TEMPORAL_TEST_TARGET")),
    reason="restarts an in-process temporallite; not applicable to another server",
)
async def test_update_result_after_restart(tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    port = free_port()
    task_queue = f"tq-{uuid.uuid4()}"
    async with _temporallite(db, port) as client:
        async with worker(client, task_queue):
            handle = await start_accumulator(client, task_queue, "restart")
            assert await within(handle.execute_update(uw.Accumulator.add, 8, id="kept"), "update") == 8
            boom = handle.execute_update(uw.Accumulator.explode, "lost?", id="failed")
            with pytest.raises(WorkflowUpdateFailedError):
                await within(boom, "failing update")
    async with _temporallite(db, port) as client:
        same = client.get_workflow_handle(handle.id)
        assert await within(same.get_update_handle("kept", result_type=int).result(), "poll") == 8
        with pytest.raises(WorkflowUpdateFailedError) as info:
            await within(same.get_update_handle("failed").result(), "poll failed update")
        assert isinstance(info.value.cause, ApplicationError)
        assert info.value.cause.type == "UpdateBroken"
        # Re-sending the id gets the recorded outcome, not a second run.
        assert await within(same.execute_update(uw.Accumulator.add, 8, id="kept"), "resend") == 8
        with pytest.raises(RPCError) as unknown:
            await within(same.get_update_handle("never-sent").result(), "poll unknown")
        assert unknown.value.status == RPCStatusCode.NOT_FOUND
        async with worker(client, task_queue):
            assert await within(same.execute_update(uw.Accumulator.add, 1, id="new"), "update") == 9
            await same.signal(uw.Accumulator.finish_signal)
            assert await within(same.result(), "result") == 9
        history = await events(same)
        accepted = of_type(history, ET.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED)
        assert [
            e.workflow_execution_update_accepted_event_attributes.protocol_instance_id for e in accepted
        ] == ["kept", "failed", "new"]


# ---------------------------------------------------------------------------
# Update-with-start


def _with_start(
    task_queue: str, workflow_id: str, policy: WorkflowIDConflictPolicy
) -> WithStartWorkflowOperation[uw.Accumulator, int]:
    return WithStartWorkflowOperation(
        uw.Accumulator.run, id=workflow_id, task_queue=task_queue, id_conflict_policy=policy
    )


async def test_update_with_start_new_workflow(client: Client, task_queue: str) -> None:
    workflow_id = wid("uws-new")
    async with worker(client, task_queue):
        start = _with_start(task_queue, workflow_id, WorkflowIDConflictPolicy.USE_EXISTING)
        result = await within(
            client.execute_update_with_start_workflow(
                uw.Accumulator.add, 5, id="first-add", start_workflow_operation=start
            ),
            "update-with-start",
        )
        assert result == 5
        handle = await within(start.workflow_handle(), "workflow handle")
        assert handle.id == workflow_id
        assert handle.result_run_id
        assert handle.first_execution_run_id == handle.result_run_id
        await handle.signal(uw.Accumulator.finish_signal)
        assert await within(handle.result(), "result") == 5
    history = await events(handle)
    # The update request rides on the first workflow task.
    assert names(history) == [
        "WORKFLOW_EXECUTION_STARTED",
        "WORKFLOW_TASK_SCHEDULED",
        "WORKFLOW_TASK_STARTED",
        "WORKFLOW_TASK_COMPLETED",
        "WORKFLOW_EXECUTION_UPDATE_ACCEPTED",
        "WORKFLOW_EXECUTION_UPDATE_COMPLETED",
        "WORKFLOW_EXECUTION_SIGNALED",
        "WORKFLOW_TASK_SCHEDULED",
        "WORKFLOW_TASK_STARTED",
        "WORKFLOW_TASK_COMPLETED",
        "WORKFLOW_EXECUTION_COMPLETED",
    ]
    accepted = history[4].workflow_execution_update_accepted_event_attributes
    assert accepted.protocol_instance_id == "first-add"
    assert accepted.accepted_request_sequencing_event_id == 2
    assert accepted.accepted_request.input.name == "add"
    assert history[5].workflow_execution_update_completed_event_attributes.accepted_event_id == 5


async def test_start_update_with_start_accepted(client: Client, task_queue: str) -> None:
    workflow_id = wid("uws-accepted")
    async with worker(client, task_queue):
        start = _with_start(task_queue, workflow_id, WorkflowIDConflictPolicy.USE_EXISTING)
        update = await within(
            client.start_update_with_start_workflow(
                uw.Accumulator.shout,
                "started",
                id="shout-on-start",
                start_workflow_operation=start,
                wait_for_stage=WorkflowUpdateStage.ACCEPTED,
            ),
            "start_update_with_start_workflow",
        )
        assert update.id == "shout-on-start"
        assert await within(update.result(), "update result") == "STARTED!"
        handle = await within(start.workflow_handle(), "workflow handle")
        await handle.signal(uw.Accumulator.finish_signal)
        assert await within(handle.result(), "result") == 0


async def test_update_with_start_existing_workflow(client: Client, task_queue: str) -> None:
    async with worker(client, task_queue):
        existing = await start_accumulator(client, task_queue, "uws-existing")
        assert await within(existing.execute_update(uw.Accumulator.add, 2), "update") == 2
        start = _with_start(task_queue, existing.id, WorkflowIDConflictPolicy.USE_EXISTING)
        result = await within(
            client.execute_update_with_start_workflow(
                uw.Accumulator.add, 10, start_workflow_operation=start
            ),
            "update-with-start",
        )
        assert result == 12
        handle = await within(start.workflow_handle(), "workflow handle")
        assert handle.result_run_id == existing.result_run_id
        await existing.signal(uw.Accumulator.finish_signal)
        assert await within(existing.result(), "result") == 12
    history = await events(existing)
    assert len(of_type(history, ET.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED)) == 1
    assert len(of_type(history, ET.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED)) == 2


async def test_update_with_start_closed_workflow_starts_new_run(client: Client, task_queue: str) -> None:
    async with worker(client, task_queue):
        old = await start_accumulator(client, task_queue, "uws-closed")
        await old.signal(uw.Accumulator.finish_signal)
        assert await within(old.result(), "result") == 0
        start = _with_start(task_queue, old.id, WorkflowIDConflictPolicy.USE_EXISTING)
        result = await within(
            client.execute_update_with_start_workflow(
                uw.Accumulator.add, 4, start_workflow_operation=start
            ),
            "update-with-start",
        )
        assert result == 4
        new = await within(start.workflow_handle(), "workflow handle")
        assert new.result_run_id and new.result_run_id != old.result_run_id
        await new.signal(uw.Accumulator.finish_signal)
        assert await within(new.result(), "result") == 4


async def test_update_with_start_fail_policy_on_running(client: Client, task_queue: str) -> None:
    async with worker(client, task_queue):
        existing = await start_accumulator(client, task_queue, "uws-fail")
        start = _with_start(task_queue, existing.id, WorkflowIDConflictPolicy.FAIL)
        with pytest.raises(WorkflowAlreadyStartedError) as info:
            await within(
                client.execute_update_with_start_workflow(
                    uw.Accumulator.add, 1, start_workflow_operation=start
                ),
                "update-with-start (FAIL)",
            )
        assert info.value.workflow_id == existing.id
        assert info.value.workflow_type == "Accumulator"
        assert info.value.run_id == existing.result_run_id
        # The operation's workflow handle fails the same way.
        with pytest.raises(WorkflowAlreadyStartedError):
            await within(start.workflow_handle(), "workflow handle")
        # The update was not delivered.
        await existing.signal(uw.Accumulator.finish_signal)
        assert await within(existing.result(), "result") == 0
    history = await events(existing)
    assert not of_type(history, ET.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED)


def _multi_operation(
    workflow_id: str,
    task_queue: str,
    *,
    policy: int = WorkflowIdConflictPolicy.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
    update_id: str = "raw",
    stage: int = COMPLETED,
    start_workflow_id: str | None = None,
    update_workflow_id: str | None = None,
    update_run_id: str = "",
    update_namespace: str = "default",
    amount: int | None = None,
    **start_fields: Any,
) -> ExecuteMultiOperationRequest:
    """An update-with-start request as an SDK sends it (the Python SDK's
    own checks are bypassed, so that the server's are seen)."""
    Op = ExecuteMultiOperationRequest.Operation
    return ExecuteMultiOperationRequest(
        namespace="default",
        operations=[
            Op(start_workflow=StartWorkflowExecutionRequest(
                namespace="default",
                workflow_id=workflow_id if start_workflow_id is None else start_workflow_id,
                workflow_type=WorkflowType(name="Accumulator"),
                task_queue=TaskQueue(name=task_queue),
                request_id=str(uuid.uuid4()),
                workflow_id_conflict_policy=policy,  # type: ignore[arg-type]
                **start_fields,
            )),
            Op(update_workflow=UpdateWorkflowExecutionRequest(
                namespace=update_namespace,
                workflow_execution=WorkflowExecution(
                    workflow_id=workflow_id if update_workflow_id is None else update_workflow_id,
                    run_id=update_run_id,
                ),
                request=Request(meta=Meta(update_id=update_id), input=_add_input(amount)),
                wait_policy=WaitPolicy(lifecycle_stage=stage),  # type: ignore[arg-type]
            )),
        ],
    )


def _add_input(amount: int | None) -> Input:
    if amount is None:
        return Input(name="add")
    payload = Payload(metadata={"encoding": b"json/plain"}, data=str(amount).encode())
    return Input(name="add", args=Payloads(payloads=[payload]))


def _statuses(err: RPCError) -> list[tuple[int, str, list[str]]]:
    """The per-operation statuses of a MultiOperationExecutionFailure."""
    assert len(err.grpc_status.details) == 1, err.grpc_status
    failure = MultiOperationExecutionFailure()
    assert err.grpc_status.details[0].Unpack(failure), err.grpc_status.details[0].type_url
    return [
        (st.code, st.message, [d.type_url.rsplit(".", 1)[-1] for d in st.details])
        for st in failure.statuses
    ]


async def test_update_with_start_fail_policy_raw_status(client: Client, task_queue: str) -> None:
    """The gRPC answer under the SDK's WorkflowAlreadyStartedError; the
    UNSPECIFIED policy is taken as FAIL."""
    async with worker(client, task_queue):
        existing = await start_accumulator(client, task_queue, "uws-raw")
        errors = []
        for policy in (
            WorkflowIdConflictPolicy.WORKFLOW_ID_CONFLICT_POLICY_FAIL,
            WorkflowIdConflictPolicy.WORKFLOW_ID_CONFLICT_POLICY_UNSPECIFIED,
        ):
            with pytest.raises(RPCError) as info:
                await within(
                    client.workflow_service.execute_multi_operation(
                        _multi_operation(existing.id, task_queue, policy=policy, update_id=f"raw-{policy}")
                    ),
                    "ExecuteMultiOperation",
                )
            errors.append(info.value)
        await existing.signal(uw.Accumulator.finish_signal)
        assert await within(existing.result(), "result") == 0
    for err in errors:
        assert err.status == RPCStatusCode.ALREADY_EXISTS
        assert err.message == "Update-with-Start could not be executed."
        assert _statuses(err) == [
            (
                RPCStatusCode.ALREADY_EXISTS,
                f"Workflow execution is already running. WorkflowId: {existing.id}, "
                f"RunId: {existing.result_run_id}.",
                ["WorkflowExecutionAlreadyStartedFailure"],
            ),
            (RPCStatusCode.ABORTED, "Operation was aborted.", ["MultiOperationExecutionAborted"]),
        ]
        failure = MultiOperationExecutionFailure()
        err.grpc_status.details[0].Unpack(failure)
        already = WorkflowExecutionAlreadyStartedFailure()
        assert failure.statuses[0].details[0].Unpack(already)
        assert already.run_id == existing.result_run_id
        assert already.first_execution_run_id == existing.result_run_id
        assert already.start_request_id  # the running workflow's start request
        assert failure.statuses[1].details[0].Is(MultiOperationExecutionAborted.DESCRIPTOR)


async def test_update_with_start_unspecified_policy_starts_new(client: Client, task_queue: str) -> None:
    """UNSPECIFIED (which the Python SDK does not let users send) is
    accepted: on a new id the workflow is started and the update runs."""
    workflow_id = wid("uws-unspecified")
    async with worker(client, task_queue):
        response = await within(
            client.workflow_service.execute_multi_operation(
                _multi_operation(
                    workflow_id, task_queue,
                    policy=WorkflowIdConflictPolicy.WORKFLOW_ID_CONFLICT_POLICY_UNSPECIFIED,
                    update_id="unspecified",
                    amount=3,
                )
            ),
            "ExecuteMultiOperation",
        )
        started, updated = response.responses
        assert started.start_workflow.started
        assert started.start_workflow.run_id
        assert updated.update_workflow.stage == (
            UpdateWorkflowExecutionLifecycleStage.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_COMPLETED
        )
        assert updated.update_workflow.update_ref.update_id == "unspecified"
        assert updated.update_workflow.update_ref.workflow_execution.run_id == started.start_workflow.run_id
        assert updated.update_workflow.outcome.success.payloads[0].data == b"3"
        handle = client.get_workflow_handle(workflow_id)
        await handle.signal(uw.Accumulator.finish_signal)
        assert await within(handle.result(), "result") == 3


ABORTED_STATUS = (RPCStatusCode.ABORTED, "Operation was aborted.", ["MultiOperationExecutionAborted"])

# (case, request overrides, top-level status, per-operation statuses). The
# requests are refused before anything is started.
INVALID_MULTI_OPERATIONS = [
    (
        "workflow id differs",
        {"update_workflow_id": "someone-else"},
        RPCStatusCode.INVALID_ARGUMENT,
        [
            ABORTED_STATUS,
            (RPCStatusCode.INVALID_ARGUMENT, "WorkflowId is not consistent with previous operation(s).", []),
        ],
    ),
    (
        "no workflow id",
        {"start_workflow_id": "", "update_workflow_id": ""},
        RPCStatusCode.INVALID_ARGUMENT,
        [
            (RPCStatusCode.INVALID_ARGUMENT, "WorkflowId is not set on request.", []),
            (RPCStatusCode.INVALID_ARGUMENT, "WorkflowId is not set on request.", []),
        ],
    ),
    (
        "run id set",
        {"update_run_id": "01a21838-0000-7000-8000-000000000000"},
        RPCStatusCode.INVALID_ARGUMENT,
        [ABORTED_STATUS, (RPCStatusCode.INVALID_ARGUMENT, "RunId is not allowed.", [])],
    ),
    (
        "run id not a uuid",
        {"update_run_id": "abc"},
        RPCStatusCode.INVALID_ARGUMENT,
        [ABORTED_STATUS, (RPCStatusCode.INVALID_ARGUMENT, "Invalid RunId.", [])],
    ),
    (
        "namespace differs",
        {"update_namespace": "other"},
        RPCStatusCode.INVALID_ARGUMENT,
        [
            ABORTED_STATUS,
            (RPCStatusCode.INVALID_ARGUMENT, "Operation namespace did not match request's namespace.", []),
        ],
    ),
    (
        "wait for ADMITTED",
        {"stage": ADMITTED},
        RPCStatusCode.PERMISSION_DENIED,
        [
            ABORTED_STATUS,
            (
                RPCStatusCode.PERMISSION_DENIED,
                "UpdateWorkflowExecution issued asynchronously and waiting on update admitted is not "
                "supported.",
                ["PermissionDeniedFailure"],
            ),
        ],
    ),
    (
        "cron schedule",
        {"cron_schedule": "* * * * *"},
        RPCStatusCode.INVALID_ARGUMENT,
        [(RPCStatusCode.INVALID_ARGUMENT, "CronSchedule is not allowed.", []), ABORTED_STATUS],
    ),
    (
        "start delay",
        {"workflow_start_delay": Duration(seconds=5)},
        RPCStatusCode.INVALID_ARGUMENT,
        [(RPCStatusCode.INVALID_ARGUMENT, "WorkflowStartDelay is not supported.", []), ABORTED_STATUS],
    ),
    (
        "eager start",
        {"request_eager_execution": True},
        RPCStatusCode.INVALID_ARGUMENT,
        [(RPCStatusCode.INVALID_ARGUMENT, "RequestEagerExecution is not supported.", []), ABORTED_STATUS],
    ),
]


@pytest.mark.parametrize(
    "overrides,status,statuses",
    [case[1:] for case in INVALID_MULTI_OPERATIONS],
    ids=[case[0] for case in INVALID_MULTI_OPERATIONS],
)
async def test_update_with_start_invalid_requests(
    client: Client, task_queue: str, overrides: dict[str, Any], status: int, statuses: list[Any]
) -> None:
    workflow_id = wid("uws-invalid")
    with pytest.raises(RPCError) as info:
        # A request the server (wrongly) takes would wait for a worker.
        await client.workflow_service.execute_multi_operation(
            _multi_operation(workflow_id, task_queue, **overrides), timeout=timedelta(seconds=3)
        )
    err = info.value
    assert (err.status, err.message) == (status, "Update-with-Start could not be executed.")
    assert _statuses(err) == statuses
    with pytest.raises(RPCError) as described:
        await client.get_workflow_handle(workflow_id).describe()
    assert described.value.status == RPCStatusCode.NOT_FOUND  # nothing was started


async def test_update_with_start_wrong_operations(client: Client, task_queue: str) -> None:
    workflow_id = wid("uws-ops")
    full = _multi_operation(workflow_id, task_queue)
    start_op, update_op = full.operations
    for operations in ([start_op], [update_op, start_op], [], [start_op, update_op, update_op]):
        with pytest.raises(RPCError) as info:
            await client.workflow_service.execute_multi_operation(
                ExecuteMultiOperationRequest(namespace="default", operations=operations),
                timeout=timedelta(seconds=3),
            )
        assert info.value.status == RPCStatusCode.INVALID_ARGUMENT
        assert info.value.message == "Operations have to be exactly [Start, Update]."
        assert not info.value.grpc_status.details


async def test_update_with_start_rejected_update_still_starts(client: Client, task_queue: str) -> None:
    workflow_id = wid("uws-rejected")
    async with worker(client, task_queue):
        start = _with_start(task_queue, workflow_id, WorkflowIDConflictPolicy.USE_EXISTING)
        with pytest.raises(WorkflowUpdateFailedError) as info:
            await within(
                client.execute_update_with_start_workflow(
                    uw.Accumulator.add, -1, start_workflow_operation=start
                ),
                "update-with-start (rejected)",
            )
        assert isinstance(info.value.cause, ApplicationError)
        assert info.value.cause.type == "NegativeAmount"
        handle = await within(start.workflow_handle(), "workflow handle")
        history = await wait_idle(handle)
        # The workflow was started; the rejection left no event.
        assert names(list(history)) == [
            "WORKFLOW_EXECUTION_STARTED",
            "WORKFLOW_TASK_SCHEDULED",
            "WORKFLOW_TASK_STARTED",
            "WORKFLOW_TASK_COMPLETED",
        ]
        await handle.signal(uw.Accumulator.finish_signal)
        assert await within(handle.result(), "result") == 0


# ---------------------------------------------------------------------------
# Eager workflow start


async def test_namespace_advertises_update_and_eager_start(client: Client) -> None:
    response = await client.workflow_service.describe_namespace(
        DescribeNamespaceRequest(namespace="default")
    )
    capabilities = response.namespace_info.capabilities
    assert capabilities.eager_workflow_start
    assert capabilities.sync_update
    assert capabilities.async_update


async def test_eager_workflow_start(client: Client, task_queue: str) -> None:
    async with worker(client, task_queue):
        handle = await within(
            client.start_workflow(
                uw.QuickReturn.run, "eager", id=wid("eager"), task_queue=task_queue,
                request_eager_start=True,
            ),
            "eager start",
        )
        # The start itself scheduled and started the first workflow task:
        # it went back to this client in the start response.
        first = await events(handle)
        assert names(first)[:3] == [
            "WORKFLOW_EXECUTION_STARTED",
            "WORKFLOW_TASK_SCHEDULED",
            "WORKFLOW_TASK_STARTED",
        ]
        assert getattr(handle, "__temporal_eagerly_started", None) is True
        assert await within(handle.result(), "result") == "hi eager"
    history = await events(handle)
    assert names(history) == [
        "WORKFLOW_EXECUTION_STARTED",
        "WORKFLOW_TASK_SCHEDULED",
        "WORKFLOW_TASK_STARTED",
        "WORKFLOW_TASK_COMPLETED",
        "WORKFLOW_EXECUTION_COMPLETED",
    ]
    assert history[0].workflow_execution_started_event_attributes.eager_execution_accepted
    assert history[2].workflow_task_started_event_attributes.scheduled_event_id == 2


async def test_not_eager_without_request(client: Client, task_queue: str) -> None:
    async with worker(client, task_queue):
        handle = await client.start_workflow(
            uw.QuickReturn.run, "lazy", id=wid("lazy"), task_queue=task_queue
        )
        assert getattr(handle, "__temporal_eagerly_started", None) is False
        assert await within(handle.result(), "result") == "hi lazy"
    history = await events(handle)
    assert not history[0].workflow_execution_started_event_attributes.eager_execution_accepted


async def test_eager_start_with_existing_id_fails(client: Client, task_queue: str) -> None:
    """An eager start that conflicts fails like any start, with no task handed out."""
    workflow_id = wid("eager-dup")
    async with worker(client, task_queue):
        handle = await client.start_workflow(
            uw.Gate.run, id=workflow_id, task_queue=task_queue, request_eager_start=True
        )
        await wait_idle(handle)
        with pytest.raises(WorkflowAlreadyStartedError):
            await within(
                client.start_workflow(
                    uw.Gate.run, id=workflow_id, task_queue=task_queue, request_eager_start=True
                ),
                "conflicting eager start",
            )
        assert await within(handle.execute_update(uw.Gate.open, "eager"), "update") == "opening"
        assert await within(handle.result(), "result") == "opened with eager"
    history = await events(handle)
    assert history[0].workflow_execution_started_event_attributes.eager_execution_accepted
    assert len(of_type(history, ET.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED)) == 1
