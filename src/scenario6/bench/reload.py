"""``scenario6 bench reload``: how fast a frontend edit is live, in run mode and in production.

(a) run mode: ``scenario6 run`` with the native frontend; an edit to a route module, timed
    until the new code answers (p50 of several edits), next to plain ``uvicorn --reload``;
(b) the production way: rebuild the frontend image (warm cache) and restart its container;
(c) a warm ``scenario6 run`` start until the frontend is healthy.
Everything runs in a throw-away copy of the repository; the working tree is never edited.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from scenario6.apphost import Operation, PythonAppResource, load_apphost
from scenario6.bench.harness import HOST, ChildServer, failure, free_port
from scenario6.bench.images import REPO, build_on, choose_base, engine
from scenario6.containers import ContainerRuntime, RuntimeUnavailable, labels
from scenario6.facts.names import FRONTEND
from scenario6.facts.stack import Stack
from scenario6.run.venv import find_venv, install_stamp, stamp_path

ROUTE_MODULE = Path("src/scenario6/frontend/routes/health.py")
EDITS = 7
REBUILDS = 3
WARM_STARTS = 3
TARGET_S = 0.25
TARGET_SPEEDUP = 20.0


def copy_checkout(destination: Path, repo: Path = REPO) -> Path:
    """Copy the repository's files (tracked and new, not ignored): a fresh checkout of them."""
    listed = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard", "-z"],
        cwd=repo,
        capture_output=True,
        check=True,
    ).stdout.split(b"\0")
    for raw in filter(None, listed):
        source = repo / raw.decode()
        if source.is_file():
            target = destination / raw.decode()
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    return destination


def make_workspace(destination: Path, repo: Path = REPO) -> Path:
    """Copy the repository's files and give the copy a venv.

    The venv borrows this interpreter's installed packages through a ``.pth`` file and is
    stamped as installed, so the copy's sources are what runs and nothing is downloaded.
    """
    copy_checkout(destination, repo)
    venv = destination / ".venv"
    base = getattr(sys, "_base_executable", sys.executable)
    subprocess.run([base, "-m", "venv", "--without-pip", str(venv)], check=True)
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    site = venv / "lib" / version / "site-packages"
    deps = sysconfig.get_paths()["purelib"]
    (site / "scenario6-workspace.pth").write_text(f"{destination / 'src'}\n{deps}\n")
    # The frontend is all this needs.
    app = load_apphost(destination / "apphost.py", Operation.RUN, stack=Stack("loopback", "native"))
    frontend = app.resource(FRONTEND)
    assert isinstance(frontend, PythonAppResource)
    stamp_path(find_venv(frontend), frontend).write_text(install_stamp(frontend) + "\n")
    return destination


def _get(url: str) -> str | None:
    try:
        with urllib.request.urlopen(url, timeout=2) as reply:
            return str(reply.read().decode())
    except OSError:
        return None


class RouteEditor:
    """Appends one route to a module, then changes what it returns; times until it is served."""

    def __init__(self, workspace: Path) -> None:
        self.path = workspace / ROUTE_MODULE
        self.original = self.path.read_text()

    def edit(self, marker: str) -> None:
        route = (
            '\n\n@router.get("/api/bench-reload")\n'
            f"def bench_reload() -> dict[str, str]:\n    return {{'marker': '{marker}'}}\n"
        )
        self.path.write_text(self.original + route)

    def restore(self) -> None:
        self.path.write_text(self.original)

    def time_edits(self, port: int, count: int, timeout: float = 120) -> list[float]:
        timings = []
        for index in range(count):
            marker = f"edit-{index}-{time.monotonic_ns()}"
            began = time.monotonic()
            self.edit(marker)
            _wait_served(port, marker, timeout, interval=0.002)
            timings.append(time.monotonic() - began)
            time.sleep(0.5)  # let the previous child finish shutting down
        return timings


def _summary(values: list[float]) -> dict[str, Any]:
    return {
        "p50_s": round(statistics.median(values), 3),
        "min_s": round(min(values), 3),
        "max_s": round(max(values), 3),
        "samples": [round(v, 3) for v in values],
    }


@contextlib.contextmanager
def _run(workspace: Path, args: list[str], env: dict[str, str]) -> Iterator[ChildServer]:
    child = ChildServer(["run", "--apphost", str(workspace / "apphost.py"), *args], env)
    try:
        yield child
    finally:
        child.stop(grace=30)


