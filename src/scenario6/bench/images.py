"""``scenario6 bench images``: how big the images are and how long they take to build.

Builds the frontend image (``Dockerfile``) and the backend's loopback target
(``moshi/Dockerfile --target loopback``) from the repository with the engine ``scenario6 run``
uses (Docker or Podman, SCENARIO6_CONTAINER_RUNTIME) and its layer cache, and
prints each image's size, what it adds to its base image, and the build time. The
PersonaPlex target is not built here (for a GPU host it needs the CUDA base image and
GPU-sized downloads); when ``SCENARIO6_BACKEND_IMAGE`` names a backend image this machine
has (as ``scenario6 run`` uses it, e.g. a CPU build of that target), its size is reported.

The base image is ``SCENARIO6_BASE_IMAGE`` when set, else the local test base
(``scripts/base-image.sh``) when it exists, else the Dockerfiles' default.
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from scenario6.apphost import DockerBuild
from scenario6.containers import (
    BuildError,
    BuiltImage,
    ContainerRuntime,
    ImageMissing,
    RuntimeUnavailable,
    build_image,
    image_exists,
    image_size,
)
from scenario6.facts.names import FRONTEND

REPO = Path(__file__).resolve().parents[3]  # the checkout, for an editable install
LOCAL_BASE = "scenario6-test-base:bookworm"
DEFAULT_BASE = "python:3.12-slim"
SIZE_TARGET_MB = {"frontend": 200.0}


@dataclass(frozen=True)
class ImageSpec:
    name: str
    tag: str
    dockerfile: str
    target: str | None = None


IMAGES = (
    ImageSpec("frontend", f"{FRONTEND}:bench", "Dockerfile"),
    ImageSpec("loopback", "scenario6-loopback:bench", "moshi/Dockerfile", "loopback"),
)


def build_on(
    runtime: ContainerRuntime,
    base: str,
    tag: str,
    *,
    dockerfile: str = "Dockerfile",
    target: str | None = None,
    build_args: Mapping[str, str] | None = None,
    context: Path = REPO,
    timeout: float = 1800,
) -> BuiltImage:
    """Build ``context``'s ``dockerfile`` as ``tag`` with ``BASE_IMAGE=base``, quietly."""
    args = tuple({"BASE_IMAGE": base, **(build_args or {})}.items())
    build = DockerBuild(context, context / dockerfile, target, args)
    return build_image(runtime, tag, build, host_network=True, timeout=timeout)


def choose_base(runtime: ContainerRuntime, env: Mapping[str, str]) -> str:
    if env.get("SCENARIO6_BASE_IMAGE"):
        return env["SCENARIO6_BASE_IMAGE"]
    return LOCAL_BASE if image_exists(runtime, LOCAL_BASE) else DEFAULT_BASE


def engine() -> ContainerRuntime:
    """The engine ``scenario6 run`` would use, once it answers; raises RuntimeUnavailable."""
    runtime = ContainerRuntime.detect()
    runtime.check_engine()
    return runtime


def engine_unavailable() -> str:
    """Why images cannot be built here (with the fix), or ``""`` when an engine answers."""
    try:
        engine()
    except RuntimeUnavailable as problem:
        return problem.line
    return ""


def measure(
    runtime: ContainerRuntime, base: str, backend_image: str | None = None
) -> dict[str, object]:
    base_mb = image_size(runtime, base) / 1e6 if image_exists(runtime, base) else None
    rows = []
    for spec in IMAGES:
        built = build_on(runtime, base, spec.tag, dockerfile=spec.dockerfile, target=spec.target)
        row = {
            "name": spec.name,
            "tag": spec.tag,
            "size_mb": round(built.size_mb, 1),
            "added_to_base_mb": round(built.size_mb - base_mb, 1) if base_mb else None,
            "build_s": round(built.seconds, 1),
            "target_mb": SIZE_TARGET_MB.get(spec.name),
        }
        rows.append(row)
    not_built = [{"name": "personaplex", "why": "needs the CUDA base image and a GPU host"}]
    if backend_image and not image_exists(runtime, backend_image):
        why = f"SCENARIO6_BACKEND_IMAGE={backend_image} is not on this machine"
        not_built = [{"name": "backend", "why": why}]
    elif backend_image:
        size_mb = image_size(runtime, backend_image) / 1e6
        rows.append(
            {
                "name": "backend",
                "tag": backend_image,
                "size_mb": round(size_mb, 1),
                "added_to_base_mb": None,
                "build_s": None,  # built elsewhere (SCENARIO6_BACKEND_IMAGE)
                "target_mb": None,
            }
        )
        not_built = []
    return {
        "benchmark": "images",
        "engine": runtime.name,
        "base_image": base,
        "base_image_mb": round(base_mb, 1) if base_mb else None,
        "images": rows,
        "not_built": not_built,
    }


def run(args: argparse.Namespace) -> int:
    if not (REPO / "moshi" / "Dockerfile").is_file():
        print(f"bench images: run it from a checkout of the repository ({REPO} has no Dockerfiles)")
        return 1
    try:
        runtime = engine()
    except RuntimeUnavailable as problem:
        print(f"bench images: {problem}")
        return 1
    base = choose_base(runtime, os.environ)
    if not args.json:
        print(f"images benchmark: building from {REPO} with {runtime.name} on {base} (cached)")
    try:
        summary = measure(runtime, base, os.environ.get("SCENARIO6_BACKEND_IMAGE"))
    except (BuildError, ImageMissing) as exc:
        print(f"bench images: {exc}")
        return 1
    if args.json:
        print(json.dumps(summary))
        return 0
    for row in summary["images"]:  # type: ignore[attr-defined]
        added = row["added_to_base_mb"]
        extra = f", {added:.1f} MB on top of the base" if added is not None else ""
        target = f" (target <= {row['target_mb']:.0f} MB)" if row["target_mb"] else ""
        built = f", built in {row['build_s']:.1f} s" if row["build_s"] is not None else ""
        print(f"  {row['name']:9s} {row['tag']:26s} {row['size_mb']:7.1f} MB{extra}{target}{built}")
    print(f"  base image {base}: {summary['base_image_mb']} MB")
    return 0
