"""``scenario6 bench proxy``: what the session proxy adds to each frame, and how many
sessions one frontend worker relays.

Sessions run at the real cadence (one ~300-byte audio message every 80 ms each way) from
load-generator processes, against a loopback backend that echoes messages untouched, once
directly and once through the proxy. Half the difference in round-trip time is what one
traversal of the proxy costs.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing
import os
import random
import struct
import time
from dataclasses import asdict, dataclass

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from scenario6.facts.slots import SLOTS_SETTING
from scenario6.protocol import messages
from scenario6.protocol.messages import CHAT_PATH
from scenario6.protocol.ogg import write_page
from scenario6.protocol.opus import OPUS_80_MS

from .harness import (
    HOST,
    ChildServer,
    free_port,
    loopback_backend,
    percentile,
    wait_for_handshake,
)

CADENCE_S = 0.08
PAYLOAD_BYTES = 300
WARM_UP_S = 1.0
TARGET_P99_MS = 20.0
LEVELS = (1, 50, 100, 200, 300, 400, 500)
SECONDS = 8.0
_STAMP = struct.Struct("<Qd")
# The proxy passes on only whole Ogg pages of Opus, paced by the packets' length: each message
# is one page with one 80 ms packet, the stamp inside it. Its CRC is not checked on the way.
_BODY = PAYLOAD_BYTES - 30  # the packet's size, within PAYLOAD_BYTES with its page header
_AUDIO = messages.audio(write_page([bytes(_BODY)])[:-_BODY]) + OPUS_80_MS


@dataclass
class Level:
    sessions: int
    path: str  # "direct" or "proxy"
    rtt_ms_min: float
    rtt_ms_p50: float
    rtt_ms_p99: float
    rtt_ms_max: float
    samples: int
    failed_sessions: int
    proxy_cpu_percent: float
    loadgen_cpu_percent: float


async def _read_echoes(
    ws: ClientConnection, sent_at: dict[int, float], measure_from: float, rtts: list[float]
) -> None:
    async for message in ws:
        if isinstance(message, bytes) and message[:1] == _AUDIO[:1]:
            seq, _ = _STAMP.unpack_from(message, len(_AUDIO))
            now = time.monotonic()
            sent = sent_at.pop(seq, None)
            if sent is not None and sent >= measure_from:
                rtts.append((now - sent) * 1000)


async def _session(url: str, seconds: float, rtts: list[float], start_delay: float) -> bool:
    await asyncio.sleep(start_delay)
    try:
        async with connect(url, compression=None, max_queue=None) as ws:
            await wait_for_handshake(ws)
            sent_at: dict[int, float] = {}
            stop = time.monotonic() + seconds
            measure_from = time.monotonic() + WARM_UP_S

            async def reader() -> None:
                with contextlib.suppress(ConnectionClosed):
                    await _read_echoes(ws, sent_at, measure_from, rtts)

            task = asyncio.create_task(reader())
            padding = b"\x00" * (_BODY - len(OPUS_80_MS) - _STAMP.size)
            seq = 0
            await asyncio.sleep(random.uniform(0, CADENCE_S))
            next_send = time.monotonic()
            while time.monotonic() < stop:
                seq += 1
                sent_at[seq] = time.monotonic()
                await ws.send(_AUDIO + _STAMP.pack(seq, sent_at[seq]) + padding)
                next_send += CADENCE_S
                await asyncio.sleep(max(0.0, next_send - time.monotonic()))
            await asyncio.sleep(0.3)
            task.cancel()
        return True
    except Exception:
        return False


def _worker(url: str, sessions: int, seconds: float, out: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    async def main() -> tuple[list[float], int]:
        rtts: list[float] = []
        # Ramp connections up over a second so set-up does not distort the first samples.
        results = await asyncio.gather(
            *(_session(url, seconds, rtts, i / max(1, sessions)) for i in range(sessions))
        )
        return rtts, sum(1 for ok in results if not ok)

    started = time.process_time()
    rtts, failed = asyncio.run(main())
    out.put((rtts, failed, time.process_time() - started))


def _measure(url: str, sessions: int, seconds: float, proxy: ChildServer | None) -> Level:
    processes = max(1, min(2, sessions // 50))
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    shares = [
        sessions // processes + (1 if i < sessions % processes else 0) for i in range(processes)
    ]
    cpu_before = proxy.cpu_seconds() if proxy else 0.0
    wall = time.monotonic()
    workers = [
        context.Process(target=_worker, args=(url, share, seconds, queue)) for share in shares
    ]
    for worker in workers:
        worker.start()
    rtts: list[float] = []
    failed = 0
    loadgen_cpu = 0.0
    for _ in workers:
        part, part_failed, cpu = queue.get(timeout=seconds + 120)
        rtts.extend(part)
        failed += part_failed
        loadgen_cpu += cpu
    for worker in workers:
        worker.join()
    elapsed = time.monotonic() - wall
    proxy_cpu = (proxy.cpu_seconds() - cpu_before) / elapsed * 100 if proxy else 0.0
    return Level(
        sessions=sessions,
        path="proxy" if proxy else "direct",
        rtt_ms_min=round(percentile(rtts, 0), 3),
        rtt_ms_p50=round(percentile(rtts, 50), 3),
        rtt_ms_p99=round(percentile(rtts, 99), 3),
        rtt_ms_max=round(percentile(rtts, 100), 3),
        samples=len(rtts),
        failed_sessions=failed,
        proxy_cpu_percent=round(proxy_cpu, 1),
        loadgen_cpu_percent=round(loadgen_cpu / elapsed * 100, 1),
    )


def measure(levels: list[int], seconds: float) -> dict[str, object]:
    backend_port, frontend_port = free_port(), free_port()
    query = f"{CHAT_PATH}?voice_prompt=NATF2.pt&text_prompt=bench"
    loopback_args = ["--host", HOST, "--port", str(backend_port)]
    loopback_args += ["--concurrent", "--no-transcode", "--prompt-ms", "0", "--delay-ms", "0"]
    loopback_args += ["--text-interval-ms", "3600000"]
    frontend_env = {
        "MOSHI_WS_URL": f"ws://{HOST}:{backend_port}",
        "MAX_MESSAGES_PER_SECOND": "1000",
        SLOTS_SETTING: str(max(levels)),
        "MAX_SESSIONS_PER_CLIENT": str(max(levels)),  # every load generator is 127.0.0.1
    }
    results: list[Level] = []
    with (
        loopback_backend(loopback_args) as backend,
        ChildServer(
            ["frontend", "--host", HOST, "--port", str(frontend_port), "--log-level", "warning"],
            env=frontend_env,
        ) as frontend,
    ):
        backend.wait_healthy(f"http://{HOST}:{backend_port}/health")
        frontend.wait_healthy(f"http://{HOST}:{frontend_port}/health")
        for sessions in levels:
            for proxy in (None, frontend):
                port = frontend_port if proxy else backend_port
                level = _measure(f"ws://{HOST}:{port}{query}", sessions, seconds, proxy)
                results.append(level)
                _print_level(level)
    return _summary(results, seconds)


def _summary(results: list[Level], seconds: float) -> dict[str, object]:
    added: list[dict[str, float | int]] = []
    for direct, proxied in zip(results[::2], results[1::2], strict=True):
        if not (direct.samples and proxied.samples):
            continue  # no frame back on one side: nothing to compare (the level rows say so)
        added.append(
            {
                "sessions": direct.sessions,
                "added_ms_p50": round((proxied.rtt_ms_p50 - direct.rtt_ms_p50) / 2, 3),
                "added_ms_p99": round((proxied.rtt_ms_p99 - direct.rtt_ms_p99) / 2, 3),
                "failed_sessions": proxied.failed_sessions,
                "proxy_cpu_percent": proxied.proxy_cpu_percent,
            }
        )
    sustained = [
        a["sessions"]
        for a in added
        if a["added_ms_p99"] <= TARGET_P99_MS and a["failed_sessions"] == 0
    ]
    return {
        "benchmark": "proxy",
        "seconds_per_level": seconds,
        "cadence_ms": CADENCE_S * 1000,
        "payload_bytes": PAYLOAD_BYTES,
        "cpus": os.cpu_count(),
        "levels": [asdict(r) for r in results],
        "added_latency_per_traversal": added,
        "max_sessions_with_p99_added_le_20ms": max(sustained, default=0),
    }


def _print_level(level: Level) -> None:
    print(
        f"  {level.path:6} {level.sessions:4d} sessions: rtt min {level.rtt_ms_min:6.2f} "
        f"p50 {level.rtt_ms_p50:7.2f} p99 {level.rtt_ms_p99:7.2f} max {level.rtt_ms_max:7.2f} ms "
        f"({level.samples} samples, "
        f"{level.failed_sessions} failed) proxy cpu {level.proxy_cpu_percent:5.1f}% "
        f"load generator cpu {level.loadgen_cpu_percent:5.1f}%",
        flush=True,
    )


def parse_levels(text: str | None) -> list[int]:
    """``"1,50,100"`` → ``[1, 50, 100]``; nothing given → ``[]``."""
    return [int(n) for n in text.split(",")] if text else []


def run(args: argparse.Namespace) -> int:
    levels = parse_levels(getattr(args, "proxy_sessions", None)) or list(LEVELS)
    seconds = float(getattr(args, "seconds", None) or SECONDS)
    if not args.json:
        print(f"proxy benchmark: {seconds:g} s per level, sessions {levels}", flush=True)
    summary = measure(levels, seconds)
    if args.json:
        print(json.dumps(summary))
    else:
        print("added latency per traversal (half the round-trip difference):")
        for row in summary["added_latency_per_traversal"]:  # type: ignore[attr-defined]
            print(
                f"  {row['sessions']:4d} sessions: median {row['added_ms_p50']:6.3f} ms, "
                f"p99 {row['added_ms_p99']:6.3f} ms, proxy cpu {row['proxy_cpu_percent']}%"
            )
        print(
            "sessions one worker relays with p99 added latency <= 20 ms: "
            f"{summary['max_sessions_with_p99_added_le_20ms']}"
        )
    return 0
