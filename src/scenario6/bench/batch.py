"""``scenario6 bench batch``: what N conversations on one model cost the batched backend per
80 ms frame, while one more joins, and in memory.

The measuring is done by ``scenario6.backend.batchprobe`` in the model's interpreter (see
:mod:`.probe`). This module turns its raw timings into figures: per level of live
conversations the tick's min / median / p90 / max, whether the p90 keeps the 80 ms budget,
the real-time factor and the cost against the smallest level (``tick(8) ÷ tick(1)`` above
all: the point of batching is that it stays far below 8); for the conversation that joined
at each level its prompt steps and time to the handshake, and how soon the others' frames are
answered meanwhile; the same ticks once every conversation is older than the LM's context
(each ring KV cache full: on a CPU a young conversation's steps read only the part filled); and
the memory one more conversation takes against the server's estimate (``rows.slot_bytes``).
"""

from __future__ import annotations

import argparse
import statistics
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from scenario6.backend.probekit import BATCH_FRAMES, BATCH_LEVELS, counts
from scenario6.facts.slots import AUTO, SLOTS_OPTION

from . import probe
from .probe import describe, prompts, spread

LEVELS = BATCH_LEVELS  # the probe's defaults
FRAMES = BATCH_FRAMES
MIB = 2**20
_CONTEXT = (
    "model", "device", "device_name", "threads", "torch", "lm_dtype", "lm_parameters",
    "mimi_parameters", "load_s", "frame_budget_ms", "warm_up_frames", "slots", "voice_prompt",
    "tokenizer", "persona", "auto_slots", "levels_skipped",
)  # fmt: skip


def summarise(raw: Mapping[str, Any]) -> dict[str, Any]:
    """The probe's raw timings as the benchmark's figures (the raw samples are kept)."""
    budget = float(raw["frame_budget_ms"])
    levels = [_level(level, budget) for level in raw["levels"]]
    first = levels[0]["tick"]["p50_ms"]
    for level in levels:
        level["vs_smallest"] = round(level["tick"]["p50_ms"] / first, 3)
    medians = {level["conversations"]: level["tick"]["p50_ms"] for level in levels}
    aged = [level for level in levels if level["full_ring"]]
    full_ms = {level["conversations"]: level["full_ring"]["p50_ms"] for level in aged}
    smallest = full_ms.get(levels[0]["conversations"])
    for level in levels:
        if level["full_ring"] and smallest:
            level["full_ring_vs_smallest"] = round(level["full_ring"]["p50_ms"] / smallest, 3)
    kept = [level["conversations"] for level in levels if level["keeps_budget"]]
    return {
        "benchmark": "batch",
        **{key: raw[key] for key in _CONTEXT},
        "server_warm_up_s": raw.get("server_warm_up_s"),  # absent from older probes
        "frames": len(raw["levels"][0]["tick_ms"]),
        "levels": levels,
        "tick_ratio_8_to_1": _ratio(medians),
        "lm_context_frames": raw.get("lm_context_frames"),  # absent from older probes
        # The second pass's fewest steps taken: at least the context, or a ring was not full.
        "full_ring_fewest_steps": raw.get("full_ring_fewest_steps"),
        "full_ring_tick_ratio_8_to_1": _ratio(full_ms),
        "max_conversations_within_budget_full_ring": max(
            (level["conversations"] for level in levels if level.get("full_ring_keeps_budget")),
            default=None,
        ),
        "max_conversations_within_budget": max(kept, default=None),
        "memory": _memory(raw),
        "samples_ms": {str(level["conversations"]): level["tick_ms"] for level in raw["levels"]},
        "full_ring_samples_ms": {
            str(level["conversations"]): level["full_ring_tick_ms"]
            for level in raw["levels"]
            if level.get("full_ring_tick_ms")
        },
    }


def _ratio(medians: Mapping[int, float]) -> float | None:
    """tick(8) ÷ tick(1), where both were measured."""
    return round(medians[8] / medians[1], 3) if {1, 8} <= set(medians) else None


