"""``scenario6 bench load URL``: many callers at once against a running frontend, speaking the
real protocol, and what each of them saw.

Each caller sends Ogg Opus at real time (80 ms of audio every 80 ms, by the clock) from a WAV
file or made-up speech, after signing in with a code when the server's gate asks for one. The
callers start one after another over the ramp, each talks for the duration after its
handshake, then hangs up. Reported: time to the handshake, time in the queue (from the
``&events=1`` queue events), answer latency (a sent frame until the audio back covers it: the
echo delay with the loopback backend), the longest silence on the wire after the handshake,
and failures by close code. Without a URL (the suite) it starts its own frontend in front of
loopback backends on this machine.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any

from .caller import Call, place
from .harness import HOST, ChildServer, free_port, loopback_backend, percentile
from .target import Target, TargetError

MAX_SESSIONS = 256
MAX_SECONDS = 3600.0
SESSIONS = 8
BACKENDS = 8
DURATION_S = 20.0
RAMP_S = 2.0
WAIT_S = 120.0
VOICE, PERSONA = "NATF2.pt", "You are a patient listener. Keep your answers short."


async def _ramp(
    url: str, headers: dict[str, str], messages: list[bytes], sessions: int, ramp_s: float,
    duration_s: float, wait_s: float,
) -> list[Call]:  # fmt: skip
    began = time.monotonic()

    async def caller(index: int) -> Call:
        await asyncio.sleep(ramp_s * index / max(1, sessions - 1) if sessions > 1 else 0)
        started = time.monotonic() - began
        return await place(url, headers, messages, duration_s, wait_s, started)

    return list(await asyncio.gather(*(caller(i) for i in range(sessions))))


def _spread(values: list[float]) -> dict[str, Any]:
    if not values:
        return {"samples": 0}
    quantiles = {"min": 0, "p50": 50, "p99": 99, "max": 100}
    spread: dict[str, Any] = {
        f"{k}_ms": round(percentile(values, q), 1) for k, q in quantiles.items()
    }
    return {**spread, "samples": len(values)}


def summarise(calls: list[Call], settings: dict[str, Any]) -> dict[str, Any]:
    """One JSON object: the settings, each figure's spread, failures by close code."""
    talked = [call for call in calls if call.handshake_ms is not None]
    queued = [call for call in calls if call.queued_at is not None]
    failures = Counter(call.failure for call in calls if call.failure)
    reasons = {call.failure: call.reason for call in calls if call.failure and call.reason}
    return {
        "benchmark": "load",
        **settings,
        "sessions_started": len(calls),
        "sessions_with_handshake": len(talked),
        "sessions_completed": sum(1 for call in calls if call.failure is None),
        "sessions_queued": len(queued),
        "handshake": _spread([call.handshake_ms for call in talked if call.handshake_ms]),
        "queue_wait": _spread([call.queue_wait_ms for call in queued]),
        "answer_latency": _spread([ms for call in talked for ms in call.answer_ms]),
        "longest_audio_gap": _spread(
            [call.longest_gap_ms for call in talked if call.longest_gap_ms is not None]
        ),
        "frames_sent": sum(call.frames_sent for call in calls),
        "audio_received_s": round(sum(call.audio_received_s for call in calls), 1),
        "failures": dict(sorted(failures.items())),
        "failure_reasons": dict(sorted(reasons.items())),
        "backends_used": len({call.backend for call in talked if call.backend}),
        "calls": [asdict(call) | {"answer_ms": len(call.answer_ms)} for call in calls],
    }


def drive(
    target: Target, messages: list[bytes], sessions: int, ramp_s: float, duration_s: float,
    code: str | None = None, wait_s: float = WAIT_S,
) -> dict[str, Any]:  # fmt: skip
    """Sign in if a code is given, run the callers, summarise what they saw."""
    headers = target.sign_in(code) if code else {}
    calls = asyncio.run(
        _ramp(target.chat_url(VOICE, PERSONA), headers, messages, sessions, ramp_s, duration_s,
              wait_s)
    )  # fmt: skip
    settings = {
        "target": target.http,
        "sessions": sessions,
        "ramp_s": ramp_s,
        "duration_s": duration_s,
        "signed_in": bool(code),
    }
    return summarise(calls, settings)


