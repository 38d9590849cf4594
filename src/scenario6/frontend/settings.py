"""The frontend's one settings object, read from the environment (DESIGN §3)."""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from scenario6.facts.contract import DRAIN_TIMEOUT_S
from scenario6.facts.names import BACKEND_PORT, FRONTEND_PORT
from scenario6.facts.slots import SLOTS_HEADER, SLOTS_OPTION
from scenario6.facts.urls import BackendUrl, parse_backend_urls
from scenario6.protocol.voices import DEFAULT_PERSONA, DEFAULT_VOICE, PERSONA_MAX_CHARS, voice_name

from .invitations import parse_invitations

# The headers a reverse proxy may name the client in (see trust.py).
ForwardedHeader = Literal["x-forwarded-for", "forwarded", "x-real-ip"]
# A cookie-signing key this long from token_urlsafe carries 192 bits: beyond guessing offline.
MIN_SECRET_CHARS = 32
# Where ``create_app`` hands its settings to the server (ASGI lifespan state): uvicorn builds
# the HTTP protocol (``serving``) from its name, so it cannot be given the object itself.
LIFESPAN_KEY = "scenario6.frontend.settings"
# An HTTP header name (RFC 9110 token characters).
_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_REDIS_URL_FORM = (
    "not a Redis URL; the forms are redis://[:password@]host[:port][/db], rediss:// for TLS, "
    "unix:///path/to/socket"
)


