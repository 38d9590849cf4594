from __future__ import annotations

import httpx
import pytest

from scenario6.frontend.proxy import closes
from scenario6.protocol.voices import VOICES
from tests.support.servers import frontend_server


async def test_health_answers_without_a_backend() -> None:
    async with frontend_server(moshi_ws_url="ws://127.0.0.1:9") as fe, httpx.AsyncClient() as http:
        response = await http.get(f"{fe.http}/health")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


async def test_config_describes_backends_voices_personas_and_limits(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HF_TOKEN", "hf_test_secret_value")
    async with (
        frontend_server(moshi_ws_url="https://gpu-box:8998,ws://10.1.2.3:9000") as fe,
        httpx.AsyncClient() as http,
    ):
        response = await http.get(f"{fe.http}/api/config")
    config = response.json()
    assert config["backends"][0] == {
        "url": "wss://gpu-box:8998/api/chat",
        "scheme": "wss",
        "host": "gpu-box",
        "port": 8998,
        "path": "/api/chat",
        "kind": None,
        "slots": 1,
        "active": 0,
    }
    grouped = [v for group in config["voices"]["groups"] for v in group["voices"]]
    assert sorted(grouped) == sorted(VOICES) and len(grouped) == 18
    assert [g["label"] for g in config["voices"]["groups"]] == [
        "Natural · Female",
        "Natural · Male",
        "Variety · Female",
        "Variety · Male",
    ]
    presets = {p["id"] for p in config["personas"]["presets"]}
    assert {"teacher", "assistant", "customer-service", "astronaut", "chef"} <= presets
    assert config["limits"]["persona_max_chars"] == 1000
    assert config["voices"]["default"] == "NATF2"
    assert "hf_test_secret_value" not in response.text


async def test_index_page_is_served() -> None:
    async with frontend_server() as fe, httpx.AsyncClient() as http:
        response = await http.get(f"{fe.http}/")
    assert response.status_code == 200
    assert "text/html" in response.headers["content-type"]
    assert response.headers["cache-control"] == "no-cache"


async def test_config_serves_the_protocols_numbers_for_the_web_client() -> None:
    async with frontend_server(moshi_ws_url="ws://127.0.0.1:9") as fe, httpx.AsyncClient() as http:
        config = (await http.get(f"{fe.http}/api/config")).json()
    assert config["session"] == {"path": "/api/chat", "events_param": "events"}
    assert config["audio"] == {"sample_rate": 24000, "frame_ms": 80}
    protocol = config["protocol"]
    assert protocol["kinds"] == {"HANDSHAKE": 0x00, "AUDIO": 0x01, "TEXT": 0x02}
    assert protocol["closes"] == closes.codes()
    assert protocol["closes"]["TOO_MANY_SESSIONS"] == 4429
    assert protocol["closes"]["QUEUE_TIMEOUT"] == 4509
    # One code per reason, so that a client can tell every failure apart.
    assert len(set(protocol["closes"].values())) == len(protocol["closes"])
