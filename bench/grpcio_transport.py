"""Bench-only prototype: temporallite's transport on grpcio's asyncio server.

A drop-in for `temporallite.frontend.transport` (same names: `DescriptorService`,
`GrpcServer`, `snake_case`, `MAX_RECEIVE_SIZE`) that serves the same service
objects through `grpc.aio.server()` instead of grpclib, so that the two can be
measured end to end (issue 7). Not shipped in the package; grpcio is not one of
its dependencies. `bench.grpcio_server` swaps it in and runs the usual CLI.

What it keeps from the grpclib transport:
- every RPC of a service descriptor gets a handler; those the implementation
  lacks (and streaming ones) answer UNIMPLEMENTED with the RPC's name;
- requests are decoded here (raw bytes from grpcio), so a malformed request
  is INVALID_ARGUMENT "Malformed request: ..." as before, not grpcio's INTERNAL;
- gzip-compressed requests: grpcio's core decompresses them itself;
- the 4 MiB receive limit on the decompressed message, RESOURCE_EXHAUSTED with
  grpc-go's wording (checked here; grpcio's own limit is set 4x higher);
- `ServiceError` → its gRPC status, with its Temporal `errordetails` packed in
  a `google.rpc.Status` in the `grpc-status-details-bin` trailer (what grpclib's
  `ProtoStatusDetailsCodec` sends), any other exception → INTERNAL;
- no per-connection stream limit (grpcio's core advertises none unless
  `grpc.max_concurrent_streams` is set).
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import grpc
from google.protobuf.any_pb2 import Any as AnyProto
from google.protobuf.descriptor import ServiceDescriptor
from google.protobuf.message import DecodeError, Message
from google.protobuf.message_factory import GetMessageClass
from google.rpc.status_pb2 import Status as RpcStatus
from grpclib.health.v1.health_pb2 import HealthCheckRequest, HealthCheckResponse

from temporallite.errors import ServiceError

log = logging.getLogger("temporallite.transport")

Unary = Callable[[Any], Awaitable[Message]]
MAX_RECEIVE_SIZE = 4 * 1024 * 1024
# grpcio's own limit is set above ours so that the check below answers with
# grpc-go's message (grpcio's core says only "Decompressed message larger than max").
CORE_RECEIVE_LIMIT = 4 * MAX_RECEIVE_SIZE
STATUS_DETAILS_KEY = "grpc-status-details-bin"
_CODES = {code.value[0]: code for code in grpc.StatusCode}
SERVER_OPTIONS = [
    ("grpc.max_receive_message_length", CORE_RECEIVE_LIMIT),
    ("grpc.max_send_message_length", -1),
    ("grpc.so_reuseport", 0),
]


def snake_case(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


async def _abort(
    context: grpc.aio.ServicerContext, status: int, message: str, details: Message | None = None
) -> None:
    code = _CODES.get(int(status), grpc.StatusCode.UNKNOWN)
    trailers: tuple[tuple[str, bytes], ...] = ()
    if details is not None:
        packed = AnyProto()
        packed.Pack(details)
        rpc_status = RpcStatus(code=int(status), message=message, details=[packed])
        trailers = ((STATUS_DETAILS_KEY, rpc_status.SerializeToString()),)
    await context.abort(code, message, trailers)


def _route(
    full_name: str, method: Unary | None, request_type: type[Message], rpc_name: str
) -> Callable[[bytes, grpc.aio.ServicerContext], Awaitable[Message | None]]:
    async def handle(body: bytes, context: grpc.aio.ServicerContext) -> Message | None:
        if len(body) > MAX_RECEIVE_SIZE:
            message = f"grpc: received message after decompression larger than max {MAX_RECEIVE_SIZE}"
            await _abort(context, grpc.StatusCode.RESOURCE_EXHAUSTED.value[0], message)
            return None
        try:
            request = request_type.FromString(body)
        except DecodeError as exc:
            await _abort(context, grpc.StatusCode.INVALID_ARGUMENT.value[0], f"Malformed request: {exc}")
            return None
        if method is None:
            message = f"{rpc_name} is not implemented by temporallite"
            await _abort(context, grpc.StatusCode.UNIMPLEMENTED.value[0], message)
            return None
        try:
            return await method(request)
        except ServiceError as exc:
            error = exc
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # never crash the server on one request
            log.exception("%s failed", full_name)
            await _abort(context, grpc.StatusCode.INTERNAL.value[0], f"{type(exc).__name__}: {exc}")
            return None
        await _abort(context, error.status.value, error.message, error.details)
        return None

    return handle


def _serialize(message: Message) -> bytes:
    return message.SerializeToString()


class DescriptorService:
    """A grpcio generic handler built from a service descriptor and an implementation."""

    def __init__(self, descriptor: ServiceDescriptor, implementation: object) -> None:
        handlers: dict[str, grpc.RpcMethodHandler] = {}
        for method in descriptor.methods:
            full_name = f"/{descriptor.full_name}/{method.name}"
            request_type = GetMessageClass(method.input_type)
            impl = getattr(implementation, snake_case(method.name), None)
            if method.server_streaming or method.client_streaming:
                impl = None
            handlers[method.name] = grpc.unary_unary_rpc_method_handler(
                _route(full_name, impl, request_type, method.name),
                request_deserializer=None,  # raw bytes: decoded in _route
                response_serializer=_serialize,
            )
        self.handler = grpc.method_handlers_generic_handler(descriptor.full_name, handlers)


class Health:
    """grpc.health.v1.Health/Check answering as grpclib's `Health()` does:
    SERVING for the overall service (""), NOT_FOUND for any other."""

    def __init__(self) -> None:
        async def check(
            request: HealthCheckRequest, context: grpc.aio.ServicerContext
        ) -> HealthCheckResponse:
            if request.service:
                await context.abort(grpc.StatusCode.NOT_FOUND, "")
            return HealthCheckResponse(status=HealthCheckResponse.SERVING)

        self.handler = grpc.method_handlers_generic_handler(
            "grpc.health.v1.Health",
            {
                "Check": grpc.unary_unary_rpc_method_handler(
                    check,
                    request_deserializer=HealthCheckRequest.FromString,
                    response_serializer=_serialize,
                )
            },
        )


class GrpcServer:
    """The grpclib `GrpcServer` interface (start / close / wait_closed) on
    `grpc.aio.server()`."""

    def __init__(self, services: Sequence[DescriptorService | Health]) -> None:
        self._server = grpc.aio.server(
            handlers=[s.handler for s in services], options=SERVER_OPTIONS
        )
        self._stopped: asyncio.Future[None] | None = None

    async def start(self, host: str, port: int) -> None:
        bound = self._server.add_insecure_port(f"{host}:{port}")
        if bound == 0:
            raise OSError(98, f"cannot bind {host}:{port}")  # EADDRINUSE, as the CLI reports it
        await self._server.start()

    def close(self) -> None:
        if self._stopped is None:
            # Like grpclib's close(): stop taking calls; calls in flight may finish.
            self._stopped = asyncio.ensure_future(self._server.stop(grace=5.0))

    async def wait_closed(self) -> None:
        if self._stopped is None:
            await self._server.wait_for_termination()
        else:
            await self._stopped
