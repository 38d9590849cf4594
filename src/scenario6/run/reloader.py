"""Fast reload for ASGI apps: heavy libraries imported once, a fresh forked child per change.

A supervisor imports the third-party modules (FastAPI, Starlette, pydantic, uvicorn, ...)
once and holds the listening socket. On every source change it forks a child that imports
only the project's code and serves on the inherited socket; the previous child gets SIGTERM
once the new one is ready, so no request is refused and open WebSockets are closed by
uvicorn's graceful shutdown with 1012 "server restarting". A change that does not import
(a syntax error, say) leaves the previous child serving and prints the error.

This module imports only the standard library, uvicorn and watchfiles, so any virtual
environment with uvicorn can run it by path::

    python reloader.py pkg.app:app --host 127.0.0.1 --port 8010 --reload-dir src
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ctypes
import gc
import importlib
import os
import select
import signal
import socket
import sys
import threading
import time
import traceback
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

DEFAULT_PRELOAD = (
    "fastapi",
    "fastapi.routing",
    "starlette.applications",
    "starlette.staticfiles",
    "starlette.websockets",
    "pydantic",
    "pydantic_settings",
    "uvicorn",
    "uvicorn.config",
    "uvicorn.server",
    "uvicorn.protocols.http.auto",
    "uvicorn.protocols.websockets.auto",
    "uvicorn.lifespan.on",
    "uvicorn.loops.auto",
    "websockets",
    "websockets.asyncio.client",
    "anyio",
    "httptools",
    "uvloop",
    "h11",
    "multipart",
)
WATCHED_SUFFIXES = (".py", ".pyi", ".html", ".js", ".mjs", ".css", ".json", ".toml", ".txt")
_READY = b"R"


@dataclass
class ReloadOptions:
    """What to serve and what to watch; ``uvicorn`` holds extra ``uvicorn.Config`` options."""

    app: str
    host: str = "127.0.0.1"
    port: int = 8000
    watch_dirs: list[Path] = field(default_factory=lambda: [Path.cwd()])
    preload: Sequence[str] = DEFAULT_PRELOAD
    uvicorn: dict[str, Any] = field(default_factory=dict)
    start_timeout: float = 60.0
    stop_grace: float = 10.0


def serve_with_fast_reload(
    app_import: str,
    *,
    host: str,
    port: int,
    watch_dirs: Sequence[str | Path],
    preload: Sequence[str] = DEFAULT_PRELOAD,
    **uvicorn_options: Any,
) -> int:
    """Serve ``app_import`` ("module:attribute"), reloading on changes under ``watch_dirs``.

    ``uvicorn_options`` go to ``uvicorn.Config`` (``ssl_certfile``, ``ws_max_size``, ...).
    Falls back to uvicorn's own reloader where ``os.fork`` does not exist. Returns an exit code.
    """
    dirs = [Path(d).resolve() for d in watch_dirs]
    if not hasattr(os, "fork"):
        import uvicorn

        uvicorn.run(
            app_import,
            host=host,
            port=port,
            reload=True,
            reload_dirs=[str(d) for d in dirs],
            **uvicorn_options,
        )
        return 0
    options = ReloadOptions(app_import, host, port, dirs, tuple(preload), dict(uvicorn_options))
    return Supervisor(options).run()


def _say(message: str) -> None:
    print(f"reloader: {message}", file=sys.stderr, flush=True)


@dataclass
class _Child:
    pid: int
    ready_fd: int
    started: float
    stopping_since: float | None = None


class Supervisor:
    """Owns the socket and the watcher; forks, swaps and reaps app children."""

    def __init__(self, options: ReloadOptions) -> None:
        self.options = options
        self._stop = threading.Event()
        self._current: _Child | None = None
        self._retiring: list[_Child] = []
        self._crash_backoff = 0.5
        self._respawn_at: float | None = None

    def run(self) -> int:
        for name in self.options.preload:
            with contextlib.suppress(ImportError):
                importlib.import_module(name)
        # watchfiles' own generator starts watching only when first iterated; the notifier is
        # created here, before the first child, so an edit made during start-up is not lost.
        from watchfiles._rust_notify import RustNotify

        try:
            sock = _listen(self.options.host, self.options.port)
        except OSError as exc:
            _say(f"cannot listen on {self.options.host}:{self.options.port}: {exc.strerror}")
            return 3
        self._sock = sock
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: self._stop.set())
        scheme = "https" if self.options.uvicorn.get("ssl_certfile") else "http"
        _say(
            f"serving {self.options.app} on {scheme}://{self.options.host}:{self.options.port}, "
            f"watching {', '.join(str(d) for d in self.options.watch_dirs)}"
        )
        dirs = [str(d) for d in self.options.watch_dirs]
        try:
            with RustNotify(dirs, False, False, 300, True, False) as notifier:
                self._swap_in(self._spawn())
                while not self._stop.is_set():
                    # A save settles within 10 ms; 400 ms caps a burst (a checkout, say).
                    raw = notifier.watch(400, 10, 200, self._stop)
                    self._reap()
                    if raw in ("stop", "signal"):
                        break
                    changed = sorted(
                        {Path(p).name for _, p in raw if _is_source(p)}
                        if isinstance(raw, set)
                        else ()
                    )
                    if changed:
                        _say(f"{', '.join(changed[:3])}{' …' if len(changed) > 3 else ''} changed")
                        self._respawn_at = None
                        self._swap_in(self._spawn())
                    elif self._respawn_at is not None and time.monotonic() >= self._respawn_at:
                        self._respawn_at = None
                        self._swap_in(self._spawn())
        finally:
            self._shutdown()
        return 0

    def _spawn(self) -> _Child:
        # Preloaded objects move to a permanent generation: the child's collector then leaves
        # their pages alone instead of copying them on write.
        gc.freeze()
        read_fd, write_fd = os.pipe()
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:  # pragma: no cover - runs in the child
            os.close(read_fd)
            code = 1
            try:
                code = _child_main(self.options, self._sock, write_fd)
            except BaseException:
                traceback.print_exc()
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(code)
        os.close(write_fd)
        return _Child(pid, read_fd, time.monotonic())

    def _swap_in(self, child: _Child) -> None:
        began = child.started
        learned = _wait_ready(child, self.options.start_timeout, self._stop)
        os.close(child.ready_fd)
        if learned is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(child.pid, signal.SIGKILL)
            with contextlib.suppress(ChildProcessError):
                os.waitpid(child.pid, 0)
            if self._stop.is_set():
                return
            if self._current is not None:
                _say("the new code failed to start (see above); still serving the previous version")
            else:
                _say("the app failed to start (see above); waiting for a change")
            return
        previous, self._current = self._current, child
        if previous is not None:
            self._retire(previous)
            _say(f"reloaded in {time.monotonic() - began:.2f} s")
        # What the app imported from outside the project, the next child inherits ready-made.
        for name in learned:
            if name and name not in sys.modules:
                with contextlib.suppress(Exception):
                    importlib.import_module(name)

    def _retire(self, child: _Child) -> None:
        child.stopping_since = time.monotonic()
        with contextlib.suppress(ProcessLookupError):
            os.kill(child.pid, signal.SIGTERM)
        self._retiring.append(child)

    def _reap(self) -> None:
        now = time.monotonic()
        for child in list(self._retiring):
            if _exited(child.pid) is not None:
                self._retiring.remove(child)
            elif (
                child.stopping_since is not None
                and now - child.stopping_since > self.options.stop_grace
            ):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(child.pid, signal.SIGKILL)
        current = self._current
        if current is None:
            return
        code = _exited(current.pid)
        if code is None:
            return
        self._current = None
        lived = now - current.started
        self._crash_backoff = 0.5 if lived > 10 else min(self._crash_backoff * 2, 5.0)
        _say(f"the app exited with code {code}; restarting in {self._crash_backoff:.1f} s")
        self._respawn_at = now + self._crash_backoff

    def _shutdown(self) -> None:
        children = [c for c in (self._current, *self._retiring) if c is not None]
        for child in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(child.pid, signal.SIGTERM)
        deadline = time.monotonic() + self.options.stop_grace
        for child in children:
            while _exited(child.pid) is None:
                if time.monotonic() > deadline:
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(child.pid, signal.SIGKILL)
                time.sleep(0.02)
        self._sock.close()


def _exited(pid: int) -> int | None:
    """The exit code of a finished child (reaping it), or None while it runs."""
    try:
        done, status = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return -1
    return os.waitstatus_to_exitcode(status) if done else None


def _wait_ready(child: _Child, timeout: float, stop: threading.Event) -> list[str] | None:
    """The third-party modules a child imported once it serves; None if it never did."""
    deadline = time.monotonic() + timeout
    message = b""
    while time.monotonic() < deadline and not stop.is_set():
        readable, _, _ = select.select([child.ready_fd], [], [], 0.1)
        if readable:
            chunk = os.read(child.ready_fd, 65536)
            if not chunk:
                break
            message += chunk
    if not message.startswith(_READY):
        return None
    return message[len(_READY) :].decode().split("\n")


def _third_party(watch_dirs: Sequence[Path]) -> list[str]:
    roots = tuple(str(d) + os.sep for d in watch_dirs)
    names = []
    for name, module in list(sys.modules.items()):
        path = getattr(module, "__file__", None)
        if path and name != "__main__" and not os.path.abspath(path).startswith(roots):
            names.append(name)
    return names


def _listen(host: str, port: int) -> socket.socket:
    family, kind, proto, _, address = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
        sock.listen(2048)
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


def _child_main(options: ReloadOptions, sock: socket.socket, ready_fd: int) -> int:
    _die_with_parent()
    gc.disable()  # importing allocates a lot and frees little: collecting would only slow it
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, signal.SIG_DFL)
    _forget_project_modules(options.watch_dirs)
    import uvicorn
    from uvicorn.importer import import_from_string

    try:
        app = import_from_string(options.app)
    except BaseException:
        traceback.print_exc()
        return 3

    class _Server(uvicorn.Server):
        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            self._loop = asyncio.get_running_loop()
            await super().startup(sockets)
            gc.enable()
            if self.started:
                os.write(ready_fd, _READY + "\n".join(_third_party(options.watch_dirs)).encode())
                os.close(ready_fd)

        def handle_exit(self, sig: int, frame: FrameType | None) -> None:
            super().handle_exit(sig, frame)
            # Stop accepting at once rather than at uvicorn's next tick: the new child is
            # already serving, and a request taken here would get the old code.
            self._loop.call_soon_threadsafe(self._stop_accepting)

        def _stop_accepting(self) -> None:
            for server in self.servers:
                server.close()

    config = uvicorn.Config(app, host=options.host, port=options.port, **options.uvicorn)
    _Server(config).run(sockets=[sock])
    return 0


def _forget_project_modules(watch_dirs: Sequence[Path]) -> None:
    """Drop modules loaded from the watched sources so this child imports them afresh."""
    roots = tuple(str(d) + os.sep for d in watch_dirs)
    for name, module in list(sys.modules.items()):
        path = getattr(module, "__file__", None)
        if path and name != "__main__" and os.path.abspath(path).startswith(roots):
            del sys.modules[name]
    importlib.invalidate_caches()


def _die_with_parent() -> None:
    # Linux only: a child never outlives a supervisor killed with SIGKILL.
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        pr_set_pdeathsig = 1
        libc.prctl(pr_set_pdeathsig, signal.SIGTERM)


_IGNORED_DIRS = frozenset({"__pycache__", ".git", ".venv", "venv", "node_modules", ".mypy_cache"})


def _is_source(path: str) -> bool:
    """Source and asset files, outside caches and virtual environments."""
    return path.endswith(WATCHED_SUFFIXES) and not _IGNORED_DIRS.intersection(Path(path).parts)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("app", help="module:attribute of the ASGI app")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--reload-dir", action="append", default=[], help="directory to watch")
    parser.add_argument("--app-dir", default=".", help="added to sys.path (like uvicorn's)")
    parser.add_argument("--preload", action="append", default=[], help="extra module to preload")
    parser.add_argument("--ssl-certfile")
    parser.add_argument("--ssl-keyfile")
    parser.add_argument("--ws-max-size", type=int)
    # uvicorn's own names: "module:Class" protocols, and its proxy-header switch.
    parser.add_argument("--http", help="HTTP protocol: auto, h11, httptools or module:Class")
    parser.add_argument("--ws", help="WebSocket protocol: auto, ... or module:Class")
    parser.add_argument("--proxy-headers", action=argparse.BooleanOptionalAction)
    parser.add_argument("--log-level", default="info")
    parser.add_argument("--timeout-graceful-shutdown", type=int, default=5)
    args = parser.parse_args(argv)
    sys.path.insert(0, os.path.abspath(args.app_dir))
    extra: dict[str, Any] = {
        "log_level": args.log_level,
        "timeout_graceful_shutdown": args.timeout_graceful_shutdown,
    }
    for key in (
        "ssl_certfile",
        "ssl_keyfile",
        "ws_max_size",
        "http",
        "ws",
        "proxy_headers",
    ):
        if getattr(args, key) is not None:
            extra[key] = getattr(args, key)
    return serve_with_fast_reload(
        args.app,
        host=args.host,
        port=args.port,
        watch_dirs=args.reload_dir or [args.app_dir],
        preload=(*DEFAULT_PRELOAD, *args.preload),
        **extra,
    )


if __name__ == "__main__":
    # Run by path, this file's folder would shadow top-level modules: take it off sys.path.
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != here]
    raise SystemExit(main())
