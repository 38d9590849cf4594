"""The app model: references resolve, bad models are rejected with a message naming the fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from scenario6.apphost import (
    AppModelError,
    Configuration,
    DistributedApplicationBuilder,
    EndpointProperty,
    EndpointReference,
    ExecutionContext,
    Lifetime,
    Operation,
    ReferenceExpression,
)


def make_builder(
    tmp_path: Path, operation: Operation = Operation.RUN
) -> DistributedApplicationBuilder:
    return DistributedApplicationBuilder(
        app_dir=tmp_path,
        configuration=Configuration(environ={}),
        context=ExecutionContext(operation),
        name="demo",
    )


def test_references_resolve_and_order_follows_wait_for(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    b = make_builder(tmp_path)
    token = b.add_parameter("hf-token", secret=True)
    web = b.add_uvicorn_app("web", ".", "pkg.app:app").with_http_endpoint(port=8010, env="PORT")
    api = (
        b.add_dockerfile("api", ".", target="dev")
        .with_http_endpoint(port=9000, target_port=8998, env="API_PORT")
        .with_environment("HF_TOKEN", token)
        .with_volume("cache", "/data")
        .with_gpus()
        .with_lifetime(Lifetime.PERSISTENT)
        .with_http_health_check("/health")
    )
    web.with_environment("API_URL", api.get_endpoint("http")).wait_for(api)
    web.with_environment(
        "WS", ReferenceExpression.format("ws://{}/chat", api.get_endpoint().host_and_port)
    )

    app = b.build()

    assert [r.name for r in app.start_order()] == ["api", "web"]
    # References stay references in the model; whoever runs or publishes it resolves them.
    web_env, api_env = app.resource("web").env, app.resource("api").env
    assert web_env["API_URL"] == EndpointReference("api", "http", EndpointProperty.URL)
    ws = web_env["WS"]
    assert isinstance(ws, ReferenceExpression)
    assert ws.parts == (
        "ws://",
        EndpointReference("api", "http", EndpointProperty.HOST_AND_PORT),
        "/chat",
    )
    assert api_env["HF_TOKEN"] is token
    assert app.resource("api") is api
    assert api.image == "api:dev"
    assert api.gpus is True and api.lifetime is Lifetime.PERSISTENT
    assert list(app.parameters.values()) == [token]
    assert (token.secret, token.env_name, token.default) == (True, "HF_TOKEN", None)


def test_wait_for_cycle_is_rejected_naming_the_cycle(tmp_path: Path) -> None:
    b = make_builder(tmp_path)
    a = b.add_executable("a", "true", ".")
    c = b.add_executable("c", "true", ".")
    d = b.add_executable("d", "true", ".")
    a.wait_for(c)
    c.wait_for(d)
    d.wait_for(a)
    with pytest.raises(AppModelError, match="wait_for cycle: a → c → d → a"):
        b.build()


@pytest.mark.parametrize(
    ("configure", "message"),
    [
        (lambda b: b.add_executable("web", "x", ".").with_http_endpoint(port=70000), "'port'"),
        (lambda b: b.add_executable("Web", "x", "."), "field 'name'"),
        (
            lambda b: b.add_executable("web", "x", ".").with_environment(
                "URL", b.add_executable("db", "x", ".").get_endpoint("tcp")
            ),
            "resource 'web', field 'URL': refers to endpoint 'tcp' of 'db', which has: none",
        ),
        (
            lambda b: b.add_dockerfile("img", "missing-dir"),
            "resource 'img', field 'context'",
        ),
        (
            lambda b: b.add_uvicorn_app("web", ".", "no_colon"),
            "resource 'web', field 'app'",
        ),
        (
            lambda b: (
                b.add_executable("one", "x", ".").with_http_endpoint(port=8010),
                b.add_executable("two", "x", ".").with_http_endpoint(port=8010),
            ),
            "resource 'two', field 'port': host port 8010 is already used by one/http",
        ),
        (
            lambda b: b.add_executable("web", "x", ".").with_http_health_check("/health"),
            "has no endpoint yet",
        ),
    ],
)
def test_bad_configuration_names_the_field(tmp_path: Path, configure: object, message: str) -> None:
    b = make_builder(tmp_path)
    with pytest.raises(AppModelError, match=message.replace("(", r"\(")):
        configure(b)  # type: ignore[operator]
        b.build()


def test_publish_mode_does_not_need_local_build_context(tmp_path: Path) -> None:
    b = make_builder(tmp_path, Operation.PUBLISH)
    b.add_dockerfile("img", "not-here")
    assert b.execution_context.is_publish_mode and not b.execution_context.is_run_mode
    assert b.build().resource("img").kind == "container"