def run_mode_edit(workspace: Path, edits: int = EDITS) -> dict[str, Any]:
    port = free_port()
    env = {"FRONTEND_PORT": str(port), "MOSHI_PORT": str(free_port())}
    editor = RouteEditor(workspace)
    with _run(workspace, ["--backend", "loopback", "--backend-runtime", "native"], env) as child:
        child.wait_healthy(f"http://{HOST}:{port}/health", timeout=120)
        try:
            return _summary(editor.time_edits(port, edits))
        finally:
            editor.restore()


def uvicorn_reload_edit(workspace: Path, edits: int = EDITS - 2) -> dict[str, Any]:
    """The same edits under plain ``uvicorn --reload``, for comparison."""
    port = free_port()
    python = workspace / ".venv" / "bin" / "python"
    argv = [str(python), "-m", "uvicorn", "scenario6.frontend.app:app", "--host", HOST]
    argv += ["--port", str(port), "--reload", "--reload-dir", str(workspace / "src" / "scenario6")]
    editor = RouteEditor(workspace)
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(
            argv, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            _wait(lambda: _get(f"http://{HOST}:{port}/health") is not None, 60)
            return _summary(editor.time_edits(port, edits))
        finally:
            editor.restore()
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, 15)
            process.wait(30)


def _wait_served(port: int, marker: str, timeout: float, interval: float = 0.05) -> None:
    url = f"http://{HOST}:{port}/api/bench-reload"
    _wait(lambda: marker in (_get(url) or ""), timeout, interval)


def _wait(condition: Callable[[], bool], timeout: float, interval: float = 0.05) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"not ready within {timeout} s")
        time.sleep(interval)


def _cli(runtime: ContainerRuntime, *args: str, timeout: float = 120) -> str:
    result = runtime.run(*args, timeout=timeout)
    if result.returncode != 0:
        raise RuntimeError(f"{runtime.name} {args[0]} failed: {result.stderr.strip()[-500:]}")
    return result.stdout.strip()


def production_edit(
    workspace: Path, runtime: ContainerRuntime, base: str, rebuilds: int = REBUILDS
) -> dict[str, Any]:
    """Edit → image build (warm cache) → replace the container → new code served."""
    tag = f"{FRONTEND}:bench-reload"
    port = free_port()
    editor = RouteEditor(workspace)
    editor.edit("warm-up")
    build_on(runtime, base, tag, context=workspace)  # warms the cache for the timed builds
    name = f"scenario6-bench-reload-{os.getpid()}"
    timings, builds = [], []
    try:
        for index in range(rebuilds):
            marker = f"image-{index}-{time.monotonic_ns()}"
            began = time.monotonic()
            editor.edit(marker)
            built = build_on(runtime, base, tag, context=workspace)
            builds.append(built.seconds)
            _cli(runtime, "rm", "-f", name)
            _cli(
                runtime, "run", "-d", "--name", name, "--network", "host",
                "-e", f"APP_PORT={port}", "-e", "APP_HOST=127.0.0.1",
                "--label", f"{labels.BENCH}=reload", tag,
            )  # fmt: skip
            _wait_served(port, marker, 300)
            timings.append(time.monotonic() - began)
    finally:
        editor.restore()
        with contextlib.suppress(RuntimeError):
            _cli(runtime, "rm", "-f", name)
    build = _summary(builds)
    return {**_summary(timings), "build_p50_s": build["p50_s"], "build": build}


def warm_start(
    workspace: Path,
    backend_placement: str,
    containers: tuple[ContainerRuntime, str] | None,
    repeats: int = WARM_STARTS,
) -> dict[str, Any]:
    """Start ``scenario6 run`` once cold, then ``repeats`` times warm (everything cached).

    ``containers`` (the engine and the base image) is for a container backend."""
    port = free_port()
    env = {"FRONTEND_PORT": str(port), "MOSHI_PORT": str(free_port())}
    if containers is not None:
        runtime, base = containers
        env |= {
            "SCENARIO6_CONTAINER_NETWORK": os.environ.get("SCENARIO6_CONTAINER_NETWORK", "host"),
            "SCENARIO6_BASE_IMAGE": base,
            # The images benchmark's backend image is not the loopback this times.
            "SCENARIO6_BACKEND_IMAGE": "",
        }
    args = ["--backend", "loopback", "--backend-runtime", backend_placement]
    seconds = []
    app_id = load_apphost(workspace / "apphost.py", Operation.RUN).app_id
    try:
        for _ in range(1 + repeats):
            began = time.monotonic()
            with _run(workspace, args, env) as child:
                child.wait_healthy(f"http://{HOST}:{port}/health", timeout=1800)
                seconds.append(time.monotonic() - began)
    finally:
        if containers is not None:
            ids = _cli(runtime, "ps", "-aq", "--filter", labels.selector(labels.APP, app_id))
            if ids:
                _cli(runtime, "rm", "-f", *ids.split())
    warm = _summary(seconds[1:])
    return {**warm, "cold_s": round(seconds[0], 2), "warm_s": warm["p50_s"]}


