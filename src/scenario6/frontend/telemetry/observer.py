"""What the session proxy reports, and the do-nothing observer used when telemetry is off.

Nothing here imports OpenTelemetry: the frontend runs without the ``telemetry`` extra.
Observers must never raise into a session nor block the event loop.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol


class Close(Protocol):
    """How a session ended, as the proxy's close codes tell it (``proxy.closes.Close``):
    declared here so that telemetry stays below the proxy that reports to it."""

    @property
    def code(self) -> int: ...

    @property
    def reason(self) -> str: ...


class SessionTrace(Protocol):
    """One session's milestones, reported by the proxy as they happen."""

    def queued(self, position: int) -> None: ...

    def backend(self, url: str, kind: str | None) -> None: ...

    def backend_error(self, url: str) -> None: ...

    def handshake(self) -> None: ...

    def first_audio(self) -> None:
        """The session's first audio reached its client (called once)."""

    def ended(self, close: Close | None, bytes_in: int, bytes_out: int) -> None: ...


class Observer(Protocol):
    """Watches the frontend: one trace per session, and a shutdown that may not block."""

    def session(self, session_id: int) -> SessionTrace: ...

    async def shutdown(self) -> None: ...


class NoTrace:
    def queued(self, position: int) -> None:
        pass

    def backend(self, url: str, kind: str | None) -> None:
        pass

    def backend_error(self, url: str) -> None:
        pass

    def handshake(self) -> None:
        pass

    def first_audio(self) -> None:
        pass

    def ended(self, close: Close | None, bytes_in: int, bytes_out: int) -> None:
        pass


class NoObserver:
    """The default: observes nothing, costs nothing."""

    def session(self, session_id: int) -> SessionTrace:
        return _NO_TRACE

    async def shutdown(self) -> None:
        pass


class Observers:
    """Several observers as one: OTLP export and Prometheus metrics may both be on."""

    def __init__(self, observers: Sequence[Observer]) -> None:
        self._observers = tuple(observers)

    def session(self, session_id: int) -> SessionTrace:
        return _Traces([o.session(session_id) for o in self._observers])

    async def shutdown(self) -> None:
        for observer in self._observers:
            await observer.shutdown()


class _Traces:
    def __init__(self, traces: Sequence[SessionTrace]) -> None:
        self._traces = traces

    def queued(self, position: int) -> None:
        for trace in self._traces:
            trace.queued(position)

    def backend(self, url: str, kind: str | None) -> None:
        for trace in self._traces:
            trace.backend(url, kind)

    def backend_error(self, url: str) -> None:
        for trace in self._traces:
            trace.backend_error(url)

    def handshake(self) -> None:
        for trace in self._traces:
            trace.handshake()

    def first_audio(self) -> None:
        for trace in self._traces:
            trace.first_audio()

    def ended(self, close: Close | None, bytes_in: int, bytes_out: int) -> None:
        for trace in self._traces:
            trace.ended(close, bytes_in, bytes_out)


_NO_TRACE = NoTrace()
NO_OBSERVER = NoObserver()
