"""``scenario6 bench soak``: many sessions through the proxy for a long time; does anything
drop, grow or leak?

50 sessions run at the real cadence (one audio message every 80 ms each way) through a
frontend process to a loopback backend that serves them all at once. After a warm-up the
frontend's resident memory and open file descriptors are sampled; the report gives their
growth, the sessions that ended early, and the descriptors left once every session is gone.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import statistics
import time
from dataclasses import asdict, dataclass, field
from typing import TypeVar

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from scenario6.facts.slots import SLOTS_SETTING
from scenario6.protocol import messages
from scenario6.protocol.messages import CHAT_PATH
from scenario6.protocol.ogg import write_page
from scenario6.protocol.opus import OPUS_80_MS

from .harness import HOST, ChildServer, free_port, loopback_backend, wait_for_handshake

Number = TypeVar("Number", int, float)

CADENCE_S = 0.08
SESSIONS = 50
DEFAULT_SECONDS = 600.0
# A message that is audio to the proxy (one Ogg page, one 80 ms Opus packet): the loopback
# backend runs without transcoding and echoes it untouched.
_AUDIO = messages.audio(write_page([OPUS_80_MS + bytes(265)]))


@dataclass
class Tally:
    sent: int = 0
    echoed: int = 0
    dropped: list[str] = field(default_factory=list)  # why each early-ended session ended


@dataclass
class SoakReport:
    benchmark: str
    sessions: int
    seconds: float
    warm_up_s: float
    dropped_sessions: int
    drop_reasons: list[str]
    messages_sent: int
    messages_echoed: int
    rss_mib_after_warm_up: float
    rss_mib_at_end: float
    rss_growth_percent: float
    fds_after_warm_up: int
    fds_at_end: int
    fd_growth: int
    fds_idle_before: int
    fds_idle_after: int
    proxy_cpu_percent: float
    # Sampled once a second from the end of the warm-up to the end: min, median, max.
    rss_mib_range: tuple[float, float, float]
    fds_range: tuple[int, int, int]
    resource_samples: int


async def _session(url: str, stop_at: float, tally: Tally) -> None:
    await asyncio.sleep(random.uniform(0, 1))  # spread the starts over a second
    try:
        async with connect(url, compression=None, max_queue=None) as ws:
            await wait_for_handshake(ws)
            reader = asyncio.create_task(_count_echoes(ws, tally))
            next_send = time.monotonic()
            while time.monotonic() < stop_at:
                if reader.done():
                    break
                await ws.send(_AUDIO)
                tally.sent += 1
                next_send += CADENCE_S
                await asyncio.sleep(max(0.0, next_send - time.monotonic()))
            if reader.done():
                tally.dropped.append(f"closed early: {ws.close_code} {ws.close_reason}")
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader
    except Exception as exc:  # any failure of a session is a dropped session, reported
        tally.dropped.append(f"{type(exc).__name__}: {exc}")


async def _count_echoes(ws: ClientConnection, tally: Tally) -> None:
    with contextlib.suppress(ConnectionClosed):
        async for message in ws:
            if isinstance(message, bytes) and message[:1] == _AUDIO[:1]:
                tally.echoed += 1


@dataclass
class Samples:
    """The frontend's resident memory and open descriptors, once a second."""

    rss: list[int] = field(default_factory=list)
    fds: list[int] = field(default_factory=list)

    def take(self, frontend: ChildServer) -> None:
        self.rss.append(frontend.rss_bytes())
        self.fds.append(frontend.open_fds())


async def _drive(
    url: str, sessions: int, seconds: float, warm_up: float, frontend: ChildServer
) -> tuple[Tally, Samples, float]:
    """Run the sessions; return their tally, the samples and the frontend's CPU share."""
    tally = Tally()
    stop_at = time.monotonic() + seconds
    tasks = [asyncio.create_task(_session(url, stop_at, tally)) for _ in range(sessions)]
    await asyncio.sleep(warm_up)
    samples = Samples()
    cpu_warm, t_warm = frontend.cpu_seconds(), time.monotonic()
    samples.take(frontend)
    while (left := stop_at - time.monotonic() - 0.5) > 0:
        await asyncio.sleep(min(1.0, left))
        samples.take(frontend)
    cpu_share = (frontend.cpu_seconds() - cpu_warm) / (time.monotonic() - t_warm) * 100
    await asyncio.gather(*tasks)
    return tally, samples, cpu_share


