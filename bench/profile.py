"""Profile a server with py-spy while a workload runs, and summarise the stacks.

`python -m bench --only activity --servers lite-mem --profile DIR` records
DIR/<server>-<workload>.txt in py-spy's collapsed ("raw") format, which
speedscope.app and flamegraph.pl open, and prints the top costs.
`python -m bench.profile FILE` summarises a recorded file again.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import shutil
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

from bench.servers import BenchError

_FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>[^()]*?)(?::(?P<line>\d+))?\)$")


@contextlib.asynccontextmanager
async def py_spy(pid: int, out: Path, rate: int = 250) -> AsyncIterator[None]:
    """Sample `pid` with py-spy for the duration of the block."""
    binary = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(binary).exists():
        raise BenchError("py-spy was not found (pip install py-spy)")
    out.parent.mkdir(parents=True, exist_ok=True)
    proc = subprocess.Popen(
        [binary, "record", "--pid", str(pid), "--rate", str(rate), "--format", "raw", "-o", str(out)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    await asyncio.sleep(0.5)  # let it attach
    try:
        yield
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = await asyncio.to_thread(proc.communicate, None, 30)
        if proc.returncode not in (0, -signal.SIGINT) and not out.exists():
            raise BenchError(f"py-spy failed: {err.decode(errors='replace').strip().splitlines()[-1:]}")


def _short(frame: str) -> str:
    """'handle (temporallite/history/engine.py:120)' -> 'history/engine.py:handle'."""
    m = _FRAME.match(frame.strip())
    if not m:
        return frame.strip()
    file = m["file"]
    for marker in ("site-packages/", "temporallite/", "lib/python3."):
        if marker in file:
            file = file.split(marker, 1)[1]
            if marker == "lib/python3.":
                file = file.split("/", 1)[-1]
            break
    return f"{file}:{m['func']}"


_COMPONENTS = (
    ("temporallite/", None),  # named by subpackage: temporallite/history, ...
    ("grpclib/", "grpclib (transport)"),
    ("h2/", "h2 + hpack (HTTP/2)"),
    ("hpack/", "h2 + hpack (HTTP/2)"),
    ("aiosqlite/", "aiosqlite (SQLite thread)"),
)


def _component(frames: list[str]) -> str:
    """Who is responsible for a sample: the innermost frame that belongs to
    temporallite or one of its libraries (stdlib and C calls count for their
    caller, e.g. socket writes for grpclib, sqlite3 for the store)."""
    for frame in reversed(frames):
        m = _FRAME.match(frame.strip())
        file = m["file"] if m else frame
        if file.endswith(("temporallite/cli.py", "temporallite/__main__.py")):
            continue  # the entry point: everything runs under it
        for key, name in _COMPONENTS:
            if file.startswith(key) or "/" + key in file:
                if name is None:
                    parts = file.split(key, 1)[1].split("/")
                    return "temporallite/" + (parts[0] if len(parts) > 1 else parts[0].removesuffix(".py"))
                return name
    return "asyncio event loop (other)"


def _idle(leaf: str) -> bool:
    """py-spy counts these waits as running: the event loop in epoll_wait, and
    aiosqlite's thread blocked on its queue (`tx.get()`, a C call)."""
    return "EpollSelector.select" in leaf or ("_connection_worker_thread" in leaf and "core.py:59)" in leaf)


def load(path: Path) -> list[tuple[list[str], int]]:
    stacks = []
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if stack and count.isdigit():
            stacks.append((stack.split(";"), int(count)))
    return stacks


def summarise(path: Path, top: int = 15) -> str:
    stacks = load(path)
    idle = sum(c for frames, c in stacks if _idle(frames[-1]))
    stacks = [(frames, c) for frames, c in stacks if not _idle(frames[-1])]
    total = sum(c for _, c in stacks) or 1
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    components: Counter[str] = Counter()
    for frames, count in stacks:
        own[_short(frames[-1])] += count
        components[_component(frames)] += count
        for name in {_short(f) for f in frames}:
            inclusive[name] += count
    lines = [f"{path}: {total} busy samples ({idle} idle ones left out: epoll_wait, aiosqlite queue wait)"]
    lines.append("  by component (innermost project or library frame):")
    lines += [f"    {100 * c / total:5.1f}%  {name}" for name, c in components.most_common()]
    lines.append("  top functions, self time:")
    lines += [f"    {100 * c / total:5.1f}%  {name}" for name, c in own.most_common(top)]
    lines.append("  top functions, inclusive time:")
    lines += [f"    {100 * c / total:5.1f}%  {name}" for name, c in inclusive.most_common(top * 2)]
    return "\n".join(lines)


if __name__ == "__main__":
    for arg in sys.argv[1:]:
        print(summarise(Path(arg)))