def _level(level: Mapping[str, Any], budget: float) -> dict[str, Any]:
    count = level["conversations"]
    tick = spread(level["tick_ms"], budget)
    full = spread(level["full_ring_tick_ms"], budget) if level.get("full_ring_tick_ms") else None
    return {
        "conversations": count,
        "tick": tick,
        "per_conversation_ms": round(tick["p50_ms"] / count, 3),
        "real_time_factor": round(tick["p50_ms"] / budget, 3),
        "keeps_budget": tick["p90_ms"] <= budget,
        "frames_over_budget": sum(value > budget for value in level["tick_ms"]),
        "first_ticks_max_to_median": _first(level, tick["p50_ms"]),
        "steady_ticks_max_to_median": _steady(level, tick["p50_ms"]),
        "memory_bytes": level["memory_bytes"],
        "join": _join(level["join"], budget),
        "full_ring": full,
        "full_ring_keeps_budget": None if full is None else full["p90_ms"] <= budget,
    }


def _first(level: Mapping[str, Any], median: float) -> float | None:
    """The slowest of the first ticks after the level's last conversation joined, against
    the level's median: far above 1 when a live frame paid for a compile or an allocation."""
    first = level.get("first_tick_ms")
    return round(max(first) / median, 3) if first and median else None


def _steady(level: Mapping[str, Any], median: float) -> float | None:
    """The same figure for runs of as many ticks later on, when nothing joins (the median of
    their slowest): what the machine's own jitter gives, against which ``_first`` is read."""
    window, ticks = len(level.get("first_tick_ms") or []), list[float](level["tick_ms"])
    if not window or not median or len(ticks) < window:
        return None
    slowest = [max(ticks[i : i + window]) for i in range(0, len(ticks) - window + 1, window)]
    return round(statistics.median(slowest) / median, 3)


def _join(join: Mapping[str, Any], budget: float) -> dict[str, Any]:
    """A joining conversation's prompt phase as the server schedules it, and the others'
    frames meanwhile: each answered its audio ``late + tick`` ms after it arrived, and a
    conversation whose answers come within the budget keeps real time."""
    calls, ticks, late = join["prompt_calls"], join["others_tick_ms"], join["others_late_ms"]
    answers = [wait + tick for wait, tick in zip(late, ticks, strict=True)]
    answer = spread(answers, budget) if answers else None
    return {
        "others": join["others"],
        "steps": sum(steps for steps, _, _ in calls),
        "calls": len(calls),
        "step": spread([ms / steps for steps, ms, _ in calls if steps], budget),
        "call": spread([ms for _, ms, _ in calls], budget),
        "prompt_s": round((join["setup_ms"] + sum(ms for _, ms, _ in calls)) / 1000, 3),
        # What the join itself cost the others: how long their due frames waited for it.
        "others_held_ms": round(sum(held for _, _, held in calls), 3),
        "others_held_max_ms": round(max((held for _, _, held in calls), default=0.0), 3),
        "handshake_s": round(join["handshake_s"], 3),
        "others_frames": len(ticks),
        "others_tick": spread(ticks, budget) if ticks else None,
        "others_answer": answer,
        "others_late_max_ms": round(max(late), 3) if late else None,
        "others_keep_budget": None if answer is None else answer["p90_ms"] <= budget,
    }


def _memory(raw: Mapping[str, Any]) -> dict[str, Any]:
    """Bytes one more conversation takes: its share of the stepper's per-slot state plus the
    growth per conversation from the smallest to the largest level, against the estimate."""
    memory = raw["memory"]
    estimate, engine = memory["slot_bytes_estimate"], memory["engine_bytes"]
    state = engine / raw["slots"] if engine is not None else None
    used = [(level["conversations"], level["memory_bytes"]) for level in raw["levels"]]
    used = [(count, value) for count, value in used if value is not None]
    growth = None
    if len(used) > 1:
        (low, low_bytes), (high, high_bytes) = used[0], used[-1]
        growth = (high_bytes - low_bytes) / (high - low)
    measured = state + growth if state is not None and growth is not None else None
    return {
        "measure": memory["measure"],
        "slot_bytes_estimate": estimate,
        "engine_bytes": engine,
        "state_per_slot_bytes": None if state is None else round(state),
        "growth_per_conversation_bytes": None if growth is None else round(growth),
        "measured_slot_bytes": None if measured is None else round(measured),
        "measured_to_estimate": None if measured is None else round(measured / estimate, 3),
    }


