"""Workflow updates. An update is admitted in memory, delivered to the worker
as a protocol message on a workflow task (a speculative one if none is
pending), and answered with acceptance/rejection/response messages. Only an
accepted update is written to history (UpdateAccepted, UpdateCompleted) and
recorded in mutable state; a rejected one leaves no trace."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from google.protobuf.any_pb2 import Any as AnyProto
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import EventType, UpdateWorkflowExecutionLifecycleStage
from temporalio.api.failure.v1 import ApplicationFailureInfo, Failure
from temporalio.api.protocol.v1 import Message
from temporalio.api.update.v1 import Acceptance, Outcome, Rejection, Request, Response, UpdateRef
from temporalio.api.workflowservice.v1 import UpdateWorkflowExecutionResponse

from temporallite.errors import WORKFLOW_COMPLETED, NotFound
from temporallite.history import workflow_task
from temporallite.history.engine import HistoryEngine
from temporallite.history.mutable_state import MutableState
from temporallite.history.transaction import Transaction

ET = EventType
Stage = UpdateWorkflowExecutionLifecycleStage
ADMITTED = Stage.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_ADMITTED
ACCEPTED = Stage.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_ACCEPTED
COMPLETED = Stage.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_COMPLETED
# An update call waits this long for its stage, then answers the stage reached
# (the SDKs poll again).
UPDATE_LONG_POLL = 20.0
ABORTED_BY_CLOSE = "workflow update was aborted by closing workflow"
CLOSED_BEFORE_COMPLETION = (
    "Workflow Update failed because the Workflow completed before the Update completed."
)


@dataclass
class UpdateState:
    update_id: str
    request: Request
    stage: int = ADMITTED
    # The workflow task (scheduled event id, attempt) the request went out with.
    sent_with: tuple[int, int] | None = None
    outcome: Outcome | None = None
    # The run closed before the update was accepted.
    orphaned: bool = False
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    def advance(self, stage: int, outcome: Outcome | None = None) -> None:
        self.stage = stage
        if outcome is not None:
            self.outcome = outcome
        self.changed.set()
        self.changed = asyncio.Event()


class Updates:
    def __init__(self, engine: HistoryEngine) -> None:
        self.engine = engine
        self._runs: dict[str, dict[str, UpdateState]] = {}

    def _registry(self, run_id: str) -> dict[str, UpdateState]:
        return self._runs.setdefault(run_id, {})

    # ---- from clients ------------------------------------------------------

    def admit(self, tx: Transaction, request: Request) -> UpdateState:
        """Inside a transition on the run: admit (or find) the update and make
        sure a workflow task will carry it."""
        ms = tx.ms
        if not ms.is_open:
            raise NotFound(WORKFLOW_COMPLETED)
        update_id = request.meta.update_id
        registry = self._registry(ms.run_id)
        state = registry.get(update_id)
        if state is None:
            state = registry[update_id] = UpdateState(update_id, request)
            workflow_task.schedule(tx, speculative=True)
        return state

    async def wait(
        self, ms: MutableState, state: UpdateState, stage: int, timeout: float
    ) -> UpdateWorkflowExecutionResponse:
        deadline = asyncio.get_running_loop().time() + timeout
        while state.stage < stage:
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                break
            try:
                await asyncio.wait_for(state.changed.wait(), remaining)
            except TimeoutError:
                break
        if state.orphaned:
            raise NotFound(ABORTED_BY_CLOSE)
        return self.response(ms, state.update_id, state.stage, state.outcome)

    def response(
        self, ms: MutableState, update_id: str, stage: int, outcome: Outcome | None
    ) -> UpdateWorkflowExecutionResponse:
        response = UpdateWorkflowExecutionResponse(
            update_ref=UpdateRef(
                workflow_execution=WorkflowExecution(workflow_id=ms.workflow_id, run_id=ms.run_id),
                update_id=update_id,
            ),
            stage=stage,  # type: ignore[arg-type]
        )
        if outcome is not None:
            response.outcome.CopyFrom(outcome)
        return response

    def find(self, run_id: str, update_id: str) -> UpdateState | None:
        return self._runs.get(run_id, {}).get(update_id)

    async def recorded(self, ms: MutableState, update_id: str) -> UpdateState | None:
        """An accepted update known from mutable state (e.g. after a restart)."""
        ids = ms.updates.get(update_id)
        if ids is None:
            return None
        accepted_id, completed_id = ids
        events = await self.engine.read_history(ms.run_id, accepted_id, accepted_id + 1)
        request = events[0].workflow_execution_update_accepted_event_attributes.accepted_request
        state = UpdateState(update_id, request, ACCEPTED)
        if completed_id:
            done = await self.engine.read_history(ms.run_id, completed_id, completed_id + 1)
            state.stage = COMPLETED
            state.outcome = done[0].workflow_execution_update_completed_event_attributes.outcome
        elif ms.is_open:
            self._registry(ms.run_id)[update_id] = state
        else:
            state.stage, state.outcome = COMPLETED, _closed_before_completion()
        return state

    # ---- to and from workers ------------------------------------------------

    def messages_for(self, ms: MutableState, scheduled_event_id: int, attempt: int) -> list[Message]:
        """Requests to deliver with the workflow task starting now (again, if
        the task that carried them failed)."""
        messages = []
        for state in self._runs.get(ms.run_id, {}).values():
            if state.stage != ADMITTED or state.sent_with == (scheduled_event_id, attempt):
                continue
            state.sent_with = (scheduled_event_id, attempt)
            body = AnyProto()
            body.Pack(state.request)
            messages.append(
                Message(
                    id=f"{state.update_id}/request",
                    protocol_instance_id=state.update_id,
                    event_id=scheduled_event_id,
                    body=body,
                )
            )
        return messages

    def pending(self, run_id: str) -> list[UpdateState]:
        return list(self._runs.get(run_id, {}).values())

    def only_rejections(self, run_id: str, messages: list[Message]) -> bool:
        return bool(messages) and all(m.body.Is(Rejection.DESCRIPTOR) for m in messages)

    def apply_message(self, tx: Transaction, message: Message, completed_event_id: int) -> None:
        """Write what an acceptance or response means; outcomes are published
        after commit (see publish)."""
        ms = tx.ms
        state = self.find(ms.run_id, message.protocol_instance_id)
        body = message.body
        if body.Is(Acceptance.DESCRIPTOR):
            acceptance = Acceptance()
            body.Unpack(acceptance)
            event = tx.add(
                ET.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED,
                protocol_instance_id=message.protocol_instance_id,
                accepted_request_message_id=acceptance.accepted_request_message_id,
                accepted_request_sequencing_event_id=acceptance.accepted_request_sequencing_event_id,
                accepted_request=acceptance.accepted_request,
            )
            ms.updates[message.protocol_instance_id] = [event.event_id, 0]
            tx.update_outcomes.append((message.protocol_instance_id, ACCEPTED, None))
        elif body.Is(Response.DESCRIPTOR):
            response = Response()
            body.Unpack(response)
            ids = ms.updates.get(message.protocol_instance_id)
            if ids is None:
                return
            event = tx.add(
                ET.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED,
                meta=response.meta,
                accepted_event_id=ids[0],
                outcome=response.outcome,
            )
            ids[1] = event.event_id
            tx.update_outcomes.append((message.protocol_instance_id, COMPLETED, response.outcome))
        elif body.Is(Rejection.DESCRIPTOR) and state is not None:
            rejection = Rejection()
            body.Unpack(rejection)
            tx.update_outcomes.append(
                (message.protocol_instance_id, COMPLETED, Outcome(failure=rejection.failure))
            )

    def publish(self, ms: MutableState, outcomes: list[tuple[str, int, Outcome | None]]) -> None:
        """After commit: wake the callers waiting on these updates."""
        registry = self._runs.get(ms.run_id, {})
        for update_id, stage, outcome in outcomes:
            state = registry.get(update_id)
            if state is None:
                continue
            state.advance(stage, outcome)
            if stage == COMPLETED:
                del registry[update_id]

    def run_closed(self, ms: MutableState) -> None:
        """The run closed: pending updates can no longer complete."""
        for state in self._runs.pop(ms.run_id, {}).values():
            state.orphaned = state.stage == ADMITTED
            state.advance(COMPLETED, _closed_before_completion())

    def after_commit(self, tx: Transaction) -> None:
        if tx.update_outcomes:
            self.publish(tx.ms, tx.update_outcomes)
        if not tx.ms.is_open and tx.ms.run_id in self._runs:
            self.run_closed(tx.ms)


def _closed_before_completion() -> Outcome:
    return Outcome(
        failure=Failure(
            message=CLOSED_BEFORE_COMPLETION,
            application_failure_info=ApplicationFailureInfo(type="AcceptedUpdateCompletedWorkflow"),
        )
    )
