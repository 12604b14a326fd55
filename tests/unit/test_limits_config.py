"""Per-execution limits: dynamic config keys, the suggest-continue-as-new rule."""

from __future__ import annotations

import pytest
from temporalio.api.enums.v1 import SuggestContinueAsNewReason as Reason

from temporallite.cli import _apply_dynamic_config
from temporallite.config import LIMIT_KEYS, ExecutionLimits, ServerConfig
from temporallite.history import limits
from temporallite.history.mutable_state import MutableState


def _ms(next_event_id: int, size: int = 0) -> MutableState:
    ms = MutableState("ns", "default", "wf", "run", "run", "T", "tq", 0.0, 0.0, "req", 10.0)
    ms.next_event_id = next_event_id
    ms.history_size_bytes = size
    return ms


def test_every_limit_key_is_settable_from_the_cli() -> None:
    config = ServerConfig()
    values = tuple(f"{key}={index + 1}" for index, key in enumerate(LIMIT_KEYS))
    _apply_dynamic_config(config, values)
    for index, field in enumerate(LIMIT_KEYS.values()):
        assert getattr(config.limits, field) == index + 1


def test_a_limit_needs_a_number() -> None:
    with pytest.raises(SystemExit):
        _apply_dynamic_config(ServerConfig(), ("limit.historyCount.error=many",))


def test_defaults_are_the_real_servers() -> None:
    d = ExecutionLimits()
    assert (d.history_count_error, d.history_count_warn, d.history_count_suggest_continue_as_new) == (
        51200,
        10240,
        4096,
    )
    assert (
        d.history_size_error == 50 * 1024 * 1024 and d.history_size_suggest_continue_as_new == 4 * 1024 * 1024
    )
    assert d.max_signals_per_execution == 10000 and d.pending_activities == 2000


def test_suggest_counts_the_started_event_itself() -> None:
    small = ExecutionLimits(history_count_suggest_continue_as_new=7, history_size_suggest_continue_as_new=100)
    assert limits.suggest_continue_as_new(_ms(6), small) == []
    assert limits.suggest_continue_as_new(_ms(7), small) == [
        Reason.SUGGEST_CONTINUE_AS_NEW_REASON_TOO_MANY_HISTORY_EVENTS
    ]
    assert limits.suggest_continue_as_new(_ms(7, 100), small) == [
        Reason.SUGGEST_CONTINUE_AS_NEW_REASON_HISTORY_SIZE_TOO_LARGE,
        Reason.SUGGEST_CONTINUE_AS_NEW_REASON_TOO_MANY_HISTORY_EVENTS,
    ]


def test_history_count_error_is_strictly_past_the_limit() -> None:
    small = ExecutionLimits(history_count_error=15)
    assert limits.history_limit_exceeded(_ms(16), small) is None  # 15 events
    assert limits.history_limit_exceeded(_ms(17), small) == limits.HISTORY_COUNT_EXCEEDED
    closed = _ms(17)
    closed.status = 2  # completed in this transition: not checked
    assert limits.history_limit_exceeded(closed, small) is None
