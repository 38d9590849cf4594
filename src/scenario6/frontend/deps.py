"""What routes are handed: the objects ``create_app`` built, one dependency each.

>>> from fastapi import APIRouter
>>> @APIRouter().get("/example")
... async def example(settings: Settings, gate: AccessGate) -> str:
...     return settings.default_voice if gate.enabled else "open"
"""

from __future__ import annotations

import ssl
from typing import Annotated, cast

from fastapi import Depends
from starlette.requests import HTTPConnection

from .access import Gate
from .proxy.drain import Drain
from .proxy.pool import BackendPool
from .settings import FrontendSettings


def _settings(connection: HTTPConnection) -> FrontendSettings:
    return cast(FrontendSettings, connection.app.state.settings)


def _pool(connection: HTTPConnection) -> BackendPool:
    return cast(BackendPool, connection.app.state.pool)


def _tls(connection: HTTPConnection) -> ssl.SSLContext | None:
    return cast("ssl.SSLContext | None", connection.app.state.tls)


def _gate(connection: HTTPConnection) -> Gate:
    return cast(Gate, connection.app.state.gate)


def _drain(connection: HTTPConnection) -> Drain:
    return cast(Drain, connection.app.state.drain)


Settings = Annotated[FrontendSettings, Depends(_settings)]
Pool = Annotated[BackendPool, Depends(_pool)]
Tls = Annotated[ssl.SSLContext | None, Depends(_tls)]
AccessGate = Annotated[Gate, Depends(_gate)]
Draining = Annotated[Drain, Depends(_drain)]