@contextlib.contextmanager
def local_stack(backends: int, sessions: int) -> Iterator[Target]:
    """A frontend in front of ``backends`` loopback backends on this machine."""
    ports = [free_port() for _ in range(backends)]
    with contextlib.ExitStack() as stack:
        for port in ports:
            backend = stack.enter_context(loopback_backend(["--host", HOST, "--port", str(port)]))
            backend.wait_healthy(f"http://{HOST}:{port}/health")
        frontend_port = free_port()
        env = {
            "MOSHI_WS_URL": ",".join(f"ws://{HOST}:{port}" for port in ports),
            "MAX_SESSIONS_PER_CLIENT": str(sessions),  # every caller is 127.0.0.1
            "DRAIN_TIMEOUT_S": "1",
        }
        frontend = stack.enter_context(
            ChildServer(
                ["frontend", "--host", HOST, "--port", str(frontend_port), "--log-level",
                 "warning"], env=env,
            )
        )  # fmt: skip
        frontend.wait_healthy(f"http://{HOST}:{frontend_port}/health")
        yield Target.parse(f"http://{HOST}:{frontend_port}")


def measure(sessions: int = SESSIONS, duration_s: float = DURATION_S) -> dict[str, Any]:
    """The suite's run: this machine, one frontend, ``BACKENDS`` loopback backends."""
    from . import speech  # numpy and sphn come with the bench extra

    with local_stack(BACKENDS, sessions) as target:
        result = drive(target, speech.messages(None), sessions, RAMP_S, duration_s)
    return {**result, "backends": BACKENDS, "frontends": 1}


def _bounded(args: argparse.Namespace) -> str:
    if not 1 <= args.sessions <= MAX_SESSIONS:
        return f"--sessions must be from 1 to {MAX_SESSIONS}"
    for name in ("duration_s", "ramp_s"):
        if not 0 <= getattr(args, name) <= MAX_SECONDS:
            return f"--{name.replace('_', '-')} must be from 0 to {MAX_SECONDS:g}"
    return ""


def run(args: argparse.Namespace) -> int:
    if args.url is None:
        print("scenario6 bench load: give the URL of the server to load", file=sys.stderr)
        return 2
    if why := _bounded(args):
        print(f"scenario6 bench load: {why}", file=sys.stderr)
        return 2
    try:
        target = Target.parse(args.url)
        if not args.allow_remote:
            target.refuse_remote()
        from . import speech

        # From the environment, so that the code stays out of the process list.
        code = args.code or os.environ.get("ACCESS_CODE")
        messages = speech.messages(Path(args.audio) if args.audio else None)
        if not args.json:
            print(
                f"load: {args.sessions} sessions on {target.http} over {args.ramp_s:g} s, "
                f"{args.duration_s:g} s each",
                flush=True,
            )
        result = drive(target, messages, args.sessions, args.ramp_s, args.duration_s, code)
    except (TargetError, OSError, ValueError) as exc:
        print(f"scenario6 bench load: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(result))
    else:
        print(render(result))
    return 0 if not result["failures"] else 1


def render(result: dict[str, Any]) -> str:
    """The result as a table for a terminal."""
    lines = [
        f"{result['sessions_completed']} of {result['sessions_started']} sessions completed "
        f"({result['sessions_queued']} queued, {result['backends_used']} backends used)",
        f"{'figure':<20} {'min':>9} {'median':>9} {'p99':>9} {'max':>9}  samples",
    ]
    for key in ("handshake", "queue_wait", "answer_latency", "longest_audio_gap"):
        row = result[key]
        cells = (
            [f"{row[f'{q}_ms']:>7g}ms" for q in ("min", "p50", "p99", "max")]
            if row["samples"]
            else [f"{'—':>9}"] * 4
        )
        lines.append(f"{key.replace('_', ' '):<20} {' '.join(cells)}  {row['samples']}")
    for failure, count in result["failures"].items():
        reason = result["failure_reasons"].get(failure, "")
        lines.append(f"failed: {count} × {failure} {reason}".rstrip())
    return "\n".join(lines)
