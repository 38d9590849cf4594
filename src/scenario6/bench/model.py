"""``scenario6 bench model``: the real PersonaPlex server's cost per 80 ms frame, and to the
handshake, on whatever device is here.

The measuring is done by ``scenario6.backend.modelprobe`` in an interpreter that has torch and
PersonaPlex's ``moshi`` fork (their pins clash with this project's, so never this one): by
default the test-support venv (``python -m tests.support.personaplex`` makes it), or
``--python``. This module runs it and turns its raw timings into figures: min / median / p90 /
max per part (Mimi encodes, LM step, Mimi decodes) and per frame, the share of the 80 ms
budget, the real-time factor, and the seconds to the handshake for a short and a
1000-character persona.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from . import probe
from .probe import describe, prompts, spread

FRAMES = 100
PARTS = {"encode": "2 × Mimi encode", "lm_step": "LM step", "decode": "2 × Mimi decode"}


def summarise(raw: Mapping[str, Any]) -> dict[str, Any]:
    """The probe's raw timings as the benchmark's figures (the raw samples are kept)."""
    budget = float(raw["frame_budget_ms"])
    samples = raw["frames_ms"]
    frame = spread(samples["frame"], budget)
    handshakes = [
        {**shake, "seconds": round(shake["seconds"], 3),
         "liveness_wait_s": round(shake["liveness_wait_s"], 3)}
        for shake in raw["handshakes"]
    ]  # fmt: skip
    return {
        "benchmark": "model",
        **{key: raw[key] for key in _CONTEXT},
        "frames": len(samples["frame"]),
        "parts": {name: spread(samples[name], budget) for name in PARTS},
        "frame": frame,
        "real_time_factor": round(frame["p50_ms"] / budget, 3),
        "frames_over_budget": sum(value > budget for value in samples["frame"]),
        "handshakes": handshakes,
        "samples_ms": samples,
    }


_CONTEXT = (
    "model", "device", "device_name", "threads", "torch", "lm_dtype", "lm_parameters",
    "mimi_parameters", "load_s", "frame_budget_ms", "warm_up_frames", "voice_prompt",
    "tokenizer",
)  # fmt: skip


def measure(
    python: Path,
    *,
    full_size: bool = False,
    device: str | None = None,
    frames: int = FRAMES,
) -> dict[str, Any]:
    """Run the probe with ``python``."""
    line = probe.command(
        python,
        "scenario6.backend.modelprobe",
        full_size=full_size,
        device=device,
    )
    raw = probe.run_probe([*line, "--frames", str(frames)])
    return {**summarise(raw), "python": str(python)}


def lines(result: Mapping[str, Any]) -> list[str]:
    """The figures as text for a terminal."""
    out = [describe(result), f"{result['frames']} frames after {result['warm_up_frames']} "
           f"warm-up frames; budget {result['frame_budget_ms']:g} ms a frame"]  # fmt: skip
    rows = [(label, result["parts"][name]) for name, label in PARTS.items()]
    for label, row in [*rows, ("whole frame", result["frame"])]:
        out.append(
            f"  {label:16} min {row['min_ms']:8.2f}  median {row['p50_ms']:8.2f}  "
            f"p90 {row['p90_ms']:8.2f}  max {row['max_ms']:8.2f} ms  "
            f"({row['budget_percent_p50']:g} % of the budget at the median)"
        )
    out.append(
        f"  real-time factor {result['real_time_factor']:g} (median frame / budget); "
        f"{result['frames_over_budget']} of {result['frames']} frames over budget"
    )
    out.append(f"  {prompts(result)}")
    for shake in result["handshakes"]:
        out.append(
            f"  handshake, {shake['persona']} persona ({shake['characters']} characters, "
            f"{shake['text_tokens']} tokens, {shake['steps']} LM steps): "
            f"{shake['seconds']:.2f} s, of which {shake['liveness_wait_s']:.2f} s the server's "
            "liveness checks"
        )
    return out


def run(args: argparse.Namespace) -> int:
    full_size = bool(getattr(args, "full_size", False))
    frames = int(getattr(args, "frames", None) or FRAMES)
    device = getattr(args, "device", None)
    about = f"{'full-size' if full_size else 'tiny'} model, {frames} frames"

    def timed(python: Path) -> dict[str, Any]:
        return measure(python, full_size=full_size, device=device, frames=frames)

    return probe.run(args, "model", summarise, lines, timed, about)
