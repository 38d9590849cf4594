"""The real PersonaPlex server, natively with the tiny model: what only it does (what the
loopback must do alike is in test_backends_agree.py)."""

from __future__ import annotations

import asyncio
import ssl
from pathlib import Path

from scenario6.backend.certs import ensure_certificate
from scenario6.protocol.messages import Kind
from tests.personaplex.talk import HANDSHAKE_TIMEOUT_S, QUERY, frames_out, talk_until_answered
from tests.support.client import Conversation, conversation
from tests.support.personaplex import PersonaPlexProcess, TinyPersonaPlex, personaplex_server


async def test_the_handshake_is_the_first_message_and_ends_the_prompt_phase(
    server: PersonaPlexProcess,
) -> None:
    async with conversation(server.url + QUERY) as talk:
        await talk.wait_for(talk.handshake.is_set, HANDSHAKE_TIMEOUT_S)
    assert talk.kinds[0] == Kind.HANDSHAKE
    log = server.output()
    assert log.rindex("done with system prompts") < log.rindex("sent handshake bytes")


def test_upstream_command_line_starts_offline_from_the_cache_over_tls(
    tiny_personaplex: TinyPersonaPlex, tmp_path: Path
) -> None:
    files, _ = ensure_certificate(tmp_path, ["localhost", "127.0.0.1"])
    trust = ssl.create_default_context(cafile=str(files.ca))

    async def converse(url: str) -> Conversation:
        async with conversation(url + QUERY, ssl=trust) as talk:
            await talk_until_answered(talk, frames=5)
        return talk

    with personaplex_server(tiny_personaplex, layout="hf", ssl_dir=tmp_path) as process:
        assert process.url.startswith("wss://")
        talk = asyncio.run(converse(process.url))
    assert frames_out(talk) >= 3
    log = process.output()
    assert "serving static content" in log, "no --static: the cache's dist.tgz is served"
