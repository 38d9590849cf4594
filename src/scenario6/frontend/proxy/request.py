"""Validation of a client's session request, before anything reaches a backend."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from scenario6.protocol.voices import PERSONA_MAX_CHARS, voice_file, voice_name

from ..settings import FrontendSettings

# Parameters upstream understands and that are safe to forward once validated.
_FORWARDED = ("voice_prompt", "text_prompt")
# Parameters the proxy itself understands.
_OWN = ("events",)


class BadRequest(ValueError):
    """A session request the proxy refuses; the message is the close reason."""


@dataclass(frozen=True)
class SessionRequest:
    voice: str
    persona: str
    events: bool
    ignored: tuple[
        str, ...
    ]  # parameters dropped on the way (e.g. ``seed``, which crashes upstream)

    def upstream_query(self) -> dict[str, str]:
        return {"voice_prompt": voice_file(self.voice), "text_prompt": self.persona}


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
    ignored = tuple(sorted(k for k in query if k not in _FORWARDED + _OWN))
    return SessionRequest(voice=voice, persona=persona, events=events, ignored=ignored)


def wants_events(query: Mapping[str, str]) -> bool:
    """Whether the client opted in to JSON events beside upstream's binary frames."""
    return query.get("events", "").lower() in {"1", "true", "yes"}


def origin_allowed(origin: str | None, host: str | None, settings: FrontendSettings) -> bool:
    """Browsers always send Origin on a WebSocket upgrade; other clients need not.

    A page may only open sessions from its own origin (same host and port), or from an
    origin the operator listed in ALLOWED_ORIGINS; this stops other sites from using a
    visitor's browser to hold a GPU.
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
    return parts.netloc.lower() == host.lower()
