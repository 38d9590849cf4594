"""``scenario6 bench images``: how big the images are and how long they take to build.

Builds the frontend image (``Dockerfile``) and the backend's loopback target
(``moshi/Dockerfile --target loopback``) from the repository, with Docker's layer cache, and
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
import shutil
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

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
    ImageSpec("frontend", "scenario6-frontend:bench", "Dockerfile"),
    ImageSpec("loopback", "scenario6-loopback:bench", "moshi/Dockerfile", "loopback"),
)


@dataclass(frozen=True)
class BuiltImage:
    """An image built from this repository, with what it cost."""

    tag: str
    seconds: float
    size_bytes: int

    @property
    def size_mb(self) -> float:
        return self.size_bytes / 1e6


class BuildError(RuntimeError):
    """``docker build`` failed; the message ends with its last output lines."""


def build_image(
    tag: str,
    base: str,
    *,
    dockerfile: str = "Dockerfile",
    target: str | None = None,
    build_args: Mapping[str, str] | None = None,
    context: Path = REPO,
    timeout: float = 1800,
) -> BuiltImage:
    """``docker build --network host`` of ``context`` with ``BASE_IMAGE=base``.

    Host networking because engines started without a bridge (CI, sandboxes) have no other
    network for ``RUN pip install``; on a normal engine it changes nothing for the result.
    """
    argv = ["docker", "build", "--network", "host", "-f", str(context / dockerfile), "-t", tag]
    for key, value in {"BASE_IMAGE": base, **(build_args or {})}.items():
        argv += ["--build-arg", f"{key}={value}"]
    if target:
        argv += ["--target", target]
    started = time.monotonic()
    result = subprocess.run(
        [*argv, str(context)], capture_output=True, text=True, timeout=timeout, check=False
    )
    seconds = time.monotonic() - started
    if result.returncode != 0:
        log = (result.stdout + result.stderr)[-4000:]
        raise BuildError(f"building {tag} from {dockerfile} failed:\n{log}")
    return BuiltImage(tag, seconds, image_size(tag))


def image_size(tag: str) -> int:
    """The image's uncompressed size in bytes, as ``docker images`` reports it."""
    out = subprocess.run(
        ["docker", "image", "inspect", "--format", "{{.Size}}", tag],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    return int(out.strip())


def image_exists(tag: str) -> bool:
    result = subprocess.run(
        ["docker", "image", "inspect", tag], capture_output=True, timeout=60, check=False
    )
    return result.returncode == 0


def choose_base(env: Mapping[str, str]) -> str:
    if env.get("SCENARIO6_BASE_IMAGE"):
        return env["SCENARIO6_BASE_IMAGE"]
    return LOCAL_BASE if image_exists(LOCAL_BASE) else DEFAULT_BASE


def docker_unavailable() -> str:
    """Why images cannot be built here, or ``""`` when a Docker engine answers."""
    if shutil.which("docker") is None:
        return "docker is not installed (apt-get install docker.io)"
    try:
        engine = subprocess.run(["docker", "info"], capture_output=True, timeout=60, check=False)
    except subprocess.TimeoutExpired:
        return "the Docker engine did not answer within 60 s"
    return "" if engine.returncode == 0 else "no Docker engine answers"


def measure(base: str, backend_image: str | None = None) -> dict[str, object]:
    base_mb = image_size(base) / 1e6 if image_exists(base) else None
    rows = []
    for spec in IMAGES:
        built = build_image(spec.tag, base, dockerfile=spec.dockerfile, target=spec.target)
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
    if backend_image and not image_exists(backend_image):
        why = f"SCENARIO6_BACKEND_IMAGE={backend_image} is not on this machine"
        not_built = [{"name": "backend", "why": why}]
    elif backend_image:
        size_mb = image_size(backend_image) / 1e6
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
        "base_image": base,
        "base_image_mb": round(base_mb, 1) if base_mb else None,
        "images": rows,
        "not_built": not_built,
    }


def run(args: argparse.Namespace) -> int:
    if shutil.which("docker") is None:
        print("bench images: the docker command is missing (apt-get install docker.io)")
        return 1
    if not (REPO / "moshi" / "Dockerfile").is_file():
        print(f"bench images: run it from a checkout of the repository ({REPO} has no Dockerfiles)")
        return 1
    base = choose_base(os.environ)
    if not args.json:
        print(f"images benchmark: building from {REPO} on {base} (Docker's cache applies)")
    try:
        summary = measure(base, os.environ.get("SCENARIO6_BACKEND_IMAGE"))
    except (BuildError, subprocess.CalledProcessError) as exc:
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
