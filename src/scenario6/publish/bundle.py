"""The published folder: the app model in publish mode, rendered by both publishers.

``render`` is pure (files as text); ``publish`` loads the AppHost file, prepares the
frontend's certificate and writes everything into the output folder.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from scenario6.apphost import DistributedApplication, Operation, load_apphost
from scenario6.facts.names import BACKEND

from . import balancer, compose, kubernetes, monitoring, profile, readme, replicas, tls
from .options import PublishOptions
from .spec import Service, describe

COMPOSE_FILE = "compose.yaml"
KUBERNETES_DIR = "kubernetes"
CERTS_DIR = "certs"


@dataclass
class Published:
    """What ``publish`` wrote, and what to tell the user."""

    app: DistributedApplication
    folder: Path
    files: list[Path]
    url: str
    services: dict[str, Service]
    certificate: tls.FrontendCertificate | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def compose_file(self) -> Path:
        return self.folder / COMPOSE_FILE


def load(options: PublishOptions) -> DistributedApplication:
    return load_apphost(
        options.apphost, Operation.PUBLISH, options.overrides(), stack=options.stack
    )


def services_for(app: DistributedApplication, options: PublishOptions) -> dict[str, Service]:
    described = replicas.apply(profile.apply(describe(app), options), options)
    services = monitoring.instrument(described, options)
    for name, image in options.images.items():
        if name not in services:
            raise ValueError(f"--image names unknown service {name!r}: {', '.join(services)}")
        services[name] = replace(services[name], image=image)
    return services


def render(
    app: DistributedApplication,
    services: Mapping[str, Service],
    options: PublishOptions,
    folder: Path,
    trust: Sequence[str] = (),
) -> dict[str, str]:
    """Every file of the published folder except the certificate, keyed by relative path."""
    files = {
        COMPOSE_FILE: compose.compose_file(app.name, services, options, folder),
        ".env.example": compose.env_example(services),
        "README.md": readme.compose_readme(services, options, trust),
    }
    for service in services.values():
        if service.replicas > 1:
            files[balancer.CONF_FILE] = balancer.conf_for(service)
    for name, text in monitoring.files(services, options).items():
        files[f"{monitoring.MONITORING_DIR}/{name}"] = text
    if not options.backend_tls:
        k8s = kubernetes.manifests(app.name, services, options)
        secrets = kubernetes.secrets_needed(app.name, services)
        k8s["README.md"] = readme.kubernetes_readme(services, options, secrets)
        files.update({f"{KUBERNETES_DIR}/{name}": text for name, text in k8s.items()})
    return files


def publish(options: PublishOptions) -> Published:
    app = load(options)
    folder = options.output.resolve()
    services = services_for(app, options)
    url = readme.frontend_url(services, options)
    certificate = tls.prepare(folder / CERTS_DIR, options) if options.https else None
    trust = certificate.trust_hint(url) if certificate else []
    files = render(app, services, options, folder, trust)
    written = [write(folder / name, text) for name, text in files.items()]
    notes = list(trust)
    if options.backend_tls:
        notes.append(
            f"Kubernetes manifests skipped: {BACKEND}'s TLS (--backend-tls) is published for "
            "Compose only; in a cluster, keep the backend on the cluster network."
        )
    return Published(app, folder, written, url, services, certificate, notes)


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
    return path