def measure(
    python: Path,
    *,
    full_size: bool = False,
    device: str | None = None,
    levels: Sequence[int] = LEVELS,
    frames: int = FRAMES,
) -> dict[str, Any]:
    """Run the probe with ``python``."""
    line = probe.command(
        python,
        "scenario6.backend.batchprobe",
        full_size=full_size,
        device=device,
    )
    line += ["--levels", ",".join(map(str, levels)), "--frames", str(frames)]
    return {**summarise(probe.run_probe(line)), "python": str(python)}


def mib(value: float | None) -> str:
    return "—" if value is None else f"{value / MIB:,.1f} MiB"


def lines(result: Mapping[str, Any]) -> list[str]:
    """The figures as text for a terminal: one row per level, then joining and memory."""
    budget = result["frame_budget_ms"]
    smallest = result["levels"][0]["conversations"]
    ticks = [["live", "min ms", "median", "p90", "max", "per conv", f"÷ {smallest}", "RTF",
              "over", "budget", "first÷p50", "steady÷p50"]]  # fmt: skip
    joins = [["others", "LM steps", "calls", "call p90", "per step", "handshake s",
              "their frames", "their tick", "answer p90", "late max", "held up"]]  # fmt: skip
    for level in result["levels"]:
        tick, join = level["tick"], level["join"]
        values = [tick[key] for key in ("min_ms", "p50_ms", "p90_ms", "max_ms")]
        values += [level["per_conversation_ms"], level["vs_smallest"], level["real_time_factor"]]
        over = f"{level['frames_over_budget']}/{result['frames']}"
        kept = "kept" if level["keeps_budget"] else "MISSED"
        first = level["first_ticks_max_to_median"]
        row = [str(level["conversations"]), *(f"{v:.2f}" for v in values), over, kept]
        steady = level.get("steady_ticks_max_to_median")
        ticks.append([*row, *("—" if v is None else f"{v:.2f}" for v in (first, steady))])
        theirs, answer = join["others_tick"], join["others_answer"]
        joins.append(
            [
                str(join["others"]),
                str(join["steps"]),
                str(join["calls"]),
                f"{join['call']['p90_ms']:.2f}",
                f"{join['step']['p50_ms']:.2f}",
                f"{join['handshake_s']:.2f}",
                str(join["others_frames"]),
                f"{theirs['p50_ms']:.2f}" if theirs else "—",
                f"{answer['p90_ms']:.2f}" if answer else "—",
                f"{join['others_late_max_ms']:.2f}" if answer else "—",
                f"{join['others_held_ms']:.2f}" if answer else "—",
            ]
        )
    out = [
        f"{describe(result)}; a stepper of {result['slots']} slots",
        f"{result['frames']} ticks per level after {result['warm_up_frames']} warm-up ticks; "
        f"budget {budget:g} ms a frame, kept when the p90 tick is within it",
        *_table(ticks),
    ]
    out.append(
        "  first÷p50: the slowest of the first 10 ticks after a conversation joined, against "
        "the median; steady÷p50: the same for runs of 10 later ticks (the median of their "
        "slowest), the machine's own jitter; "
        f"the server's warm-up took {result['server_warm_up_s'] or '—'} s at start"
    )
    ratio = result["tick_ratio_8_to_1"]
    if ratio is not None:
        out.append(
            f"  tick(8) / tick(1) = {ratio:.2f} (medians): 8 conversations cost {ratio:.2f}× one"
        )
    best = result["max_conversations_within_budget"]
    out.append(f"  most conversations within the budget: {best or 'none of the levels'}")
    out += _full_ring_lines(result)
    if note := slots_note(result):
        out.append(f"  {note}")
    persona = result["persona"]
    out.append(
        f"  joining ({persona['characters']}-character persona, {persona['text_tokens']} tokens) "
        "while the others talk, scheduled as the server does; their answers in ms after their "
        "audio arrived, and how long in all their due frames waited for its prompt calls "
        "(held up):"
    )
    out += _table(joins)
    memory = result["memory"]
    out.append(
        f"  memory ({memory['measure'] or 'not read'}): {mib(memory['measured_slot_bytes'])} per "
        f"conversation ({mib(memory['state_per_slot_bytes'])} slot state + "
        f"{mib(memory['growth_per_conversation_bytes'])} growth a conversation); the server's "
        f"estimate {mib(memory['slot_bytes_estimate'])}"
    )
    out.append(f"  {prompts(result)}")
    return out


