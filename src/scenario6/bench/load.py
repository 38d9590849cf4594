"""``scenario6 bench load URL [URL ...]``: many callers at once against running frontends,
speaking the real protocol, and what each of them saw.

Each caller sends Ogg Opus at real time (80 ms of audio every 80 ms, by the clock) from a WAV
file or made-up speech, after signing in with a code when the server's gate asks for one. The
callers start one after another over the ramp, each talks for the duration after its
handshake, then hangs up. Reported: time to the handshake, time in the queue (from the
``&events=1`` queue events), answer latency (a sent frame until the audio back covers it: the
echo delay with the loopback backend), the longest silence on the wire after the handshake,
and failures by close code. Given several URLs (replicas of one deployment), the callers go to
them in turn, as a round-robin load balancer would send them. Without a URL (the suite) it
starts loopback backends on this machine and loads them twice: through one frontend keeping
its state in memory, then through replicas sharing it in a ``redis-server``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from collections import Counter
from dataclasses import asdict
from pathlib import Path
from typing import Any

from . import redis_server, stack
from .caller import Call, place
from .figures import NOT_MEASURED
from .harness import percentile
from .target import Target, TargetError

MAX_SESSIONS = 256
MAX_SECONDS = 3600.0
# More callers than the backends' slots (one each): the last ones wait in the queue.
SESSIONS = 12
BACKENDS = 8
FRONTENDS = 3  # the replicas that share their state in Redis
DURATION_S = 20.0
RAMP_S = 2.0
WAIT_S = 120.0
VOICE, PERSONA = "NATF2.pt", "You are a patient listener. Keep your answers short."


async def _ramp(
    doors: list[tuple[str, dict[str, str]]], messages: list[bytes], sessions: int, ramp_s: float,
    duration_s: float, wait_s: float,
) -> list[Call]:  # fmt: skip
    """Caller ``i`` goes through ``doors[i % len(doors)]`` (a session URL and its headers)."""
    began = time.monotonic()

    async def caller(index: int) -> Call:
        await asyncio.sleep(ramp_s * index / max(1, sessions - 1) if sessions > 1 else 0)
        started = time.monotonic() - began
        url, headers = doors[index % len(doors)]
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


def _replicas(targets: list[Target], calls: list[Call]) -> list[dict[str, Any]]:
    """Per target, the calls sent to it and how they went (the order of ``_ramp``)."""
    rows = []
    for index, target in enumerate(targets):
        sent = calls[index :: len(targets)]
        rows.append(
            {
                "target": target.http,
                "sessions": len(sent),
                "sessions_with_handshake": sum(1 for c in sent if c.handshake_ms is not None),
                "sessions_completed": sum(1 for c in sent if c.failure is None),
                "sessions_queued": sum(1 for c in sent if c.queued_at is not None),
            }
        )
    return rows


def drive(
    targets: list[Target], messages: list[bytes], sessions: int, ramp_s: float,
    duration_s: float, code: str | None = None, wait_s: float = WAIT_S,
) -> dict[str, Any]:  # fmt: skip
    """Sign in if a code is given, run the callers over the targets, summarise what they saw."""
    # Each replica signs in on its own: another accepts its cookie only if they share the key.
    doors = [(t.chat_url(VOICE, PERSONA), t.sign_in(code) if code else {}) for t in targets]
    calls = asyncio.run(_ramp(doors, messages, sessions, ramp_s, duration_s, wait_s))
    where = (
        {"target": targets[0].http}
        if len(targets) == 1
        else {"targets": [target.http for target in targets]}
    )
    settings = {
        **where,
        "sessions": sessions,
        "ramp_s": ramp_s,
        "duration_s": duration_s,
        "signed_in": bool(code),
    }
    result = summarise(calls, settings)
    if len(targets) > 1:
        result["replicas"] = _replicas(targets, calls)
    return result


def _measured(targets: list[Target], messages: list[bytes], sessions: int, duration_s: float
              ) -> dict[str, Any]:  # fmt: skip
    """One session per frontend first, then the callers. A fresh Redis books nothing for one
    lease TTL (as after a restart): the warm-up waits that out, and its handshake says so."""
    warm_up = drive(targets, messages, len(targets), 0, 0)
    result = drive(targets, messages, sessions, RAMP_S, duration_s)
    return {**result, "frontends": len(targets), "warm_up_handshake": warm_up["handshake"]}


def measure(
    sessions: int = SESSIONS, duration_s: float = DURATION_S, backends: int = BACKENDS,
    frontends: int = FRONTENDS,
) -> dict[str, Any]:  # fmt: skip
    """The suite's run: the same callers through one frontend with its state in memory
    (``single``), then through ``frontends`` replicas sharing a ``redis-server``
    (``shared``), to the same ``backends`` loopback backends; and what Redis adds."""
    from . import speech  # numpy and sphn come with the bench extra

    messages = speech.messages(None)
    shared: dict[str, Any]
    with stack.backends(backends) as pool:
        with stack.frontends(pool, 1, sessions) as targets:
            single = _measured(targets, messages, sessions, duration_s)
        if why := redis_server.why_not():
            shared = {NOT_MEASURED: why}
        else:
            with (
                redis_server.running(redis_server.RedisServer()) as store,
                stack.frontends(pool, frontends, sessions, store.url) as targets,
            ):
                shared = _measured(targets, messages, sessions, duration_s)
    return {
        "benchmark": "load",
        "sessions": sessions,
        "ramp_s": RAMP_S,
        "duration_s": duration_s,
        "backends": backends,
        "single": single,
        "shared": shared,
        "redis_cost": redis_cost(single, shared),
    }


def redis_cost(single: dict[str, Any], shared: dict[str, Any]) -> dict[str, float | None]:
    """What sharing the state in Redis adds per session: the medians' difference, in ms
    (``None`` where either run has no sample)."""
    cost: dict[str, float | None] = {}
    for key in ("handshake", "queue_wait"):
        before, after = single[key], shared.get(key, {"samples": 0})
        both = before["samples"] and after["samples"]
        cost[f"{key}_p50_ms"] = round(after["p50_ms"] - before["p50_ms"], 1) if both else None
    return cost


def _bounded(args: argparse.Namespace) -> str:
    if not 1 <= args.sessions <= MAX_SESSIONS:
        return f"--sessions must be from 1 to {MAX_SESSIONS}"
    for name in ("duration_s", "ramp_s"):
        if not 0 <= getattr(args, name) <= MAX_SECONDS:
            return f"--{name.replace('_', '-')} must be from 0 to {MAX_SECONDS:g}"
    return ""


def run(args: argparse.Namespace) -> int:
    if not args.urls:
        print("scenario6 bench load: give the URL of the server to load", file=sys.stderr)
        return 2
    if why := _bounded(args):
        print(f"scenario6 bench load: {why}", file=sys.stderr)
        return 2
    try:
        targets = [Target.parse(url) for url in args.urls]
        for target in targets if not args.allow_remote else []:
            target.refuse_remote()
        from . import speech

        # From the environment, so that the code stays out of the process list.
        code = args.code or os.environ.get("ACCESS_CODE")
        messages = speech.messages(Path(args.audio) if args.audio else None)
        if not args.json:
            where = ", ".join(target.http for target in targets)
            where += " in turn" if len(targets) > 1 else ""
            print(
                f"load: {args.sessions} sessions on {where} over {args.ramp_s:g} s, "
                f"{args.duration_s:g} s each",
                flush=True,
            )
        result = drive(targets, messages, args.sessions, args.ramp_s, args.duration_s, code)
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
    ]
    for replica in result.get("replicas", []):
        lines.append(
            f"  {replica['target']}: {replica['sessions_completed']} of {replica['sessions']} "
            f"completed ({replica['sessions_queued']} queued)"
        )
    lines.append(f"{'figure':<20} {'min':>9} {'median':>9} {'p99':>9} {'max':>9}  samples")
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
