"""Cron parsing and next-activation math (pure logic)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from temporallite.history.cron import CronError, next_time, parse_cron


def ts(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


def iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, tz=UTC).strftime("%Y-%m-%d %H:%M:%S")


@pytest.mark.parametrize(
    "spec,after,expected",
    [
        ("* * * * *", "2026-01-01 10:00:00", "2026-01-01 10:01:00"),
        ("* * * * *", "2026-01-01 10:00:30", "2026-01-01 10:01:00"),
        ("*/15 * * * *", "2026-01-01 10:07:00", "2026-01-01 10:15:00"),
        ("0 12 * * *", "2026-01-01 12:00:00", "2026-01-02 12:00:00"),
        ("30 9 * * mon-fri", "2026-01-03 00:00:00", "2026-01-05 09:30:00"),  # Sat → Mon
        ("0 0 1 jan *", "2026-03-01 00:00:00", "2027-01-01 00:00:00"),
        ("0 0 13 * 5", "2026-01-01 00:00:00", "2026-01-02 00:00:00"),  # dom OR dow (Fri)
        ("@hourly", "2026-01-01 10:59:59", "2026-01-01 11:00:00"),
        ("@daily", "2026-12-31 23:00:00", "2027-01-01 00:00:00"),
        ("0 0 29 2 *", "2026-01-01 00:00:00", "2028-02-29 00:00:00"),
    ],
)
def test_next_time(spec: str, after: str, expected: str) -> None:
    assert iso(next_time(parse_cron(spec), ts(after))) == expected


def test_every() -> None:
    assert next_time(parse_cron("@every 2s"), 100.5) == 102.0
    assert next_time(parse_cron("@every 1h30m"), 0.0) == 5400.0


@pytest.mark.parametrize(
    "spec", ["not a cron", "* * * *", "60 * * * *", "* 24 * * *", "*/0 * * * *", "@every", "@every x"]
)
def test_invalid(spec: str) -> None:
    with pytest.raises(CronError):
        parse_cron(spec)
