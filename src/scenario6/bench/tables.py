"""Each benchmark's result as the report's figures and notes: the ``table`` of its record."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from . import batch, model, probe
from .figures import NOT_MEASURED, Figure, number, plural


def _seconds(label: str, part: Mapping[str, Any], noun: str) -> Figure:
    """A reload figure from ``{"min_s", "p50_s", "max_s", "samples"}`` or ``{"skipped"}``."""
    if "skipped" in part:
        return Figure.absent(label, part["skipped"])
    values = (part["min_s"], part["p50_s"], part["max_s"])
    return Figure.spread(label, "s", values, plural(len(part["samples"]), noun))


def reload_table(result: Mapping[str, Any]) -> tuple[list[Figure], list[str]]:
    production = result["production_edit"]
    figures = [
        _seconds("edit → served, `scenario6 run`", result["run_mode_edit"], "edit"),
        _seconds("edit → served, plain `uvicorn --reload`", result["uvicorn_reload_edit"], "edit"),
        _seconds("edit → image rebuild (warm cache) + restart → served", production, "edit"),
    ]
    if "build" in production:
        figures.append(_seconds("image rebuild alone (warm cache)", production["build"], "build"))
    for key, runtime in (
        ("warm_start_native_backend", "native loopback backend"),
        ("warm_start_container_backend", "loopback backend container"),
    ):
        start = result[key]
        figures.append(
            _seconds(f"`scenario6 run` start → healthy, warm, {runtime}", start, "start")
        )
        if "cold_s" in start:
            label = f"`scenario6 run` first start, {runtime}"
            figures.append(Figure.single(label, "s", start["cold_s"], "1 start"))
    notes = [f"Target for an edit in run mode: ≤ {result['target_s']:g} s (median)."]
    if "speedup_vs_image_rebuild" in result:
        speedup = result["speedup_vs_image_rebuild"]
        notes.append(f"Run mode makes an edit live {speedup:g}× faster than an image rebuild.")
    return figures, notes


def proxy_table(result: Mapping[str, Any]) -> tuple[list[Figure], list[str]]:
    figures = []
    for level in result["levels"]:
        path = "through the proxy" if level["path"] == "proxy" else "direct"
        label = f"round trip, {plural(level['sessions'], 'session')}, {path}"
        if not level["samples"]:
            figures.append(Figure.absent(label, "no frame came back"))
            continue
        values = (level["rtt_ms_min"], level["rtt_ms_p50"], level["rtt_ms_max"])
        note = f"p99 {number(level['rtt_ms_p99'])} ms"
        if level["failed_sessions"]:
            note += f"; {level['failed_sessions']} sessions failed"
        if level["path"] == "proxy":
            note += f"; proxy CPU {level['proxy_cpu_percent']:g} % of a core"
        figures.append(Figure.spread(label, "ms", values, plural(level["samples"], "frame"), note))
    for row in result["added_latency_per_traversal"]:
        label = f"added per traversal, {plural(row['sessions'], 'session')}"
        note = f"p99 {number(row['added_ms_p99'])} ms; half the round-trip difference"
        figures.append(Figure.single(label, "ms", row["added_ms_p50"], "median of frames", note))
    best = result["max_sessions_with_p99_added_le_20ms"]
    tried = ", ".join(str(level["sessions"]) for level in result["levels"][::2])
    notes = [
        f"Sessions one frontend worker relays with p99 added latency ≤ 20 ms: **{best}** "
        f"(levels tried: {tried}; {result['seconds_per_level']:g} s each; one "
        f"{result['payload_bytes']}-byte message every {result['cadence_ms']:g} ms each way).",
    ]
    return figures, notes


def browser_table(result: Mapping[str, Any]) -> tuple[list[Figure], list[str]]:
    labels = {
        "micToWire": "microphone → wire",
        "wireToSpeaker": "wire → speaker",
        "roundTrip": "round trip (echo)",
    }
    figures = []
    for key, label in labels.items():
        figure = result["figures"].get(key)
        if figure is None:
            figures.append(Figure.absent(label, "the client recorded no samples"))
            continue
        values = (figure["min_ms"], figure["median_ms"], figure["max_ms"])
        figures.append(Figure.spread(label, "ms", values, plural(figure["count"], "sample")))
    jitter = result["jitter_buffer"]
    notes = [
        f"{result['seconds']:g} s of audio in headless Chromium; audio clock "
        f"{result['audio_clock_hz']} Hz; output latency {result['output_latency_ms']:g} ms; "
        f"jitter buffer underruns {jitter['underruns']}, dropped samples "
        f"{jitter['dropped_samples']}. Target round trip: ≤ {result['target_round_trip_ms']:g} ms.",
    ]
    return figures, notes


def images_table(result: Mapping[str, Any]) -> tuple[list[Figure], list[str]]:
    figures = []
    for row in result["images"]:
        notes = []
        if row["added_to_base_mb"] is not None:
            notes.append(f"{number(row['added_to_base_mb'])} MB on top of the base")
        if row["target_mb"]:
            notes.append(f"target ≤ {row['target_mb']:g} MB")
        if row["build_s"] is None:
            notes.append(f"`{row['tag']}`, built elsewhere (SCENARIO6_BACKEND_IMAGE)")
        note = "; ".join(notes)
        figures.append(
            Figure.single(f"{row['name']} image size", "MB", row["size_mb"], "1 build", note)
        )
        if row["build_s"] is not None:
            label = f"{row['name']} image build (Docker's cache applies)"
            figures.append(Figure.single(label, "s", row["build_s"], "1 build"))
    if result["base_image_mb"] is not None:
        label = f"base image `{result['base_image']}`"
        figures.append(Figure.single(label, "MB", result["base_image_mb"], "1 image"))
    notes = [f"Not built: {row['name']} ({row['why']})." for row in result["not_built"]]
    return figures, notes


def soak_table(result: Mapping[str, Any]) -> tuple[list[Figure], list[str]]:
    taken = plural(result["resource_samples"], "sample") + ", 1 a second"
    growth = f"{result['rss_growth_percent']:+g} % from the warm-up to the end"
    fds = f"{result['fds_idle_before']} idle before, {result['fds_idle_after']} idle after"
    sent, echoed = result["messages_sent"], result["messages_echoed"]
    echoed_percent = round(echoed / sent * 100, 2) if sent else 0.0
    drops = "; ".join(result["drop_reasons"]) or f"of {result['sessions']}"
    figures = [
        Figure.spread("frontend resident memory", "MiB", result["rss_mib_range"], taken, growth),
        Figure.spread("frontend open files", "", result["fds_range"], taken, fds),
        Figure.single("frontend CPU", "% of a core", result["proxy_cpu_percent"], "1 run"),
        Figure.single("dropped sessions", "", result["dropped_sessions"], "1 run", drops),
        Figure.single("messages echoed", "%", echoed_percent, "1 run", f"{echoed:,} of {sent:,}"),
    ]
    notes = [
        f"{result['sessions']} sessions through the proxy for {result['seconds']:g} s "
        f"(the first {result['warm_up_s']:g} s are warm-up and not sampled)."
    ]
    return figures, notes


def model_table(result: Mapping[str, Any]) -> tuple[list[Figure], list[str]]:
    frames = plural(result["frames"], "frame")
    budget = result["frame_budget_ms"]
    rows = [(label, result["parts"][name]) for name, label in model.PARTS.items()]
    figures = []
    for label, row in [*rows, ("whole frame", result["frame"])]:
        values = (row["min_ms"], row["p50_ms"], row["max_ms"])
        note = f"p90 {number(row['p90_ms'])} ms; median {row['budget_percent_p50']:g} % of "
        note += f"the {budget:g} ms budget"
        figures.append(Figure.spread(label, "ms", values, frames, note))
    over = f"{result['frames_over_budget']} of {frames} over budget"
    label = f"real-time factor (median frame ÷ {budget:g} ms)"
    figures.append(Figure.single(label, "", result["real_time_factor"], frames, over))
    for shake in result["handshakes"]:
        label = f"time to handshake, {shake['persona']} persona ({shake['characters']} characters)"
        note = f"{shake['text_tokens']} text tokens, {shake['steps']} LM steps, of which "
        note += f"{number(shake['liveness_wait_s'])} s in the server's liveness checks"
        figures.append(Figure.single(label, "s", shake["seconds"], "1 session", note))
    notes = [
        f"The real server's models: {probe.describe(result)}, random weights; "
        f"torch {result['torch']}; {result['warm_up_frames']} warm-up frames first; "
        f"{probe.prompts(result)}. Opus decoding and encoding are not included.",
    ]
    return figures, notes


def batch_table(result: Mapping[str, Any]) -> tuple[list[Figure], list[str]]:
    budget = result["frame_budget_ms"]
    ticks = plural(result["frames"], "tick")
    figures = []
    for level in result["levels"]:
        tick = level["tick"]
        label = f"tick, {plural(level['conversations'], 'conversation')}"
        values = (tick["min_ms"], tick["p50_ms"], tick["max_ms"])
        kept = "keeps" if level["keeps_budget"] else "misses"
        note = f"p90 {number(tick['p90_ms'])} ms, {kept} the {budget:g} ms budget; "
        note += f"{number(level['per_conversation_ms'])} ms a conversation"
        figures.append(Figure.spread(label, "ms", values, ticks, note))
    if result["tick_ratio_8_to_1"] is not None:
        label = "tick with 8 conversations ÷ tick with 1"
        note = "medians; 8 would mean batching saves nothing"
        figures.append(Figure.single(label, "", result["tick_ratio_8_to_1"], ticks, note))
    figures += _full_ring(result, ticks)
    for level in result["levels"]:
        join = level["join"]
        label = f"time to handshake, beside {plural(join['others'], 'live conversation')}"
        calls = f" in {join['calls']} calls" if "calls" in join else ""  # older results: one a step
        note = f"{join['steps']} LM steps{calls}, median {number(join['step']['p50_ms'])} ms a step"
        if join["others_answer"] is not None:
            answer, late = join["others_answer"]["p90_ms"], join["others_late_max_ms"]
            note += (
                f"; meanwhile the others' audio answered within {number(answer)} ms (p90), "
                f"their frames up to {number(late)} ms late"
            )
        figures.append(Figure.single(label, "s", join["handshake_s"], "1 session", note))
    memory = result["memory"]
    if memory["measured_slot_bytes"] is not None:
        label = f"memory one more conversation takes ({_MEMORY[memory['measure']]})"
        estimate = number(memory["slot_bytes_estimate"] / batch.MIB)
        note = f"the server's estimate per slot {estimate} MiB"
        value = memory["measured_slot_bytes"] / batch.MIB
        figures.append(Figure.single(label, "MiB", value, "1 run", note))
    best = result["max_conversations_within_budget"]
    tried = ", ".join(str(level["conversations"]) for level in result["levels"])
    note = batch.slots_note(result)
    notes = [
        f"Most conversations whose p90 tick keeps the {budget:g} ms budget: **{best or 'none'}** "
        f"(levels tried: {tried}{'; ' + note if note else ''}){_full_ring_best(result)}.",
        f"The batched backend's stepper: {probe.describe(result)}, random weights, "
        f"{result['slots']} slots; torch {result['torch']}; a tick is every live "
        "conversation's frame in one batched pass, with its audio to the device and back. The "
        f"joining conversation's persona is {result['persona']['characters']} characters; "
        f"{probe.prompts(result)}. Opus decoding and encoding are not included.",
    ]
    return figures, notes


def _full_ring_best(result: Mapping[str, Any]) -> str:
    """The most conversations within the budget once every ring is full, as a clause."""
    if not result.get("lm_context_frames"):
        return ""
    best = result.get("max_conversations_within_budget_full_ring")
    return f"; once every conversation is past the LM's context, **{best or 'none'}**"


def _full_ring(result: Mapping[str, Any], ticks: str) -> list[Figure]:
    """The ticks once every conversation is past the LM's context (absent from older runs)."""
    context, budget = result.get("lm_context_frames"), result["frame_budget_ms"]
    if not context:
        return []
    past = f"past the LM's {number(context * budget / 1000)} s context"
    figures = []
    for level in result["levels"]:
        full = level.get("full_ring")
        if not full:
            continue
        label = f"tick, {plural(level['conversations'], 'conversation')} {past}"
        kept = "keeps" if level["full_ring_keeps_budget"] else "misses"
        note = f"p90 {number(full['p90_ms'])} ms, {kept} the {budget:g} ms budget; every ring full"
        values = (full["min_ms"], full["p50_ms"], full["max_ms"])
        figures.append(Figure.spread(label, "ms", values, ticks, note))
    if result.get("full_ring_tick_ratio_8_to_1") is not None:
        label = f"tick with 8 conversations ÷ tick with 1, {past}"
        ratio = result["full_ring_tick_ratio_8_to_1"]
        figures.append(Figure.single(label, "", ratio, ticks, "medians; every ring full"))
    return figures


