"""Parameters: values (often secrets) supplied at run time, never stored in the model."""

from __future__ import annotations

import getpass
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from .errors import AppModelError

Prompt = Callable[["Parameter"], "str | None"]


@dataclass(frozen=True)
class Parameter:
    """A named value resolved from the environment, then `.env`, then a prompt.

    The model holds only the name; published files carry ``${ENV_NAME}`` instead of a value.

    >>> Parameter("hf-token", secret=True).env_name
    'HF_TOKEN'
    """

    name: str
    secret: bool = False
    default: str | None = None
    description: str | None = None
    env: str | None = field(default=None)

    @property
    def env_name(self) -> str:
        return self.env or self.name.upper().replace("-", "_").replace(".", "_")

    def __repr__(self) -> str:
        return f"Parameter({self.name!r}, secret={self.secret})"


class Secret:
    """A resolved value that refuses to show itself in logs, reprs or f-strings.

    >>> s = Secret("hf_abc"); (str(s), repr(s), s.reveal())
    ('********', 'Secret(********)', 'hf_abc')
    """

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __str__(self) -> str:
        return "********"

    def __repr__(self) -> str:
        return "Secret(********)"

    def __format__(self, spec: str) -> str:
        return str(self)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


ParameterValue = str | Secret


def reveal(value: ParameterValue) -> str:
    return value.reveal() if isinstance(value, Secret) else value


def terminal_prompt(parameter: Parameter) -> str | None:
    """Ask on the terminal (hidden input for secrets); None when there is no terminal."""
    if not sys.stdin.isatty():
        return None
    label = parameter.description or parameter.name
    question = f"Value for {label} ({parameter.env_name}): "
    answer = getpass.getpass(question) if parameter.secret else input(question)
    return answer.strip() or None


class ParameterResolver:
    """Resolves parameters once each, in the order environment → `.env` → prompt → default.

    ``configuration`` is the AppHost's layered configuration (its environment layer wins over
    its `.env` layer); ``prompt`` asks a person and returns None when nobody can answer.
    """

    def __init__(
        self, configuration: Mapping[str, str], prompt: Prompt | None = terminal_prompt
    ) -> None:
        self._configuration = configuration
        self._prompt = prompt
        self._values: dict[str, ParameterValue] = {}

    def resolve(self, parameter: Parameter) -> ParameterValue:
        if parameter.name in self._values:
            return self._values[parameter.name]
        raw = self._configuration.get(parameter.env_name) or None
        if raw is None and parameter.default is None and self._prompt is not None:
            raw = self._prompt(parameter)
        if raw is None:
            raw = parameter.default
        if raw is None:
            raise AppModelError(
                f"parameter {parameter.name!r} has no value: set {parameter.env_name} "
                "in the environment or in .env"
            )
        value: ParameterValue = Secret(raw) if parameter.secret else raw
        self._values[parameter.name] = value
        return value
