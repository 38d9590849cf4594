"""Property-based tests: parsers of untrusted input accept only what is valid, never crash
with anything but their own error, and round-trip what they accept."""

from __future__ import annotations

import contextlib
import re
import string
from urllib.parse import urlsplit

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from scenario6.facts.urls import BackendUrl, parse_backend_urls
from scenario6.frontend.proxy.request import (
    BadRequest,
    SessionRequest,
    origin_allowed,
    parse_request,
)
from scenario6.frontend.settings import FrontendSettings
from scenario6.protocol.ogg import OggError, parse_pages
from scenario6.protocol.voices import PERSONA_MAX_CHARS, VOICES
from tests.support.audio import ogg_page

SETTINGS = FrontendSettings()
FAST = settings(
    max_examples=150, database=None, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
hostnames = st.from_regex(r"\A[a-z][a-z0-9-]{0,20}(\.[a-z][a-z0-9-]{0,10}){0,3}\Z")
url_text = st.one_of(
    st.text(max_size=80),
    st.builds(
        lambda s, h, p, path: f"{s}://{h}{p}{path}",
        st.sampled_from(["ws", "wss", "http", "https", "WS", "ftp", ""]),
        st.one_of(hostnames, st.text(max_size=20), st.just("[::1]")),
        st.one_of(st.just(""), st.integers(-5, 70000).map(lambda p: f":{p}"), st.text(max_size=6)),
        st.one_of(st.just(""), st.text(alphabet=string.printable, max_size=20)),
    ),
)


# ---- backend URLs --------------------------------------------------------------------------


@FAST
@given(url_text)
def test_backend_url_parse_refuses_with_value_error_or_normalises_stably(raw: str) -> None:
    try:
        url = BackendUrl.parse(raw)
    except ValueError:
        return
    assert url.scheme in {"ws", "wss"}
    assert 1 <= url.port <= 65535, url
    assert url.path.startswith("/")
    assert BackendUrl.parse(url.url) == url, "normalising twice must change nothing"


@FAST
@given(
    st.sampled_from(["ws", "wss", "http", "https"]),
    hostnames,
    st.integers(1, 65535),
    st.from_regex(r"\A(/[a-z0-9_-]{1,8}){0,3}\Z"),
)
def test_valid_backend_urls_keep_their_parts(scheme: str, host: str, port: int, path: str) -> None:
    url = BackendUrl.parse(f"{scheme}://{host}:{port}{path}")
    assert url.scheme == {"http": "ws", "https": "wss"}.get(scheme, scheme)
    assert (url.host, url.port) == (host, port)
    assert url.path == (path or "/api/chat")


@FAST
@given(st.lists(url_text, max_size=5))
def test_backend_url_lists_parse_item_by_item(items: list[str]) -> None:
    joined = ",".join(items)
    try:
        urls = parse_backend_urls(joined)
    except ValueError:
        return
    assert len(urls) == len([i for i in joined.split(",") if i.strip()])


# ---- settings ------------------------------------------------------------------------------

numeric_fields = [
    "app_port",
    "max_message_bytes",
    "max_messages_per_second",
    "handshake_timeout_s",
    "queue_timeout_s",
    "send_timeout_s",
    "sessions_per_backend",
    "max_sessions_per_client",
    "backend_stall_timeout_s",
]


@FAST
@given(st.sampled_from(numeric_fields), st.one_of(st.text(max_size=12), st.integers(), st.floats()))
def test_numeric_settings_refuse_bad_values_with_a_validation_error(
    name: str, value: object
) -> None:
    try:
        parsed = getattr(FrontendSettings(**{name: value}), name)  # type: ignore[arg-type]
    except ValidationError:
        return
    assert parsed > 0


@FAST
@given(url_text, st.text(max_size=30), st.text(max_size=40))
def test_string_settings_refuse_bad_values_with_a_validation_error(
    moshi_ws_url: str, voice: str, origins: str
) -> None:
    try:
        loaded = FrontendSettings(
            moshi_ws_url=moshi_ws_url,  # type: ignore[arg-type]
            default_voice=voice,
            allowed_origins=origins,  # type: ignore[arg-type]
        )
    except ValidationError:
        return
    assert loaded.backends
    assert loaded.default_voice in VOICES
    assert all(o and o == o.strip() for o in loaded.allowed_origins)


# ---- session requests ----------------------------------------------------------------------

params = st.dictionaries(
    st.sampled_from(["voice_prompt", "text_prompt", "events", "seed", "x"]),
    st.one_of(
        st.text(max_size=30),
        st.sampled_from([*VOICES, *(f"{v}.pt" for v in VOICES), "../NATF2.pt", "NATF2.pt\x00"]),
        st.text(min_size=990, max_size=1010),
    ),
)


@FAST
@given(params)
def test_parse_request_refuses_with_bad_request_or_yields_a_safe_request(
    query: dict[str, str],
) -> None:
    try:
        request = parse_request(query, SETTINGS)
    except BadRequest as refusal:
        assert str(refusal)
        return
    assert isinstance(request, SessionRequest)
    upstream = request.upstream_query()
    assert set(upstream) == {"voice_prompt", "text_prompt"}
    assert re.fullmatch(r"[A-Z]{4}\d\.pt", upstream["voice_prompt"])
    assert upstream["voice_prompt"][:-3] in VOICES
    persona = upstream["text_prompt"]
    assert persona and persona == persona.strip() and "\x00" not in persona
    assert len(persona) <= PERSONA_MAX_CHARS


@FAST
@given(st.one_of(st.none(), st.text(max_size=60)), st.one_of(st.none(), st.text(max_size=30)))
def test_origin_check_never_crashes_and_admits_only_the_same_host(
    origin: str | None, host: str | None
) -> None:
    allowed = origin_allowed(origin, host, SETTINGS)
    if allowed and origin is not None:
        parts = urlsplit(origin.rstrip("/"))
        assert parts.scheme in {"http", "https"}
        assert host is not None and parts.netloc.lower() == host.lower()


@FAST
@given(st.text(alphabet="[]:/@%.?#", max_size=12))
def test_origin_check_refuses_unparseable_origins(tail: str) -> None:
    # No digits in the alphabet: nothing here can name 127.0.0.1:8010, so all must be refused
    # (and none may raise).
    assert origin_allowed("http://" + tail, "127.0.0.1:8010", SETTINGS) is False


# ---- Ogg pages -----------------------------------------------------------------------------

pages_strategy = st.lists(
    st.tuples(
        st.lists(st.binary(max_size=600), min_size=0, max_size=4),
        st.integers(0, 2**32 - 1),
        st.integers(0, 2**32 - 1),
        st.integers(-(2**63), 2**63 - 1),
        st.sampled_from([0, 2, 4]),
    ),
    min_size=1,
    max_size=4,
)


@FAST
@given(st.binary(max_size=2000))
def test_parse_pages_raises_only_ogg_error_on_arbitrary_bytes(data: bytes) -> None:
    with contextlib.suppress(OggError):
        parse_pages(data)


@FAST
@given(st.binary(max_size=400))
def test_parse_pages_raises_only_ogg_error_on_bytes_after_a_capture_pattern(data: bytes) -> None:
    with pytest.raises(OggError):
        parse_pages(b"OggS\x00" + data[:17])  # a header cut short
    with contextlib.suppress(OggError):
        parse_pages(b"OggS\x00" + data)


@FAST
@given(pages_strategy)
def test_pages_round_trip(specs: list[tuple[list[bytes], int, int, int, int]]) -> None:
    data = b"".join(ogg_page(*spec) for spec in specs)
    pages = parse_pages(data)
    assert [(list(p.packets), p.serial, p.sequence, p.granule, p.flags) for p in pages] == specs


@FAST
@given(pages_strategy, st.data())
def test_any_damaged_byte_is_caught(
    specs: list[tuple[list[bytes], int, int, int, int]], data: st.DataObject
) -> None:
    page = bytearray(b"".join(ogg_page(*spec) for spec in specs))
    where = data.draw(st.integers(0, len(page) - 1))
    page[where] ^= data.draw(st.integers(1, 255))
    with pytest.raises(OggError):
        parse_pages(bytes(page))
