"""How upstream's server sets up a conversation, for everything here that runs the model the
same way (the batched server, the probes behind ``scenario6 bench``, the tests).

Run in the model's interpreter (torch and PersonaPlex's fork).
"""

from __future__ import annotations

from typing import Any

# Before and after the persona, the server steps through this much silence.
SILENCE_S = 0.5


def system_tags(persona: str) -> str:
    """The persona between the system tags the model was trained with, as upstream's server
    wraps it (text already wrapped is left as it is)."""
    text = persona.strip()
    if text.startswith("<system>") and text.endswith("<system>"):
        return text
    return f"<system> {text} <system>"


def session_generator(lm: Any, mimi: Any, device: Any) -> Any:
    """Upstream's ``LMGen`` over ``lm`` with the settings its server gives it."""
    from moshi.models.lm import LMGen

    return LMGen(
        lm,
        device=device,
        audio_silence_frame_cnt=int(SILENCE_S * mimi.frame_rate),
        sample_rate=mimi.sample_rate,
        frame_rate=mimi.frame_rate,
    )
