"""What the tests in this folder do over and over: open a session, talk, count what comes back."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from urllib.parse import urlencode

from tests.support.audio import FRAME, encode_messages, sweep
from tests.support.client import Conversation, conversation
from tests.support.personaplex import PersonaPlexProcess

QUERY = "?" + urlencode({"voice_prompt": "NATF2.pt", "text_prompt": "Be brief."})
# Generous bounds that only catch hangs; the real handshake takes 1-2 s here.
HANDSHAKE_TIMEOUT_S = 60
FRAMES = 25  # 2 s of audio in 80 ms frames
# A different voice for each conversation: every slot holds prompts of its own.
VOICES = ("NATF2.pt", "VARM3.pt", "NATM0.pt")


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


def chat_url(server: PersonaPlexProcess, voice: str = "NATF2.pt") -> str:
    return server.url + "?" + urlencode({"voice_prompt": voice, "text_prompt": "Be brief."})


@contextlib.asynccontextmanager
async def conversations(urls: list[str]) -> AsyncIterator[list[Conversation]]:
    """One session per URL, all opened at once."""
    async with contextlib.AsyncExitStack() as stack:
        opened = [stack.enter_async_context(conversation(url)) for url in urls]
        yield list(await asyncio.gather(*opened))


async def live(talks: list[Conversation]) -> None:
    await asyncio.gather(*(t.wait_for(t.handshake.is_set, HANDSHAKE_TIMEOUT_S) for t in talks))
