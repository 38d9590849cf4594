"""The stack a command chose reaches the app model as it was chosen, and only that way."""

from __future__ import annotations

import pytest

from scenario6.apphost import ContainerResource, Operation, load_apphost
from scenario6.facts.stack import Stack, given, handed
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


def test_without_a_handed_stack_the_model_describes_personaplex_per_mode() -> None:
    assert given(publishing=False) == Stack("personaplex", "container", "python")
    assert given(publishing=True) == Stack("personaplex", "container", "docker")
    chosen = Stack("loopback", "native", "docker")
    with handed(chosen):
        assert given(publishing=False) is chosen
    assert given(publishing=False).backend == "personaplex", "handed only inside the block"
    with handed(Stack("loopback", "container", "python")), pytest.raises(ValueError, match="image"):
        given(publishing=True)  # publishing cannot describe a frontend run from the venv


def test_the_app_model_takes_the_choice_from_the_command_not_from_settings(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The variables the choice used to travel in mean nothing to the app model any more: a
    # stale one in the shell or .env cannot undo what `scenario6 run` decided.
    stale = {"SCENARIO6_BACKEND": "wss://elsewhere:1", "SCENARIO6_FRONTEND": "docker"}
    for name, value in stale.items():
        monkeypatch.setenv(name, value)
    with handed(Stack("loopback", "native", "python")):
        app = load_apphost(APPHOST, Operation.RUN, stale)
    moshi, frontend = app.resource("scenario6-moshi"), app.resource("scenario6-frontend")
    assert moshi.kind == "python" and frontend.kind == "python"
    with handed(Stack("batched", "container", "docker")):
        published = load_apphost(APPHOST, Operation.PUBLISH, stale)
    backend = published.resource("scenario6-moshi")
    assert isinstance(backend, ContainerResource) and backend.build is not None
    assert backend.build.target == "personaplex-batched"
