"""Validation of a client's session request, before anything reaches a backend."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from scenario6.protocol.voices import PERSONA_MAX_CHARS, voice_file, voice_name

from ..hosts import ServedNames
from ..settings import FrontendSettings

# Parameters upstream understands and that are safe to forward once validated.
_FORWARDED = ("voice_prompt", "text_prompt")
# The parameter a client sets to opt in to JSON events (/api/config names it for the web client).
EVENTS_PARAM = "events"
# Parameters the proxy itself understands.
_OWN = (EVENTS_PARAM,)


@dataclass(frozen=True)
class _Range:
    kind: type[int] | type[float]
    low: float
    high: float


# The official web client's sampling parameters. PersonaPlex reads none of them at the pinned
# commit, but a backend that does should get them: they pass when they are finite numbers
# of the right kind within these bounds (wider than any sensible setting, narrow enough that
# no value can be absurd).
SAMPLING: dict[str, _Range] = {
    "text_temperature": _Range(float, 0.0, 10.0),
    "audio_temperature": _Range(float, 0.0, 10.0),
    "text_topk": _Range(int, 0, 100_000),
    "audio_topk": _Range(int, 0, 100_000),
    "pad_mult": _Range(float, -100.0, 100.0),
    "text_seed": _Range(int, -1, 2**32 - 1),
    "audio_seed": _Range(int, -1, 2**32 - 1),
    "repetition_penalty_context": _Range(int, 0, 100_000),
    "repetition_penalty": _Range(float, 0.0, 100.0),
}


def _sampling_value(name: str, raw: str) -> str | None:
    """``raw`` in its canonical form when it is a valid value of ``name``, else None."""
    bounds = SAMPLING[name]
    try:
        value: float = bounds.kind(raw.strip())
    except ValueError:
        return None
    if not bounds.low <= value <= bounds.high:  # NaN fails this too
        return None
    return str(value)


class BadRequest(ValueError):
    """A session request the proxy refuses; the message is the close reason."""


@dataclass(frozen=True)
class SessionRequest:
    voice: str
    persona: str
    events: bool
    ignored: tuple[str, ...]  # parameters dropped (e.g. ``seed``, which crashes upstream)
    sampling: tuple[tuple[str, str], ...] = ()  # valid sampling parameters, forwarded
    invalid: tuple[str, ...] = ()  # sampling parameters dropped for their value

    def upstream_query(self) -> dict[str, str]:
        query = {"voice_prompt": voice_file(self.voice), "text_prompt": self.persona}
        query.update(self.sampling)
        return query


def parse_request(query: Mapping[str, str], settings: FrontendSettings) -> SessionRequest:
    """Turn client query parameters into a request that is safe to send upstream."""
    raw_voice = query.get("voice_prompt", "").strip()
    if not raw_voice:
        raise BadRequest(f"voice_prompt is required, e.g. {voice_file(settings.default_voice)}")
    # Only the 18 known names pass: no paths, so upstream's directory join stays safe.
    voice = voice_name(raw_voice)
    if voice is None:
        shown = raw_voice if len(raw_voice) <= 40 else raw_voice[:37] + "..."
        raise BadRequest(f"unknown voice {shown!r}; see /api/config for the 18 voices")
    persona = query.get("text_prompt", "").strip() or settings.default_persona
    if len(persona) > PERSONA_MAX_CHARS:
        raise BadRequest(f"persona is {len(persona)} characters; the limit is {PERSONA_MAX_CHARS}")
    if "\x00" in persona:
        raise BadRequest("persona contains a NUL character")
    events = wants_events(query)
    sampling: list[tuple[str, str]] = []
    invalid: list[str] = []
    for name in sorted(SAMPLING.keys() & query.keys()):
        value = _sampling_value(name, query[name])
        if value is None:
            invalid.append(name)
        else:
            sampling.append((name, value))
    known = (*_FORWARDED, *_OWN, *SAMPLING)
    ignored = tuple(sorted(k for k in query if k not in known))
    return SessionRequest(voice, persona, events, ignored, tuple(sampling), tuple(invalid))


def wants_events(query: Mapping[str, str]) -> bool:
    """Whether the client opted in to JSON events beside upstream's binary frames."""
    return query.get(EVENTS_PARAM, "").lower() in {"1", "true", "yes"}


def origin_allowed(origin: str | None, host: str | None, settings: FrontendSettings) -> bool:
    """Browsers always send Origin on a WebSocket upgrade; other clients need not.

    A page may only open sessions from its own origin (same host and port) under one of the
    names the frontend serves (SERVER_NAMES), or from an origin the operator listed in
    ALLOWED_ORIGINS; this stops other sites from using a visitor's browser to hold a GPU. The
    names are checked as well as the ``Host`` match: a page on a name that an attacker points
    at the frontend (DNS rebinding) is same-origin with its own Host, but not a served name.
    """
    if origin is None:
        return True
    origin = origin.rstrip("/")
    if origin in settings.allowed_origins or "*" in settings.allowed_origins:
        return True
    try:
        parts = urlsplit(origin)
    except ValueError:  # e.g. "http://[": an unbalanced IPv6 bracket
        return False
    if parts.scheme not in {"http", "https"} or not parts.netloc or host is None:
        return False
    return parts.netloc.lower() == host.lower() and ServedNames.of(settings).allows(parts.netloc)
