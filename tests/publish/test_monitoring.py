"""Monitoring in the published folder: metrics ports kept inside, a scrape config Prometheus
accepts, and a Grafana dashboard whose every query returns data from a real Prometheus."""

from __future__ import annotations

import asyncio
import json
import math
import subprocess
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import yaml

from scenario6.bench.harness import HOST, ChildServer, free_port
from scenario6.facts import contract
from scenario6.facts.names import BACKEND, FRONTEND, METRICS_PORT
from scenario6.publish import monitoring
from tests.conftest import require_tool
from tests.publish.conftest import Publish, resolved
from tests.publish.test_kubernetes import container, env_of, manifests
from tests.support.audio import encode_messages, sweep
from tests.support.client import conversation
from tests.support.servers import frontend_process, loopback_process

MONITORING = Path("monitoring")


def test_compose_keeps_the_metrics_ports_on_its_network(
    publish: Publish, compose: list[str]
) -> None:
    model = resolved(compose, publish("--backend", "loopback", "--no-gpu"))
    for name in (FRONTEND, BACKEND):
        service = model["services"][name]
        assert service["environment"]["METRICS_PORT"] == str(METRICS_PORT)
        published = {int(p["target"]) for p in service.get("ports", [])}
        assert METRICS_PORT not in published
        assert str(METRICS_PORT) in service["expose"]


def test_kubernetes_pods_carry_scrape_annotations_and_a_named_port(publish: Publish) -> None:
    objects = manifests(publish("--backend", "loopback", "--no-gpu"))
    for kind, name in (("Deployment", FRONTEND), ("StatefulSet", BACKEND)):
        pod = objects[(kind, name)]["spec"]["template"]
        assert pod["metadata"]["annotations"]["prometheus.io/port"] == str(METRICS_PORT)
        assert env_of(container(objects[(kind, name)]))["METRICS_PORT"] == str(METRICS_PORT)
        ports = objects[("Service", name)]["spec"]["ports"]
        assert {"name": "metrics", "port": METRICS_PORT} in [
            {"name": p["name"], "port": p["port"]} for p in ports
        ]


def test_a_service_monitor_only_when_asked(publish: Publish) -> None:
    plain = publish("--backend", "loopback", "--no-gpu") / "kubernetes"
    assert not list(plain.glob("*servicemonitor*"))
    folder = publish("--backend", "loopback", "--no-gpu", "--service-monitor") / "kubernetes"
    listed = yaml.safe_load((folder / "kustomization.yaml").read_text())["resources"]
    for name in (FRONTEND, BACKEND):
        monitor = yaml.safe_load((folder / f"{name}-servicemonitor.yaml").read_text())
        assert f"{name}-servicemonitor.yaml" in listed
        assert monitor["kind"] == "ServiceMonitor"
        service = yaml.safe_load((folder / f"{name}-service.yaml").read_text())
        assert monitor["spec"]["selector"]["matchLabels"] == service["spec"]["selector"]
        [endpoint] = monitor["spec"]["endpoints"]
        assert endpoint["port"] in {p["name"] for p in service["spec"]["ports"]}


