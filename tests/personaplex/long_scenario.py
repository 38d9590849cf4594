"""Conversations several times longer than the model's context, alone on upstream's code and
together on the batched stepper.

Run in the tiny model's interpreter with the short-context sizes::

    python -m tests.personaplex.long_scenario MODEL_DIR ARCHITECTURE_JSON

It prints what ``batched_scenario`` prints for its plans, the attention contexts the models
were built with, and the first conversation's start alone with upstream's contexts (3000 LM frames,
250 Mimi steps: ``unwrapped``), which differs only if the short ones are in effect. Every ring
KV cache wraps several times: the LM's during each conversation, Mimi's every second or so.
Conversations join, pause and leave across the wraps, and a late one takes a slot whose cache
has wrapped before.
"""

from __future__ import annotations

import contextlib
import json
import sys
from dataclasses import replace
from pathlib import Path

import torch
from moshi.models import loaders
from moshi.modules.transformer import StreamingMultiheadAttention

from scenario6.backend import architecture
from scenario6.protocol.voices import DEFAULT_PERSONA
from tests.personaplex.batched_scenario import Models, Plan, alone, run

PLANS = (
    Plan("a", 11, "NATF2.pt", "Be brief.", 80, joins_at=0),
    Plan("b", 22, "NATM1.pt", "You are a patient teacher who explains slowly.", 90, 3, 4),
    Plan("c", 33, "VARF0.pt", DEFAULT_PERSONA, 60, joins_at=6),  # a prompt phase past the wrap
    Plan("d", 44, "NATF2.pt", "Be brief.", 70, joins_at=20),  # waits for c's slot
)

UNWRAPPED_FRAMES = 20  # enough for both contexts to matter: the LM's is full from the start
CONTEXTS = ("_lm_kwargs", "_transformer_kwargs")  # the loaders' dicts that set a context


def contexts(module: torch.nn.Module) -> list[int]:
    """The context of every attention layer in ``module``, once each."""
    return sorted(
        {m.context for m in module.modules() if isinstance(m, StreamingMultiheadAttention)}
    )


def main(argv: list[str]) -> int:
    folder, sizes = Path(argv[0]), Path(argv[1])
    upstream = {section: {"context": getattr(loaders, section)["context"]} for section in CONTEXTS}
    result = run(folder, sizes, PLANS)
    models = Models(folder)
    result["contexts"] = {
        "lm": contexts(models.gen.lm_model.transformer),
        "mimi": contexts(models.mimi),
    }
    architecture.apply(upstream)
    with contextlib.redirect_stdout(sys.stderr):  # upstream prints its progress
        result["unwrapped"] = alone(Models(folder), replace(PLANS[0], frames=UNWRAPPED_FRAMES))
    json.dump(result, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
