"""TestService (test-server mode): lock/unlock time skipping, sleep in
virtual time, read the virtual clock."""

from __future__ import annotations

from google.protobuf.empty_pb2 import Empty
from temporalio.api.testservice.v1 import request_response_pb2 as tsv

from temporallite.clock import duration_seconds, timestamp_seconds, to_timestamp
from temporallite.history.time_skipping import TimeSkipper


class TestService:
    __test__ = False  # not a pytest test class

    def __init__(self, skipper: TimeSkipper) -> None:
        self.skipper = skipper

    async def lock_time_skipping(
        self, request: tsv.LockTimeSkippingRequest
    ) -> tsv.LockTimeSkippingResponse:
        self.skipper.lock()
        return tsv.LockTimeSkippingResponse()

    async def unlock_time_skipping(
        self, request: tsv.UnlockTimeSkippingRequest
    ) -> tsv.UnlockTimeSkippingResponse:
        self.skipper.unlock()
        return tsv.UnlockTimeSkippingResponse()

    async def sleep(self, request: tsv.SleepRequest) -> tsv.SleepResponse:
        await self.skipper.sleep_until(self.skipper.clock.now() + duration_seconds(request.duration))
        return tsv.SleepResponse()

    async def sleep_until(self, request: tsv.SleepUntilRequest) -> tsv.SleepResponse:
        await self.skipper.sleep_until(timestamp_seconds(request.timestamp))
        return tsv.SleepResponse()

    async def unlock_time_skipping_with_sleep(self, request: tsv.SleepRequest) -> tsv.SleepResponse:
        self.skipper.unlock()
        try:
            await self.skipper.sleep_until(
                self.skipper.clock.now() + duration_seconds(request.duration)
            )
        finally:
            self.skipper.lock()
        return tsv.SleepResponse()

    async def get_current_time(self, request: Empty) -> tsv.GetCurrentTimeResponse:
        return tsv.GetCurrentTimeResponse(time=to_timestamp(self.skipper.clock.now()))
