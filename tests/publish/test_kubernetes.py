"""The published Kubernetes manifests, checked against the Kubernetes API schemas."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from scenario6.facts.contract import DRAIN_TIMEOUT_S
from tests.publish.conftest import Publish, assert_says_to_trust_the_proxy

BACKEND, FRONTEND = "scenario6-moshi", "scenario6-frontend"


def manifests(folder: Path) -> dict[tuple[str, str], dict[str, Any]]:
    """Every object by (kind, name), each validated strictly against the API schema."""
    objects: dict[tuple[str, str], dict[str, Any]] = {}
    k8s = folder / "kubernetes"
    kustomization = yaml.safe_load((k8s / "kustomization.yaml").read_text())
    listed = set(kustomization["resources"])
    assert listed == {p.name for p in k8s.glob("*.yaml")} - {"kustomization.yaml"}
    for name in sorted(listed):
        for data in yaml.safe_load_all((k8s / name).read_text()):
            kubernetes_validate.validate(data, kubernetes_validate.latest_version(), strict=True)
            objects[(data["kind"], data["metadata"]["name"])] = data
    return objects


def container(workload: dict[str, Any]) -> dict[str, Any]:
    [found] = workload["spec"]["template"]["spec"]["containers"]
    return found  # type: ignore[no-any-return]


def env_of(c: dict[str, Any]) -> dict[str, Any]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in c["env"]}


def test_backend_is_a_gpu_statefulset_behind_a_headless_service(publish: Publish) -> None:
    objects = manifests(publish())
    backend = objects[("StatefulSet", BACKEND)]
    c = container(backend)
    assert c["resources"]["limits"]["nvidia.com/gpu"] == 1
    secret = {"secretKeyRef": {"name": "scenario6-hf-token", "key": "HF_TOKEN"}}
    assert env_of(c)["HF_TOKEN"] == secret
    # The model cache is a volume claim per replica, mounted where HF_HOME points.
    [claim] = backend["spec"]["volumeClaimTemplates"]
    [mount] = c["volumeMounts"]
    assert mount["name"] == claim["metadata"]["name"]
    assert mount["mountPath"] == env_of(c)["HF_HOME"]
    # Minutes of model loading: the startup probe waits long, liveness only afterwards.
    startup = c["startupProbe"]
    assert startup["periodSeconds"] * startup["failureThreshold"] >= 1800
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert c[probe]["exec"]["command"] == ["python", "-m", "scenario6.backend.healthcheck"]

    service = objects[("Service", BACKEND)]
    assert service["spec"]["clusterIP"] == "None", "headless: the name resolves to every replica"
    assert backend["spec"]["serviceName"] == BACKEND
    assert service["spec"]["selector"] == backend["spec"]["template"]["metadata"]["labels"]


def test_frontend_serves_https_with_probes_on_health_and_ready(publish: Publish) -> None:
    objects = manifests(publish())
    frontend = objects[("Deployment", FRONTEND)]
    c = container(frontend)
    env = env_of(c)
    assert env["MOSHI_WS_URL"] == "ws://scenario6-moshi:8998/api/chat"
    assert "HF_TOKEN" not in env
    assert env["APP_SSL_CERTFILE"].startswith(c["volumeMounts"][0]["mountPath"])
    paths = {"startupProbe": "/health", "readinessProbe": "/ready", "livenessProbe": "/health"}
    for probe, path in paths.items():
        get = c[probe]["httpGet"]
        assert (get["path"], get["scheme"]) == (path, "HTTPS")
    [volume] = frontend["spec"]["template"]["spec"]["volumes"]
    assert volume["secret"]["secretName"] == "scenario6-frontend-tls"
    assert objects[("Service", FRONTEND)]["spec"]["ports"][0]["port"] == 8010


def test_no_gpu_and_loopback_request_no_gpu(publish: Publish) -> None:
    for args in (("--no-gpu",), ("--backend", "loopback")):
        c = container(manifests(publish(*args))[("StatefulSet", BACKEND)])
        assert "resources" not in c, args


def test_loopback_needs_no_token(publish: Publish) -> None:
    folder = publish("--backend", "loopback")
    c = container(manifests(folder)[("StatefulSet", BACKEND)])
    assert "HF_TOKEN" not in env_of(c)
    assert c["image"] == "scenario6-moshi:loopback"


def test_the_frontend_reads_its_invitation_codes_from_a_secret(publish: Publish) -> None:
    folder = publish("--backend", "loopback")
    c = container(manifests(folder)[("Deployment", FRONTEND)])
    ref = {"secretKeyRef": {"name": "scenario6-access-codes", "key": "ACCESS_CODES"}}
    assert env_of(c)["ACCESS_CODES"] == ref
    readme = (folder / "kubernetes" / "README.md").read_text()
    assert "kubectl create secret generic scenario6-access-codes" in readme
    assert "## Inviting people" in readme
    assert_says_to_trust_the_proxy(readme)
    assert "ingress controller" in readme


def test_readme_says_how_to_apply_scale_and_give_the_token(publish: Publish) -> None:
    readme = (publish() / "kubernetes" / "README.md").read_text()
    assert "kubectl apply -k ." in readme
    assert "kubectl scale statefulset scenario6-moshi --replicas=" in readme
    assert "kubectl create secret generic scenario6-hf-token" in readme
    assert "kubectl create secret generic scenario6-frontend-tls" in readme


def test_readme_forwards_the_frontend_port_the_service_has(
    publish: Publish, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FRONTEND_PORT", "9443")
    folder = publish() / "kubernetes"
    service = yaml.safe_load((folder / "scenario6-frontend-service.yaml").read_text())
    assert service["spec"]["ports"][0]["port"] == 9443
    readme = (folder / "README.md").read_text()
    assert "kubectl port-forward service/scenario6-frontend 9443:9443" in readme
    assert "https://localhost:9443/" in readme


def test_images_can_point_at_a_registry(publish: Publish) -> None:
    folder = publish("--image", "scenario6-frontend=registry.example/s6/frontend:1.0")
    c = container(manifests(folder)[("Deployment", FRONTEND)])
    assert c["image"] == "registry.example/s6/frontend:1.0"


def test_the_validator_rejects_a_broken_manifest(publish: Publish) -> None:
    """The schema check above can fail: a misspelt field is caught."""
    objects = manifests(publish())
    broken = objects[("Deployment", FRONTEND)]
    broken["spec"]["template"]["spec"]["containers"][0]["readinessProbes"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, kubernetes_validate.latest_version(), strict=True)


def test_the_frontend_drains_out_of_the_service_before_it_is_killed(publish: Publish) -> None:
    """The pod's grace period outlasts the drain (while readiness, on /ready, fails)."""
    workload = manifests(publish())[("Deployment", FRONTEND)]
    c = container(workload)
    drain = float(env_of(c)["DRAIN_TIMEOUT_S"])
    grace = workload["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
    assert drain + 5 <= grace <= drain + 60


def test_the_loopback_backend_is_given_its_drain_time_to_stop(publish: Publish) -> None:
    """It drains on SIGTERM as the batched server does: the pod waits for that."""
    workload = manifests(publish("--backend", "loopback"))[("StatefulSet", BACKEND)]
    grace = workload["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
    assert DRAIN_TIMEOUT_S + 5 <= grace <= DRAIN_TIMEOUT_S + 60
