"""The ports the app listens on in run mode."""

from __future__ import annotations

import contextlib
import errno
import socket

from scenario6.containers import labels
from scenario6.facts.names import BACKEND, BACKEND_PORT, FRONTEND_PORT

from .containers import container_runtime
from .result import CheckResult, Context, Status


def port_in_use(port: int) -> bool:
    """Whether some process listens on ``port`` (any interface)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # Without this, connections lingering in TIME_WAIT would count as "in use".
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("0.0.0.0", port))
        except OSError as exc:
            return exc.errno in (errno.EADDRINUSE, errno.EACCES)
    return False


def wanted_ports(ctx: Context) -> dict[str, int]:
    """The ports this mode binds here: the frontend's, and the backend's unless it is a URL."""
    ports = {"frontend": _int(ctx.setting("FRONTEND_PORT"), FRONTEND_PORT)}
    if "://" not in ctx.backend:
        ports["backend"] = _int(ctx.setting("MOSHI_PORT"), BACKEND_PORT)
    return ports


def check_ports(ctx: Context) -> CheckResult:
    busy = {role: port for role, port in wanted_ports(ctx).items() if port_in_use(port)}
    ours = busy.get("backend") is not None and _our_backend_running(ctx)
    if ours:
        busy.pop("backend")
    if busy:
        listed = ", ".join(f"{port} ({role})" for role, port in busy.items())
        return CheckResult(
            "ports",
            Status.FAIL,
            f"in use: {listed}",
            "stop what listens there (`ss -ltnp` shows it), or choose other ports with "
            "FRONTEND_PORT / MOSHI_PORT in .env",
        )
    shown = ", ".join(str(p) for p in wanted_ports(ctx).values())
    note = f" ({BACKEND} already running: it will be reused)" if ours else ""
    return CheckResult("ports", Status.OK, f"free: {shown}{note}")


def _our_backend_running(ctx: Context) -> bool:
    runtime = container_runtime(ctx)
    if runtime is None:
        return False
    with contextlib.suppress(Exception):
        # `scenario6 run` labels its containers with the resource they run.
        label = labels.selector(labels.RESOURCE, BACKEND)
        found = runtime.run("ps", "--filter", label, "--format", "{{.Names}}", timeout=10)
        return found.returncode == 0 and bool(found.stdout.strip())
    return False


def _int(value: str, default: int) -> int:
    try:
        return int(value)
    except ValueError:
        return default
