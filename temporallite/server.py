"""Process assembly: storage, engine, matching, timers and the gRPC transport."""

from __future__ import annotations

import logging
from typing import Any

from grpclib.health.service import Health
from temporalio.api.operatorservice.v1 import service_pb2 as operator_pb2
from temporalio.api.workflowservice.v1 import service_pb2 as workflow_pb2

from temporallite.clock import Clock, VirtualClock
from temporallite.config import ServerConfig
from temporallite.frontend.operator_service import OperatorService
from temporallite.frontend.transport import DescriptorService, GrpcServer
from temporallite.frontend.workflow_service import WorkflowService
from temporallite.history.engine import HistoryEngine
from temporallite.history.transfer import TransferExecutor
from temporallite.matching.task_queues import Matching
from temporallite.namespaces import NamespaceRegistry
from temporallite.persistence.store import Store
from temporallite.visibility.search_attributes import register_search_attributes

log = logging.getLogger("temporallite")


class TemporalLiteServer:
    """One temporallite server. `start()` binds the port (OSError if taken);
    `stop()` answers long polls empty, flushes commits and closes the DB."""

    def __init__(self, config: ServerConfig) -> None:
        self.config = config
        self._grpc: GrpcServer | None = None
        self._store: Store | None = None
        self._engine: HistoryEngine | None = None
        self._matching: Matching | None = None

    @property
    def target(self) -> str:
        return self.config.target

    async def start(self) -> None:
        store = self._store = await Store.open(self.config.db_filename)
        try:
            namespaces = NamespaceRegistry(store)
            await namespaces.load(self.config.namespaces)
            await register_search_attributes(namespaces, self.config)
            matching = self._matching = Matching()
            clock = VirtualClock() if self.config.time_skipping else Clock()
            engine = self._engine = HistoryEngine(store, matching, clock, self.config.limits)
            workflow_service = WorkflowService(
                namespaces, engine, self.config.workflow_time_skipping, self.config.max_skips_per_session,
                self.config.activity_eager_execution,
            )
            TransferExecutor(engine, workflow_service.executions, namespaces)
            services: list[Any] = [
                DescriptorService(
                    workflow_pb2.DESCRIPTOR.services_by_name["WorkflowService"], workflow_service
                ),
                DescriptorService(
                    operator_pb2.DESCRIPTOR.services_by_name["OperatorService"],
                    OperatorService(namespaces),
                ),
                Health(),
            ]
            skipper = None
            if isinstance(clock, VirtualClock):
                # Test-server mode only: not imported on a dev server's start path.
                from temporalio.api.testservice.v1 import service_pb2 as test_pb2

                from temporallite.frontend.test_service import TestService
                from temporallite.history.time_skipping import TimeSkipper

                skipper = TimeSkipper(engine, clock)
                skipper.inflight += [engine.background_count, workflow_service.worker_tasks.queries.count]
                await skipper.restore_clock()
                services.append(
                    DescriptorService(
                        test_pb2.DESCRIPTOR.services_by_name["TestService"], TestService(skipper)
                    )
                )
            await engine.recover()
            if skipper is not None:
                skipper.recover(engine.open_states())
            self._grpc = GrpcServer(services)
            await self._grpc.start(self.config.ip, self.config.port)
        except BaseException:
            self._grpc = None
            await self.stop()
            raise

    async def wait_closed(self) -> None:
        if self._grpc is not None:
            await self._grpc.wait_closed()

    async def stop(self) -> None:
        if self._matching is not None:
            self._matching.close()
        if self._engine is not None:
            await self._engine.stop()
        if self._grpc is not None:
            self._grpc.close()
            await self._grpc.wait_closed()
            self._grpc = None
        await self._close_storage()

    async def _close_storage(self) -> None:
        if self._store is not None:
            await self._store.close()
            self._store = None
