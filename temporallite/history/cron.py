"""Cron schedules as the real server reads them: five standard fields
(minute hour day-of-month month day-of-week) with lists, ranges, steps and
names, or a descriptor (@hourly, @daily, @every 1h30m …). Pure functions."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

DESCRIPTORS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
DAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]
# (low, high, names)
FIELDS = [(0, 59, None), (0, 23, None), (1, 31, None), (1, 12, MONTHS), (0, 6, DAYS)]
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)")
_UNIT_SECONDS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600}


class CronError(ValueError):
    pass


@dataclass(frozen=True)
class CronSchedule:
    minutes: frozenset[int] = frozenset()
    hours: frozenset[int] = frozenset()
    days_of_month: frozenset[int] = frozenset()
    months: frozenset[int] = frozenset()
    days_of_week: frozenset[int] = frozenset()
    dom_star: bool = False
    dow_star: bool = False
    every: float = 0.0  # seconds, for @every


def parse_go_duration(text: str) -> float:
    pos, total = 0, 0.0
    if not text:
        raise CronError("empty duration")
    for match in _DURATION_PART.finditer(text):
        if match.start() != pos:
            raise CronError(f"invalid duration {text!r}")
        total += float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
        pos = match.end()
    if pos != len(text):
        raise CronError(f"invalid duration {text!r}")
    return total


def parse_cron(spec: str) -> CronSchedule:
    spec = spec.strip()
    if spec.startswith(("CRON_TZ=", "TZ=")):
        _, _, spec = spec.partition(" ")
    if spec.startswith("@every "):
        seconds = parse_go_duration(spec[len("@every "):].strip())
        if seconds <= 0:
            raise CronError("@every needs a positive duration")
        return CronSchedule(every=seconds)
    spec = DESCRIPTORS.get(spec, spec)
    parts = spec.split()
    if len(parts) != 5:
        raise CronError(f"expected 5 fields, found {len(parts)}: {spec!r}")
    sets = [_parse_field(p, *FIELDS[i]) for i, p in enumerate(parts)]
    dow = frozenset(7 % 7 if d == 7 else d for d in sets[4])
    return CronSchedule(
        minutes=sets[0],
        hours=sets[1],
        days_of_month=sets[2],
        months=sets[3],
        days_of_week=dow,
        dom_star=parts[2] in ("*", "?"),
        dow_star=parts[4] in ("*", "?"),
    )


def _value(text: str, names: list[str] | None) -> int:
    if names and text.lower() in names:
        return names.index(text.lower()) + (1 if names is MONTHS else 0)
    if not text.isdigit():
        raise CronError(f"invalid value {text!r}")
    return int(text)


def _parse_field(field: str, low: int, high: int, names: list[str] | None) -> frozenset[int]:
    values: set[int] = set()
    for part in field.split(","):
        rng, _, step_text = part.partition("/")
        step = 1
        if step_text:
            if not step_text.isdigit() or int(step_text) == 0:
                raise CronError(f"invalid step {part!r}")
            step = int(step_text)
        if rng in ("*", "?"):
            start, end = low, high
        elif "-" in rng:
            a, _, b = rng.partition("-")
            start, end = _value(a, names), _value(b, names)
        else:
            start = _value(rng, names)
            end = high if step_text else start
        top = 7 if names is DAYS else high
        if start < low or end > top or start > end:
            raise CronError(f"value out of range in {part!r}")
        values.update(range(start, end + 1, step))
    return frozenset(values)


def next_time(schedule: CronSchedule, after: float) -> float:
    """The first activation strictly after `after` (epoch seconds, UTC)."""
    if schedule.every:
        return math.floor(after) + max(1.0, math.floor(schedule.every))
    t = datetime.fromtimestamp(math.floor(after) + 1, tz=UTC)
    if t.second:
        t = t.replace(second=0) + timedelta(minutes=1)
    limit = t + timedelta(days=366 * 5)
    while t < limit:
        if t.month not in schedule.months:
            year, month = (t.year + 1, 1) if t.month == 12 else (t.year, t.month + 1)
            t = t.replace(year=year, month=month, day=1, hour=0, minute=0)
        elif not _day_matches(schedule, t):
            t = t.replace(hour=0, minute=0) + timedelta(days=1)
        elif t.hour not in schedule.hours:
            t = t.replace(minute=0) + timedelta(hours=1)
        elif t.minute not in schedule.minutes:
            t += timedelta(minutes=1)
        else:
            return t.timestamp()
    raise CronError("schedule never fires")


def _day_matches(schedule: CronSchedule, t: datetime) -> bool:
    dom = t.day in schedule.days_of_month
    dow = (t.isoweekday() % 7) in schedule.days_of_week
    if schedule.dom_star or schedule.dow_star:
        return dom and dow
    return dom or dow
