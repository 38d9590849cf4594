"""``scenario6 frontend``: the frontend service alone, configured by its environment."""

from __future__ import annotations

import argparse
import contextlib
import ipaddress
import logging
import sys
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from scenario6.facts.names import FRONTEND_PORT

STARTUP_FAILURE = 3  # as uvicorn exits when the server could not start

if TYPE_CHECKING:
    from scenario6.frontend.settings import FrontendSettings


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "frontend",
        help="serve the web UI and the session proxy (configured by APP_*, MOSHI_* variables)",
        description="Serve the frontend alone. Settings come from the environment "
        "(APP_HOST, APP_PORT, MOSHI_WS_URL, ...); --host and --port override them.",
    )
    parser.add_argument("--host", help="interface to listen on (default: APP_HOST or 0.0.0.0)")
    parser.add_argument(
        "--port", type=int, help=f"port to listen on (default: APP_PORT or {FRONTEND_PORT})"
    )
    parser.add_argument(
        "--reload", action="store_true", help="restart on source changes (development)"
    )
    parser.add_argument("--log-level", default="info", choices=["debug", "info", "warning"])
    parser.set_defaults(handler=serve)


def serve(args: argparse.Namespace) -> int:
    import uvicorn

    from scenario6.frontend.app import create_app
    from scenario6.frontend.serving import UVICORN_OPTIONS
    from scenario6.frontend.settings import FrontendSettings

    overrides = {k: v for k, v in {"app_host": args.host, "app_port": args.port}.items() if v}
    try:
        settings = FrontendSettings(**overrides)
    except ValidationError as exc:
        print(_explain(exc), file=sys.stderr)
        return 2
    logging.basicConfig(level=args.log_level.upper(), format="%(levelname)s %(name)s: %(message)s")
    if warning := open_to_all(settings):
        logging.getLogger("scenario6.frontend").warning(warning)
    options: dict[str, Any] = {
        "host": settings.app_host,
        "port": settings.app_port,
        # The server refuses a bigger frame from its header, before buffering it.
        "ws_max_size": settings.max_message_bytes,
        "log_level": args.log_level,
        "ssl_certfile": settings.app_ssl_certfile,
        "ssl_keyfile": settings.app_ssl_keyfile,
        "timeout_graceful_shutdown": 5,
        # Request limits, slow-client timeouts and no proxy headers (docs/security.md).
        **UVICORN_OPTIONS,
    }
    if args.reload:
        from pathlib import Path

        from scenario6.run.reloader import serve_with_fast_reload

        # The forked children build the app from the environment, as uvicorn would.
        source = Path(__file__).resolve().parent.parent
        return serve_with_fast_reload("scenario6.frontend.app:app", watch_dirs=[source], **options)
    from scenario6.frontend.server import FrontendServer

    app = create_app(settings)
    server = FrontendServer(uvicorn.Config(app, **options), app.state.drain)
    # uvicorn raises a caught Ctrl-C again once it has stopped.
    with contextlib.suppress(KeyboardInterrupt):
        server.run()
    return 0 if server.started else STARTUP_FAILURE


def open_to_all(settings: FrontendSettings) -> str | None:
    """A warning when anyone on the network can use the app: no gate on a non-local address."""
    from scenario6.frontend.access.gate import Gate

    if Gate(settings).enabled or _loopback(settings.app_host):
        return None
    return (
        f"listening on {settings.app_host or 'every address'} with the access gate off: anyone "
        "who can reach it can use the GPU; set ACCESS_CODES, or front it with an "
        "authenticating proxy (ACCESS_IDENTITY_HEADER, see docs/security.md)"
    )


def _loopback(host: str) -> bool:
    if host.strip("[]").lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _explain(error: ValidationError) -> str:
    lines = ["The frontend's settings are invalid:"]
    for item in error.errors():
        field = ".".join(str(p) for p in item["loc"]).upper() or "settings"
        lines.append(f"  {field}: {item['msg']}")
    lines.append("Fix the environment variables above (see docs/configuration.md).")
    return "\n".join(lines)
