"""Running a model probe: the interpreter that has torch and PersonaPlex's ``moshi`` fork, the
probe's JSON, and what the benchmarks built on one share (spreads, descriptions, the command).

The probes (``scenario6.backend.modelprobe``, ``scenario6.backend.batchprobe``) never run in
this project's interpreter (the fork's pins clash with the project's): by default they run in
the test-support venv (``python -m tests.support.personaplex`` makes it), or in ``--python``.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import scenario6
from scenario6.backend.probekit import CHARS_PER_TOKEN

from .harness import percentile
from .images import REPO

# Against a hang only: the tiny model on a busy 2-core machine needs well under a minute.
TIMEOUT_S = 3600
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


def command(python: Path, module: str, *, full_size: bool, device: str | None) -> list[str]:
    """The probe ``module`` (``scenario6.backend.…``) for the model these options describe;
    the tiny model uses the test model's tokenizer and voice prompt when they are built."""
    line = [str(python), "-m", module]
    line += ["--full-size"] if full_size else []
    line += ["--device", device] if device else []
    model_dir = None if full_size else tiny_model_dir()
    line += ["--model-dir", str(model_dir)] if model_dir else []
    return line


def run_probe(line: Sequence[str]) -> dict[str, Any]:
    """The probe's JSON; its interpreter finds this checkout's (or install's) scenario6."""
    source = str(Path(scenario6.__file__).resolve().parent.parent)
    path = os.pathsep.join(filter(None, [source, os.environ.get("PYTHONPATH")]))
    # One thread each for torch and OpenMP unless the caller says otherwise: with more, a
    # shared machine's other work makes the tail of the frame times swing by tens of ms.
    env = {"OMP_NUM_THREADS": "1", **os.environ, "PYTHONPATH": path}
    result = subprocess.run(
        list(line), env=env, capture_output=True, text=True, timeout=TIMEOUT_S, check=False
    )
    if result.returncode != 0:
        raise RuntimeError(
            f"{' '.join(line[1:3])} exited with {result.returncode}: "
            f"{result.stderr.strip()[-2000:]}"
        )
    try:
        raw: dict[str, Any] = json.loads(result.stdout)
    except ValueError:
        raise RuntimeError(
            f"{' '.join(line[1:3])} printed no JSON object: {result.stdout.strip()[:300]!r}"
        ) from None
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


def why_not() -> str:
    """Why a probe cannot run here with the default interpreter, or ``""``."""
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


def run(
    args: argparse.Namespace,
    name: str,
    summarise: Callable[[Mapping[str, Any]], dict[str, Any]],
    lines: Callable[[Mapping[str, Any]], list[str]],
    measure: Callable[[Path], dict[str, Any]],
    about: str,
) -> int:
    """``scenario6 bench NAME``: measure with the probe's interpreter (or summarise
    ``--probe-output``) and print the figures; ``about`` says what is measured."""
    prefix = f"scenario6 bench {name}"
    if saved := getattr(args, "probe_output", None):
        # Timings taken elsewhere, e.g. by the backend image on a GPU host.
        try:
            result = summarise(json.loads(Path(saved).read_text()))
        except (OSError, ValueError, LookupError, TypeError) as exc:
            print(f"{prefix}: {saved} is not a probe's output: {exc!r}")
            return 2
        print(json.dumps(result) if args.json else "\n".join(lines(result)))
        return 0
    try:
        python = interpreter(getattr(args, "python", None))
    except ProbeUnavailable as exc:
        print(f"{prefix}: {exc}")
        return 2
    if not args.json:
        print(f"{name} benchmark: {about}, probe in {python}", flush=True)
    try:
        result = measure(python)
    except (RuntimeError, ValueError, subprocess.TimeoutExpired) as exc:
        # ValueError covers a probe that printed something other than its JSON.
        print(f"{prefix}: {exc}")
        return 1
    print(json.dumps(result) if args.json else "\n".join(lines(result)))
    return 0
