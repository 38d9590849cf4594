"""The backend container's health probe: ``python -m scenario6.backend.healthcheck``.

Exit status 0 when the server in this container answers as the image's contract
(:mod:`scenario6.facts.contract`) says a ready one does, 1 otherwise (Docker's HEALTHCHECK
contract). It reads the same ``MOSHI_*`` variables as the entrypoint, and over TLS it
verifies the server against the exported ``ca.pem``, so a healthy status also proves the
certificate clients are told to trust.
"""

from __future__ import annotations

import json
import os
import ssl
import sys
import urllib.error
import urllib.request
from collections.abc import Mapping

from scenario6.backend.entrypoint import BackendConfig
from scenario6.facts.contract import readiness
from scenario6.facts.kinds import LOOPBACK


def probe_url(config: BackendConfig) -> str:
    scheme = "https" if config.use_ssl else "http"
    host = config.host if config.backend == LOOPBACK else "127.0.0.1"
    # PersonaPlex (alone or batched) binds every interface whatever --host says.
    if host in ("0.0.0.0", "::", ""):
        host = "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"
    return f"{scheme}://{host}:{config.port}{readiness(config.backend).path}"


def check(config: BackendConfig, timeout: float = 5.0) -> tuple[bool, str]:
    """Whether the server answers as the image's contract says a ready one does, and what
    was seen."""
    url = probe_url(config)
    expected = readiness(config.backend).status
    context = _tls_context(config) if config.use_ssl else None
    try:
        with urllib.request.urlopen(url, timeout=timeout, context=context) as response:
            status, body = int(response.status), response.read(4096)
    except urllib.error.HTTPError as exc:
        status, body = int(exc.code), b""
    except (OSError, ssl.SSLError) as exc:
        return False, f"{url}: {exc}"
    if status != expected:
        return False, f"{url}: HTTP {status}, not {expected}"
    if config.backend == LOOPBACK:
        try:
            said = json.loads(body).get("status")
        except (ValueError, AttributeError):
            said = None
        return said == "ok", f"{url}: status {said!r}"
    return True, f"{url}: HTTP {status}"


def _tls_context(config: BackendConfig) -> ssl.SSLContext:
    from scenario6.backend.certs import CertificateFiles, is_generated

    files = CertificateFiles.in_dir(config.ssl_dir)
    if is_generated(files):
        return ssl.create_default_context(cafile=str(files.ca))
    # A certificate the operator provided names their host, not 127.0.0.1: this probe only
    # asks whether the server answers; clients verify it as usual.
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def main(env: Mapping[str, str] | None = None) -> int:
    try:
        config = BackendConfig.from_env(os.environ if env is None else env)
    except ValueError as exc:
        print(exc, file=sys.stderr)
        return 1
    healthy, seen = check(config)
    print(seen)
    return 0 if healthy else 1


if __name__ == "__main__":
    raise SystemExit(main())
