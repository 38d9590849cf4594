"""``publish --frontends N``: the replicas, their Redis and the load balancer, judged by Compose
v2 and the Kubernetes schemas (tests/integration/test_replicas.py deploys them for real)."""

from __future__ import annotations

from pathlib import Path

from tests.publish.conftest import Publish, compose_config, resolved
from tests.publish.test_kubernetes import container, env_of, manifests

FRONTEND, REDIS, LB = "scenario6-frontend", "scenario6-redis", "scenario6-lb"
REPLICAS = [f"{FRONTEND}-1", f"{FRONTEND}-2", f"{FRONTEND}-3"]


def test_compose_puts_the_replicas_behind_nginx_with_redis(
    publish: Publish, compose: list[str]
) -> None:
    folder = publish("--backend", "loopback", "--no-gpu", "--frontends", "3")
    services = resolved(compose, folder)["services"]
    assert set(REPLICAS) | {LB, REDIS} <= set(services)
    assert FRONTEND not in services
    for name in REPLICAS:
        replica = services[name]
        assert "ports" not in replica  # only the balancer is reached from outside
        assert replica["environment"]["REDIS_URL"] == f"redis://{REDIS}:6379/0"
        assert replica["environment"]["TRUSTED_PROXIES"]
        assert replica["depends_on"][REDIS]["condition"] == "service_healthy"
    lb = services[LB]
    assert lb["image"] == "nginx:1.27-alpine"
    assert [p["published"] for p in lb["ports"]] == ["8010"]
    assert {d: c["condition"] for d, c in lb["depends_on"].items() if d in REPLICAS} == {
        name: "service_healthy" for name in REPLICAS
    }
    redis = services[REDIS]
    assert redis["image"] == "redis:7-alpine"
    assert redis["healthcheck"]["test"][1:] == ["redis-cli", "ping"]
    assert [v["source"] for v in redis["volumes"]] == [f"{REDIS}-data"]
    conf = (folder / "nginx" / "scenario6.conf").read_text()
    for name in REPLICAS:
        assert f"server {name}:8010 max_fails=" in conf
    for needed in ("proxy_set_header Upgrade", "proxy_read_timeout 3600s", "X-Forwarded-For"):
        assert needed in conf
    scrape = (folder / "monitoring" / "prometheus.yml").read_text()
    assert all(f"{name}:9464" in scrape for name in REPLICAS)


def test_the_balancer_and_redis_images_are_parameters(publish: Publish, compose: list[str]) -> None:
    folder = publish("--backend", "loopback", "--no-gpu", "--frontends", "2")
    stand_ins = {
        "ACCESS_CODES": "stand-in:codes-here",
        "SCENARIO6_LB_IMAGE": "mirror/nginx:1",
        "SCENARIO6_REDIS_IMAGE": "mirror/redis:1",
    }
    result = compose_config(compose, folder, stand_ins)
    assert result.returncode == 0, result.stderr
    assert '"image": "mirror/nginx:1"' in result.stdout
    assert '"image": "mirror/redis:1"' in result.stdout


def test_one_frontend_needs_no_redis(publish: Publish) -> None:
    folder = publish("--backend", "loopback", "--no-gpu")
    text = (folder / "compose.yaml").read_text()
    assert REDIS not in text and LB not in text and "REDIS_URL" not in text
    assert not (folder / "nginx").exists()


def test_kubernetes_runs_n_replicas_with_a_disruption_budget_and_redis(publish: Publish) -> None:
    objects = manifests(publish("--frontends", "3"))
    deployment = objects[("Deployment", FRONTEND)]
    assert deployment["spec"]["replicas"] == 3
    ready = container(deployment)["readinessProbe"]["httpGet"]["path"]
    assert ready == "/ready"
    budget = objects[("PodDisruptionBudget", FRONTEND)]
    assert budget["spec"]["maxUnavailable"] == 1
    assert budget["spec"]["selector"] == deployment["spec"]["selector"]
    redis = objects[("StatefulSet", REDIS)]
    assert redis["spec"]["volumeClaimTemplates"][0]["metadata"]["name"] == f"{REDIS}-data"
    assert ("Service", REDIS) in objects
    assert env_of(container(deployment))["REDIS_URL"] == f"redis://{REDIS}:6379/0"


def test_an_external_redis_comes_from_a_secret(publish: Publish, compose: list[str]) -> None:
    folder = publish("--frontends", "2", "--redis-url-secret")
    objects = manifests(folder)
    assert ("StatefulSet", REDIS) not in objects
    url = env_of(container(objects[("Deployment", FRONTEND)]))["REDIS_URL"]
    assert url == {"secretKeyRef": {"name": "scenario6-redis-url", "key": "REDIS_URL"}}
    assert "kubectl create secret generic scenario6-redis-url" in _k8s_readme(folder)
    env = {"HF_TOKEN": "stand-in", "ACCESS_CODES": "stand-in:codes-here"}
    missing = compose_config(compose, folder, env)
    assert missing.returncode != 0 and "REDIS_URL" in missing.stderr
    assert "REDIS_URL=" in (folder / ".env.example").read_text()


def test_a_single_replica_gets_no_disruption_budget(publish: Publish) -> None:
    objects = manifests(publish())
    assert objects[("Deployment", FRONTEND)]["spec"]["replicas"] == 1
    assert not [k for k in objects if k[0] == "PodDisruptionBudget"]


def _k8s_readme(folder: Path) -> str:
    return (folder / "kubernetes" / "README.md").read_text()
