"""What the tests in this folder do over and over: open a session, talk, count what comes back."""

from __future__ import annotations

from urllib.parse import urlencode

from tests.support.audio import FRAME, encode_messages, sweep
from tests.support.client import Conversation

QUERY = "?" + urlencode({"voice_prompt": "NATF2.pt", "text_prompt": "Be brief."})
# Generous bounds that only catch hangs; the real handshake takes 1-2 s here.
HANDSHAKE_TIMEOUT_S = 60
FRAMES = 25  # 2 s of audio in 80 ms frames


def frames_out(talk: Conversation) -> float:
    """How many 80 ms frames of audio have come back."""
    return len(talk.decoder.pcm) / FRAME


async def answered(talk: Conversation, messages: list[bytes]) -> None:
    """Send ``messages`` (one per frame) at the real cadence; wait for as many frames back."""
    before = frames_out(talk)
    await talk.send_audio(messages)
    await talk.wait_for(lambda: frames_out(talk) >= before + len(messages) - 2, 30)


async def talk_until_answered(talk: Conversation, frames: int = FRAMES) -> None:
    """After the handshake, ``frames`` frames of a sweep, answered."""
    await talk.wait_for(talk.handshake.is_set, HANDSHAKE_TIMEOUT_S)
    await answered(talk, encode_messages(sweep(frames * FRAME / 24000)))
