"""Backend choice: auto falls back to the loopback backend and says why."""

from __future__ import annotations

import pytest

from scenario6.apphost import Configuration
from scenario6.facts.stack import Stack
from scenario6.run.choice import ChoiceError, choose
from tests.conftest import require_tool


def test_auto_without_token_uses_loopback_with_a_reason() -> None:
    choice = choose("auto", "native", "python", Configuration(environ={}))
    assert choice.backend == "loopback"
    assert choice.backend_placement == "native"
    assert any("no HF_TOKEN" in w and "LOOPBACK" in w for w in choice.warnings)


def test_auto_falls_back_to_a_native_loopback_unless_told_otherwise() -> None:
    choice = choose("auto", None, "python", Configuration(environ={}))
    assert (choice.backend, choice.backend_placement) == ("loopback", "native")
    assert any("--backend-runtime container" in w for w in choice.warnings)
    if choice.runtime is not None:
        chosen = choose("auto", "container", "python", Configuration(environ={}))
        assert chosen.backend_placement == "container"


def test_external_url_and_bad_values() -> None:
    choice = choose("wss://gpu-box:8998/api/chat", None, "python", Configuration(environ={}))
    assert (choice.backend, choice.backend_placement) == ("wss://gpu-box:8998/api/chat", "external")
    assert choice.stack.kind is None  # the app model starts no backend for a URL
    with pytest.raises(ChoiceError, match="use auto, personaplex, loopback"):
        choose("gpu-box", None, "python", Configuration(environ={}))


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("ws://gpu:8998/?x=1", "must not have a query"),
        ("wss://user:secret@gpu", "must not carry credentials"),
        ("ws://gpu:0", "invalid port"),
        ("ws://gpu:99999", "invalid port"),
        ("ftp://gpu", "scheme 'ftp'"),
    ],
)
def test_a_backend_url_the_frontend_would_refuse_is_refused_before_anything_starts(
    url: str, problem: str
) -> None:
    with pytest.raises(ChoiceError, match=problem):
        choose(url, None, "python", Configuration(environ={}))
    # A pool of backends is a backend URL too, as MOSHI_WS_URL reads it.
    pool = choose("ws://gpu-a:8998,ws://gpu-b:8998", None, "python", Configuration(environ={}))
    assert pool.backend_placement == "external"


def test_personaplex_without_gpu_runtime_is_refused_naming_it() -> None:
    require_tool("docker")
    from scenario6.containers import ContainerRuntime

    configuration = Configuration(environ={"HF_TOKEN": "x"})
    if ContainerRuntime.detect().has_nvidia():  # a GPU machine: the same call goes through
        assert choose("personaplex", None, "python", configuration).backend == "personaplex"
        return
    with pytest.raises(ChoiceError, match=r"NVIDIA runtime|engine"):
        choose("personaplex", None, "python", configuration)


def test_personaplex_is_never_run_natively() -> None:
    with pytest.raises(ChoiceError, match="runs in its container image"):
        choose("personaplex", "native", "python", Configuration(environ={"HF_TOKEN": "x"}))


def test_a_docker_frontend_needs_an_engine_even_with_a_backend_url(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SCENARIO6_CONTAINER_RUNTIME", "no-such-engine")
    with pytest.raises(ChoiceError, match=r"--frontend docker needs a container engine: .*no-such"):
        choose("wss://gpu-box:8998", None, "docker", Configuration(environ={}))


def test_batched_runs_like_personaplex_in_its_container() -> None:
    require_tool("docker")
    from scenario6.containers import ContainerRuntime

    with pytest.raises(ChoiceError, match="--backend batched runs in its container image"):
        choose("batched", "native", "python", Configuration(environ={"HF_TOKEN": "x"}))
    # Without a GPU it runs on the CPU, as personaplex does; with USE_GPU it needs the runtime.
    choice = choose("batched", None, "python", Configuration(environ={"USE_GPU": "0"}))
    assert (choice.backend, choice.backend_placement) == ("batched", "container")
    assert choice.stack == Stack("batched", "container", "python")
    if not ContainerRuntime.detect().has_nvidia():
        with pytest.raises(ChoiceError, match=r"--backend batched cannot run here: .*NVIDIA"):
            choose("batched", None, "python", Configuration(environ={"HF_TOKEN": "x"}))


def test_auto_never_picks_batched() -> None:
    choice = choose("auto", None, "python", Configuration(environ={"HF_TOKEN": "x"}))
    assert choice.backend in ("personaplex", "loopback")
