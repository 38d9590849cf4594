"""What publishing adds to this app's model: HTTPS, certificate trust, the backend's probe.

The app model says which containers exist and how they reach each other. A deployment also
needs facts the model does not carry (yet): the frontend serves HTTPS itself because
browsers grant the microphone only to secure origins; a ``wss`` backend's CA must reach the
frontend; the backend image runs its own health probe, which checks the readiness the app
model declared (both read :mod:`scenario6.facts.contract`); the browser talks to the
frontend only.
"""

from __future__ import annotations

from dataclasses import replace

from scenario6.facts import contract
from scenario6.facts.names import BACKEND, BACKEND_PORT, FRONTEND, FRONTEND_READY_PATH
from scenario6.facts.slots import SLOTS_LABEL
from scenario6.facts.urls import parse_backend_urls
from scenario6.frontend.settings import FrontendSettings

from .options import PublishOptions
from .spec import Health, Mount, Service

TLS_DIR = "/run/scenario6/tls"
TLS_VOLUME = f"{FRONTEND}-tls"
TLS_SOURCE = "certs"
BACKEND_CERTS_VOLUME = f"{BACKEND}-certs"
BACKEND_CA_DIR = "/run/scenario6/moshi-ca"
DEMO_NOTE = "loopback demo backend: no GPU, no model; it echoes your voice back"
DRAIN_ENV = "DRAIN_TIMEOUT_S"
# What a drained server still needs after its drain: closing, its own shutdown.
STOP_MARGIN_S = 15


def apply(services: dict[str, Service], options: PublishOptions) -> dict[str, Service]:
    """``services`` with this app's deployment needs added (a new dict; inputs unchanged)."""
    result = {
        name: replace(s, env=dict(s.env), mounts=list(s.mounts)) for name, s in services.items()
    }
    backend = result.get(BACKEND)
    frontend = result.get(FRONTEND)
    if backend is not None:
        _backend(backend, options)
    if frontend is not None:
        _frontend(frontend, options, backend)
    return result


def _backend(service: Service, options: PublishOptions) -> None:
    service.ports = [replace(p, published=None) for p in service.ports]
    port = service.ports[0].target if service.ports else BACKEND_PORT
    scheme = service.ports[0].scheme if service.ports else "http"
    # The model's start-up allowance (PersonaPlex downloads ~17 GB and warms up first).
    loading = int(service.startup_timeout_s or (30 if options.demo else 30 * 60))
    # The app model's check (its path and expected status), run by the image's own probe.
    service.health = replace(
        service.health or Health(port, scheme),
        argv=contract.PROBE,
        start_period_s=loading,
        interval_s=10 if options.demo else 30,
    )
    service.labels = {
        "org.scenario6.role": "backend",
        "org.scenario6.backend": options.backend,
    }
    if options.demo:
        service.labels["org.scenario6.note"] = DEMO_NOTE
    if options.batched:
        service.labels[SLOTS_LABEL] = str(options.slots)
    if options.batched or options.demo:
        # It drains as the frontend does: its conversations finish before it is killed.
        service.stop_grace_s = int(contract.DRAIN_TIMEOUT_S) + STOP_MARGIN_S
    if scheme == "https":
        service.mounts.append(Mount(BACKEND_CERTS_VOLUME, contract.CERTS_DIR))


def _frontend(service: Service, options: PublishOptions, backend: Service | None) -> None:
    service.labels = {"org.scenario6.role": "frontend"}
    url = service.env.get("MOSHI_WS_URL")
    if isinstance(url, str):  # one URL or several (a pool), as the frontend will read them
        service.env["MOSHI_WS_URL"] = ",".join(u.url for u in parse_backend_urls(url))
    if backend is not None and any(p.scheme == "https" for p in backend.ports):
        service.mounts.append(Mount(BACKEND_CERTS_VOLUME, BACKEND_CA_DIR, read_only=True))
        service.env["MOSHI_TLS_CA"] = f"{BACKEND_CA_DIR}/ca.pem"
    # A stopping frontend drains: the orchestrator waits for it, and readiness says so.
    drain = int(FrontendSettings.model_fields["drain_timeout_s"].default)
    service.env[DRAIN_ENV] = str(drain)
    service.stop_grace_s = drain + STOP_MARGIN_S
    if service.health is not None:
        service.health.ready_path = FRONTEND_READY_PATH
    if options.https:
        service.env["APP_SSL_CERTFILE"] = f"{TLS_DIR}/cert.pem"
        service.env["APP_SSL_KEYFILE"] = f"{TLS_DIR}/key.pem"
        service.mounts.append(Mount(TLS_VOLUME, TLS_DIR, read_only=True, source=TLS_SOURCE))
        service.ports = [replace(p, scheme="https") for p in service.ports]
        if service.health is not None:
            service.health.scheme = "https"
