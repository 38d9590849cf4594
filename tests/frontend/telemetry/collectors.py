"""OTLP/HTTP receivers on 127.0.0.1: one that records what it is sent, one that never answers."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span


def _value(any_value: AnyValue) -> object:
    kind = any_value.WhichOneof("value")
    return getattr(any_value, kind) if kind else None


@dataclass
class Received:
    spans: list[Span] = field(default_factory=list)
    services: set[str] = field(default_factory=set)
    metrics: set[str] = field(default_factory=set)
    logs: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def span(self, name: str) -> dict[str, object]:
        """Attributes of the first span called ``name``."""
        with self.lock:
            for span in self.spans:
                if span.name == name:
                    return {a.key: _value(a.value) for a in span.attributes}
        raise KeyError(f"no span {name!r} among {[s.name for s in self.spans]}")


@contextlib.contextmanager
def recording_collector() -> Iterator[tuple[str, Received]]:
    """A real OTLP/HTTP (protobuf) receiver; yields its endpoint and what it received."""
    received = Received()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            with received.lock:
                if self.path == "/v1/traces":
                    request = ExportTraceServiceRequest.FromString(body)
                    for resource_spans in request.resource_spans:
                        for attr in resource_spans.resource.attributes:
                            if attr.key == "service.name":
                                received.services.add(str(_value(attr.value)))
                        for scope in resource_spans.scope_spans:
                            received.spans.extend(scope.spans)
                elif self.path == "/v1/metrics":
                    metrics = ExportMetricsServiceRequest.FromString(body)
                    for resource_metrics in metrics.resource_metrics:
                        for scope in resource_metrics.scope_metrics:
                            received.metrics.update(m.name for m in scope.metrics)
                elif self.path == "/v1/logs":
                    logs = ExportLogsServiceRequest.FromString(body)
                    for resource_logs in logs.resource_logs:
                        for scope_logs in resource_logs.scope_logs:
                            received.logs.extend(
                                str(_value(r.body)) for r in scope_logs.log_records
                            )
            self.send_response(200)
            self.send_header("Content-Type", "application/x-protobuf")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *_: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", received
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@dataclass
class Hanging:
    connections: int = 0
    bytes_received: int = 0


@contextlib.contextmanager
def hanging_collector() -> Iterator[tuple[str, Hanging]]:
    """Accepts connections and reads requests, but never sends a byte back."""
    stats = Hanging()
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.1)
    stop = threading.Event()
    held: list[socket.socket] = []

    def serve() -> None:
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                conn, _ = listener.accept()
                conn.settimeout(0.1)
                held.append(conn)
                stats.connections += 1
            for conn in held:
                with contextlib.suppress(TimeoutError, OSError):
                    stats.bytes_received += len(conn.recv(65536))

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}", stats
    finally:
        stop.set()
        thread.join(5)
        for conn in held:
            conn.close()
        listener.close()
