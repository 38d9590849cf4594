"""The Aspire dashboard's container is pointed at the run's resource service, in ApiKey mode,
with the key as a secret (masked wherever the run shows an environment)."""

from __future__ import annotations

from pathlib import Path

from scenario6.apphost import Configuration, DistributedApplicationBuilder, ParameterResolver
from scenario6.apphost.parameters import Secret
from scenario6.run import dashboard


def test_the_dashboard_reads_our_resource_service_with_a_secret_key(tmp_path: Path) -> None:
    builder = DistributedApplicationBuilder(app_dir=tmp_path, configuration=Configuration())
    web = builder.add_executable("web", "python", ".", ["-m", "http.server"]).with_http_endpoint(1)
    board = dashboard.wire_dashboard([web], "mcr.microsoft.com/dotnet/aspire-dashboard:13.1")
    key = dashboard.resource_service_key("generated")
    dashboard.feed_resources(board, 47123, key, "127.0.0.1")
    assert board.env["Dashboard__ResourceServiceClient__Url"] == "http://127.0.0.1:47123"
    assert board.env["Dashboard__ResourceServiceClient__AuthMode"] == "ApiKey"
    given = board.env["Dashboard__ResourceServiceClient__ApiKey"]
    assert ParameterResolver({}, prompt=None).resolve(given) == Secret("generated")  # type: ignore[arg-type]
    fixed = {dashboard.KEY_VARIABLE: "chosen"}
    assert ParameterResolver(fixed, prompt=None).resolve(given) == Secret("chosen")  # type: ignore[arg-type]
