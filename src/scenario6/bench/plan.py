"""How long and how often each benchmark measures when the whole suite runs."""

from __future__ import annotations

from dataclasses import dataclass, field

from . import batch, load, model, proxy, reload


@dataclass(frozen=True)
class Plan:
    """How long and how often each benchmark measures."""

    edits: int = reload.EDITS
    rebuilds: int = reload.REBUILDS
    warm_starts: int = reload.WARM_STARTS
    proxy_levels: list[int] = field(default_factory=lambda: list(proxy.LEVELS))
    proxy_seconds: float = proxy.SECONDS
    browser_seconds: float = 15.0
    browser_warm_up: float = 3.0
    soak_seconds: float = 60.0
    model_frames: int = model.FRAMES
    batch_levels: list[int] = field(default_factory=lambda: list(batch.LEVELS))
    batch_frames: int = batch.FRAMES
    load_sessions: int = load.SESSIONS
    load_seconds: float = load.DURATION_S


# A few minutes in all: enough to see every figure, too little to compare them.
QUICK = Plan(
    edits=3,
    rebuilds=2,
    warm_starts=2,
    proxy_levels=[1, 20],
    proxy_seconds=3.0,
    browser_seconds=5.0,
    browser_warm_up=1.0,
    soak_seconds=12.0,
    model_frames=20,
    batch_levels=[1, 2, 4],
    batch_frames=10,
    load_sessions=10,  # 2 more than the 8 loopback slots: they queue
    load_seconds=3.0,
)