_MEMORY = {"cuda_allocated": "GPU memory torch allocated", "rss": "resident memory"}


_LOAD = {
    "handshake": "time to the handshake (queue included)",
    "queue_wait": "wait in the queue",
    "answer_latency": "answer latency (a sent frame → its answer)",
    "longest_audio_gap": "longest gap between audio messages, per session",
}


def _load_run(run: Mapping[str, Any], where: str) -> list[Figure]:
    """One configuration's figures, each label ending with ``where`` it was measured."""
    if NOT_MEASURED in run:
        return [Figure.absent(f"every figure, {where}", run[NOT_MEASURED])]
    figures = []
    for key, label in _LOAD.items():
        row, label = run[key], f"{label}, {where}"
        if not row["samples"] and key == "queue_wait":
            # Nobody had to wait: a result, not a figure that could not be measured.
            figures.append(Figure.single(label, "", 0, "0 queued", "every caller had a slot"))
            continue
        if not row["samples"]:
            figures.append(Figure.absent(label, "no caller got that far"))
            continue
        values = (row["min_ms"], row["p50_ms"], row["max_ms"])
        note = f"p99 {number(row['p99_ms'])} ms"
        figures.append(Figure.spread(label, "ms", values, plural(row["samples"], "sample"), note))
    failed = run["sessions_started"] - run["sessions_completed"]
    codes = ", ".join(f"{count} × {code}" for code, count in run["failures"].items())
    figures.append(Figure.single(f"failed sessions, {where}", "", failed, "1 run", codes))
    warm = run["warm_up_handshake"]
    if warm["samples"]:
        label = f"time to the handshake of a first session, {where}"
        values = (warm["min_ms"], warm["p50_ms"], warm["max_ms"])
        note = "one per frontend just started, before the callers; not in the figures above"
        figures.append(Figure.spread(label, "ms", values, plural(warm["samples"], "session"), note))
    return figures


def load_table(result: Mapping[str, Any]) -> tuple[list[Figure], list[str]]:
    shared = result["shared"]
    replicas = shared.get("frontends", 3)
    figures = _load_run(result["single"], "1 frontend, state in memory")
    figures += _load_run(shared, f"{replicas} frontends sharing Redis")
    for key, label in (("handshake", "handshake"), ("queue_wait", "queue wait")):
        cost = result["redis_cost"][f"{key}_p50_ms"]
        name = f"what Redis adds per session: {label}"
        if cost is None:
            figures.append(Figure.absent(name, "a run without samples to compare"))
            continue
        note = f"median with {replicas} frontends on Redis − median with 1 in memory"
        figures.append(Figure.single(name, "ms", cost, "2 medians", note))
    notes = [
        f"The same {result['sessions']} callers twice, started over {result['ramp_s']:g} s, "
        f"{result['duration_s']:g} s of made-up speech each at real time, to the same "
        f"{result['backends']} loopback backends of one slot each (200 ms echo delay): first "
        f"through 1 frontend keeping its queue and slots in memory, then through {replicas} "
        "frontends sharing them in a local `redis-server`, the callers taking the frontends "
        "in turn."
    ]
    return figures, notes
