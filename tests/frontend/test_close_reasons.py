"""Close reasons reach users printable and short, whatever a backend put in its own."""

from __future__ import annotations

import unicodedata

import pytest
from websockets.asyncio.server import ServerConnection

from scenario6.frontend.proxy import closes
from tests.support.client import conversation
from tests.support.rogue import RogueBackend, rogue_backend
from tests.support.servers import frontend_server

HOSTILE = {
    "terminal escapes": "\x1b[2J\x1b]0;owned\x07\x1b[31mred",
    "NUL and controls": "a\x00b\x08c\r\nd\x7f\x85e",
    "bidi override": "invoice\u202egpj.exe\u2066x\u2069",
    "zero width and separators": "pay\u200bpal\u2028line\u2029para\ufeff",
}


def shown(text: str) -> bool:
    """Nothing that a terminal or a page would act on or hide; no line breaks."""
    return all(unicodedata.category(c)[0] not in "CZ" or c == " " for c in text)


def closes_with(reason: str) -> object:
    async def behaviour(ws: ServerConnection, rogue: RogueBackend) -> None:
        await ws.send(b"\x00")
        await ws.close(4000, reason)

    return behaviour


@pytest.mark.parametrize("reason", HOSTILE.values(), ids=HOSTILE.keys())
async def test_a_backends_hostile_close_reason_reaches_the_client_cleaned(reason: str) -> None:
    async with (
        rogue_backend(closes_with(reason)) as rogue,  # type: ignore[arg-type]
        frontend_server(moshi_ws_url=rogue.url) as fe,
        conversation(fe.chat_url()) as talk,
    ):
        await talk.wait_for(talk.closed.is_set)
    assert talk.close_code == closes.BACKEND_CLOSED
    assert talk.close_reason is not None
    assert talk.close_reason.startswith("backend closed the session (4000 ")
    assert shown(talk.close_reason), ascii(talk.close_reason)
    assert len(talk.close_reason.encode()) <= 123


async def test_the_longest_reason_a_backend_may_send_is_capped() -> None:
    reason = "\u202e" + "é" * 60  # 123 bytes: the most a close frame carries
    async with (
        rogue_backend(closes_with(reason)) as rogue,  # type: ignore[arg-type]
        frontend_server(moshi_ws_url=rogue.url) as fe,
        conversation(fe.chat_url()) as talk,
    ):
        await talk.wait_for(talk.closed.is_set)
    assert talk.close_reason is not None
    assert talk.close_reason.endswith("é...")
    assert shown(talk.close_reason) and len(talk.close_reason.encode()) <= 123


@pytest.mark.parametrize("text", [*HOSTILE.values(), "\x1b" * 10_000, "x\x00" * 5_000])
def test_every_reason_is_cleaned_and_capped(text: str) -> None:
    reason = closes.Close(closes.BACKEND_CLOSED, text).reason
    assert shown(reason) and len(reason.encode()) <= 123
    assert "\x1b" not in reason and "\x00" not in reason


def test_printable_text_is_kept_as_it_is() -> None:
    text = "too many sessions from this client (4): 日本語 ok 🎙"
    assert closes.Close(closes.TOO_MANY_SESSIONS, text).reason == text
