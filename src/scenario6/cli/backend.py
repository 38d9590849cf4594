"""``scenario6 backend loopback``: the GPU-free stand-in for the model server."""

from __future__ import annotations

import argparse
import logging
import ssl
from typing import Any


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("backend", help="run a backend server")
    kinds = parser.add_subparsers(dest="backend_kind", metavar="KIND", required=True)
    loopback = kinds.add_parser(
        "loopback",
        help="the loopback backend: PersonaPlex's protocol, echoing your audio (no GPU, no model)",
    )
    loopback.add_argument("--host", default="127.0.0.1", help="interface (default 127.0.0.1)")
    loopback.add_argument("--port", type=int, default=8998, help="port (default 8998)")
    loopback.add_argument("--delay-ms", type=int, default=200, help="echo delay (default 200)")
    loopback.add_argument(
        "--prompt-ms", type=int, default=1500, help="simulated prompt phase (default 1500)"
    )
    loopback.add_argument(
        "--text-interval-ms", type=int, default=1000, help="time between text words"
    )
    loopback.add_argument(
        "--concurrent",
        action="store_true",
        help="serve several sessions at once (upstream serves one; for benchmarks)",
    )
    loopback.add_argument(
        "--no-transcode",
        dest="transcode",
        action="store_false",
        help="echo audio messages untouched instead of decoding and encoding them (benchmarks)",
    )
    loopback.add_argument("--ssl-certfile", help="serve wss with this PEM certificate")
    loopback.add_argument("--ssl-keyfile", help="the certificate's PEM private key")
    loopback.set_defaults(handler=serve_loopback)


def serve_loopback(args: argparse.Namespace) -> int:
    from aiohttp import web

    from scenario6.backend.loopback import LoopbackBackend, LoopbackSettings

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    context = None
    if args.ssl_certfile:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(args.ssl_certfile, args.ssl_keyfile)
    settings = LoopbackSettings(
        prompt_ms=args.prompt_ms,
        delay_ms=args.delay_ms,
        concurrent=args.concurrent,
        text_interval_ms=args.text_interval_ms,
        transcode=args.transcode,
    )
    scheme = "https" if context else "http"
    logging.getLogger("scenario6.loopback").warning(
        "LOOPBACK BACKEND (not the model): echoing audio on %s://%s:%d/api/chat",
        scheme,
        args.host,
        args.port,
    )
    web.run_app(
        LoopbackBackend(settings).app(),
        host=args.host,
        port=args.port,
        ssl_context=context,
        print=None,
        shutdown_timeout=2,
    )
    return 0
