"""The PersonaPlex model's sizes, as overrides of the dicts its loaders build it from.

PersonaPlex has no model config file: ``moshi.models.loaders`` builds Mimi and the LM from four
module-level dicts (``_seanet_kwargs``, ``_quantizer_kwargs``, ``_transformer_kwargs``,
``_lm_kwargs``) sized for the 7B model. An architecture is a set of overrides of those dicts;
no overrides means upstream's full size. :func:`apply` updates the dicts in place, so the
unchanged loaders, ``LMGen`` and server then build a model of that size — which is how a tiny
random model runs the real server on a CPU. An ``architecture.json`` next to a model's files
records which sizes they were made for::

    architecture.dump(model_dir / "architecture.json", architecture.TINY)
    architecture.apply(architecture.load(model_dir / "architecture.json"))  # before loading

This module ships in the backend image and is imported where ``moshi`` may be absent, so it
imports ``moshi`` only inside :func:`apply`.
"""

from __future__ import annotations

import copy
import importlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

Overrides = dict[str, dict[str, Any]]

FILENAME = "architecture.json"
SECTIONS = ("_seanet_kwargs", "_quantizer_kwargs", "_transformer_kwargs", "_lm_kwargs")

# The tokenizer the tiny model is built with has this many pieces; the LM's text vocabulary
# must match it exactly.
TINY_TEXT_CARD = 512

# A model small enough for a CPU to run in real time, that keeps everything the server and the
# protocol depend on: 24 kHz audio at 12.5 frames/s (SEANet ratios 8·6·5·4 are upstream's),
# 8 Mimi codebooks in use, 16 audio streams in the LM (8 user + 8 agent, dep_q 16, 17 delays),
# a card of 2048 (the server's silence and sine token tables go up to 2008), text padding id 3
# and a bf16 LM. Dimensions that upstream derives from SEANet's at import time are restated,
# since changing ``dimension`` afterwards does not reach them.
TINY: Overrides = {
    "_seanet_kwargs": {"dimension": 64, "n_filters": 8},
    "_quantizer_kwargs": {
        "dimension": 32,
        "n_q": 8,
        "bins": 2048,
        "input_dimension": 64,
        "output_dimension": 64,
    },
    "_transformer_kwargs": {
        "d_model": 64,
        "num_heads": 4,
        "num_layers": 1,
        "dim_feedforward": 128,
        "input_dimension": 64,
        "output_dimensions": [64],
    },
    "_lm_kwargs": {
        "dim": 128,
        "text_card": TINY_TEXT_CARD,
        "existing_text_padding_id": 3,
        "n_q": 16,
        "dep_q": 16,
        "card": 2048,
        "num_heads": 4,
        "num_layers": 2,
        "depformer_dim": 64,
        "depformer_dim_feedforward": 256,
        "depformer_num_heads": 4,
        "depformer_num_layers": 1,
    },
}

FULL_SIZE: Overrides = {}


class ArchitectureError(ValueError):
    """An architecture that names a dict or a key the loaders do not have, or is malformed."""


def validate(overrides: Mapping[str, Any]) -> Overrides:
    """The overrides as plain dicts; refuses an unknown section or a section that is no dict."""
    if not isinstance(overrides, Mapping):
        raise ArchitectureError(f"an architecture is a JSON object, not {type(overrides).__name__}")
    result: Overrides = {}
    for section, values in overrides.items():
        if section not in SECTIONS:
            raise ArchitectureError(
                f"unknown section {section!r} in the architecture; "
                f"known sections: {', '.join(SECTIONS)}"
            )
        if not isinstance(values, Mapping):
            raise ArchitectureError(f"section {section!r} must be an object of overrides")
        result[section] = copy.deepcopy(dict(values))
    return result


def load(path: Path | str) -> Overrides:
    """The overrides stored in an ``architecture.json``."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ArchitectureError(f"{path} is not valid JSON: {exc}") from exc
    return validate(data)


def dump(path: Path | str, overrides: Mapping[str, Any]) -> Path:
    """Writes the overrides to ``path`` (stable key order, so equal sizes give equal files)."""
    target = Path(path)
    text = json.dumps(validate(overrides), indent=2, sort_keys=True) + "\n"
    target.write_text(text, encoding="utf-8")
    return target


def apply(overrides: Mapping[str, Any]) -> None:
    """Updates ``moshi.models.loaders``' dicts in place; call before any model is built.

    Every key is checked before anything changes, so a refused architecture leaves the loaders
    at their previous sizes.
    """
    checked = validate(overrides)
    loaders = importlib.import_module("moshi.models.loaders")
    for section, values in checked.items():
        target = getattr(loaders, section)
        unknown = sorted(set(values) - set(target))
        if unknown:
            raise ArchitectureError(
                f"unknown key(s) {', '.join(map(repr, unknown))} in {section}; "
                f"the loaders know: {', '.join(sorted(target))}"
            )
    for section, values in checked.items():
        getattr(loaders, section).update(values)
