"""The loopback backend's command line: ``python -m scenario6.backend.loopback_main``.

``scenario6 backend loopback`` uses the same options. The backend image runs this module
directly, so it needs only the ``protocol`` and ``backend`` packages and no CLI.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import ssl
import sys
from collections.abc import Sequence

from scenario6.facts.names import BACKEND_PORT, METRICS_ENV
from scenario6.facts.slots import SLOTS_OPTION
from scenario6.protocol.limits import (
    MAX_BACKLOG_S,
    MAX_HEADER_FIELD_BYTES,
    MAX_REQUEST_LINE_BYTES,
)
from scenario6.protocol.messages import CHAT_PATH

from .options import add_drain_timeout


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="interface (default 127.0.0.1)")
    parser.add_argument(
        "--port", type=int, default=BACKEND_PORT, help=f"port (default {BACKEND_PORT})"
    )
    parser.add_argument("--delay-ms", type=int, default=200, help="echo delay (default 200)")
    parser.add_argument(
        "--prompt-ms", type=int, default=1500, help="simulated prompt phase (default 1500)"
    )
    parser.add_argument(
        "--text-interval-ms", type=int, default=1000, help="time between text words"
    )
    parser.add_argument(
        "--concurrent",
        action="store_true",
        help="serve several sessions at once (upstream serves one; for benchmarks)",
    )
    parser.add_argument(
        SLOTS_OPTION,
        type=_positive,
        metavar="N",
        help="hold N sessions at once, each with its own prompts, and advertise N to the "
        "proxy as a batched backend does; more connections wait",
    )
    parser.add_argument(
        "--no-transcode",
        dest="transcode",
        action="store_false",
        help="echo audio messages untouched instead of decoding and encoding them (benchmarks)",
    )
    parser.add_argument(
        "--max-backlog-s",
        type=float,
        default=MAX_BACKLOG_S,
        help="close a conversation with more audio than this waiting to be echoed "
        f"(default {MAX_BACKLOG_S:g})",
    )
    parser.add_argument(
        "--metrics-port",
        type=int,
        default=None,
        help=f"serve Prometheus metrics on this port (default: {METRICS_ENV}, else off)",
    )
    add_drain_timeout(parser)
    parser.add_argument("--ssl-certfile", help="serve wss with this PEM certificate")
    parser.add_argument("--ssl-keyfile", help="the certificate's PEM private key")


def serve(args: argparse.Namespace) -> int:
    try:
        from . import drain
        from .loopback import LoopbackBackend, LoopbackSettings
        from .metrics import metrics_port
    except ImportError as exc:
        print(
            f"the loopback backend needs the 'loopback' extra ({exc.name} is missing): "
            "python3 setup_scenario6.py installs it, or pip install -c requirements.lock "
            "-e '.[loopback]'",
            file=sys.stderr,
        )
        return 2

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("aiohttp.access").addFilter(_quiet_probes)
    context = None
    if args.ssl_certfile:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(args.ssl_certfile, args.ssl_keyfile)
    settings = LoopbackSettings(
        prompt_ms=args.prompt_ms,
        delay_ms=args.delay_ms,
        concurrent=args.concurrent,
        slots=args.slots,
        text_interval_ms=args.text_interval_ms,
        transcode=args.transcode,
        max_backlog_s=args.max_backlog_s,
    )
    backend = LoopbackBackend(settings, drain.Drain(args.drain_timeout_s))
    port = args.metrics_port if args.metrics_port is not None else metrics_port()
    if port:
        backend.metrics.serve(args.host, port)
    scheme = "https" if context else "http"
    logging.getLogger("scenario6.loopback").warning(
        "LOOPBACK BACKEND (not the model): echoing audio on %s://%s:%d%s",
        scheme,
        args.host,
        args.port,
        CHAT_PATH,
    )
    # SIGTERM drains: new conversations get 503, live ones go on until the drain timeout.
    asyncio.run(
        drain.serve(
            backend.app(),
            backend.drain,
            host=args.host,
            port=args.port,
            ssl_context=context,
            max_line_size=MAX_REQUEST_LINE_BYTES,
            max_field_size=MAX_HEADER_FIELD_BYTES,
        )
    )
    logging.getLogger("scenario6.loopback").info("drained; exiting")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m scenario6.backend.loopback_main",
        description="The loopback backend: PersonaPlex's protocol, echoing your audio "
        "(no GPU, no model).",
    )
    add_arguments(parser)
    return serve(parser.parse_args(argv))


def _positive(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {value!r}") from None
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {number}")
    return number


def _quiet_probes(record: logging.LogRecord) -> bool:
    """Keep answered health probes (every few seconds from orchestrators) out of the log."""
    line = str(getattr(record, "first_request_line", ""))
    status = str(getattr(record, "response_status", ""))
    return not (line.startswith("GET /health ") and status.startswith("2"))


if __name__ == "__main__":
    raise SystemExit(main())