def _engine_base() -> tuple[tuple[ContainerRuntime, str] | None, str]:
    """The engine and base image for the parts that build images, or why there are none."""
    try:
        runtime = engine()
    except RuntimeUnavailable as problem:
        return None, problem.line
    return (runtime, choose_base(runtime, os.environ)), ""


def _attempt(part: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """One part's figures; a part that fails is reported, and the other parts still run."""
    try:
        return part()
    except (RuntimeError, TimeoutError, OSError, subprocess.SubprocessError) as exc:
        return {"skipped": f"it failed: {failure(exc)}", "failed": True}


def measure(
    edits: int = EDITS, rebuilds: int = REBUILDS, warm_starts: int = WARM_STARTS
) -> dict[str, Any]:
    """Every reload figure; ``edits``, ``rebuilds`` and ``warm_starts`` are sample counts."""
    result: dict[str, Any] = {"benchmark": "reload", "target_s": TARGET_S}
    with tempfile.TemporaryDirectory(prefix="scenario6-bench-reload-") as folder:
        workspace = make_workspace(Path(folder) / "repo")
        containers, why = _engine_base()
        parts: dict[str, Callable[[], dict[str, Any]]] = {
            "run_mode_edit": lambda: run_mode_edit(workspace, edits),
            "uvicorn_reload_edit": lambda: uvicorn_reload_edit(workspace, max(3, edits - 2)),
            "warm_start_native_backend": lambda: warm_start(workspace, "native", None, warm_starts),
        }
        if containers is not None:
            runtime, base = containers
            parts["production_edit"] = lambda: production_edit(workspace, runtime, base, rebuilds)
            parts["warm_start_container_backend"] = lambda: warm_start(
                workspace, "container", containers, warm_starts
            )
        for key in (*parts, "production_edit", "warm_start_container_backend"):
            result[key] = _attempt(parts[key]) if key in parts else {"skipped": why}
    fast, slow = result["run_mode_edit"], result["production_edit"]
    if "p50_s" in fast and "p50_s" in slow:
        result["speedup_vs_image_rebuild"] = round(slow["p50_s"] / fast["p50_s"], 1)
    return result


def _print(result: dict[str, Any]) -> None:
    print("reload — frontend edit until the new code answers")
    rows = (
        ("run_mode_edit", "(a) scenario6 run (fast reloader)", 3),
        ("uvicorn_reload_edit", "    plain uvicorn --reload", 3),
        ("production_edit", "(b) image rebuild + restart", 2),
        ("warm_start_native_backend", "(c) scenario6 run start, native loopback backend", 2),
        ("warm_start_container_backend", "(c) scenario6 run start, loopback container", 2),
    )
    for key, label, digits in rows:
        part = result[key]
        if "skipped" in part:
            print(f"  {label}: not measured ({part['skipped']})")
            continue
        line = (
            f"  {label}: p50 {part['p50_s']:.{digits}f} s "
            f"(min {part['min_s']:.{digits}f}, max {part['max_s']:.{digits}f})"
        )
        if "cold_s" in part:
            line += f", first start {part['cold_s']:.2f} s"
        if "build" in part:
            line += f", build alone p50 {part['build']['p50_s']:.2f} s"
        print(line)
    print(f"  target for (a): ≤ {TARGET_S} s")
    if "speedup_vs_image_rebuild" in result:
        print(f"  speed-up of (a) over (b): {result['speedup_vs_image_rebuild']}× "
              f"(target ≥ {TARGET_SPEEDUP:g}×)")  # fmt: skip


def run(args: argparse.Namespace) -> int:
    result = measure()
    if getattr(args, "json", False):
        print(json.dumps(result))
    else:
        _print(result)
    return 0
