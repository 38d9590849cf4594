"""Endpoints and the references other resources hold to them (and to parameters)."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from .parameters import Parameter


@dataclass(frozen=True)
class Endpoint:
    """A port a resource listens on.

    ``target_port`` is where the process listens; ``port`` is where others reach it (None: the
    same as ``target_port``). ``env`` names a variable that receives the listening port.
    """

    name: str
    scheme: str = "http"
    port: int | None = None
    target_port: int | None = None
    env: str | None = None

    @property
    def host_port(self) -> int | None:
        return self.port if self.port is not None else self.target_port

    @property
    def listen_port(self) -> int | None:
        return self.target_port if self.target_port is not None else self.port


class EndpointProperty(enum.Enum):
    URL = "url"
    HOST = "host"
    PORT = "port"
    SCHEME = "scheme"
    HOST_AND_PORT = "host_and_port"


@dataclass(frozen=True)
class EndpointReference:
    """Points at ``resource``'s endpoint ``endpoint``; as an environment value it is the URL.

    Who resolves it decides the host: the run supervisor uses 127.0.0.1 and the host port, a
    Compose publisher the service name and the target port.
    """

    resource: str
    endpoint: str
    prop: EndpointProperty = EndpointProperty.URL

    def with_property(self, prop: EndpointProperty | str) -> EndpointReference:
        return EndpointReference(self.resource, self.endpoint, EndpointProperty(prop))

    @property
    def url(self) -> EndpointReference:
        return self.with_property(EndpointProperty.URL)

    @property
    def host(self) -> EndpointReference:
        return self.with_property(EndpointProperty.HOST)

    @property
    def port(self) -> EndpointReference:
        return self.with_property(EndpointProperty.PORT)

    @property
    def host_and_port(self) -> EndpointReference:
        return self.with_property(EndpointProperty.HOST_AND_PORT)


Part = str | Parameter | EndpointReference


@dataclass(frozen=True)
class ReferenceExpression:
    """A string assembled from literals, endpoint references and parameters.

    >>> moshi = EndpointReference("moshi", "http")
    >>> e = ReferenceExpression.format("ws://{}/api/chat", moshi.host_and_port)
    >>> len(e.parts)
    3
    """

    parts: tuple[Part, ...]

    @classmethod
    def format(cls, template: str, *values: Part) -> ReferenceExpression:
        pieces = template.split("{}")
        if len(pieces) != len(values) + 1:
            raise ValueError(f"{template!r} has {len(pieces) - 1} placeholders, got {len(values)}")
        parts: list[Part] = []
        for literal, value in zip(pieces, (*values, None), strict=True):
            if literal:
                parts.append(literal)
            if value is not None:
                parts.append(value)
        return cls(tuple(parts))


EnvValue = str | Parameter | EndpointReference | ReferenceExpression


def references_in(value: EnvValue) -> tuple[Parameter | EndpointReference, ...]:
    """The parameters and endpoints a value depends on."""
    if isinstance(value, str):
        return ()
    if isinstance(value, ReferenceExpression):
        return tuple(p for p in value.parts if not isinstance(p, str))
    return (value,)
