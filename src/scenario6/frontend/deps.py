"""Request-scoped access to the objects ``create_app`` built."""

from __future__ import annotations

import ssl
from typing import Annotated, cast

from fastapi import Depends
from starlette.requests import HTTPConnection

from .proxy.pool import BackendPool
from .settings import FrontendSettings


def _settings(connection: HTTPConnection) -> FrontendSettings:
    return cast(FrontendSettings, connection.app.state.settings)


def _pool(connection: HTTPConnection) -> BackendPool:
    return cast(BackendPool, connection.app.state.pool)


def _tls(connection: HTTPConnection) -> ssl.SSLContext | None:
    return cast("ssl.SSLContext | None", connection.app.state.tls)


Settings = Annotated[FrontendSettings, Depends(_settings)]
Pool = Annotated[BackendPool, Depends(_pool)]
Tls = Annotated[ssl.SSLContext | None, Depends(_tls)]
