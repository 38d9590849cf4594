"""The GPU itself, as the driver reports it (nvidia-smi)."""

from __future__ import annotations

from .result import CheckResult, Context, Status

# PersonaPlex-7B in bf16 needs about 14-19 GB of GPU memory for weights and activations.
NEEDED_MIB = 20 * 1024


def check_gpu(ctx: Context) -> CheckResult:
    name = "gpu memory"
    smi = ctx.which("nvidia-smi")
    if smi is None:
        return CheckResult(
            name,
            Status.FAIL,
            "nvidia-smi not found: no NVIDIA driver on this machine",
            "run the model on a machine with an NVIDIA GPU (>= 20 GB), or use --backend loopback",
        )
    query = "--query-gpu=name,memory.total"
    code, out, err = ctx.command([smi, query, "--format=csv,noheader,nounits"], timeout=20)
    parsed = (_parse(line) for line in out.splitlines() if line.strip())
    gpus = [gpu for gpu in parsed if gpu is not None]
    if code != 0 or not gpus:
        detail = (err.strip().splitlines() or ["no GPU listed"])[-1]
        return CheckResult(
            name, Status.FAIL, f"nvidia-smi failed: {detail}", "check the NVIDIA driver"
        )
    model, mib = max(gpus, key=lambda g: g[1])
    shown = f"{model}, {mib / 1024:.0f} GB" + (
        f" (largest of {len(gpus)})" if len(gpus) > 1 else ""
    )
    if mib < NEEDED_MIB:
        return CheckResult(
            name,
            Status.WARN,
            f"{shown}: under the ~20 GB PersonaPlex-7B needs",
            "set CPU_OFFLOAD=1 in .env (the backend then runs with MOSHI_CPU_OFFLOAD=1)",
        )
    return CheckResult(name, Status.OK, shown)


def _parse(line: str) -> tuple[str, int] | None:
    model, _, memory = line.rpartition(",")
    try:
        return model.strip(), int(float(memory.strip()))
    except ValueError:
        return None