class FrontendSettings(BaseSettings):
    """Everything the frontend reads from its environment, validated once at start-up.

    >>> FrontendSettings(moshi_ws_url="http://gpu-box:8998").backends[0].url
    'ws://gpu-box:8998/api/chat'
    """

    # Errors never echo a value: some settings are secrets (ACCESS_CODES, ACCESS_SECRET).
    model_config = SettingsConfigDict(
        env_file=None, extra="ignore", frozen=True, hide_input_in_errors=True
    )

    app_host: str = Field("0.0.0.0", description="Interface the frontend listens on.")
    app_port: int = Field(
        FRONTEND_PORT, ge=1, le=65535, description="Port the frontend listens on."
    )
    metrics_port: int = Field(
        0,
        ge=0,
        le=65535,
        description="Port of the Prometheus metrics (`/metrics`, on APP_HOST's interface, "
        "outside the access gate); 0 turns them off. Keep it inside the deployment's network.",
    )
    app_ssl_certfile: Path | None = Field(
        None, description="PEM certificate; with APP_SSL_KEYFILE the frontend serves HTTPS."
    )
    app_ssl_keyfile: Path | None = Field(None, description="PEM private key for HTTPS.")
    moshi_ws_url: Annotated[tuple[BackendUrl, ...], NoDecode] = Field(
        default=(BackendUrl.parse(f"ws://127.0.0.1:{BACKEND_PORT}"),),
        description="Backend URL, or a comma-separated pool; http→ws, https→wss, "
        "default path /api/chat.",
    )
    moshi_tls_ca: Path | None = Field(None, description="PEM CA bundle to verify wss backends.")
    moshi_tls_insecure: bool = Field(
        False, description="Skip verification of wss backends (development only; logged)."
    )
    default_voice: str = Field(
        DEFAULT_VOICE, description="Voice the web UI preselects (sessions name their own)."
    )
    default_persona: str = Field(
        DEFAULT_PERSONA, description="Persona used when a client's is empty."
    )
    allowed_origins: Annotated[tuple[str, ...], NoDecode] = Field(
        default=(),
        description="Extra browser origins allowed to open sessions (comma-separated); "
        "the page's own origin is allowed under one of SERVER_NAMES (see docs/security.md).",
    )
    max_message_bytes: int = Field(
        65536, ge=1024, description="Largest WebSocket message a client may send."
    )
    max_messages_per_second: float = Field(
        100.0, gt=0, description="Sustained inbound message rate before a client is closed."
    )
    audio_burst_s: float = Field(
        3.0,
        gt=0,
        description="Seconds of audio a client may send ahead of real time (counted by the "
        "Opus packets' own length from the handshake on, as a catch-up after a network stall "
        "does): passed on at once. Up to as much again is held back and passed on in real "
        "time; a client further ahead is closed with 4413.",
    )
    connect_timeout_s: float = Field(10.0, gt=0, description="Time to reach a backend.")
    handshake_timeout_s: float = Field(
        120.0, gt=0, description="Time a backend may take to process the prompts."
    )
    queue_timeout_s: float = Field(
        600.0, gt=0, description="Time a client may wait for a free backend."
    )
    idle_timeout_s: float = Field(
        30.0, gt=0, description="Time a live session may go without client audio."
    )
    send_timeout_s: float = Field(
        5.0,
        gt=0,
        description="Time a client may take to accept a message (a WebSocket message, or an "
        "HTTP answer once the network's buffers are full) before it is closed.",
    )
    backend_stall_timeout_s: float = Field(
        15.0,
        gt=0,
        description="Talking time a live backend may leave unanswered (PersonaPlex answers "
        "every 80 ms of audio with 80 ms) before the session is closed as stalled; a client's "
        "pauses do not count.",
    )
    max_sessions_per_client: int = Field(
        4,
        ge=1,
        description="Sessions one client (a signed-in person, else a client address) may hold "
        "or wait for at once; more are refused so that one client cannot fill the queue.",
    )
    # The slot count's one frontend setting (SLOTS_SETTING): its name is the public one.
    sessions_per_backend: int = Field(
        1,
        ge=1,
        description="Sessions one backend serves at once, until it says otherwise. PersonaPlex "
        "serves one. A backend that holds several (the batched PersonaPlex server, the loopback "
        f"backend with {SLOTS_OPTION}) sends its own count in the {SLOTS_HEADER} header when a "
        "session opens, and the proxy uses that count for it from then on; raise this only for "
        "backends that serve several without saying so (the loopback backend with --concurrent).",
    )
    drain_timeout_s: float = Field(
        DRAIN_TIMEOUT_S,
        ge=0,
        description="On SIGTERM, how long live conversations may go on before they are closed "
        "(1001) and the frontend exits; meanwhile /ready fails, new and queued clients are "
        "told to reconnect (1012). Give the orchestrator's grace period a few seconds more.",
    )
    dns_refresh_s: float = Field(
        5.0, ge=0, description="How often backend host names are resolved again."
    )
    redis_url: SecretStr | None = Field(
        None,
        description="Redis shared by several frontend replicas (redis://host:6379/0): the "
        "queue, the backend slot leases. Unset: one replica, state in memory. See "
        "docs/scaling.md.",
    )
    redis_lease_ttl_s: float = Field(
        5.0,
        ge=0.5,
        description="With REDIS_URL: how long a backend slot stays booked by a replica that "
        "stopped renewing it (killed, cut off); a live session renews it three times as often.",
    )
    # Server limits (slow clients; the byte limits are constants in serving.py): see
    # docs/security.md.
    header_timeout_s: float = Field(
        10.0,
        gt=0,
        description="Time a client may take to send a request's line and headers (a "
        "WebSocket upgrade's too), counted from the connection's start or the end of its "
        "previous request; then the connection is closed (408 when part of it arrived).",
    )
    keep_alive_timeout_s: float = Field(
        5.0, gt=0, description="Time an idle keep-alive connection stays open between requests."
    )
    # Trust (which names the frontend serves, whose forwarded headers it believes): see
    # docs/security.md.
    server_names: Annotated[tuple[str, ...], NoDecode] = Field(
        default=(),
        description="Host names this frontend answers to, comma-separated (`name` for any "
        "port, `name:port` for one); other Host headers are refused (except on /health and "
        "/ready) and browser origins must name one of them. Empty: localhost, 127.0.0.1 and "
        "[::1]. `*` answers to any name, which gives up the protection against DNS rebinding.",
    )
    trusted_proxies: Annotated[tuple[str, ...], NoDecode] = Field(
        default=(),
        description="Reverse proxies (IP addresses or CIDR networks, comma-separated) whose "
        "FORWARDED_HEADER names the real client; none by default.",
    )
    forwarded_header: ForwardedHeader = Field(
        "x-forwarded-for",
        description="The one header TRUSTED_PROXIES set to name the client: x-forwarded-for "
        "(nginx's $proxy_add_x_forwarded_for, Caddy), forwarded (RFC 7239) or x-real-ip. "
        "The others are ignored, since a proxy passes on what a client wrote in them.",
    )
    # Access gate (who may open sessions): see docs/security.md.
    access_codes: SecretStr | None = Field(
        None,
        description="Invitation codes or one shared passphrase, comma-separated; "
        "`label:code` names the person (the label is their identity). Set: sign-in required.",
    )
    access_secret: SecretStr | None = Field(
        None,
        description=f"Key that signs sign-in cookies, at least {MIN_SECRET_CHARS} characters "
        "(derived from ACCESS_CODES when unset, so changing the codes signs everyone out).",
    )
    access_previous_secrets: Annotated[tuple[SecretStr, ...], NoDecode] = Field(
        default=(),
        description="Earlier values of ACCESS_SECRET, comma-separated: their cookies are still "
        "accepted, and issued again under ACCESS_SECRET, so that the key can change without "
        "signing everyone out.",
    )
    access_identity_header: str = Field(
        "",
        description="Header carrying the user name set by an authenticating reverse proxy "
        "(e.g. X-Forwarded-User); believed only from TRUSTED_PROXIES. Set: sign-in required.",
    )
    access_cookie_max_age_s: int = Field(
        7 * 24 * 3600, ge=60, description="How long a sign-in lasts."
    )
    access_attempts_per_minute: int = Field(
        5, ge=1, description="Wrong codes one client address (IPv6: its /64) may try per minute."
    )
    access_network_attempts_per_minute: int = Field(
        20, ge=1, description="Wrong codes all addresses in one IPv6 /48 may try per minute."
    )
    access_total_attempts_per_minute: int = Field(
        1000,
        ge=1,
        description="Wrong codes all clients together may try per minute; past it, sign-in "
        "with a code pauses for everyone (those signed in stay in).",
    )

    @field_validator("moshi_ws_url", mode="before")
    @classmethod
    def _split_urls(cls, value: object) -> object:
        if isinstance(value, str):
            return parse_backend_urls(value)
        return value

    @field_validator("allowed_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(o.strip().rstrip("/") for o in value.split(",") if o.strip())
        return value

    @field_validator("server_names", mode="before")
    @classmethod
    def _split_names(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(n.strip().lower() for n in value.split(",") if n.strip())
        return value

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _split_proxies(cls, value: object) -> object:
        if isinstance(value, str):
            value = [n for n in value.split(",") if n.strip()]
        if isinstance(value, list | tuple):
            # Canonical network strings: a typo stops the frontend instead of trusting no one.
            return tuple(str(ipaddress.ip_network(str(n).strip(), strict=False)) for n in value)
        return value

    @field_validator("forwarded_header", mode="before")
    @classmethod
    def _lower_header(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("access_identity_header")
    @classmethod
    def _header_name(cls, value: str) -> str:
        value = value.strip()
        if value and not _HEADER_NAME.fullmatch(value):
            raise ValueError("must be a header name such as X-Forwarded-User")
        return value

    @field_validator("access_codes")
    @classmethod
    def _codes(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            parse_invitations(value.get_secret_value())
        return value

    @field_validator("access_secret")
    @classmethod
    def _secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < MIN_SECRET_CHARS:
            raise ValueError(
                f"shorter than {MIN_SECRET_CHARS} characters: make one with "
                f'python -c "import secrets; print(secrets.token_urlsafe(32))"'
            )
        return value

    @field_validator("redis_url")
    @classmethod
    def _redis_url(cls, value: SecretStr | None) -> SecretStr | None:
        # The URL may hold a password: the message never quotes it.
        if value is not None:
            url = urlsplit(value.get_secret_value())
            if url.scheme not in ("redis", "rediss", "unix"):
                raise ValueError(_REDIS_URL_FORM)
            try:
                url.port  # noqa: B018 (it parses the port)
            except ValueError:
                raise ValueError("the port is a number: " + _REDIS_URL_FORM) from None
            if url.scheme != "unix" and not re.fullmatch(r"/?\d*", url.path):
                raise ValueError("the database after the host is a number (/0): " + _REDIS_URL_FORM)
        return value

    @field_validator("access_previous_secrets", mode="before")
    @classmethod
    def _split_secrets(cls, value: object) -> object:
        # Not held to the minimum length: replacing a short key is what they are for.
        if isinstance(value, str):
            return tuple(s.strip() for s in value.split(",") if s.strip())
        return value

    @field_validator("default_voice")
    @classmethod
    def _known_voice(cls, value: str) -> str:
        name = voice_name(value.strip())
        if name is None:
            raise ValueError(f"{value!r} is not one of the 18 PersonaPlex voices")
        return name

    @field_validator("default_persona")
    @classmethod
    def _persona(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("must not be empty")
        if len(value) > PERSONA_MAX_CHARS:
            raise ValueError(f"longer than {PERSONA_MAX_CHARS} characters")
        return value

    @model_validator(mode="after")
    def _tls_pair(self) -> FrontendSettings:
        if (self.app_ssl_certfile is None) != (self.app_ssl_keyfile is None):
            raise ValueError("APP_SSL_CERTFILE and APP_SSL_KEYFILE must be set together")
        files = {
            "APP_SSL_CERTFILE": self.app_ssl_certfile,
            "APP_SSL_KEYFILE": self.app_ssl_keyfile,
            "MOSHI_TLS_CA": self.moshi_tls_ca,
        }
        for name, path in files.items():
            if path is not None and not path.is_file():
                raise ValueError(f"{name}: {path} does not exist or is not a file")
        return self

    @property
    def backends(self) -> tuple[BackendUrl, ...]:
        return self.moshi_ws_url

    @property
    def https(self) -> bool:
        return self.app_ssl_certfile is not None
