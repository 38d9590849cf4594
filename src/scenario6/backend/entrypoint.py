"""The backend container's entrypoint: environment in, server command line out, then exec.

``python -m scenario6.backend.entrypoint [extra server args...]`` reads ``MOSHI_*`` variables,
prepares the TLS certificate when ``MOSHI_USE_SSL`` is on, and replaces itself with the
server (PersonaPlex's ``moshi.server``, the batched PersonaPlex server or the loopback
backend) so that signals from the container runtime reach the server directly. Only the
standard library is needed unless TLS is on (then ``cryptography``): the PersonaPlex image
installs this package without its dependencies.
"""

from __future__ import annotations

import os
import socket
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from scenario6.backend.model_folder import ModelFolder
from scenario6.facts.contract import CERTS_DIR
from scenario6.facts.kinds import (
    BACKENDS,
    BATCHED,
    LOOPBACK,
    MODEL_BACKENDS,
    PERSONAPLEX,
    Backend,
)
from scenario6.facts.names import BACKEND, BACKEND_PORT, TOKEN
from scenario6.facts.slots import AUTO, SLOTS_ENV, SLOTS_OPTION, Slots, SlotsError, parse_slots

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}
_WILDCARDS = {"0.0.0.0", "::", "localhost"}
# Compose and Kubernetes reach the backend by its service name; cover it without configuration.
# The module each kind runs (modules, not the CLI: the images carry only the backend packages).
SERVER_MODULES: dict[Backend, str] = {
    PERSONAPLEX: "scenario6.backend.moshi_main",
    BATCHED: "scenario6.backend.batched",
    LOOPBACK: "scenario6.backend.loopback_main",
}


class ConfigError(ValueError):
    """An environment variable has a value the entrypoint cannot use."""


@dataclass(frozen=True)
class BackendConfig:
    """The backend container's settings, from its environment.

    >>> BackendConfig.from_env({"MOSHI_PORT": "9000", "MOSHI_USE_SSL": "1"}).port
    9000
    """

    backend: Backend = PERSONAPLEX
    host: str = "0.0.0.0"
    port: int = BACKEND_PORT
    use_ssl: bool = False
    cpu_offload: bool = False
    ssl_dir: Path = Path(CERTS_DIR)
    cert_names: tuple[str, ...] = ()
    static: str = "none"
    device: str | None = None
    hf_repo: str | None = None
    voice_prompt_dir: str | None = None
    model_dir: Path | None = None
    slots: Slots = AUTO  # conversations the batched server holds at once

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> BackendConfig:
        name = env.get("MOSHI_BACKEND", "").strip().lower() or PERSONAPLEX
        backend = next((kind for kind in BACKENDS if kind == name), None)
        if backend is None:
            raise ConfigError(f"MOSHI_BACKEND must be one of {', '.join(BACKENDS)}, not {name!r}")
        try:
            # Only the batched server reads it: a stray value cannot stop the other kinds.
            slots = parse_slots(env.get(SLOTS_ENV)) if backend == BATCHED else AUTO
        except SlotsError as exc:
            raise ConfigError(str(exc)) from None
        return cls(
            backend=backend,
            host=env.get("MOSHI_HOST", "").strip() or "0.0.0.0",
            port=_port(env.get("MOSHI_PORT", str(BACKEND_PORT))),
            use_ssl=_flag(env, "MOSHI_USE_SSL"),
            cpu_offload=_flag(env, "MOSHI_CPU_OFFLOAD"),
            ssl_dir=Path(env.get("MOSHI_SSL_DIR", "").strip() or CERTS_DIR),
            cert_names=tuple(
                n.strip() for n in env.get("MOSHI_CERT_NAMES", "").split(",") if n.strip()
            ),
            # Upstream downloads and serves its own web UI unless told "none"; ours is the
            # frontend, and the browser never talks to the backend directly.
            static=env.get("MOSHI_STATIC", "").strip() or "none",
            device=env.get("MOSHI_DEVICE", "").strip() or None,
            hf_repo=env.get("MOSHI_HF_REPO", "").strip() or None,
            voice_prompt_dir=env.get("MOSHI_VOICE_PROMPT_DIR", "").strip() or None,
            model_dir=Path(d) if (d := env.get("MOSHI_MODEL_DIR", "").strip()) else None,
            slots=slots,
        )

    @property
    def runs_model(self) -> bool:
        """PersonaPlex, alone or batched: model files, a cache, no /health route."""
        return self.backend in MODEL_BACKENDS

    @property
    def cert_file(self) -> Path:
        return self.ssl_dir / "cert.pem"

    @property
    def key_file(self) -> Path:
        return self.ssl_dir / "key.pem"


