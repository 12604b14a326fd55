"""gRPC transport on grpclib, built from the protobuf service descriptors.

Every RPC of a service gets a route. Methods the service object implements
(snake_case name, ``async def rpc(request) -> response``) are called; the
others answer UNIMPLEMENTED with the RPC's name. Requests are read by our own
reader because the SDKs gzip-compress them and grpclib's reader refuses
compressed frames.
"""

from __future__ import annotations

import asyncio
import gzip
import logging
import re
import struct
from asyncio import BaseTransport
from collections.abc import Awaitable, Callable
from typing import Any

from google.protobuf.descriptor import ServiceDescriptor
from google.protobuf.message import DecodeError, Message
from google.protobuf.message_factory import GetMessageClass
from grpclib.const import Cardinality, Handler, Status
from grpclib.exceptions import GRPCError
from grpclib.protocol import H2Protocol
from grpclib.protocol import Stream as H2Stream
from grpclib.server import Handler as StreamHandler
from grpclib.server import Server, Stream
from h2.settings import SettingCodes

from temporallite.errors import ServiceError

log = logging.getLogger("temporallite.transport")

Unary = Callable[[Any], Awaitable[Message]]
# The real server's gRPC receive limit (grpc-go's default).
MAX_RECEIVE_SIZE = 4 * 1024 * 1024


def snake_case(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


async def read_request(stream: Stream, request_type: type[Message]) -> Message:
    raw = stream._stream  # the HTTP/2 stream under grpclib's gRPC stream
    header = await raw.recv_data(5)
    if not header:
        raise GRPCError(Status.INVALID_ARGUMENT, "Missing request message")
    compressed, length = struct.unpack(">?I", header)
    body = await raw.recv_data(length) if length else b""
    if compressed:
        try:
            body = gzip.decompress(body)
        except (OSError, EOFError) as exc:
            raise GRPCError(Status.INTERNAL, f"Cannot decompress request: {exc}") from exc
    if len(body) > MAX_RECEIVE_SIZE:
        raise GRPCError(
            Status.RESOURCE_EXHAUSTED,
            f"grpc: received message after decompression larger than max {MAX_RECEIVE_SIZE}",
        )
    try:
        return request_type.FromString(body)
    except DecodeError as exc:
        raise GRPCError(Status.INVALID_ARGUMENT, f"Malformed request: {exc}") from exc


def _route(
    full_name: str, method: Unary | None, request_type: type[Message], rpc_name: str
) -> Callable[[Stream], Awaitable[None]]:
    async def handle(stream: Stream) -> None:
        request = await read_request(stream, request_type)
        if method is None:
            raise GRPCError(Status.UNIMPLEMENTED, f"{rpc_name} is not implemented by temporallite")
        try:
            response = await method(request)
        except ServiceError as exc:
            details = [exc.details] if exc.details is not None else None
            raise GRPCError(exc.status, exc.message, details) from None
        except GRPCError:
            raise
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # never crash the server on one request
            log.exception("%s failed", full_name)
            raise GRPCError(Status.INTERNAL, f"{type(exc).__name__}: {exc}") from exc
        await stream.send_message(response)

    return handle


class DescriptorService:
    """A grpclib servable built from a service descriptor and an implementation."""

    def __init__(self, descriptor: ServiceDescriptor, implementation: object) -> None:
        self._routes: dict[str, Handler] = {}
        for method in descriptor.methods:
            full_name = f"/{descriptor.full_name}/{method.name}"
            request_type = GetMessageClass(method.input_type)
            reply_type = GetMessageClass(method.output_type)
            impl = getattr(implementation, snake_case(method.name), None)
            cardinality = Cardinality.UNARY_UNARY
            if method.server_streaming or method.client_streaming:
                cardinality = Cardinality.STREAM_STREAM
                impl = None
            self._routes[full_name] = Handler(
                _route(full_name, impl, request_type, method.name),
                cardinality,
                request_type,
                reply_type,
            )

    def __mapping__(self) -> dict[str, Handler]:
        return self._routes


# h2's default advertises 100 concurrent streams per connection; every waiting
# long poll (a workflow result, a task poll) holds one, so an SDK client
# sharing a connection with its worker stalls past 100. grpc-go (the real
# server) does not limit them.
MAX_CONCURRENT_STREAMS = 2**31 - 1


class _CoalescingTransport:
    """Collects the writes of one event-loop turn into one `send`: grpclib
    writes a response's headers, message and trailers separately, and on
    loopback each write costs a syscall and a wake-up of the peer."""

    def __init__(self, transport: Any) -> None:
        self._transport = transport
        self._pending: list[bytes] = []
        self._scheduled = False
        self._loop = asyncio.get_event_loop()

    def write(self, data: bytes) -> None:
        if not data:
            return
        self._pending.append(data)
        if not self._scheduled:
            self._scheduled = True
            self._loop.call_soon(self._flush)

    def _flush(self) -> None:
        self._scheduled = False
        if self._pending:
            data = b"".join(self._pending)
            self._pending.clear()
            if not self._transport.is_closing():
                self._transport.write(data)

    def close(self) -> None:
        self._flush()
        self._transport.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class _ServerProtocol(H2Protocol):
    def connection_made(self, transport: BaseTransport) -> None:
        super().connection_made(_CoalescingTransport(transport))  # type: ignore[arg-type]
        connection = self.connection._connection
        connection.update_settings({SettingCodes.MAX_CONCURRENT_STREAMS: MAX_CONCURRENT_STREAMS})
        self.connection.flush()


class _StreamHandler(StreamHandler):
    """grpclib's per-connection handler, forgetting each request task as it
    ends: grpclib drops finished (and cancelled) tasks only every tenth new
    stream on the connection, so a thousand cancelled long polls stayed
    referenced, coroutine and all, until more traffic came."""

    def accept(self, stream: H2Stream, headers: Any, release_stream: Callable[[], Any]) -> None:
        super().accept(stream, headers, release_stream)
        task = self._tasks[stream]
        task.add_done_callback(lambda done: self._forget(stream, done))

    def _forget(self, stream: H2Stream, task: asyncio.Task[None]) -> None:
        if self._tasks.get(stream) is task:
            del self._tasks[stream]
        self._cancelled.discard(task)


class GrpcServer(Server):
    """grpclib's server without the per-connection stream limit."""

    # Closed connections' handlers are dropped on the next new connection
    # (grpclib: every tenth).
    __gc_interval__ = 1

    def _protocol_factory(self) -> H2Protocol:
        self.__gc_step__()
        handler = _StreamHandler(
            self._mapping, self._codec, self._status_details_codec, self.__dispatch__
        )
        self._handlers.add(handler)
        return _ServerProtocol(handler, self._config, self._h2_config)
