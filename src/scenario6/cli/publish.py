"""``scenario6 publish`` (deployment files) and ``scenario6 deploy`` (files, images, start)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scenario6.facts.kinds import BACKENDS, BATCHED, PERSONAPLEX
from scenario6.facts.names import FRONTEND
from scenario6.facts.slots import AUTO, SLOTS_ENV, SLOTS_OPTION, Slots, SlotsError, parse_slots

if TYPE_CHECKING:
    from scenario6.publish.options import PublishOptions


def register(subparsers: Any) -> None:
    publish = subparsers.add_parser(
        "publish",
        help="write a Compose file, Kubernetes manifests and a certificate for the app",
        description="Publish mode of the app model (apphost.py): both services as containers. "
        "Writes compose.yaml, .env.example, kubernetes/ and README files into --output.",
    )
    _publish_options(publish)
    publish.set_defaults(handler=run_publish)
    deploy = subparsers.add_parser(
        "deploy",
        help="publish, build the images and start them with Docker Compose",
        description="Publish, build both images (progress shown), then "
        "`docker compose up -d --wait` until every service is healthy.",
    )
    _publish_options(deploy)
    deploy.add_argument(
        "--compose-override",
        action="append",
        type=Path,
        default=[],
        metavar="FILE",
        help="extra Compose file merged over the published one (repeatable)",
    )
    deploy.add_argument("--project-name", help="Compose project name (default: the app's name)")
    deploy.add_argument(
        "--no-build", action="store_true", help="use existing images instead of building them"
    )
    deploy.add_argument(
        "--wait-timeout",
        type=int,
        default=None,
        metavar="SECONDS",
        help="how long to wait for healthy services (default: 600, or 3600 for PersonaPlex)",
    )
    deploy.set_defaults(handler=run_deploy)


def _publish_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--apphost", type=Path, default=Path("apphost.py"), help="app model file")
    parser.add_argument(
        "--output",
        "-o",
        type=Path,
        default=Path("deploy"),
        help="folder to write (default: deploy)",
    )
    parser.add_argument(
        "--backend",
        choices=BACKENDS,
        default=PERSONAPLEX,
        help="PersonaPlex-7B on a GPU (default), the loopback demo backend (no GPU, no model), "
        f"or batched: PersonaPlex-7B holding several conversations per GPU ({SLOTS_OPTION})",
    )
    parser.add_argument(
        SLOTS_OPTION,
        type=_slots,
        metavar="N",
        help=f"conversations each batched backend replica holds at once: a whole number, or "
        f"{AUTO} to fit its GPU's free memory (default: {SLOTS_ENV} from the environment "
        f"or .env, else {AUTO})",
    )
    parser.add_argument(
        "--no-gpu",
        action="store_true",
        help="do not reserve NVIDIA GPUs (also when USE_GPU=0 in the environment or .env)",
    )
    parser.add_argument(
        "--no-https", action="store_true", help="plain HTTP, published on 127.0.0.1 only"
    )
    parser.add_argument("--tls-cert", type=Path, help="your certificate (PEM) for the frontend")
    parser.add_argument("--tls-key", type=Path, help="its private key (PEM)")
    parser.add_argument(
        "--tls-name",
        action="append",
        default=[],
        metavar="NAME",
        help="extra host name or IP for the generated certificate and the frontend to answer "
        "to (repeatable)",
    )
    parser.add_argument(
        "--backend-tls", action="store_true", help="wss between frontend and backend (Compose)"
    )
    parser.add_argument(
        "--base-image", help="BASE_IMAGE build argument, e.g. a mirrored python:3.12-slim"
    )
    parser.add_argument(
        "--image",
        action="append",
        default=[],
        metavar="SERVICE=IMAGE",
        help=f"image reference for a service, e.g. {FRONTEND}=registry/x:1.0",
    )
    parser.add_argument("--cache-size", default="40Gi", help="model cache volume size (Kubernetes)")
    parser.add_argument(
        "--service-monitor",
        action="store_true",
        help="add a Prometheus Operator ServiceMonitor per metered service (Kubernetes)",
    )
    parser.add_argument(
        "--frontends",
        type=_replicas,
        default=1,
        metavar="N",
        help="frontend replicas (default: 1); more than one share their state on Redis, "
        "behind a load balancer (Compose) or a Service (Kubernetes)",
    )
    parser.add_argument(
        "--redis-url-secret",
        action="store_true",
        help="with --frontends N: take REDIS_URL from .env or a Secret (your own Redis) "
        "instead of adding a Redis service",
    )


def _slots(value: str) -> Slots:
    try:
        return parse_slots(value)
    except SlotsError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _replicas(value: str) -> int:
    if not value.isdigit() or int(value) < 1:
        raise argparse.ArgumentTypeError(f"a whole number of replicas, 1 or more, not {value!r}")
    return int(value)


def options_from(args: argparse.Namespace) -> PublishOptions:
    from scenario6.apphost.configuration import Configuration
    from scenario6.publish.options import PublishOptions

    if (args.tls_cert is None) != (args.tls_key is None):
        raise SystemExit("scenario6: --tls-cert and --tls-key go together")
    if args.slots is not None and args.backend != BATCHED:
        raise SystemExit(f"scenario6: {SLOTS_OPTION} is for --backend {BATCHED}")
    if args.redis_url_secret and args.frontends < 2:
        raise SystemExit("scenario6: --redis-url-secret is for --frontends 2 or more")
    images: dict[str, str] = {}
    for item in args.image:
        name, sep, ref = item.partition("=")
        if not sep or not ref:
            raise SystemExit(f"scenario6: --image wants SERVICE=IMAGE, not {item!r}")
        images[name] = ref
    # USE_GPU means the same here as in run mode: environment first, then the app's .env.
    config = Configuration.for_app_dir(args.apphost.resolve().parent)
    # So is the slot count; the option wins over the setting.
    slots = args.slots
    if slots is None and args.backend == BATCHED:
        try:
            slots = parse_slots(config.get(SLOTS_ENV))
        except SlotsError as exc:
            print(f"scenario6: {exc}", file=sys.stderr)
            raise SystemExit(2) from None
    return PublishOptions(
        apphost=args.apphost,
        output=args.output,
        backend=args.backend,
        slots=AUTO if slots is None else slots,
        gpu=not args.no_gpu and config.get_bool("USE_GPU", True),
        https=not args.no_https,
        tls_cert=args.tls_cert,
        tls_key=args.tls_key,
        tls_names=tuple(args.tls_name),
        backend_tls=args.backend_tls,
        base_image=args.base_image,
        images=images,
        cache_size=args.cache_size,
        service_monitor=args.service_monitor,
        frontends=args.frontends,
        redis_url_secret=args.redis_url_secret,
    )


def run_publish(args: argparse.Namespace) -> int:
    from scenario6.apphost import AppModelError
    from scenario6.publish.bundle import publish

    options = options_from(args)
    try:
        published = publish(options)
    except (AppModelError, RuntimeError, ValueError, OSError) as exc:
        print(f"scenario6 publish: {exc}", file=sys.stderr)
        return 2
    print(f"Published {published.folder}:")
    for path in published.files:
        print(f"  {path.relative_to(published.folder)}")
    if published.certificate is not None:
        print(f"  {published.certificate.cert.parent.name}/ (frontend certificate)")
    for note in published.notes:
        print(note)
    print(f"Start: cd {published.folder} && docker compose up -d --wait  → {published.url}")
    return 0


def run_deploy(args: argparse.Namespace) -> int:
    from scenario6.apphost import AppModelError
    from scenario6.publish.compose_cli import ComposeMissing
    from scenario6.publish.deploy import deploy

    options = options_from(args)
    timeout = args.wait_timeout or (600 if options.demo else 3600)
    try:
        deployment = deploy(
            options,
            overrides=tuple(p.resolve() for p in args.compose_override),
            project_name=args.project_name,
            build=not args.no_build,
            wait_timeout_s=timeout,
        )
    except (AppModelError, ComposeMissing, RuntimeError, ValueError, OSError) as exc:
        print(f"scenario6 deploy: {exc}", file=sys.stderr)
        return 1
    published = deployment.published
    for note in published.notes:
        print(note)
    for image, size in deployment.image_sizes.items():
        print(f"  {image}: {size / 1e6:.0f} MB")
    took = ", ".join(f"{k} {v:.0f} s" for k, v in deployment.seconds.items())
    print(f"Healthy ({took}). Open {published.url}")
    stop = deployment.project.argv(["down"], deployment.compose)
    print("Stop: " + " ".join(stop))
    return 0