def test_the_scrape_config_passes_promtool(publish: Publish) -> None:
    promtool = require_tool("promtool")
    folder = publish("--backend", "loopback", "--no-gpu") / MONITORING
    checked = subprocess.run(
        [promtool, "check", "config", str(folder / "prometheus.yml")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    jobs = yaml.safe_load((folder / "prometheus.yml").read_text())["scrape_configs"]
    assert {j["job_name"]: j["static_configs"][0]["targets"] for j in jobs} == {
        FRONTEND: [f"{FRONTEND}:{METRICS_PORT}"],
        BACKEND: [f"{BACKEND}:{METRICS_PORT}"],
    }


def test_grafana_is_provisioned_with_the_datasource_the_dashboard_names(
    publish: Publish,
) -> None:
    folder = publish("--backend", "loopback", "--no-gpu") / MONITORING / "grafana"
    [source] = yaml.safe_load((folder / "provisioning/datasources/prometheus.yaml").read_text())[
        "datasources"
    ]
    [provider] = yaml.safe_load((folder / "provisioning/dashboards/scenario6.yaml").read_text())[
        "providers"
    ]
    board = json.loads((folder / "dashboards/scenario6.json").read_text())
    assert provider["type"] == "file"
    assert source["type"] == "prometheus"
    for panel in board["panels"]:
        assert panel["datasource"]["uid"] == source["uid"]
        assert panel["targets"], panel["title"]
    assert len({p["id"] for p in board["panels"]}) == len(board["panels"])


class Prometheus:
    """A real Prometheus on 127.0.0.1, asked over its HTTP API."""

    def __init__(self, port: int) -> None:
        self.url = f"http://{HOST}:{port}"

    def query(self, expr: str) -> list[dict[str, Any]]:
        query = urllib.parse.urlencode({"query": expr})
        with urllib.request.urlopen(f"{self.url}/api/v1/query?{query}", timeout=5) as reply:
            answer = json.loads(reply.read())
        assert answer["status"] == "success", answer
        return answer["data"]["result"]  # type: ignore[no-any-return]

    async def until_data(self, expr: str, timeout: float = 60) -> list[dict[str, Any]]:
        """The query's series once it has some with numbers (not NaN); a bound against hangs."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            found = await asyncio.to_thread(self.query, expr)
            if found and all(not math.isnan(float(s["value"][1])) for s in found):
                return found
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"no data for {expr!r} after {timeout:g}s: {found}")
            await asyncio.sleep(0.5)


@pytest.mark.slow  # Prometheus waits for its scrapes; the metrics are fast-tier tests too
async def test_prometheus_scrapes_every_service_and_the_dashboard_has_data(
    tmp_path: Path,
) -> None:
    """Two frontend replicas in front of one backend, as a deployment with several has them:
    every query has data, and the dashboard counts the backend's slots once."""
    binary = require_tool("prometheus")
    backend_metrics, prometheus_port = free_port(), free_port()
    frontend_metrics = [free_port(), free_port()]
    document = yaml.safe_load(
        monitoring.scrape_config(
            {
                FRONTEND: [f"{HOST}:{port}" for port in frontend_metrics],
                BACKEND: [f"{HOST}:{backend_metrics}"],
            }
        )
    )
    document["global"]["scrape_interval"] = "1s"  # the published 15 s would make a slow test
    config = tmp_path / "prometheus.yml"
    config.write_text(yaml.safe_dump(document))
    with (
        loopback_process(None, "--prompt-ms", "300", "--metrics-port", str(backend_metrics)) as (
            _,
            lb_port,
        ),
        frontend_process(
            {"MOSHI_WS_URL": f"ws://{HOST}:{lb_port}", "METRICS_PORT": str(frontend_metrics[0])}
        ) as (_, fe_port),
        frontend_process(
            {"MOSHI_WS_URL": f"ws://{HOST}:{lb_port}", "METRICS_PORT": str(frontend_metrics[1])}
        ) as (_, other_port),
        ChildServer(
            [
                f"--config.file={config}",
                f"--storage.tsdb.path={tmp_path / 'data'}",
                f"--web.listen-address={HOST}:{prometheus_port}",
            ],
            command=(binary,),
        ) as server,
    ):
        server.wait_healthy(f"http://{HOST}:{prometheus_port}/-/ready")
        prometheus = Prometheus(prometheus_port)
        up = await prometheus.until_data("sum(up) == 3")
        assert float(up[0]["value"][1]) == 3
        # Conversations a few scrapes apart: rates need a series seen before and after (two on
        # one replica), and each replica learns the backend's slots from its own session.
        for port in (fe_port, other_port, fe_port):
            chat = f"ws://{HOST}:{port}/api/chat?voice_prompt=NATF2.pt&text_prompt=Hello"
            async with conversation(chat) as talk:
                await talk.wait_for(talk.handshake.is_set)
                await talk.send_audio(encode_messages(sweep(1.0)), cadence_s=0.04)
                await talk.wait_for(lambda: len(talk.decoder.pcm) > 0)
            await asyncio.sleep(2.5)
        board = json.loads(monitoring.files({}, _options())["grafana/dashboards/scenario6.json"])
        for expr in monitoring.queries(board):
            await prometheus.until_data(expr)
        [slots_panel] = [p for p in board["panels"] if p["title"].startswith("Backends: slots")]
        shown = await prometheus.until_data(slots_panel["targets"][0]["expr"])
        assert [float(series["value"][1]) for series in shown] == [float(_slots(fe_port))]


def _slots(port: int) -> int:
    """The backend's slots, as the frontend's session list gives them."""
    with urllib.request.urlopen(f"http://{HOST}:{port}/api/sessions", timeout=5) as reply:
        [backend] = json.loads(reply.read())["backends"]
    return int(backend["slots"])


def _options() -> Any:
    from scenario6.publish.options import PublishOptions

    return PublishOptions(backend="loopback")


def test_the_batched_backend_is_scraped_and_given_its_drain_time_to_stop(
    publish: Publish, compose: list[str]
) -> None:
    folder = publish("--backend", "batched")
    backend = resolved(compose, folder)["services"][BACKEND]
    assert backend["environment"]["METRICS_PORT"] == str(METRICS_PORT)
    scraped = yaml.safe_load((folder / MONITORING / "prometheus.yml").read_text())
    assert BACKEND in [job["job_name"] for job in scraped["scrape_configs"]]
    # It drains on SIGTERM as the frontend does: the pod outlives the drain.
    workload = manifests(folder)[("StatefulSet", BACKEND)]
    grace = workload["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
    assert contract.DRAIN_TIMEOUT_S + 5 <= grace <= contract.DRAIN_TIMEOUT_S + 60
