"""The Hugging Face token (never shown) and the model cache volume."""

from __future__ import annotations

import subprocess
from pathlib import Path

from scenario6.facts.contract import CACHE_VOLUME
from scenario6.facts.names import TOKEN
from scenario6.setup.envfile import token_problem

from .containers import reachable
from .result import CheckResult, Context, Status

MODEL_REPO = "nvidia/personaplex-7b-v1"
# The volume is mounted as HF_HOME; huggingface_hub keeps repos under hub/models--org--name.
MODEL_DIR = "hub/models--" + MODEL_REPO.replace("/", "--")


def check_token(ctx: Context) -> CheckResult:
    name = "hugging face token"
    token = ctx.setting(TOKEN)
    source = "environment" if TOKEN in ctx.env else ".env"
    problem = token_problem(token)
    if problem:
        return CheckResult(
            name,
            Status.FAIL,
            problem if token else f"{TOKEN} is not set (environment or .env)",
            f"accept the license at https://huggingface.co/{MODEL_REPO}, create a read token, "
            "then `python3 setup_scenario6.py --ask-token`",
        )
    return CheckResult(name, Status.OK, f"{TOKEN} is set ({source}; not shown)")


def check_model_cache(ctx: Context, volume: str = CACHE_VOLUME) -> CheckResult:
    name = "model cache"
    runtime = reachable(ctx)
    if runtime is None:
        return CheckResult(name, Status.SKIP, "no container engine to ask")
    try:
        found = runtime.run("volume", "inspect", volume, "--format", "{{.Mountpoint}}", timeout=15)
    except (OSError, subprocess.TimeoutExpired):
        return CheckResult(name, Status.SKIP, "the container engine did not answer")
    code, out = found.returncode, found.stdout
    if code != 0:
        return CheckResult(
            name,
            Status.WARN,
            f"volume {volume} does not exist yet: the first start downloads ~16.7 GB",
        )
    model = Path(out.strip()) / MODEL_DIR
    try:
        snapshots = [p for p in (model / "snapshots").iterdir() if any(p.iterdir())]
    except OSError:
        if model.parent.exists() or _readable(Path(out.strip())):
            return CheckResult(
                name,
                Status.WARN,
                f"volume {volume} exists but holds no {MODEL_REPO} yet: "
                "the first start downloads ~16.7 GB",
            )
        return CheckResult(
            name,
            Status.WARN,
            f"volume {volume} exists; its contents are not readable from here "
            "(engine in a VM or rootless)",
        )
    if not snapshots:
        return CheckResult(name, Status.WARN, f"volume {volume} holds an incomplete download")
    return CheckResult(name, Status.OK, f"{MODEL_REPO} is in volume {volume}")


def _readable(path: Path) -> bool:
    try:
        next(iter(path.iterdir()), None)
    except OSError:
        return False
    return True
