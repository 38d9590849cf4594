"""The proxy benchmark's summary: added latency only where both sides measured something."""

from __future__ import annotations

import json
import math

from scenario6.bench.proxy import Level, _summary


def level(sessions: int, path: str, p50: float, samples: int) -> Level:
    nan = math.nan if not samples else p50
    return Level(sessions, path, nan, nan, nan, nan, samples, 0, 0.0, 0.0)


def test_a_level_without_frames_adds_no_latency_row_and_no_nan() -> None:
    summary = _summary(
        [level(1, "direct", 1.0, 80), level(1, "proxy", 1.6, 80),
         level(500, "direct", 2.0, 900), level(500, "proxy", 0.0, 0)],
        seconds=3,
    )  # fmt: skip
    rows = summary["added_latency_per_traversal"]
    assert rows == [
        {"sessions": 1, "added_ms_p50": 0.3, "added_ms_p99": 0.3, "failed_sessions": 0,
         "proxy_cpu_percent": 0.0},
    ]  # fmt: skip
    assert summary["max_sessions_with_p99_added_le_20ms"] == 1
    json.dumps(rows, allow_nan=False)  # strict JSON readers take it
