"""Hostile session parameters: every one is refused with a reason, or made safe, before any
backend sees it. Targets are sent exactly as written (percent-encoding included)."""

from __future__ import annotations

import json

import pytest

from tests.hostile.conftest import Servers
from tests.hostile.wire import RawClient

PERSONA = "text_prompt=Be%20brief"


async def _refusal(servers: Servers, query: str) -> int | None:
    """Open a session with the raw ``query``; the close code the frontend answers with."""
    client, status = await RawClient.open(servers.fe.port, f"/api/chat?{query}&events=1")
    try:
        assert status == 101
        reply = await client.until_closed()
    finally:
        await client.aclose()
    return reply.close_code


@pytest.mark.parametrize(
    "voice",
    [
        "../NATF2.pt",
        "..%2FNATF2.pt",
        "%2E%2E%2F%2E%2E%2Fetc%2Fpasswd",
        "%252e%252e%252fNATF2.pt",  # encoded twice
        "..%5C..%5CNATF2.pt",  # backslashes
        "%C0%AE%C0%AE%2FNATF2.pt",  # overlong UTF-8 dots
        "NATF2.pt%00.wav",
        "NATF2%00",
        "%00",
        "%2Fvoices%2FNATF2.pt",
        "NATF2.pt%2F..%2F..%2Fsecret",
        "file%3A%2F%2F%2Fetc%2Fpasswd",
        "N%CE%91TF2.pt",  # Greek capital alpha, looks like an A
        "%FF%FE",  # not UTF-8 at all
        "",
    ],
)
async def test_voice_traversal_and_junk_is_refused(servers: Servers, voice: str) -> None:
    code = await _refusal(servers, f"voice_prompt={voice}&{PERSONA}")
    assert code == 4400
    assert servers.backend_sessions() == [], "an invalid voice reached the backend"


async def test_refusal_names_the_problem_in_the_error_event(servers: Servers) -> None:
    from tests.support.client import conversation

    url = f"ws://127.0.0.1:{servers.fe.port}/api/chat?voice_prompt=..%2F..%2Fx&events=1"
    async with conversation(url) as talk:
        await talk.wait_for(talk.closed.is_set)
    assert talk.close_code == 4400
    assert "unknown voice" in str(talk.events_of("error")[0]["reason"])
    assert servers.backend_sessions() == []


@pytest.mark.parametrize(
    ("query", "forwarded_voice"),
    [
        # Parameter pollution: only one, validated value is forwarded.
        ("voice_prompt=NATF2.pt&voice_prompt=NATM1.pt", "NATM1.pt"),
        ("voice_prompt=%20NATF2%09", "NATF2.pt"),
    ],
)
async def test_repeated_or_odd_but_valid_voices_forward_one_clean_name(
    servers: Servers, query: str, forwarded_voice: str
) -> None:
    session = await _first_backend_session(servers, f"{query}&{PERSONA}")
    assert session["query"] == {"voice_prompt": forwarded_voice, "text_prompt": "Be brief"}


@pytest.mark.parametrize(
    "persona",
    [
        "..%2F..%2F..%2Fetc%2Fpasswd",  # a persona is text, never a path: passed as text
        "%FF%FEbad%C3%28utf8",  # undecodable bytes arrive as U+FFFD, never as raw bytes
        "%E2%80%AE%E2%80%8Bhidden",  # bidi override and zero-width space
    ],
)
async def test_persona_is_forwarded_only_as_text(servers: Servers, persona: str) -> None:
    from urllib.parse import unquote

    session = await _first_backend_session(servers, f"voice_prompt=NATF2.pt&text_prompt={persona}")
    query = session["query"]
    assert isinstance(query, dict)
    assert set(query) == {"voice_prompt", "text_prompt"}
    assert query["voice_prompt"] == "NATF2.pt"
    assert query["text_prompt"] == unquote(persona, errors="replace").strip()


@pytest.mark.parametrize(
    "query",
    [
        "voice_prompt=NATF2.pt&text_prompt=" + "%C3%A9" * 1001,  # 1001 two-byte characters
        "voice_prompt=NATF2.pt&text_prompt=a%00b",
        "text_prompt=only-a-persona",
        "voice_prompt=%20%20&" + PERSONA,
        "",
    ],
)
async def test_bad_persona_or_missing_voice_is_refused(servers: Servers, query: str) -> None:
    code = await _refusal(servers, query)
    assert code == 4400
    assert servers.backend_sessions() == []


async def test_persona_of_exactly_the_limit_passes(servers: Servers) -> None:
    session = await _first_backend_session(
        servers, "voice_prompt=NATF2&text_prompt=" + "%C3%A9" * 1000
    )
    assert session["text_prompt"] == "é" * 1000


@pytest.mark.parametrize(
    "extra", ["seed=..%2F..%2Fx", "cpu_offload=1", "voice_prompt_dir=%2Fetc", "events=..%2F"]
)
async def test_unknown_parameters_never_reach_the_backend(servers: Servers, extra: str) -> None:
    session = await _first_backend_session(servers, f"voice_prompt=NATF2.pt&{PERSONA}&{extra}")
    assert session["query"] == {"voice_prompt": "NATF2.pt", "text_prompt": "Be brief"}


async def _first_backend_session(servers: Servers, query: str) -> dict[str, object]:
    """Open a session with the raw ``query``, wait for the backend to see it, leave."""
    client, status = await RawClient.open(servers.fe.port, f"/api/chat?{query}")
    try:
        assert status == 101
        # The handshake frame means the backend has the session.
        first = await client.reader.readexactly(3)
        assert first == b"\x82\x01\x00", first
    finally:
        await client.aclose()
    [session] = servers.backend_sessions()
    json.dumps(session)  # what /api/sessions would show
    return session