def server_argv(
    config: BackendConfig, extra: Sequence[str] = (), python: str = sys.executable
) -> list[str]:
    """The server's command line for ``config``; ``extra`` is appended unchanged."""
    module = SERVER_MODULES[config.backend]
    if config.backend == LOOPBACK:
        argv = [python, "-m", module, "--host", config.host, "--port", str(config.port)]
        if config.use_ssl:
            argv += ["--ssl-certfile", str(config.cert_file), "--ssl-keyfile", str(config.key_file)]
        return [*argv, *extra]
    # moshi.server binds every interface whatever --host says; it only prints the value, and
    # for a wildcard (or its default, localhost) it first looks up a LAN address through a
    # UDP "connection" to 8.8.8.8, which raises on networks without a default route.
    shown = "127.0.0.1" if config.host in _WILDCARDS else config.host
    folder = ModelFolder(config.model_dir) if config.model_dir else None
    # Upstream's server, with the app's request limits (and a model folder's architecture);
    # the batched server takes the same arguments, then its slot count.
    argv = [python, "-m", module, "--host", shown, "--port", str(config.port)]
    argv += ["--static", config.static]
    if config.use_ssl:
        argv += ["--ssl", str(config.ssl_dir)]
    if config.cpu_offload:
        argv.append("--cpu-offload")
    for option, value in (
        ("--device", config.device),
        ("--hf-repo", config.hf_repo),
    ):
        if value is not None:
            argv += [option, value]
    if folder is not None:
        argv += folder.server_args(config.voice_prompt_dir)
    elif config.voice_prompt_dir is not None:
        argv += ["--voice-prompt-dir", config.voice_prompt_dir]
    if config.backend == BATCHED:
        argv += [SLOTS_OPTION, str(config.slots)]
    return [*argv, *extra]


def server_env(
    config: BackendConfig, env: Mapping[str, str], cache: Path | None = None
) -> dict[str, str]:
    """The server's environment: ``env``, plus offline Hub settings for a model folder.

    Their cache is ``cache``, else a new temporary folder: a shared, predictable path could
    be another user's (or hold their symbolic links) outside a container.
    """
    if not config.runs_model or config.model_dir is None:
        return dict(env)
    cache = cache or Path(tempfile.mkdtemp(prefix="scenario6-hf-hub-"))
    return {**env, **ModelFolder(config.model_dir).offline_env(cache, config.hf_repo)}


def describe(config: BackendConfig, env: Mapping[str, str]) -> str:
    """One start-up line for the logs; says whether the token is set, never its value."""
    scheme = "https/wss" if config.use_ssl else "http/ws"
    parts = [
        f"backend={config.backend}",
        f"port={config.port}",
        f"scheme={scheme}",
        f"cpu_offload={'on' if config.cpu_offload else 'off'}",
    ]
    if config.backend == BATCHED:
        parts.append(f"slots={config.slots}")
    if config.runs_model:
        if config.model_dir is not None:
            parts.append(f"model_dir={config.model_dir} (offline)")
        else:
            parts.append(f"HF_HOME={env.get('HF_HOME', '(default)')}")
            parts.append(f"{TOKEN}={'set' if env.get(TOKEN) else 'not set'}")
    return "scenario6 backend entrypoint: " + " ".join(parts)


def prepare_tls(config: BackendConfig, hostname: str) -> str:
    """Makes sure cert.pem and key.pem exist before the server starts; returns a log line.

    Raises ``CertificateError`` (or ``ImportError`` without ``cryptography``) instead of
    letting the server fall back to plain HTTP.
    """
    from scenario6.backend.certs import ensure_certificate, is_generated, subject_names

    names = subject_names(hostname, (BACKEND, *config.cert_names))
    files, created = ensure_certificate(config.ssl_dir, names)
    for path in (files.cert, files.key):
        if not path.is_file():
            raise FileNotFoundError(f"{path} is missing after certificate set-up")
    if not is_generated(files):
        return f"TLS: using the provided {files.cert} and {files.key}"
    verb = "created" if created else "reusing"
    return f"TLS: {verb} {files.cert} for {', '.join(names)}; clients trust {files.ca}"


def main(argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None) -> int:
    env = os.environ if env is None else env
    extra = list(sys.argv[1:] if argv is None else argv)
    try:
        config = BackendConfig.from_env(env)
    except ConfigError as exc:
        print(f"scenario6 backend entrypoint: {exc}", file=sys.stderr)
        return 2
    print(describe(config, env), file=sys.stderr, flush=True)
    if config.runs_model and config.model_dir is not None:
        missing = ModelFolder(config.model_dir).missing()
        if missing:
            print(
                f"scenario6 backend entrypoint: MOSHI_MODEL_DIR={config.model_dir} lacks "
                f"{', '.join(missing)}",
                file=sys.stderr,
            )
            return 2
    if config.runs_model and env.get("HF_HOME"):
        try:
            Path(env["HF_HOME"]).mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            print(f"scenario6 backend entrypoint: HF_HOME is unusable: {exc}", file=sys.stderr)
            return 1
    if config.use_ssl:
        try:
            print(prepare_tls(config, socket.gethostname()), file=sys.stderr, flush=True)
        except Exception as exc:
            print(
                f"scenario6 backend entrypoint: MOSHI_USE_SSL is on but the certificate in "
                f"{config.ssl_dir} could not be prepared ({exc}); refusing to serve plain HTTP.",
                file=sys.stderr,
            )
            return 1
    command = server_argv(config, extra)
    try:
        server_environment = server_env(config, env)
    except OSError as exc:
        print(f"scenario6 backend entrypoint: no usable temporary folder: {exc}", file=sys.stderr)
        return 1
    sys.stdout.flush()
    os.execvpe(command[0], command, server_environment)
    return 0  # pragma: no cover - execvp does not return


def _flag(env: Mapping[str, str], name: str) -> bool:
    value = env.get(name, "").strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ConfigError(f"{name} must be a boolean (1/0, true/false, yes/no, on/off), not {value!r}")


def _port(value: str) -> int:
    try:
        port = int(value.strip())
    except ValueError:
        raise ConfigError(f"MOSHI_PORT must be a number, not {value!r}") from None
    if not 1 <= port <= 65535:
        raise ConfigError(f"MOSHI_PORT must be between 1 and 65535, not {port}")
    return port


if __name__ == "__main__":
    raise SystemExit(main())
