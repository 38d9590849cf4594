from __future__ import annotations

import pytest
from pydantic import ValidationError

from scenario6.facts.urls import BackendUrl
from scenario6.frontend.settings import FrontendSettings


@pytest.mark.parametrize(
    ("raw", "url"),
    [
        ("http://gpu:8998", "ws://gpu:8998/api/chat"),
        ("https://gpu", "wss://gpu:443/api/chat"),
        ("ws://10.0.0.5:9000/", "ws://10.0.0.5:9000/api/chat"),
        ("wss://Gpu.Example:8998/custom/path", "wss://gpu.example:8998/custom/path"),
        ("ws://[::1]:8998", "ws://[::1]:8998/api/chat"),
    ],
)
def test_backend_urls_are_normalised(raw: str, url: str) -> None:
    assert BackendUrl.parse(raw).url == url


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("gpu:8998", "needs a scheme"),
        ("ftp://gpu", "use ws, wss, http or https"),
        ("ws://user:pw@gpu", "credentials"),
        ("ws://gpu:99999", "invalid port"),
        ("ws://gpu/api/chat?voice_prompt=x", "query"),
    ],
)
def test_bad_backend_urls_say_what_is_wrong(raw: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        BackendUrl.parse(raw)


def test_environment_configures_a_pool(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MOSHI_WS_URL", "http://a:8998, https://b:8443 ,")
    monkeypatch.setenv("APP_PORT", "9000")
    monkeypatch.setenv("ALLOWED_ORIGINS", "https://x.example/, https://y.example")
    monkeypatch.setenv("DEFAULT_VOICE", "VARM1.pt")
    settings = FrontendSettings()
    assert [b.url for b in settings.backends] == [
        "ws://a:8998/api/chat",
        "wss://b:8443/api/chat",
    ]
    assert settings.app_port == 9000
    assert settings.allowed_origins == ("https://x.example", "https://y.example")
    assert settings.default_voice == "VARM1"


@pytest.mark.parametrize(
    ("variable", "value", "field"),
    [
        ("DEFAULT_VOICE", "../../etc/passwd", "default_voice"),
        ("DEFAULT_PERSONA", "   ", "default_persona"),
        ("APP_PORT", "0", "app_port"),
        ("MOSHI_WS_URL", "", "moshi_ws_url"),
        ("MOSHI_TLS_CA", "/nonexistent/ca.pem", "MOSHI_TLS_CA"),
        ("APP_SSL_CERTFILE", "/etc/hostname", "APP_SSL_KEYFILE"),
    ],
)
def test_bad_settings_fail_fast_naming_the_field(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, field: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ValidationError) as error:
        FrontendSettings()
    assert field.lower() in str(error.value).lower()


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://:hunter2-secret@cache:6379/0", "not a Redis URL"),
        ("redis://:hunter2-secret@cache:port/0", "the port is a number"),
        ("redis://:hunter2-secret@cache:6379/zz", "the database after the host is a number"),
    ],
)
def test_a_bad_redis_url_is_refused_without_its_password(url: str, message: str) -> None:
    with pytest.raises(ValidationError) as error:
        FrontendSettings(redis_url=url)
    assert message in str(error.value)
    assert "hunter2-secret" not in str(error.value)


@pytest.mark.parametrize(
    "url", ["redis://cache:6379/0", "rediss://:pw@cache/1", "redis://cache", "unix:///run/r.sock"]
)
def test_the_redis_url_forms_are_accepted(url: str) -> None:
    settings = FrontendSettings(redis_url=url)
    assert settings.redis_url is not None
    assert settings.redis_url.get_secret_value() == url
