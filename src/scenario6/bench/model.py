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
import importlib
import json
import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import scenario6
from scenario6.backend.modelprobe import CHARS_PER_TOKEN

from .harness import percentile
from .images import REPO

FRAMES = 100
# Against a hang only: the tiny model on a busy 2-core machine needs well under a minute.
TIMEOUT_S = 3600
PARTS = {"encode": "2 × Mimi encode", "lm_step": "LM step", "decode": "2 × Mimi decode"}
MAKE_VENV = "python -m tests.support.personaplex"


class ProbeUnavailable(RuntimeError):
    """No interpreter with torch and the moshi fork; the message says how to get one."""


def _tiny() -> Any | None:
    """The checkout's test-support PersonaPlex (venv + tiny model), when it has been built."""
    if not (REPO / "tests" / "support" / "personaplex" / "__init__.py").is_file():
        return None  # an installed scenario6, not a checkout
    if str(REPO) not in sys.path:
        sys.path.append(str(REPO))
    tiny = importlib.import_module("tests.support.personaplex").TinyPersonaPlex.default()
    return tiny if tiny.built else None


def interpreter(python: str | None) -> Path:
    """``--python``, else the test-support venv's interpreter."""
    if python:
        if not Path(python).exists():
            raise ProbeUnavailable(f"--python {python}: no such interpreter")
        return Path(python)
    tiny = _tiny()
    if tiny is not None:
        return Path(tiny.python)
    raise ProbeUnavailable(
        "no interpreter with torch and PersonaPlex's moshi: the test-support venv is not "
        f"built. Make it with `{MAKE_VENV}` in a checkout, or pass --python PY (one where "
        "`import torch, moshi` works)"
    )


def tiny_model_dir() -> Path | None:
    """The tiny test model's folder: a real tokenizer and voice prompts for the tiny sizes."""
    tiny = _tiny()
    return Path(tiny.model_dir) if tiny is not None else None


def probe_command(
    python: Path, *, full_size: bool, device: str | None, frames: int, model_dir: Path | None
) -> list[str]:
    command = [str(python), "-m", "scenario6.backend.modelprobe", "--frames", str(frames)]
    command += ["--full-size"] if full_size else []
    command += ["--device", device] if device else []
    command += ["--model-dir", str(model_dir)] if model_dir else []
    return command


def run_probe(command: Sequence[str]) -> dict[str, Any]:
    """The probe's JSON; its interpreter finds this checkout's (or install's) scenario6."""
    source = str(Path(scenario6.__file__).resolve().parent.parent)
    path = os.pathsep.join(filter(None, [source, os.environ.get("PYTHONPATH")]))
    # One thread each for torch and OpenMP unless the caller says otherwise: with more, a
    # shared machine's other work makes the tail of the frame times swing by tens of ms.
    env = {"OMP_NUM_THREADS": "1", **os.environ, "PYTHONPATH": path}
    result = subprocess.run(
        list(command), env=env, capture_output=True, text=True, timeout=TIMEOUT_S, check=False
    )
    if result.returncode != 0:
        raise RuntimeError(
            f"the model probe exited with {result.returncode}: {result.stderr.strip()[-2000:]}"
        )
    raw: dict[str, Any] = json.loads(result.stdout)
    return raw


def spread(samples: Sequence[float], budget_ms: float) -> dict[str, float]:
    """Min / median / p90 / max in ms, and the median's and p90's share of the budget."""
    p50, p90 = percentile(samples, 50), percentile(samples, 90)
    return {
        "min_ms": round(min(samples), 3),
        "p50_ms": round(p50, 3),
        "p90_ms": round(p90, 3),
        "max_ms": round(max(samples), 3),
        "budget_percent_p50": round(p50 / budget_ms * 100, 1),
        "budget_percent_p90": round(p90 / budget_ms * 100, 1),
    }


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
    """Run the probe with ``python``; the tiny model uses the test model's tokenizer and voice
    prompt when they are built."""
    model_dir = None if full_size else tiny_model_dir()
    command = probe_command(
        python, full_size=full_size, device=device, frames=frames, model_dir=model_dir
    )
    return {**summarise(run_probe(command)), "python": str(python)}


def why_not() -> str:
    """Why the benchmark cannot run here with the default interpreter, or ``""``."""
    try:
        interpreter(None)
    except ProbeUnavailable as exc:
        return str(exc)
    return ""


def describe(result: Mapping[str, Any]) -> str:
    """What ran where, in one line."""
    size = f"{result['model']} model ({result['lm_parameters'] / 1e6:,.1f} M-parameter LM, "
    size += f"{result['lm_dtype']})"
    if result["device"] == "cpu":
        return f"{size} on the CPU, {result['threads']} torch thread(s)"
    return f"{size} on {result['device']} ({result['device_name']})"


def prompts(result: Mapping[str, Any]) -> str:
    """Where the voice prompt and the persona's tokens came from, in one sentence."""
    voice = result["voice_prompt"]
    made = Path(voice["file"]).name if voice["file"] else "random embeddings (no voice file)"
    tokens = (
        f"tokenizer {Path(result['tokenizer']).name}"
        if result["tokenizer"]
        else f"estimated at {CHARS_PER_TOKEN} characters a token (no tokenizer)"
    )
    return f"voice prompt: {voice['frames']} frames, {made}; persona tokens: {tokens}"


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
    if saved := getattr(args, "probe_output", None):
        # Timings taken elsewhere, e.g. by the backend image on a GPU host.
        try:
            result = summarise(json.loads(Path(saved).read_text()))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            print(f"scenario6 bench model: {saved} is not a probe's output: {exc!r}")
            return 2
        print(json.dumps(result) if args.json else "\n".join(lines(result)))
        return 0
    try:
        python = interpreter(getattr(args, "python", None))
    except ProbeUnavailable as exc:
        print(f"scenario6 bench model: {exc}")
        return 2
    full_size = bool(getattr(args, "full_size", False))
    frames = int(getattr(args, "frames", None) or FRAMES)
    if not args.json:
        size = "full-size" if full_size else "tiny"
        print(f"model benchmark: {size} model, {frames} frames, probe in {python}", flush=True)
    try:
        result = measure(
            python, full_size=full_size, device=getattr(args, "device", None), frames=frames
        )
    except (RuntimeError, ValueError, subprocess.TimeoutExpired) as exc:
        # ValueError covers a probe that printed something other than its JSON.
        print(f"scenario6 bench model: {exc}")
        return 1
    print(json.dumps(result) if args.json else "\n".join(lines(result)))
    return 0
