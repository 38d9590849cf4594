"""What publishing adds to the frontend's backend URL: the form the frontend reads."""

from __future__ import annotations

import pytest

from scenario6.facts.names import FRONTEND
from scenario6.publish.options import PublishOptions
from scenario6.publish.profile import apply
from scenario6.publish.spec import Service


def _published_url(url: str) -> object:
    frontend = Service(FRONTEND, f"{FRONTEND}:latest", None, env={"MOSHI_WS_URL": url})
    return apply({FRONTEND: frontend}, PublishOptions(https=False))[FRONTEND].env["MOSHI_WS_URL"]


def test_the_backend_url_is_written_as_the_frontend_reads_it() -> None:
    assert _published_url("http://scenario6-moshi:8998") == "ws://scenario6-moshi:8998/api/chat"
    assert _published_url("https://gpu-box") == "wss://gpu-box:443/api/chat"
    # A pool of backends stays a pool, each in the same form.
    assert _published_url("http://gpu-a:8998, wss://gpu-b:9000/chat") == (
        "ws://gpu-a:8998/api/chat,wss://gpu-b:9000/chat"
    )


@pytest.mark.parametrize(
    ("url", "problem"),
    [("ws://gpu:8998/?x=1", "query"), ("gpu-box:8998", "needs a scheme"), ("ws://gpu:0", "port")],
)
def test_a_url_the_frontend_would_refuse_stops_publishing(url: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        _published_url(url)
