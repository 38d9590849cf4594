"""The published Compose file, as Docker Compose v2 itself reads it."""

from __future__ import annotations

import re
import stat
from pathlib import Path

import pytest
import yaml
from cryptography import x509

from scenario6.backend.certs import covered_names
from scenario6.facts.contract import CERTS_DIR
from tests.publish.conftest import (
    ACCESS,
    SECRET,
    Publish,
    assert_says_to_trust_the_proxy,
    compose_config,
    resolved,
)

BACKEND, FRONTEND, TLS_INIT = "scenario6-moshi", "scenario6-frontend", "scenario6-frontend-tls"
GPU = [{"driver": "nvidia", "count": -1, "capabilities": ["gpu"]}]


def test_default_is_personaplex_on_gpus_behind_an_https_frontend(
    publish: Publish, compose: list[str]
) -> None:
    folder = publish()
    services = resolved(compose, folder)["services"]
    backend, frontend = services[BACKEND], services[FRONTEND]

    assert backend["build"]["target"] == "personaplex"
    assert backend["build"]["dockerfile"] == "moshi/Dockerfile"
    assert Path(backend["build"]["context"]).resolve() == Path.cwd().resolve()
    assert frontend["build"]["dockerfile"] == "Dockerfile"
    assert backend["image"] == "scenario6-moshi:personaplex"
    assert backend["deploy"]["resources"]["reservations"]["devices"] == GPU
    assert "deploy" not in frontend

    # Health-gated start, and real probes on both services (the images have no curl).
    assert frontend["depends_on"][BACKEND]["condition"] == "service_healthy"
    assert frontend["depends_on"][TLS_INIT]["condition"] == "service_completed_successfully"
    probe = ["CMD", "python", "-m", "scenario6.backend.healthcheck"]
    assert backend["healthcheck"]["test"] == probe
    # The model downloads and loads for minutes: the app model's start-up allowance.
    assert backend["healthcheck"]["start_period"] == "1h0m0s"
    assert frontend["healthcheck"]["test"][:3] == ["CMD", "python", "-c"]
    assert "https://127.0.0.1:" in frontend["healthcheck"]["test"][3]
    assert "/health" in frontend["healthcheck"]["test"][3]

    env = frontend["environment"]
    assert env["MOSHI_WS_URL"] == "ws://scenario6-moshi:8998/api/chat"
    assert env["APP_SSL_CERTFILE"] == "/run/scenario6/tls/cert.pem"
    assert env["APP_SSL_KEYFILE"] == "/run/scenario6/tls/key.pem"
    assert "HF_TOKEN" not in env, "the frontend never gets the token"
    assert backend["environment"]["HF_TOKEN"] == "stand-in-for-validation"
    assert backend["environment"]["HF_HOME"] in {v["target"] for v in backend["volumes"]}

    assert [(p["target"], p["published"]) for p in frontend["ports"]] == [(8010, "8010")]
    assert "ports" not in backend, "the browser never talks to the backend"
    assert backend["restart"] == frontend["restart"] == "unless-stopped"
    assert {v["type"] for v in backend["volumes"]} == {"volume"}


def test_the_token_is_a_required_placeholder(publish: Publish, compose: list[str]) -> None:
    folder = publish()
    text = (folder / "compose.yaml").read_text()
    assert "${HF_TOKEN:?" in text
    missing = compose_config(compose, folder, {"ACCESS_CODES": "stand-in:codes-here"})
    assert missing.returncode != 0
    assert "HF_TOKEN" in missing.stderr
    example = (folder / ".env.example").read_text()
    assert "HF_TOKEN=\n" in example


def test_no_gpu_drops_the_reservation(publish: Publish, compose: list[str]) -> None:
    services = resolved(compose, publish("--no-gpu"))["services"]
    assert "deploy" not in services[BACKEND]


