"""The OpenTelemetry observer: FastAPI instrumentation, a span per session, proxy metrics, logs.

Exporting never touches the event loop: spans are queued for a background thread (and
dropped when the queue is full), metrics are read by another thread. A collector that is
down or hangs therefore costs sessions nothing; shutdown waits for it only briefly.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Protocol

from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from opentelemetry.metrics import CallbackOptions, Observation
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import Span, Status, StatusCode

from scenario6 import __version__
from scenario6.facts.names import FRONTEND

from .logs import OtlpLogHandler
from .observer import Close, SessionTrace

if TYPE_CHECKING:
    from fastapi import FastAPI

log = logging.getLogger("scenario6.frontend.telemetry")
SCOPE = "scenario6.frontend"
# The project's loggers (not uvicorn's access log, nor the exporters' own complaints).
LOGGER = "scenario6"
DEFAULT_SERVICE = FRONTEND
# Time shutdown may spend flushing to a collector before giving up on it.
SHUTDOWN_WAIT_S = 2.0
SHUTDOWN_THREAD = "otel-shutdown"


class Exporter(Protocol):
    def shutdown(self) -> None: ...


class OtelObserver:
    """Owns its providers (nothing global), so several apps can live in one process."""

    def __init__(
        self,
        tracer_provider: TracerProvider,
        meter_provider: MeterProvider,
        queue: Callable[[], int],
        logger_provider: LoggerProvider | None = None,
        exporters: Sequence[Exporter] = (),
    ) -> None:
        self._exporters = tuple(exporters)
        self._tracer_provider = tracer_provider
        self._meter_provider = meter_provider
        self._logger_provider = logger_provider
        self._log_handler: logging.Handler | None = None
        if logger_provider is not None:
            self._log_handler = OtlpLogHandler(logger_provider)
            logging.getLogger(LOGGER).addHandler(self._log_handler)
        self.tracer = tracer_provider.get_tracer(SCOPE, __version__)
        meter = meter_provider.get_meter(SCOPE, __version__)
        self.active = meter.create_up_down_counter(
            "scenario6.sessions.active", unit="{session}", description="Sessions in progress."
        )
        self.duration = meter.create_histogram(
            "scenario6.session.duration", unit="s", description="Session length."
        )
        self.bytes = meter.create_counter(
            "scenario6.session.bytes", unit="By", description="Bytes relayed, by direction."
        )
        self.handshake_time = meter.create_histogram(
            "scenario6.backend.handshake.duration",
            unit="s",
            description="Time from opening a backend session to its handshake (prompt phase).",
        )

        def queue_length(_: CallbackOptions) -> Iterable[Observation]:
            yield Observation(queue())

        meter.create_observable_gauge(
            "scenario6.queue.length",
            callbacks=[queue_length],
            unit="{session}",
            description="Clients waiting for a free backend.",
        )

    @classmethod
    def install(
        cls, app: FastAPI, queue: Callable[[], int], env: Mapping[str, str]
    ) -> OtelObserver:
        """Exporters from the standard OTEL_* variables; instruments ``app``."""
        if env.get("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf") != "http/protobuf":
            log.warning("only OTLP over HTTP (http/protobuf) is supported; exporting with it")
        resource = Resource.create({SERVICE_NAME: env.get("OTEL_SERVICE_NAME", DEFAULT_SERVICE)})
        tracer_provider = TracerProvider(resource=resource, shutdown_on_exit=False)
        exporters: list[Exporter] = [OTLPSpanExporter(), OTLPMetricExporter()]
        tracer_provider.add_span_processor(BatchSpanProcessor(exporters[0]))  # type: ignore[arg-type]
        reader = PeriodicExportingMetricReader(exporters[1])  # type: ignore[arg-type]
        meter_provider = MeterProvider([reader], resource=resource, shutdown_on_exit=False)
        FastAPIInstrumentor.instrument_app(
            app,
            tracer_provider=tracer_provider,
            meter_provider=meter_provider,
            excluded_urls="/health",
            # A span per WebSocket message would be 25 spans a second per conversation.
            exclude_spans=["receive", "send"],
        )
        logger_provider = None
        if env.get("OTEL_LOGS_EXPORTER", "otlp").strip().lower() != "none":
            logger_provider = LoggerProvider(resource=resource, shutdown_on_exit=False)
            exporters.append(OTLPLogExporter())
            logger_provider.add_log_record_processor(BatchLogRecordProcessor(exporters[2]))  # type: ignore[arg-type]
        observer = cls(tracer_provider, meter_provider, queue, logger_provider, exporters)
        log.info("exporting telemetry to %s", env.get("OTEL_EXPORTER_OTLP_ENDPOINT"))
        return observer

    def session(self, session_id: int) -> SessionTrace:
        try:
            return _OtelTrace(self, session_id)
        except Exception:
            log.exception("telemetry: cannot start a session trace")
            from .observer import NoTrace

            return NoTrace()

    async def shutdown(self) -> None:
        """Flush and stop the exporters on a daemon thread; wait for it only briefly."""
        done = asyncio.Event()
        loop = asyncio.get_running_loop()
        if self._log_handler is not None:
            logging.getLogger(LOGGER).removeHandler(self._log_handler)
        providers = [self._tracer_provider, self._meter_provider, self._logger_provider]
        exporters = self._exporters

        def stop() -> None:
            # A provider's shutdown flushes through its exporter, which retries a hung
            # collector for the whole export timeout; stopping the exporters ends the retries.
            def give_up() -> None:
                for exporter in exporters:
                    with contextlib.suppress(Exception):
                        exporter.shutdown()

            timer = threading.Timer(SHUTDOWN_WAIT_S, give_up)
            timer.daemon = True
            timer.start()
            for provider in providers:
                with contextlib.suppress(Exception):
                    if provider is not None:
                        provider.shutdown()
            timer.cancel()
            # The loop may be gone by now: this thread outlives a hung collector's wait.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(done.set)

        threading.Thread(target=stop, name=SHUTDOWN_THREAD, daemon=True).start()
        try:
            await asyncio.wait_for(done.wait(), SHUTDOWN_WAIT_S)
        except asyncio.TimeoutError:  # the builtin TimeoutError from Python 3.11 on
            log.warning("telemetry: the collector did not take the last data in time")


def _guarded(method: Callable[..., None]) -> Callable[..., None]:
    """Telemetry must never end a session: log and carry on."""

    def call(*args: object) -> None:
        try:
            method(*args)
        except Exception:
            log.exception("telemetry: %s failed", method.__name__)

    call.__name__ = method.__name__
    return call


class _OtelTrace:
    def __init__(self, observer: OtelObserver, session_id: int) -> None:
        self._o = observer
        self._started = time.monotonic()
        self._opened: float | None = None
        self._kind = "unknown"
        self._ended = False
        self._span: Span = observer.tracer.start_span(
            "scenario6.session", attributes={"scenario6.session.id": session_id}
        )
        observer.active.add(1)

    @_guarded
    def queued(self, position: int) -> None:
        self._span.add_event("queued", {"scenario6.queue.position": position})

    @_guarded
    def backend(self, url: str, kind: str | None) -> None:
        self._opened = time.monotonic()
        self._kind = kind or "unknown"
        self._span.set_attributes(
            {"scenario6.backend.url": url, "scenario6.backend.kind": self._kind}
        )
        self._span.add_event("backend session opened")

    @_guarded
    def backend_error(self, url: str) -> None:
        self._span.add_event("backend failed", {"scenario6.backend.url": url})

    @_guarded
    def handshake(self) -> None:
        if self._opened is not None:
            elapsed = time.monotonic() - self._opened
            self._o.handshake_time.record(elapsed, {"scenario6.backend.kind": self._kind})
        self._span.add_event("handshake")

    @_guarded
    def first_audio(self) -> None:
        self._span.add_event("first audio")

    @_guarded
    def ended(self, close: Close | None, bytes_in: int, bytes_out: int) -> None:
        if self._ended:
            return
        self._ended = True
        code = close.code if close else None
        outcome = {"scenario6.close.code": code if code is not None else 0}
        self._o.active.add(-1)
        self._o.duration.record(time.monotonic() - self._started, outcome)
        self._o.bytes.add(bytes_in, {"scenario6.direction": "client_to_backend"})
        self._o.bytes.add(bytes_out, {"scenario6.direction": "backend_to_client"})
        self._span.set_attributes(
            {**outcome, "scenario6.bytes.in": bytes_in, "scenario6.bytes.out": bytes_out}
        )
        if close is not None:
            self._span.set_attribute("scenario6.close.reason", close.reason)
            if code is not None and code >= 4500:
                self._span.set_status(Status(StatusCode.ERROR, close.reason))
        self._span.end()
