"""All server time goes through one clock, so time skipping can replace it."""

from __future__ import annotations

import time

from google.protobuf.duration_pb2 import Duration
from google.protobuf.timestamp_pb2 import Timestamp


class Clock:
    """Wall-clock time in float seconds since the epoch."""

    def now(self) -> float:
        return time.time()


def to_timestamp(seconds: float) -> Timestamp:
    ts = Timestamp()
    ts.FromNanoseconds(int(round(seconds * 1e9)))
    return ts


def to_duration(seconds: float) -> Duration:
    d = Duration()
    d.FromNanoseconds(int(round(seconds * 1e9)))
    return d


def duration_seconds(d: Duration) -> float:
    return d.seconds + d.nanos / 1e9


def timestamp_seconds(ts: Timestamp) -> float:
    return ts.seconds + ts.nanos / 1e9


class VirtualClock(Clock):
    """Test-server time: wall-clock time plus whatever was skipped. Skipping
    is allowed only while no lock is held (LockTimeSkipping counts locks;
    the test server starts locked, as the Java test server does)."""

    def __init__(self, locked: bool = True) -> None:
        self.offset = 0.0
        self.locks = 1 if locked else 0

    def now(self) -> float:
        return time.time() + self.offset

    def advance_to(self, when: float) -> None:
        now = self.now()
        if when > now:
            self.offset += when - now
