"""Two frontends behind the published load balancer (``scenario6 deploy --frontends 2``), with
Redis, on local images of nginx and Redis: conversations through the balancer, and a rolling
update (one replica sent SIGTERM mid-conversation) that ends none of them."""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from scenario6.publish import balancer
from scenario6.publish.compose_cli import ComposeProject
from scenario6.publish.profile import TLS_DIR, TLS_VOLUME
from scenario6.publish.spec import Mount
from tests.integration.conftest import (
    ACCESS_CODES,
    BACKEND_IMAGE,
    FRONTEND_IMAGE,
    REPO,
    SECRET,
    START_TIMEOUT_S,
    Stack,
)
from tests.support.audio import encode_messages, sweep
from tests.support.client import Conversation, conversation
from tests.support.docker import SESSION, build_image
from tests.support.servers import free_port

pytestmark = pytest.mark.docker

IMAGES = Path(__file__).with_name("images")
OVERRIDE = Path(__file__).with_name("compose.replicas.yaml")
LB_IMAGE, REDIS_IMAGE = f"scenario6-lb:test-{SESSION}", f"scenario6-redis:test-{SESSION}"
RECONNECT = 1012  # a draining frontend's "reconnect", which the web client acts on


@pytest.fixture(scope="module")
def replicated(base_image: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    for tag, name in ((LB_IMAGE, "nginx"), (REDIS_IMAGE, "redis")):
        build_image(tag, base_image, dockerfile=str(IMAGES / f"{name}.Dockerfile"))
    folder = tmp_path_factory.mktemp("replicas")
    ports = {
        name: free_port()
        for name in ("MOSHI_PORT", "MOSHI_PORT_2", "FRONTEND_PORT", "FRONTEND_PORT_2")
    }
    ports |= {"REDIS_PORT": free_port(), "LB_PORT": free_port()}
    upstreams = [f"127.0.0.1:{ports[p]}" for p in ("FRONTEND_PORT", "FRONTEND_PORT_2")]
    # The product's own configuration, for the replicas' addresses on this host's network.
    conf = folder.parent / f"{folder.name}-nginx.conf"
    conf.write_text(
        balancer.nginx_conf(upstreams, ports["LB_PORT"], Mount(TLS_VOLUME, TLS_DIR, source="x"))
    )
    env = {
        **os.environ,
        **{f"SCENARIO6_TEST_{k}": str(v) for k, v in ports.items()},
        "HF_TOKEN": SECRET,
        "ACCESS_CODES": ACCESS_CODES,
        "SCENARIO6_TEST_SESSION": SESSION,
        "SCENARIO6_TEST_LB_CONF": str(conf),
        "SCENARIO6_TEST_BACKEND_IMAGE": BACKEND_IMAGE,
        balancer.IMAGE_ENV: LB_IMAGE,
        "SCENARIO6_REDIS_IMAGE": REDIS_IMAGE,
    }
    name = f"scenario6-test-{SESSION}-replicas"
    argv = [sys.executable, "-m", "scenario6", "deploy", "--backend", "loopback"]
    argv += ["--frontends", "2", "--output", str(folder), "--project-name", name]
    argv += ["--wait-timeout", "300", "--compose-override", str(OVERRIDE)]
    argv += ["--image", f"scenario6-frontend={FRONTEND_IMAGE}"]
    argv += ["--image", f"scenario6-moshi={BACKEND_IMAGE}", "--base-image", base_image]
    project = ComposeProject(folder / "compose.yaml", (OVERRIDE,), name)
    try:
        result = subprocess.run(
            argv, cwd=REPO, env=env, capture_output=True, text=True, timeout=START_TIMEOUT_S
        )
        if result.returncode != 0:
            pytest.fail(f"deploy failed:\n{result.stdout[-3000:]}\n{result.stderr[-5000:]}")
        stack = Stack(
            "publish",
            f"https://127.0.0.1:{ports['LB_PORT']}",
            ports["MOSHI_PORT"],
            ca=folder / "certs" / "ca.pem",
            project=project,
            folder=folder,
            compose_env=env,
        )
        stack.sign_in()
        yield stack
    finally:
        project.down(env=env)


async def _start(stack: Stack, exits: contextlib.AsyncExitStack) -> Conversation | None:
    """A session through the balancer: its handshake, or None when told to reconnect."""
    talk = await exits.enter_async_context(conversation(stack.ws(events="1"), **stack.connect))
    await talk.wait_for(lambda: talk.handshake.is_set() or talk.closed.is_set(), timeout=60)
    if talk.handshake.is_set():
        return talk
    assert talk.close_code == RECONNECT, f"refused: {talk.close_code} {talk.close_reason}"
    return None


def _backend_port(talk: Conversation) -> int:
    [backend] = talk.events_of("backend")
    return int(str(backend["url"]).split(":")[2].split("/")[0])


async def _talk(talk: Conversation, seconds: float) -> None:
    """``seconds`` of audio at the real-time pace; about as much comes back."""
    before = len(talk.decoder.pcm)
    sent = sweep(seconds)
    await talk.send_audio(encode_messages(sent))
    await talk.wait_for(lambda: len(talk.decoder.pcm) - before >= len(sent) * 0.6, timeout=30)
    assert not talk.closed.is_set(), f"ended: {talk.close_code} {talk.close_reason}"


async def test_a_rolling_update_ends_no_conversation(replicated: Stack) -> None:
    async with contextlib.AsyncExitStack() as exits:
        await _rolling_update(replicated, exits)


async def _rolling_update(replicated: Stack, exits: contextlib.AsyncExitStack) -> None:
    assert replicated.project is not None
    ports = replicated.compose_env
    first = await _start(replicated, exits)
    assert first is not None
    await _talk(first, 1.0)
    on = _backend_port(first)
    replica = 1 if on == int(ports["SCENARIO6_TEST_MOSHI_PORT"]) else 2
    other = int(
        ports["SCENARIO6_TEST_MOSHI_PORT_2" if replica == 1 else "SCENARIO6_TEST_MOSHI_PORT"]
    )
    # The update: the replica holding the conversation is told to stop; it drains.
    replicated.project.run(
        "kill",
        "-s",
        "SIGTERM",
        f"scenario6-frontend-{replica}",
        env=ports,
        capture=True,
        timeout=60,
    )
    await asyncio.sleep(1)
    # New sessions: a turned-away one reconnects (as the web client does) and lands on the
    # other replica.
    second = None
    for _ in range(4):
        second = await _start(replicated, exits)
        if second is not None:
            break
    assert second is not None, "no new session got through the balancer"
    assert _backend_port(second) == other
    # Both conversations go on: the draining replica's one as well.
    await asyncio.gather(_talk(first, 2.0), _talk(second, 2.0))
    for talk in (first, second):
        await talk.ws.close()
        await talk.wait_for(talk.closed.is_set, timeout=10)
        assert talk.close_code == 1000, f"{talk.close_code} {talk.close_reason}"
        assert not talk.events_of("error")
