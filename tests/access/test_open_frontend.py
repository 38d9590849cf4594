"""``scenario6 frontend`` (the frontend image's command) warns when it is open to everyone."""

from __future__ import annotations

from scenario6.bench.harness import HOST, ChildServer, free_port

WARNING = "anyone who can reach it can use the GPU; set ACCESS_CODES"


def start_up_output(host: str, **env: str) -> str:
    """What the frontend prints until it is healthy, listening on ``host``."""
    port = free_port()
    with ChildServer(["frontend", "--host", host, "--port", str(port)], env=env) as child:
        child.wait_healthy(f"http://{HOST}:{port}/health")
        return child.output()


def test_an_open_frontend_on_every_address_warns() -> None:
    output = start_up_output("0.0.0.0", ACCESS_CODES="", ACCESS_IDENTITY_HEADER="")
    assert "WARNING scenario6.frontend: listening on 0.0.0.0 with the access gate off" in output
    assert WARNING in output


def test_a_local_or_gated_frontend_does_not_warn() -> None:
    assert WARNING not in start_up_output(HOST, ACCESS_CODES="", ACCESS_IDENTITY_HEADER="")
    assert WARNING not in start_up_output("0.0.0.0", ACCESS_CODES="a-long-enough-passphrase")
