"""The resource service's gRPC server: on 127.0.0.1, in the supervisor's loop, open only to
callers that send the API key (Aspire's ``ApiKey`` mode) or the run's token."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import grpc

from scenario6.run.control.api import Run
from scenario6.run.control.guard import same

from .service import ResourceService, method_handler

KEY_HEADER = "x-resource-service-api-key"
# The dashboard pings idle streams every 20 s; grpcio's defaults would answer a few of those
# pings with GOAWAY (too_many_pings) and drop its watches.
OPTIONS = (
    ("grpc.http2.min_ping_interval_without_data_ms", 10000),
    ("grpc.http2.max_ping_strikes", 0),
    ("grpc.keepalive_permit_without_calls", 1),
)
HOST = "127.0.0.1"


class KeyCheck(grpc.aio.ServerInterceptor):  # type: ignore[misc]
    """Refuses every call whose ``x-resource-service-api-key`` is none of ``keys``."""

    def __init__(self, keys: tuple[str, ...]) -> None:
        self.keys = tuple(key for key in keys if key)

    async def intercept_service(
        self,
        continuation: Callable[[Any], Awaitable[Any]],
        details: grpc.HandlerCallDetails,
    ) -> Any:
        handler = await continuation(details)
        metadata = dict(details.invocation_metadata or ())
        given = metadata.get(KEY_HEADER, "")
        if handler is None or (given and any(same(given, key) for key in self.keys)):
            return handler
        return method_handler(
            _refuse,
            handler.request_streaming,
            handler.response_streaming,
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )


async def _refuse(request: Any, context: grpc.aio.ServicerContext) -> None:
    await context.abort(grpc.StatusCode.UNAUTHENTICATED, f"send the API key in {KEY_HEADER}")


class ResourceServer:
    """Serves ``run``'s resources to Aspire's dashboard on ``127.0.0.1:port`` (0: a free one).

    >>> ResourceServer.url(8000)
    'http://127.0.0.1:8000'
    """

    def __init__(
        self,
        run: Run,
        *,
        port: int,
        keys: tuple[str, ...],
    ) -> None:
        self.service = ResourceService(run)
        self.requested_port = port
        self.port = 0
        self.keys = keys
        self._server: grpc.aio.Server | None = None

    @staticmethod
    def url(port: int) -> str:
        return f"http://{HOST}:{port}"

    async def start(self) -> str:
        """Listen; returns the URL (h2c, as the dashboard expects for ``http://``)."""
        server = grpc.aio.server(options=OPTIONS, interceptors=[KeyCheck(self.keys)])
        server.add_generic_rpc_handlers((self.service.handler(),))
        self.port = server.add_insecure_port(f"{HOST}:{self.requested_port}")
        await server.start()
        self._server = server
        return self.url(self.port)

    async def stop(self) -> None:
        if self._server is not None:
            # Open watches end with the run's model; a second is enough for the rest.
            await self._server.stop(grace=1.0)
            self._server = None
