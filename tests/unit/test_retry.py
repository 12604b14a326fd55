"""Retry math (pure logic): backoff, caps, attempts, non-retryable failures."""

from __future__ import annotations

from google.protobuf.duration_pb2 import Duration
from temporalio.api.common.v1 import RetryPolicy as RetryPolicyProto
from temporalio.api.enums.v1 import RetryState, TimeoutType
from temporalio.api.failure.v1 import ApplicationFailureInfo, Failure, TimeoutFailureInfo

from temporallite.history.mutable_state import RetryPolicy
from temporallite.history.retry import backoff_interval, from_proto, next_retry

IN_PROGRESS = RetryState.RETRY_STATE_IN_PROGRESS


def app_failure(error_type: str = "", non_retryable: bool = False) -> Failure:
    return Failure(
        message="x",
        application_failure_info=ApplicationFailureInfo(type=error_type, non_retryable=non_retryable),
    )


def test_defaults_from_empty_proto() -> None:
    policy = from_proto(RetryPolicyProto())
    assert (policy.initial_interval, policy.backoff_coefficient, policy.maximum_interval) == (
        1.0, 2.0, 100.0,
    )
    assert policy.maximum_attempts == 0


def test_maximum_interval_defaults_to_100_times_initial() -> None:
    policy = from_proto(RetryPolicyProto(initial_interval=Duration(nanos=100_000_000)))
    assert policy.maximum_interval == 10.0


def test_exponential_backoff_capped() -> None:
    policy = RetryPolicy(initial_interval=1.0, backoff_coefficient=2.0, maximum_interval=5.0)
    assert [backoff_interval(policy, a) for a in range(1, 6)] == [1.0, 2.0, 4.0, 5.0, 5.0]


def test_maximum_attempts_reached() -> None:
    policy = RetryPolicy(maximum_attempts=3)
    assert next_retry(policy, 2, app_failure(), 0.0, 0.0)[0] == IN_PROGRESS
    assert next_retry(policy, 3, app_failure(), 0.0, 0.0) == (
        RetryState.RETRY_STATE_MAXIMUM_ATTEMPTS_REACHED, 0.0,
    )


def test_non_retryable_by_type_and_flag() -> None:
    policy = RetryPolicy(non_retryable_error_types=["Bad"])
    assert next_retry(policy, 1, app_failure("Bad"), 0.0, 0.0)[0] == (
        RetryState.RETRY_STATE_NON_RETRYABLE_FAILURE
    )
    assert next_retry(policy, 1, app_failure("Other", non_retryable=True), 0.0, 0.0)[0] == (
        RetryState.RETRY_STATE_NON_RETRYABLE_FAILURE
    )
    assert next_retry(policy, 1, app_failure("Other"), 0.0, 0.0)[0] == IN_PROGRESS


def test_timeout_types_can_be_non_retryable() -> None:
    policy = RetryPolicy(non_retryable_error_types=["TemporalTimeout:StartToClose"])
    failure = Failure(
        timeout_failure_info=TimeoutFailureInfo(timeout_type=TimeoutType.TIMEOUT_TYPE_START_TO_CLOSE)
    )
    assert next_retry(policy, 1, failure, 0.0, 0.0)[0] == RetryState.RETRY_STATE_NON_RETRYABLE_FAILURE


def test_expiration_stops_retries() -> None:
    policy = RetryPolicy(initial_interval=10.0)
    assert next_retry(policy, 1, app_failure(), 100.0, 105.0) == (RetryState.RETRY_STATE_TIMEOUT, 0.0)
    assert next_retry(policy, 1, app_failure(), 100.0, 200.0) == (IN_PROGRESS, 10.0)


def test_no_policy() -> None:
    assert next_retry(None, 1, app_failure(), 0.0, 0.0)[0] == RetryState.RETRY_STATE_RETRY_POLICY_NOT_SET