def test_use_gpu_0_means_what_it_means_in_run_mode(
    publish: Publish, compose: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("USE_GPU", "0")
    backend = resolved(compose, publish())["services"][BACKEND]
    assert "deploy" not in backend
    assert backend["environment"]["MOSHI_DEVICE"] == "cpu"


def test_loopback_is_labelled_as_a_gpu_less_demo(publish: Publish, compose: list[str]) -> None:
    folder = publish("--backend", "loopback")
    text = (folder / "compose.yaml").read_text()
    header = [line for line in text.splitlines() if line.startswith("#")]
    assert any("DEMO" in line and "no GPU" in line for line in header), header
    backend = resolved(compose, folder)["services"][BACKEND]
    assert backend["build"]["target"] == "loopback"
    assert "no GPU" in backend["labels"]["org.scenario6.note"]
    assert "deploy" not in backend
    assert "HF_TOKEN" not in backend["environment"]
    assert backend["healthcheck"]["start_period"] == "30s"
    assert "Demo" in (folder / "README.md").read_text()


def test_plain_http_is_published_on_localhost_only(publish: Publish, compose: list[str]) -> None:
    folder = publish("--no-https")
    services = resolved(compose, folder)["services"]
    frontend = services[FRONTEND]
    assert frontend["ports"][0]["host_ip"] == "127.0.0.1"
    assert "APP_SSL_CERTFILE" not in frontend["environment"]
    assert TLS_INIT not in services
    assert not (folder / "certs").exists()


def test_backend_tls_gives_the_frontend_wss_and_the_ca(
    publish: Publish, compose: list[str]
) -> None:
    services = resolved(compose, publish("--backend-tls"))["services"]
    backend, frontend = services[BACKEND], services[FRONTEND]
    assert frontend["environment"]["MOSHI_WS_URL"] == "wss://scenario6-moshi:8998/api/chat"
    ca = frontend["environment"]["MOSHI_TLS_CA"]
    shared = {v["source"]: v["target"] for v in frontend["volumes"]}
    backend_certs = {v["source"]: v["target"] for v in backend["volumes"]}
    [(volume, target)] = [(s, t) for s, t in shared.items() if s in backend_certs]
    assert ca == f"{target}/ca.pem"
    assert backend_certs[volume] == CERTS_DIR  # where the backend image writes its CA
    assert backend["environment"]["MOSHI_USE_SSL"] == "1"


def test_generated_certificate_covers_local_names_and_keeps_its_key_private(
    publish: Publish,
) -> None:
    folder = publish()
    certs = folder / "certs"
    names = covered_names((certs / "cert.pem").read_bytes())
    assert {"localhost", "127.0.0.1", FRONTEND} <= names
    assert stat.S_IMODE((certs / "key.pem").stat().st_mode) == 0o600
    ca = x509.load_pem_x509_certificate((certs / "ca.pem").read_bytes())
    leaf = x509.load_pem_x509_certificates((certs / "cert.pem").read_bytes())[0]
    leaf.verify_directly_issued_by(ca)
    readme = (folder / "README.md").read_text()
    assert "ca.pem" in readme and "--ignore-certificate-errors-spki-list=" in readme


def test_own_certificate_is_used(publish: Publish, tmp_path: Path) -> None:
    first = publish()
    cert, key = first / "certs" / "cert.pem", first / "certs" / "key.pem"
    folder = publish("--tls-cert", str(cert), "--tls-key", str(key))
    assert (folder / "certs" / "cert.pem").read_bytes() == cert.read_bytes()
    assert not (folder / "certs" / "ca.pem").exists()


@pytest.mark.parametrize(
    "args", [(), ("--no-gpu",), ("--backend", "loopback"), ("--backend-tls",)], ids=str
)
def test_no_generated_file_contains_the_token_or_the_codes(
    publish: Publish, args: tuple[str, ...]
) -> None:
    folder = publish(*args)
    files = [p for p in folder.rglob("*") if p.is_file()]
    assert len(files) >= 5
    for path in files:
        assert SECRET.encode() not in path.read_bytes(), path
        assert ACCESS.split(":")[1].encode() not in path.read_bytes(), path


@pytest.mark.parametrize("args", [(), ("--backend", "loopback"), ("--no-https",)], ids=str)
def test_the_frontend_needs_invitation_codes_from_env_every_way_it_is_published(
    publish: Publish, compose: list[str], args: tuple[str, ...]
) -> None:
    folder = publish(*args)
    text = (folder / "compose.yaml").read_text()
    assert "ACCESS_CODES: ${ACCESS_CODES:?" in text.replace('"', "")
    missing = compose_config(compose, folder, {"HF_TOKEN": "stand-in-for-validation"})
    assert missing.returncode != 0 and "ACCESS_CODES" in missing.stderr
    services = resolved(compose, folder)["services"]
    assert services[FRONTEND]["environment"]["ACCESS_CODES"] == "stand-in:codes-here"
    assert "ACCESS_CODES" not in services[BACKEND].get("environment", {})
    example = (folder / ".env.example").read_text()
    assert "ACCESS_CODES=\n" in example and "label:code" in example
    readme = (folder / "README.md").read_text()
    assert "## Inviting people" in readme and "ACCESS_CODES" in readme
    assert_says_to_trust_the_proxy(readme)


def test_every_yaml_file_parses(publish: Publish) -> None:
    folder = publish()
    for path in folder.rglob("*.yaml"):
        assert yaml.safe_load(path.read_text()) is not None, path


def test_the_frontend_is_given_its_drain_time_to_stop(publish: Publish, compose: list[str]) -> None:
    """`docker compose stop`/`up` waits past the frontend's drain before it kills it."""
    services = resolved(compose, publish())["services"]
    frontend = services[FRONTEND]
    drain = float(frontend["environment"]["DRAIN_TIMEOUT_S"])
    grace = re.fullmatch(r"(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?", frontend["stop_grace_period"])
    assert grace is not None, frontend["stop_grace_period"]
    hours, minutes, seconds = (int(part or 0) for part in grace.groups())
    assert drain + 5 <= hours * 3600 + minutes * 60 + seconds <= drain + 60
    # Its healthcheck stays liveness: a draining frontend is healthy, not to be restarted.
    assert "/health" in frontend["healthcheck"]["test"][3]
