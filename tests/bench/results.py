"""A combined ``scenario6 bench`` result, shaped as the benchmarks return it, for the
renderer tests (the end-to-end test renders a real one)."""

from __future__ import annotations

from typing import Any

from scenario6.bench import batch, model
from scenario6.bench.machine import Machine

MACHINE = Machine(
    cpu_model="Example CPU 9000",
    cpu_count=2,
    ram_gib=23.5,
    os="Debian GNU/Linux 12 (bookworm)",
    kernel="6.1.0-28-amd64",
    python="3.11.2",
    container_engine="Docker 20.10.24",
    chromium="Chromium 131.0.6778.85 built on Debian 12.8",
    load_start=(0.31, 0.52, 0.6),
    load_end=(1.75, 1.2, 0.9),
)


def _seconds(*samples: float) -> dict[str, Any]:
    ordered = sorted(samples)
    return {
        "p50_s": ordered[len(ordered) // 2],
        "min_s": ordered[0],
        "max_s": ordered[-1],
        "samples": list(samples),
    }


def _level(sessions: int, path: str, low: float, p50: float, p99: float, high: float) -> Any:
    return {
        "sessions": sessions,
        "path": path,
        "rtt_ms_min": low,
        "rtt_ms_p50": p50,
        "rtt_ms_p99": p99,
        "rtt_ms_max": high,
        "samples": 1200 * sessions,
        "failed_sessions": 0,
        "proxy_cpu_percent": 12.5 if path == "proxy" else 0.0,
        "loadgen_cpu_percent": 20.0,
    }


def _added(sessions: int, p50: float, p99: float, cpu: float) -> dict[str, Any]:
    return {
        "sessions": sessions,
        "added_ms_p50": p50,
        "added_ms_p99": p99,
        "failed_sessions": 0,
        "proxy_cpu_percent": cpu,
    }


def probe_output() -> dict[str, Any]:
    """What ``scenario6.backend.modelprobe`` prints, for 10 frames of the tiny model."""
    encode = [6.2, 6.5, 6.4, 7.1, 6.3, 6.6, 6.2, 9.8, 6.4, 6.5]
    lm_step = [14.6, 15.2, 15.0, 16.1, 14.9, 15.3, 14.8, 31.7, 15.1, 15.0]
    decode = [4.6, 4.7, 4.8, 5.0, 4.6, 4.7, 4.9, 7.2, 4.6, 4.8]
    frame = [round(sum(parts) + 0.3, 4) for parts in zip(encode, lm_step, decode, strict=True)]
    return {
        "benchmark": "model",
        "device": "cpu",
        "device_name": None,
        "threads": 1,
        "torch": "2.13.0+cpu",
        "model": "tiny",
        "architecture": {"_lm_kwargs": {"dim": 128}},
        "lm_parameters": 9736064,
        "mimi_parameters": 519401,
        "lm_dtype": "bfloat16",
        "load_s": 0.153,
        "frame_budget_ms": 80.0,
        "warm_up_frames": 4,
        "frames_ms": {"encode": encode, "lm_step": lm_step, "decode": decode, "frame": frame},
        "voice_prompt": {"frames": 13, "file": "/cache/model/voices/NATF2.pt"},
        "tokenizer": "/cache/model/tokenizer_spm_32k_3.model",
        "handshakes": [
            {"persona": "short", "characters": 148, "text_tokens": 87, "seconds": 2.4031,
             "steps": 112, "liveness_wait_s": 1.2052},
            {"persona": "long", "characters": 1000, "text_tokens": 503, "seconds": 14.2184,
             "steps": 528, "liveness_wait_s": 5.7712},
        ],
    }  # fmt: skip


def _batch_level(
    conversations: int, tick: float, others_tick: float, memory_mib: float
) -> dict[str, Any]:
    """One level of the batch probe: 10 ticks around ``tick`` ms after 10 first ticks, the
    slowest 1.5 times ``tick``, a join of 112 prompt steps while the conversations already
    live had 30 frames, each ``others_tick`` ms, and 10 ticks 1.1 times as long once every
    ring is full."""
    others = conversations - 1
    frames = 30 if others else 0
    factors = (1.0, 0.98, 1.02, 1.01, 0.99) * 2
    return {
        "conversations": conversations,
        "tick_ms": [round(tick * factor, 4) for factor in factors],
        "full_ring_tick_ms": [round(tick * 1.1 * factor, 4) for factor in factors],
        "first_tick_ms": [tick * 1.5] + [tick] * 9,
        "memory_bytes": int(memory_mib * 2**20),
        "join": {
            "others": others,
            "setup_ms": 2.0,
            "prompt_calls": [[1, 14.0 + 0.01 * step, 0.0] for step in range(112)],
            "others_tick_ms": [others_tick] * frames,
            "others_late_ms": [round(0.5 * frame, 4) for frame in range(frames)],
            "handshake_s": 2.4 if others else 1.64,
        },
    }


def batch_probe_output() -> dict[str, Any]:
    """What ``scenario6.backend.batchprobe`` prints for levels 1, 2, 4 and 8 of the tiny model."""
    context = {key: value for key, value in probe_output().items() if key not in
               ("benchmark", "frames_ms", "handshakes")}  # fmt: skip
    return {
        **context,
        "benchmark": "batch",
        "slots": 8,
        "server_warm_up_s": 3.2,
        "lm_context_frames": 3000,
        "full_ring_fewest_steps": 3112,
        "auto_slots": None,
        "levels_skipped": [],
        "persona": {"characters": 148, "text_tokens": 87},
        "memory": {"measure": "rss", "slot_bytes_estimate": 70180864, "engine_bytes": 44040192},
        "levels": [
            _batch_level(1, 20.0, 0.0, 110.0),
            _batch_level(2, 28.0, 20.5, 118.0),
            _batch_level(4, 45.0, 38.0, 130.0),
            _batch_level(8, 84.0, 78.0, 152.0),
        ],
    }


def results() -> dict[str, Any]:
    return {
        "reload": {
            "benchmark": "reload",
            "target_s": 0.25,
            "run_mode_edit": _seconds(0.147, 0.103, 0.177),
            "uvicorn_reload_edit": _seconds(0.99, 0.95, 1.2),
            "warm_start_native_backend": {
                **_seconds(1.61, 1.5, 1.7),
                "cold_s": 3.2,
                "warm_s": 1.61,
            },
            "production_edit": {
                **_seconds(15.9, 15.1, 17.3),
                "build_p50_s": 12.2,
                "build": _seconds(12.2, 11.9, 13.0),
            },
            "warm_start_container_backend": {"skipped": "no Docker engine answers"},
            "speedup_vs_image_rebuild": 108.2,
        },
        "proxy": {
            "benchmark": "proxy",
            "seconds_per_level": 8.0,
            "cadence_ms": 80.0,
            "payload_bytes": 300,
            "cpus": 2,
            "levels": [
                _level(1, "direct", 0.2, 0.31, 0.5, 0.9),
                _level(1, "proxy", 0.6, 1.03, 1.5, 2.4),
                _level(200, "direct", 0.3, 0.8, 3.1, 9.0),
                _level(200, "proxy", 1.1, 2.2, 28.1, 44.0),
            ],
            "added_latency_per_traversal": [
                _added(1, 0.36, 0.5, 1.2),
                _added(200, 0.7, 12.5, 60.0),
            ],
            "max_sessions_with_p99_added_le_20ms": 200,
        },
        "browser": {
            "benchmark": "browser",
            "seconds": 15.0,
            "audio_clock_hz": 48000,
            "output_latency_ms": 42.7,
            "base_latency_ms": 10.0,
            "figures": {
                "micToWire": {"count": 700, "min_ms": 2.1, "median_ms": 6.4, "max_ms": 19.0},
                "wireToSpeaker": {"count": 180, "min_ms": 70.2, "median_ms": 84.0, "max_ms": 99.9},
                "roundTrip": None,
            },
            "played_seconds": 14.2,
            "audio_messages": {"sent": 700, "received": 180},
            "jitter_buffer": {"underruns": 0, "dropped_samples": 0, "target_ms": 60},
            "target_round_trip_ms": 200.0,
            "round_trip_within_target": False,
        },
        "images": {"not_measured": "no Docker engine answers"},
        "soak": {
            "benchmark": "soak",
            "sessions": 50,
            "seconds": 60.0,
            "warm_up_s": 6.0,
            "dropped_sessions": 0,
            "drop_reasons": [],
            "messages_sent": 37450,
            "messages_echoed": 37450,
            "rss_mib_after_warm_up": 71.2,
            "rss_mib_at_end": 71.3,
            "rss_growth_percent": 0.14,
            "fds_after_warm_up": 117,
            "fds_at_end": 117,
            "fd_growth": 0,
            "fds_idle_before": 15,
            "fds_idle_after": 15,
            "proxy_cpu_percent": 31.5,
            "rss_mib_range": [71.0, 71.2, 71.4],
            "fds_range": [116, 117, 118],
            "resource_samples": 54,
        },
        "model": model.summarise(probe_output()),
        "batch": batch.summarise(batch_probe_output()),
    }
