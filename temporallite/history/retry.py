"""Retry math shared by activities and workflows (pure functions)."""

from __future__ import annotations

from temporalio.api.common.v1 import RetryPolicy as RetryPolicyProto
from temporalio.api.enums.v1 import RetryState
from temporalio.api.failure.v1 import Failure

from temporallite.clock import duration_seconds, to_duration
from temporallite.history.mutable_state import RetryPolicy

DEFAULT_INITIAL_INTERVAL = 1.0
DEFAULT_BACKOFF = 2.0
MAX_INTERVAL_FACTOR = 100


def from_proto(policy: RetryPolicyProto) -> RetryPolicy:
    initial = duration_seconds(policy.initial_interval) or DEFAULT_INITIAL_INTERVAL
    return RetryPolicy(
        initial_interval=initial,
        backoff_coefficient=policy.backoff_coefficient or DEFAULT_BACKOFF,
        maximum_interval=duration_seconds(policy.maximum_interval)
        or initial * MAX_INTERVAL_FACTOR,
        maximum_attempts=policy.maximum_attempts,
        non_retryable_error_types=list(policy.non_retryable_error_types),
    )


def to_proto(policy: RetryPolicy) -> RetryPolicyProto:
    return RetryPolicyProto(
        initial_interval=to_duration(policy.initial_interval),
        backoff_coefficient=policy.backoff_coefficient,
        maximum_interval=to_duration(policy.maximum_interval),
        maximum_attempts=policy.maximum_attempts,
        non_retryable_error_types=policy.non_retryable_error_types,
    )


def backoff_interval(policy: RetryPolicy, attempt: int) -> float:
    """Delay before attempt `attempt + 1`, after attempt `attempt` failed."""
    interval = policy.initial_interval * policy.backoff_coefficient ** (attempt - 1)
    cap = policy.maximum_interval or policy.initial_interval * MAX_INTERVAL_FACTOR
    return min(interval, cap)


def is_non_retryable(policy: RetryPolicy, failure: Failure | None) -> bool:
    if failure is None:
        return False
    if failure.HasField("application_failure_info"):
        info = failure.application_failure_info
        if info.non_retryable:
            return True
        return info.type in policy.non_retryable_error_types
    if failure.HasField("timeout_failure_info"):
        name = "TemporalTimeout:" + _timeout_name(failure.timeout_failure_info.timeout_type)
        return name in policy.non_retryable_error_types
    return False


def next_retry(
    policy: RetryPolicy | None,
    attempt: int,
    failure: Failure | None,
    now: float,
    expiration_time: float,
) -> tuple[int, float]:
    """(retry state, delay): IN_PROGRESS with a delay when another attempt runs."""
    if policy is None:
        return RetryState.RETRY_STATE_RETRY_POLICY_NOT_SET, 0.0
    if is_non_retryable(policy, failure):
        return RetryState.RETRY_STATE_NON_RETRYABLE_FAILURE, 0.0
    if policy.maximum_attempts and attempt >= policy.maximum_attempts:
        return RetryState.RETRY_STATE_MAXIMUM_ATTEMPTS_REACHED, 0.0
    delay = backoff_interval(policy, attempt)
    if expiration_time and now + delay >= expiration_time:
        return RetryState.RETRY_STATE_TIMEOUT, 0.0
    return RetryState.RETRY_STATE_IN_PROGRESS, delay


def _timeout_name(timeout_type: int) -> str:
    return {1: "StartToClose", 2: "ScheduleToStart", 3: "ScheduleToClose", 4: "Heartbeat"}.get(
        timeout_type, "Unspecified"
    )
