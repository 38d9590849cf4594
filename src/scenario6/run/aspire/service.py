"""The resource service's methods: what the Aspire dashboard calls, answered from the run's
resource model, its log books and its operator."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import grpc

from scenario6.apphost import ContainerResource
from scenario6.run.container import ContainerError
from scenario6.run.control.api import Run
from scenario6.run.logbook import LogLine
from scenario6.run.operations import OperationRefused

from .contract import METHODS, SERVICE, UNSERVED, enum, message
from .resources import COMMANDS, ResourceMessages

BATCH = 200  # log lines per update at most, backlog and follow alike
_HANDLERS = {
    (False, False): grpc.unary_unary_rpc_method_handler,
    (False, True): grpc.unary_stream_rpc_method_handler,
    (True, False): grpc.stream_unary_rpc_method_handler,
    (True, True): grpc.stream_stream_rpc_method_handler,
}


def method_handler(
    behaviour: Any, request_streaming: bool, response_streaming: bool, **serializers: Any
) -> grpc.RpcMethodHandler:
    """gRPC's handler of the right kind for ``behaviour``."""
    return _HANDLERS[(request_streaming, response_streaming)](behaviour, **serializers)


def _lines(lines: list[LogLine]) -> Any:
    update = message("WatchResourceConsoleLogsUpdate")()
    for line in lines:
        update.log_lines.add(text=line.text, line_number=line.seq)
    return update


class ResourceService:
    """``aspire.v1.DashboardService`` for ``run`` (see ``handler`` for gRPC's table)."""

    def __init__(self, run: Run) -> None:
        self.run = run
        # Rebuild applies to containers built from a Dockerfile here.
        built = frozenset(
            name
            for name, item in run.model.tracked.items()
            if isinstance(item.resource, ContainerResource) and item.resource.build is not None
        )
        self.messages = ResourceMessages(built)

    async def application(self, request: Any, context: grpc.aio.ServicerContext) -> Any:
        return message("ApplicationInformationResponse")(application_name=self.run.app_name)

    async def resources(
        self, request: Any, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[Any]:
        """Every resource, then each change as an upsert, until the run ends."""
        update = message("WatchResourcesUpdate")
        first = True
        async for _, views in self.run.model.watch():
            if first:
                data = message("InitialResourceData")(
                    resources=[self.messages.resource(view) for view in views],
                    resource_types=self.messages.types(views),
                )
                yield update(initial_data=data)
                first = False
                continue
            changes = message("WatchResourcesChanges")()
            for view in views:
                changes.value.add(upsert=self.messages.resource(view))
            yield update(changes=changes)

    async def console_logs(
        self, request: Any, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[Any]:
        """The lines kept in memory, then (unless ``suppress_follow``) each new one."""
        book = self.run.model.logs.get(request.resource_name)
        if book is None:
            await context.abort(grpc.StatusCode.NOT_FOUND, f"no resource {request.resource_name!r}")
            return
        backlog = book.tail()
        queue = None if request.suppress_follow else book.follow()
        try:
            for start in range(0, len(backlog), BATCH):
                yield _lines(backlog[start : start + BATCH])
            while queue is not None and (line := await queue.get()) is not None:
                batch = [line]
                while not queue.empty() and len(batch) < BATCH:
                    more = queue.get_nowait()
                    if more is None:
                        queue = None
                        break
                    batch.append(more)
                yield _lines(batch)
        finally:
            if queue is not None:
                book.unfollow(queue)

    async def command(self, request: Any, context: grpc.aio.ServicerContext) -> Any:
        """Runs the command; the new state reaches the dashboard through ``resources``."""
        reply = message("ResourceCommandResponse")
        failed = enum("ResourceCommandResponseKind", "FAILED")
        item = self.run.model.tracked.get(request.resource_name)
        if item is None:
            return reply(kind=failed, error_message=f"no resource {request.resource_name!r}")
        if request.command_name not in COMMANDS:
            return reply(kind=failed, error_message=f"unknown command {request.command_name!r}")
        try:
            await self.run.operator.run(item, COMMANDS[request.command_name])
        except (OperationRefused, ContainerError) as error:
            return reply(kind=failed, error_message=str(error))
        return reply(kind=enum("ResourceCommandResponseKind", "SUCCEEDED"))

    async def interactions(self, requests: Any, context: grpc.aio.ServicerContext) -> None:
        await context.abort(grpc.StatusCode.UNIMPLEMENTED, "this AppHost asks no questions")

    def handler(self) -> grpc.GenericRpcHandler:
        """gRPC's method table for the service."""
        behaviours = {
            "GetApplicationInformation": self.application,
            "WatchResources": self.resources,
            "WatchResourceConsoleLogs": self.console_logs,
            "ExecuteResourceCommand": self.command,
            "WatchInteractions": self.interactions,
        }
        table = {}
        for name, method in METHODS.items():
            streams = (method.client_streaming, method.server_streaming)
            if method.request in UNSERVED:  # refused before any message is read
                table[name] = method_handler(behaviours[name], *streams)
                continue
            table[name] = method_handler(
                behaviours[name],
                *streams,
                request_deserializer=message(method.request).FromString,
                response_serializer=message(method.response).SerializeToString,
            )
        return grpc.method_handlers_generic_handler(SERVICE, table)
