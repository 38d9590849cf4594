"""Publishing the batched backend: its image target, slot count, labels and README lines."""

from __future__ import annotations

from pathlib import Path

import pytest

from scenario6.cli import main
from tests.publish.conftest import ACCESS, SECRET, Publish, resolved
from tests.publish.test_compose import BACKEND, FRONTEND, GPU
from tests.publish.test_kubernetes import container, env_of, manifests

LABEL = "org.scenario6.slots"


@pytest.mark.parametrize(("args", "slots"), [((), "auto"), (("--slots", "4"), "4")], ids=str)
def test_compose_runs_the_batched_target_and_says_how_many_conversations_it_holds(
    publish: Publish, compose: list[str], args: tuple[str, ...], slots: str
) -> None:
    folder = publish("--backend", "batched", *args)
    services = resolved(compose, folder)["services"]
    backend, frontend = services[BACKEND], services[FRONTEND]
    assert backend["build"]["target"] == "personaplex-batched"
    assert backend["image"] == "scenario6-moshi:personaplex-batched"
    assert backend["environment"]["MOSHI_BACKEND"] == "batched"
    assert backend["environment"]["MOSHI_SLOTS"] == slots
    assert backend["labels"][LABEL] == slots
    assert backend["labels"]["org.scenario6.backend"] == "batched"
    # Still the model on a GPU: the reservation, the token and the long start-up allowance.
    assert backend["deploy"]["resources"]["reservations"]["devices"] == GPU
    assert backend["environment"]["HF_TOKEN"] == "stand-in-for-validation"
    assert backend["healthcheck"]["start_period"] == "1h0m0s"
    assert frontend["depends_on"][BACKEND]["condition"] == "service_healthy"
    # A fixed count is the frontend's too; with auto it learns the count from the backend.
    assert frontend["environment"].get("SESSIONS_PER_BACKEND") == (
        None if slots == "auto" else slots
    )
    readme = (folder / "README.md").read_text()
    if slots == "auto":
        assert "holds as many conversations at once as its GPU's free memory" in readme
    else:
        assert f"holds up to {slots} conversations at once (`MOSHI_SLOTS={slots}`)" in readme
    assert f"label `{LABEL}`" in readme


@pytest.mark.parametrize(("args", "slots"), [((), "auto"), (("--slots", "3"), "3")], ids=str)
def test_kubernetes_annotates_the_backend_with_its_conversations(
    publish: Publish, args: tuple[str, ...], slots: str
) -> None:
    folder = publish("--backend", "batched", *args)
    objects = manifests(folder)
    backend = objects[("StatefulSet", BACKEND)]
    assert backend["metadata"]["annotations"][LABEL] == slots
    c = container(backend)
    assert c["image"] == "scenario6-moshi:personaplex-batched"
    assert c["resources"]["limits"]["nvidia.com/gpu"] == 1
    assert env_of(c)["MOSHI_SLOTS"] == slots
    assert env_of(c)["HF_TOKEN"] == {
        "secretKeyRef": {"name": "scenario6-hf-token", "key": "HF_TOKEN"}
    }
    frontend = env_of(container(objects[("Deployment", FRONTEND)]))
    assert frontend.get("SESSIONS_PER_BACKEND") == (None if slots == "auto" else slots)
    readme = (folder / "kubernetes" / "README.md").read_text()
    scaling = readme.split("## Scaling the backend", 1)[1]
    assert "serves one conversation at a time" not in scaling
    assert f"(`MOSHI_SLOTS={slots}`" in scaling and f"annotation `{LABEL}`" in scaling


def test_the_slot_count_comes_from_the_environment_or_env_file_like_use_gpu(
    publish: Publish, compose: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MOSHI_SLOTS", "5")
    backend = resolved(compose, publish("--backend", "batched"))["services"][BACKEND]
    assert backend["environment"]["MOSHI_SLOTS"] == backend["labels"][LABEL] == "5"
    # The option wins over the setting.
    backend = resolved(compose, publish("--backend", "batched", "--slots", "2"))["services"]
    assert backend[BACKEND]["labels"][LABEL] == "2"


def test_no_gpu_drops_the_reservation_and_keeps_the_slots(
    publish: Publish, compose: list[str]
) -> None:
    folder = publish("--backend", "batched", "--slots", "2", "--no-gpu")
    backend = resolved(compose, folder)["services"][BACKEND]
    assert "deploy" not in backend
    assert backend["environment"]["MOSHI_DEVICE"] == "cpu"
    assert backend["labels"][LABEL] == "2"


@pytest.mark.parametrize("args", [(), ("--slots", "8"), ("--no-gpu",), ("--backend-tls",)])
def test_no_generated_file_contains_the_token_or_the_codes(
    publish: Publish, args: tuple[str, ...]
) -> None:
    folder = publish("--backend", "batched", *args)
    files = [p for p in folder.rglob("*") if p.is_file()]
    assert len(files) >= 5
    for path in files:
        assert SECRET.encode() not in path.read_bytes(), path
        assert ACCESS.split(":")[1].encode() not in path.read_bytes(), path


def test_other_backends_carry_no_slot_label(publish: Publish, compose: list[str]) -> None:
    for args in ((), ("--backend", "loopback")):
        folder = publish(*args)
        backend = resolved(compose, folder)["services"][BACKEND]
        assert LABEL not in backend["labels"] and "MOSHI_SLOTS" not in backend["environment"]
        assert "MOSHI_SLOTS" not in (folder / "README.md").read_text()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--slots", "4"), "--slots is for --backend batched"),
        (("--backend", "loopback", "--slots", "4"), "--slots is for --backend batched"),
        (("--backend", "batched", "--slots", "0"), "MOSHI_SLOTS must be at least 1"),
        (("--backend", "batched", "--slots", "lots"), "whole number ≥ 1 or auto, not 'lots'"),
    ],
)
def test_a_slot_count_that_cannot_be_used_is_refused(
    args: tuple[str, ...], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(["publish", "--output", str(tmp_path / "out"), *args])
    assert message in f"{stopped.value.code} {capsys.readouterr().err}"
    assert not (tmp_path / "out").exists()
