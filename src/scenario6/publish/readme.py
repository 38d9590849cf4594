"""The README files written beside the published Compose file and Kubernetes manifests."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from scenario6.facts.contract import CACHE_VOLUME
from scenario6.facts.names import BACKEND, BACKEND_PORT, FRONTEND, FRONTEND_PORT
from scenario6.facts.slots import AUTO, SLOTS_ENV, SLOTS_LABEL, SLOTS_OPTION, SLOTS_SETTING, Slots
from scenario6.frontend.invitations import ENV as ACCESS_ENV
from scenario6.frontend.invitations import MIN_CODE_CHARS
from scenario6.frontend.settings import FrontendSettings

from .options import PublishOptions
from .profile import DEMO_NOTE, TLS_VOLUME
from .spec import Service

# How long a sign-in lasts by default, as the published README tells the people invited.
SIGN_IN_DAYS = FrontendSettings.model_fields["access_cookie_max_age_s"].default // 86400


def _frontend_replicas(services: Mapping[str, Service]) -> list[str]:
    frontend = services.get(FRONTEND)
    if frontend is None or frontend.replicas == 1:
        return [
            "Keep one frontend replica: its queue lives in its process. Publish with "
            "`--frontends N` for several, which share their state on Redis (`REDIS_URL`).",
        ]
    return [
        f"The frontend runs {frontend.replicas} replicas that share their queue, slot leases "
        "and limits on Redis (`REDIS_URL`). A PodDisruptionBudget lets node drains take one "
        "replica at a time; a stopping replica fails its readiness probe and drains its "
        "conversations before it exits.",
    ]


def frontend_port(services: Mapping[str, Service]) -> int:
    """The frontend's port as users reach it (the published one, also the Service's port)."""
    frontend = services.get(FRONTEND)
    if frontend is None:
        return FRONTEND_PORT
    return next((p.published for p in frontend.ports if p.published), FRONTEND_PORT)


def frontend_url(services: Mapping[str, Service], options: PublishOptions) -> str:
    return f"{'https' if options.https else 'http'}://localhost:{frontend_port(services)}/"


def compose_readme(
    services: Mapping[str, Service], options: PublishOptions, trust: Sequence[str]
) -> str:
    url = frontend_url(services, options)
    needs_env = any(s.parameters for s in services.values())
    lines = ["# scenario6 — Docker Compose", ""]
    if options.demo:
        lines += [
            f"> **Demo set-up.** `{BACKEND}` is the {DEMO_NOTE}. Publish again without",
            "> `--backend loopback` for NVIDIA PersonaPlex-7B.",
            "",
        ]
    lines += ["## Start", "", "```sh"]
    if needs_env:
        lines += ["cp .env.example .env        # then fill it in (see .env.example)"]
    lines += [
        "docker compose up -d --wait  # builds both images the first time",
        "```",
        "",
        f"Then open {url}",
        "",
        "`--wait` returns once both services are healthy. The frontend starts only after the",
        "backend is healthy (`depends_on: condition: service_healthy`). With Podman, run",
        "`podman compose` (with Compose v2 as its provider) where this says `docker compose`.",
    ]
    if not options.demo:
        lines += [
            "The first start downloads about 17 GB of model weights into the",
            f"`{CACHE_VOLUME}` volume and warms the model up: allow several minutes",
            "(`docker compose logs -f " + BACKEND + "` shows progress).",
        ]
    if options.gpu and not options.demo:
        lines += [
            "",
            "The backend reserves every NVIDIA GPU (`deploy.resources.reservations.devices`);",
            "the host needs the NVIDIA driver and the NVIDIA Container Toolkit.",
        ]
    if options.batched:
        lines += [
            "",
            *_holds(options.slots, f"label `{SLOTS_LABEL}`"),
            "Their frames go through the model together, one batch per 80 ms step. To change the",
            f"number, publish again with `{SLOTS_OPTION} N` or `{SLOTS_OPTION} {AUTO}`.",
        ]
    lines += ["", "## HTTPS", ""]
    if options.https:
        lines += [
            "Browsers allow the microphone only on secure origins, so the frontend serves",
            "HTTPS. `certs/` holds the certificate and key; a one-shot service copies them",
            f"into the `{TLS_VOLUME}` volume readable by the frontend's unprivileged user.",
            "",
            "```text",
            *trust,
            "```",
            "",
            "The certificate covers localhost, 127.0.0.1 and this machine's name; to open the",
            "app from other machines under another name, publish again with `--tls-name NAME`.",
            "",
            "To use your own certificate, replace `certs/cert.pem` and `certs/key.pem` (or",
            "publish with `--tls-cert`/`--tls-key`) and run `docker compose up -d` again.",
        ]
    else:
        lines += [
            "Published with `--no-https`: plain HTTP, bound to 127.0.0.1 only, because browsers",
            "allow the microphone over HTTP only on localhost.",
        ]
    if _gated(services):
        lines += ["", *_inviting(f"`{ACCESS_ENV}` in `.env`", ["docker compose up -d"], url)]
    lines += ["", *_behind_a_proxy(f"the `environment:` of `{FRONTEND}` in compose.yaml")]
    lines += [
        "",
        "## Stop",
        "",
        "```sh",
        "docker compose down        # keeps the model cache",
        "docker compose down -v     # also deletes the volumes",
        "```",
        "",
        f"The backend's port ({BACKEND_PORT}) is not published: only the frontend talks to it.",
    ]
    return "\n".join(lines) + "\n"


def kubernetes_readme(
    services: Mapping[str, Service],
    options: PublishOptions,
    secrets: Sequence[tuple[str, str, str]],
) -> str:
    lines = ["# scenario6 — Kubernetes", ""]
    port = frontend_port(services)
    if options.demo:
        lines += [f"> **Demo set-up.** `{BACKEND}` is the {DEMO_NOTE}.", ""]
    lines += [
        "## 1. Images",
        "",
        "Build both images and push them to a registry your cluster pulls from, then point",
        "the manifests at them:",
        "",
        "```sh",
    ]
    for service in services.values():
        name = service.image.rsplit(":", 1)[0]
        lines.append(f"kustomize edit set image {name}=registry.example.com/{service.image}")
    lines += ["```", "", "## 2. Secrets", ""]
    if secrets:
        lines += [
            "The manifests read secrets from Secret objects; create them before applying",
            "(the value comes from your shell's environment, not from a file here):",
            "",
            "```sh",
        ]
        for name, key, user in secrets:
            lines.append(
                f'kubectl create secret generic {name} --from-literal={key}="${key}"'
                f"   # used by {user}"
            )
        lines += ["```", ""]
    if options.https:
        lines += [
            "The frontend serves HTTPS (browsers allow the microphone only on secure",
            "origins). Its certificate and key come from a Secret:",
            "",
            "```sh",
            f"kubectl create secret generic {TLS_VOLUME} \\",
            "  --from-file=cert.pem=../certs/cert.pem --from-file=key.pem=../certs/key.pem",
            "```",
            "",
            "For a public host name, use a certificate for that name (e.g. from cert-manager)",
            "with the keys `cert.pem` and `key.pem`.",
            "",
        ]
    if _gated(services):
        secret = next((name for name, key, _ in secrets if key == ACCESS_ENV), ACCESS_ENV)
        where = f"the `{secret}` Secret (key `{ACCESS_ENV}`)"
        apply = [
            f"kubectl create secret generic {secret} "
            f'--from-literal={ACCESS_ENV}="${ACCESS_ENV}" \\',
            "  --dry-run=client -o yaml | kubectl apply -f -",
            f"kubectl rollout restart deployment/{FRONTEND}",
        ]
        lines += [*_inviting(where, apply, frontend_url(services, options)), ""]
    lines += [
        "## 3. Apply",
        "",
        "```sh",
        "kubectl apply -k .",
        f"kubectl rollout status statefulset/{BACKEND} --timeout=60m",
        f"kubectl port-forward service/{FRONTEND} {port}:{port}",
        "```",
        "",
        f"Then open {frontend_url(services, options)}.",
        "",
        "## Scaling the backend",
        "",
        *_replica_slots(options),
        "",
        "```sh",
        f"kubectl scale statefulset {BACKEND} --replicas=3",
        "```",
        "",
        f"`{BACKEND}` is a headless Service: its name resolves to every ready replica, and",
        "the frontend re-resolves it every few seconds, so new replicas join its pool once",
        "their readiness probe passes. Clients beyond the free replicas wait in the",
        "frontend's queue. Each replica keeps its own model cache volume (`volumeClaimTemplates`);",
        f"the startup probe allows {_startup_minutes(services)} minutes for the first download "
        "and warm-up.",
        "",
        *_frontend_replicas(services),
        "",
        *_behind_a_proxy(
            f"the `env` of the `{FRONTEND}` Deployment (or `kubectl set env "
            f"deployment/{FRONTEND} TRUSTED_PROXIES=...`)",
            "an ingress controller or another reverse proxy",
        ),
    ]
    return "\n".join(lines) + "\n"


def _holds(slots: Slots, where: str) -> list[str]:
    """How many conversations each replica of a batched backend holds, and where it says so."""
    if slots == AUTO:
        return [
            "Each backend replica holds as many conversations at once as its GPU's free memory",
            f"allows (`{SLOTS_ENV}={AUTO}`): it settles the number when it starts and tells the",
            f"frontend. The {where} says `{AUTO}`.",
        ]
    noun = "conversation" if slots == 1 else "conversations"
    return [
        f"Each backend replica holds up to {slots} {noun} at once (`{SLOTS_ENV}={slots}`); the",
        f"{where} and the frontend's `{SLOTS_SETTING}` say the same.",
    ]


def _replica_slots(options: PublishOptions) -> list[str]:
    if not options.batched:
        return [
            "Each backend replica serves one conversation at a time on its own GPU",
            "(`nvidia.com/gpu: 1`). Add replicas for more simultaneous conversations:",
        ]
    return [
        *_holds(options.slots, f"annotation `{SLOTS_LABEL}`"),
        "Each has its own GPU (`nvidia.com/gpu: 1`). Add replicas for more simultaneous",
        "conversations:",
    ]


def _gated(services: Mapping[str, Service]) -> bool:
    frontend = services.get(FRONTEND)
    return frontend is not None and any(p.env_name == ACCESS_ENV for p in frontend.parameters)


def _inviting(where: str, apply: list[str], url: str) -> list[str]:
    """How to let people in: the frontend admits only holders of an invitation code."""
    return [
        "## Inviting people",
        "",
        "Every conversation takes GPU time and memory, so the frontend admits only people with",
        f"an invitation code. The codes are {where}: one `label:code` pair per person,",
        f"comma-separated, each code at least {MIN_CODE_CHARS} characters. The label is the",
        "person's name in the logs and their share of the per-person session limit. Make a",
        "code with:",
        "",
        "```sh",
        "python3 -c 'import secrets; print(secrets.token_urlsafe(12))'",
        "```",
        "",
        f"Send each person the app's address ({url} here; this machine's name from",
        "elsewhere) and their code: they enter it once on the sign-in page and stay signed in",
        f"for {SIGN_IN_DAYS} days (a cookie only the server can read). To let someone in or out,",
        "edit the codes and apply them:",
        "",
        "```sh",
        *apply,
        "```",
        "",
        "A removed code signs its holder out. Behind a single sign-on proxy (oauth2-proxy and",
        "the like), the frontend can take the user name the proxy sets instead: see the",
        "security page of the project's documentation (docs/security.md).",
    ]


def _behind_a_proxy(where: str, proxy: str = "a reverse proxy") -> list[str]:
    """Without TRUSTED_PROXIES, every user behind a proxy has the proxy's address."""
    return [
        "## Behind a reverse proxy",
        "",
        f"Behind {proxy}, set `TRUSTED_PROXIES` to its",
        f"address or network (CIDR) in {where}. Otherwise every user has the proxy's",
        "address: they share one wrong-code allowance of the sign-in page and one",
        "per-client session limit. The proxy must set or append `X-Forwarded-For` itself",
        "(or the header `FORWARDED_HEADER` names; see docs/security.md).",
    ]


def _startup_minutes(services: Mapping[str, Service]) -> int:
    backend = services.get(BACKEND)
    seconds = backend.health.start_period_s if backend and backend.health else 0
    return max(1, round(seconds / 60))
