"""The stack a command chose reaches the app model as it was chosen, and only that way: one
immutable object, passed to the app model's loader."""

from __future__ import annotations

import dataclasses
import threading

import pytest

from scenario6.apphost import ContainerResource, DistributedApplication, Operation, load_apphost
from scenario6.facts.stack import Stack, chosen
from scenario6.run.choice import RunChoice
from tests.support.appmodel import APPHOST


@pytest.mark.parametrize(
    ("backend", "runtime", "problem"),
    [
        ("wss://gpu-box:8998", "container", "a URL is external"),
        ("wss://gpu-box:8998", "native", "a URL is external"),
        ("loopback", "external", "a URL is external"),
        ("personaplex", "native", "only in its container image"),
        ("batched", "native", "only in its container image"),
    ],
)
def test_a_stack_that_cannot_run_is_refused(backend: str, runtime: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        Stack(backend, runtime)  # type: ignore[arg-type]


def test_without_a_stack_the_model_describes_personaplex_per_mode() -> None:
    assert chosen(None, publishing=False) == Stack("personaplex", "container", "python")
    assert chosen(None, publishing=True) == Stack("personaplex", "container", "docker")
    stack = Stack("loopback", "native", "docker")
    assert chosen(stack, publishing=False) is stack
    with pytest.raises(ValueError, match="image"):  # a published frontend runs in its image
        chosen(Stack("loopback", "container", "python"), publishing=True)
    with pytest.raises(ValueError, match="image"):
        load_apphost(APPHOST, Operation.PUBLISH, stack=Stack("loopback", "container", "python"))


def test_the_loader_hands_the_stack_over_wherever_it_runs() -> None:
    # Passed, not set around the call: a loader on another thread gets it just the same.
    stack = Stack("loopback", "native", "python")
    loaded: list[DistributedApplication] = []
    worker = threading.Thread(
        target=lambda: loaded.append(load_apphost(APPHOST, Operation.RUN, stack=stack))
    )
    worker.start()
    worker.join()
    assert loaded[0].resource("scenario6-moshi").kind == "python"
    assert loaded[0].stack is stack


def test_a_run_choice_is_not_changed_in_place() -> None:
    choice = RunChoice("loopback", "native", "python", None)
    with pytest.raises(dataclasses.FrozenInstanceError):
        choice.frontend = "docker"  # type: ignore[misc]
    assert choice.stack == Stack("loopback", "native", "python")


def test_the_app_model_takes_the_choice_from_the_command_not_from_settings(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The variables the choice used to travel in mean nothing to the app model any more: a
    # stale one in the shell or .env cannot undo what `scenario6 run` decided.
    stale = {"SCENARIO6_BACKEND": "wss://elsewhere:1", "SCENARIO6_FRONTEND": "docker"}
    for name, value in stale.items():
        monkeypatch.setenv(name, value)
    app = load_apphost(APPHOST, Operation.RUN, stale, stack=Stack("loopback", "native", "python"))
    moshi, frontend = app.resource("scenario6-moshi"), app.resource("scenario6-frontend")
    assert moshi.kind == "python" and frontend.kind == "python"
    published = load_apphost(
        APPHOST, Operation.PUBLISH, stale, stack=Stack("batched", "container", "docker")
    )
    backend = published.resource("scenario6-moshi")
    assert isinstance(backend, ContainerResource) and backend.build is not None
    assert backend.build.target == "personaplex-batched"
