"""Both images together, as the published app runs them: the frontend trusts the backend's
certificate through the volume the backend exports it to, and relays a whole conversation."""

from __future__ import annotations

import pytest

from scenario6.containers import BuiltImage
from scenario6.facts.contract import CERTS_DIR
from tests.support.audio import best_correlation, encode_messages, sweep
from tests.support.client import conversation
from tests.support.docker import run_container, volume
from tests.support.servers import free_port

pytestmark = pytest.mark.docker


async def test_frontend_container_relays_a_session_to_a_wss_loopback_container(
    frontend_image: BuiltImage, loopback_image: BuiltImage
) -> None:
    backend_port, frontend_port = free_port(), free_port()
    backend_env = {
        "MOSHI_HOST": "127.0.0.1",
        "MOSHI_PORT": str(backend_port),
        "MOSHI_USE_SSL": "true",
    }
    frontend_env = {
        "APP_HOST": "127.0.0.1",
        "APP_PORT": str(frontend_port),
        "MOSHI_WS_URL": f"https://localhost:{backend_port}",
        "MOSHI_TLS_CA": "/certs/ca.pem",
    }
    with (
        volume() as certs,
        run_container(
            loopback_image.tag,
            env=backend_env,
            args=["--prompt-ms", "200", "--delay-ms", "0"],
            volumes={certs: CERTS_DIR},
        ) as backend,
    ):
        backend.wait_healthy(f"https://127.0.0.1:{backend_port}/health")
        with run_container(
            frontend_image.tag, env=frontend_env, volumes={certs: "/certs:ro"}
        ) as frontend:
            frontend.wait_healthy(f"http://127.0.0.1:{frontend_port}/health")
            url = (
                f"ws://127.0.0.1:{frontend_port}/api/chat"
                "?voice_prompt=NATF2&text_prompt=Be%20brief.&events=1"
            )
            sent = sweep(2.0)
            async with conversation(url) as talk:
                await talk.wait_for(talk.handshake.is_set, timeout=30)
                backend_event = talk.events_of("backend")[0]
                assert backend_event["url"] == f"wss://localhost:{backend_port}/api/chat"
                assert backend_event["kind"] == "loopback"
                await talk.send_audio(encode_messages(sent))
                await talk.wait_for(lambda: len(talk.decoder.pcm) >= len(sent) * 0.8, 30)
            correlation, _ = best_correlation(sent, talk.decoder.pcm)
            assert correlation > 0.8, frontend.logs()