def measure(seconds: float = DEFAULT_SECONDS, sessions: int = SESSIONS) -> SoakReport:
    """Run the soak and return its figures. Starts and stops its own servers."""
    warm_up = min(60.0, max(5.0, seconds / 10))
    if seconds <= warm_up + 1:
        raise ValueError(f"a soak needs more than {warm_up + 1:g}s")
    backend_port, frontend_port = free_port(), free_port()
    loopback = ["--host", HOST, "--port", str(backend_port)]
    loopback += ["--concurrent", "--no-transcode", "--prompt-ms", "0", "--delay-ms", "0"]
    env = {
        "MOSHI_WS_URL": f"ws://{HOST}:{backend_port}",
        SLOTS_SETTING: str(sessions),
        "MAX_SESSIONS_PER_CLIENT": str(sessions),  # every session comes from 127.0.0.1
    }
    frontend_args = ["frontend", "--host", HOST, "--port", str(frontend_port)]
    url = f"ws://{HOST}:{frontend_port}{CHAT_PATH}?voice_prompt=NATF2.pt&text_prompt=soak"
    with (
        loopback_backend(loopback) as backend,
        ChildServer([*frontend_args, "--log-level", "warning"], env=env) as frontend,
    ):
        backend.wait_healthy(f"http://{HOST}:{backend_port}/health")
        frontend.wait_healthy(f"http://{HOST}:{frontend_port}/health")
        fds_idle_before = frontend.open_fds()
        tally, samples, cpu_share = asyncio.run(_drive(url, sessions, seconds, warm_up, frontend))
        fds_idle_after = _settled_fds(frontend, fds_idle_before)
    mib = 1 << 20
    return SoakReport(
        benchmark="soak",
        sessions=sessions,
        seconds=seconds,
        warm_up_s=warm_up,
        dropped_sessions=len(tally.dropped),
        drop_reasons=sorted(set(tally.dropped))[:10],
        messages_sent=tally.sent,
        messages_echoed=tally.echoed,
        rss_mib_after_warm_up=round(samples.rss[0] / mib, 1),
        rss_mib_at_end=round(samples.rss[-1] / mib, 1),
        rss_growth_percent=round((samples.rss[-1] / samples.rss[0] - 1) * 100, 2),
        fds_after_warm_up=samples.fds[0],
        fds_at_end=samples.fds[-1],
        fd_growth=samples.fds[-1] - samples.fds[0],
        fds_idle_before=fds_idle_before,
        fds_idle_after=fds_idle_after,
        proxy_cpu_percent=round(cpu_share, 1),
        rss_mib_range=_spread([round(value / mib, 1) for value in samples.rss]),
        fds_range=_spread(samples.fds),
        resource_samples=len(samples.rss),
    )


def _spread(values: list[Number]) -> tuple[Number, Number, Number]:
    return min(values), statistics.median_low(values), max(values)


def _settled_fds(frontend: ChildServer, target: int, timeout: float = 10) -> int:
    """Descriptors once closed sessions are torn down (closing takes a moment)."""
    deadline = time.monotonic() + timeout
    count = frontend.open_fds()
    while count > target and time.monotonic() < deadline:
        time.sleep(0.2)
        count = frontend.open_fds()
    return count


def run(args: argparse.Namespace) -> int:
    seconds = float(getattr(args, "seconds", None) or DEFAULT_SECONDS)
    if not args.json:
        print(f"soak: {SESSIONS} sessions through the proxy for {seconds:g}s", flush=True)
    report = measure(seconds)
    if args.json:
        print(json.dumps(asdict(report)))
        return 0
    print(
        f"  dropped sessions: {report.dropped_sessions} {report.drop_reasons or ''}\n"
        f"  messages: {report.messages_sent} sent, {report.messages_echoed} echoed\n"
        f"  frontend RSS: {report.rss_mib_after_warm_up} MiB after {report.warm_up_s:g}s "
        f"warm-up, {report.rss_mib_at_end} MiB at the end ({report.rss_growth_percent:+.2f}%); "
        f"min / median / max {' / '.join(map(str, report.rss_mib_range))} MiB over "
        f"{report.resource_samples} samples\n"
        f"  frontend fds: {report.fds_after_warm_up} after warm-up, {report.fds_at_end} at the "
        f"end; {report.fds_idle_before} idle before, {report.fds_idle_after} idle after\n"
        f"  frontend CPU: {report.proxy_cpu_percent}% of one core",
        flush=True,
    )
    return 0 if report.dropped_sessions == 0 else 1
