"""The project's log records, forwarded to an OpenTelemetry logger provider (OTLP logs)."""

from __future__ import annotations

import logging

from opentelemetry._logs import SeverityNumber
from opentelemetry.sdk._logs import LoggerProvider

_SEVERITY = {
    logging.DEBUG: (SeverityNumber.DEBUG, "DEBUG"),
    logging.INFO: (SeverityNumber.INFO, "INFO"),
    logging.WARNING: (SeverityNumber.WARN, "WARN"),
    logging.ERROR: (SeverityNumber.ERROR, "ERROR"),
    logging.CRITICAL: (SeverityNumber.FATAL, "FATAL"),
}


class OtlpLogHandler(logging.Handler):
    """A ``logging`` handler that hands records to ``provider``; its batch processor exports
    them from a background thread, so logging never waits for the collector.

    >>> logging.getLogger("scenario6").addHandler(OtlpLogHandler(LoggerProvider()))
    """

    def __init__(self, provider: LoggerProvider) -> None:
        super().__init__()
        self._provider = provider

    def emit(self, record: logging.LogRecord) -> None:
        try:
            number, text = _SEVERITY.get(record.levelno, (SeverityNumber.UNSPECIFIED, ""))
            self._provider.get_logger(record.name).emit(
                timestamp=int(record.created * 1e9),
                severity_number=number,
                severity_text=text or record.levelname,
                body=record.getMessage(),
                attributes={
                    "code.function.name": record.funcName,
                    "code.file.path": record.pathname,
                    "code.line.number": record.lineno,
                },
                exception=record.exc_info[1] if record.exc_info else None,
            )
        except Exception:
            self.handleError(record)