def _full_ring_lines(result: Mapping[str, Any]) -> list[str]:
    """The ticks once every ring is full, against the young conversations' above."""
    levels = [level for level in result["levels"] if level.get("full_ring")]
    if not levels:
        return []
    smallest = levels[0]["conversations"]
    context = result.get("lm_context_frames")
    past = f"{context * result['frame_budget_ms'] / 1000:g} s" if context else "the context"
    rows = [["live", "median", "p90", f"÷ {smallest}", "budget", "young median"]]
    for level in levels:
        full = level["full_ring"]
        kept = "kept" if level["full_ring_keeps_budget"] else "MISSED"
        values = (full["p50_ms"], full["p90_ms"], level["full_ring_vs_smallest"])
        young = f"{level['tick']['p50_ms']:.2f}"
        rows.append([str(level["conversations"]), *(f"{v:.2f}" for v in values), kept, young])
    out = [
        f"  every conversation past the LM's context of {context or '—'} frames ({past}), each "
        "ring KV cache full (on a CPU the steps above read only its filled part), ms:",
        *_table(rows),
    ]
    ratio = result["full_ring_tick_ratio_8_to_1"]
    if ratio is not None:
        out.append(f"  tick(8) / tick(1) with every ring full = {ratio:.2f} (medians)")
    best = result["max_conversations_within_budget_full_ring"]
    best = best or "none of the levels"
    out.append(f"  most conversations within the budget, rings full: {best}")
    return out


def slots_note(result: Mapping[str, Any]) -> str:
    """What the server's ``--slots auto`` would hold on this GPU, and the levels skipped for
    it; ``""`` on a CPU."""
    if result["auto_slots"] is None:
        return ""
    note = f"{SLOTS_OPTION} {AUTO} would hold {result['auto_slots']} conversations on this GPU"
    if result["levels_skipped"]:
        note += f"; levels skipped for it: {', '.join(map(str, result['levels_skipped']))}"
    return note


def _table(rows: list[list[str]]) -> list[str]:
    """Right-aligned columns, each as wide as its widest cell."""
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    return ["  " + "  ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)) for row in rows]


def run(args: argparse.Namespace) -> int:
    full_size = bool(getattr(args, "full_size", False))
    frames = int(getattr(args, "frames", None) or FRAMES)
    device = getattr(args, "device", None)
    try:
        given = getattr(args, "levels", None)
        levels = counts(given) if given else list(LEVELS)
    except ValueError as exc:
        print(f"scenario6 bench batch: --levels {exc}")
        return 2
    size = "full-size" if full_size else "tiny"
    about = f"{size} model, {', '.join(map(str, levels))} conversations, {frames} ticks each"

    def timed(python: Path) -> dict[str, Any]:
        return measure(python, full_size=full_size, device=device, levels=levels, frames=frames)

    return probe.run(args, "batch", summarise, lines, timed, about)
