"""Domain errors, each carrying the gRPC status and the Temporal errordetails
the SDKs turn into their typed exceptions."""

from __future__ import annotations

from google.protobuf.message import Message
from grpclib.const import Status
from temporalio.api.errordetails.v1 import message_pb2 as errordetails
from temporalio.api.failure.v1 import Failure


class ServiceError(Exception):
    status = Status.INTERNAL

    def __init__(self, message: str, details: Message | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class InvalidArgument(ServiceError):
    status = Status.INVALID_ARGUMENT


class Unknown(ServiceError):
    """A failure the real server does not explain (see frontend/masking.py)."""

    status = Status.UNKNOWN


class Unimplemented(ServiceError):
    status = Status.UNIMPLEMENTED


class DeadlineExceeded(ServiceError):
    status = Status.DEADLINE_EXCEEDED


class WorkflowNotReady(ServiceError):
    status = Status.FAILED_PRECONDITION

    def __init__(self, message: str) -> None:
        super().__init__(message, errordetails.WorkflowNotReadyFailure())


class NotFound(ServiceError):
    status = Status.NOT_FOUND

    def __init__(self, message: str) -> None:
        super().__init__(message, errordetails.NotFoundFailure())


class NamespaceNotFound(ServiceError):
    status = Status.NOT_FOUND

    def __init__(self, namespace: str) -> None:
        super().__init__(
            f"Namespace {namespace} is not found.",
            errordetails.NamespaceNotFoundFailure(namespace=namespace),
        )


class NamespaceAlreadyExists(ServiceError):
    status = Status.ALREADY_EXISTS

    def __init__(self, namespace: str) -> None:
        super().__init__(
            f'Namespace "{namespace}" already exists', errordetails.NamespaceAlreadyExistsFailure()
        )


class WorkflowAlreadyStarted(ServiceError):
    status = Status.ALREADY_EXISTS

    def __init__(
        self, message: str, start_request_id: str, run_id: str, first_execution_run_id: str = ""
    ) -> None:
        super().__init__(
            message,
            errordetails.WorkflowExecutionAlreadyStartedFailure(
                start_request_id=start_request_id,
                run_id=run_id,
                first_execution_run_id=first_execution_run_id,
            ),
        )


class PermissionDenied(ServiceError):
    status = Status.PERMISSION_DENIED

    def __init__(self, message: str) -> None:
        super().__init__(message, errordetails.PermissionDeniedFailure())


class QueryFailed(ServiceError):
    status = Status.INVALID_ARGUMENT

    def __init__(self, message: str, failure: Failure | None = None) -> None:
        super().__init__(message, errordetails.QueryFailedFailure(failure=failure))


# The real server's messages for the common cases.
WORKFLOW_COMPLETED = "workflow execution already completed"
BAD_TASK_TOKEN = "Error deserializing task token."


def workflow_not_found(workflow_id: str, run_id: str = "") -> NotFound:
    if run_id:
        return NotFound(
            f'workflow execution not found for workflow ID "{workflow_id}" and run ID "{run_id}"'
        )
    return NotFound(f"workflow not found for ID: {workflow_id}")
