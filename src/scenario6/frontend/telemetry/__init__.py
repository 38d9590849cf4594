"""Traces and metrics of the frontend, exported over OTLP only when asked for.

``observe(app, queue_length)`` returns an observer: the OpenTelemetry one when
``OTEL_EXPORTER_OTLP_ENDPOINT`` is set (and the ``telemetry`` extra is installed), else one
that does nothing; joined by the Prometheus metrics when they are on (``METRICS_PORT``).
The session proxy reports to it through ``session_trace``.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from .observer import NO_OBSERVER, Observer, Observers, SessionTrace

if TYPE_CHECKING:
    from fastapi import FastAPI
    from starlette.websockets import WebSocket

__all__ = ["NO_OBSERVER", "Observer", "SessionTrace", "observe", "session_trace"]
ENDPOINT = "OTEL_EXPORTER_OTLP_ENDPOINT"
log = logging.getLogger("scenario6.frontend.telemetry")


def observe(
    app: FastAPI,
    queue_length: Callable[[], int],
    env: Mapping[str, str] | None = None,
    metrics: Observer | None = None,
) -> Observer:
    """Instrument ``app`` and return the observer for its sessions (no-op without an endpoint);
    ``queue_length`` tells how many clients wait for a backend; ``metrics``, when given, is
    told everything too."""
    otlp = _otlp(app, queue_length, os.environ if env is None else env)
    if metrics is None:
        return otlp
    return metrics if otlp is NO_OBSERVER else Observers([otlp, metrics])


def _otlp(app: FastAPI, queue_length: Callable[[], int], env: Mapping[str, str]) -> Observer:
    if not env.get(ENDPOINT, "").strip() or env.get("OTEL_SDK_DISABLED", "").lower() == "true":
        return NO_OBSERVER
    try:
        from .otel import OtelObserver
    except ImportError as exc:
        log.warning(
            "%s is set but OpenTelemetry is not installed (%s): no telemetry. "
            "Install the extra: pip install 'scenario6[telemetry]'",
            ENDPOINT,
            exc.name,
        )
        return NO_OBSERVER
    return OtelObserver.install(app, queue_length, env)


def session_trace(websocket: WebSocket, session_id: int) -> SessionTrace:
    """The trace for one session, from the observer ``create_app`` put on the app."""
    observer: Observer = getattr(websocket.app.state, "observer", NO_OBSERVER)
    return observer.session(session_id)
