"""Parameters resolve from the environment, then .env, then a prompt; secrets never show."""

from __future__ import annotations

import os
import pty
import sys
from pathlib import Path

import pytest

from scenario6.apphost import (
    AppModelError,
    Configuration,
    Parameter,
    ParameterResolver,
    Secret,
    read_dotenv,
)

TOKEN = "hf_example_value_123"


def test_environment_wins_over_dotenv(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(f"# comment\nexport HF_TOKEN='{TOKEN}-dotenv'\nOTHER=1 # note\n")
    assert read_dotenv(tmp_path / ".env") == {"HF_TOKEN": f"{TOKEN}-dotenv", "OTHER": "1"}
    param = Parameter("hf-token", secret=True)

    from_env = Configuration(environ={"HF_TOKEN": TOKEN}, dotenv=read_dotenv(tmp_path / ".env"))
    assert ParameterResolver(from_env, prompt=None).resolve(param) == Secret(TOKEN)

    from_dotenv = Configuration(environ={}, dotenv=read_dotenv(tmp_path / ".env"))
    assert ParameterResolver(from_dotenv, prompt=None).resolve(param) == Secret(f"{TOKEN}-dotenv")


def test_missing_value_without_terminal_names_the_variable() -> None:
    resolver = ParameterResolver(Configuration(environ={}), prompt=None)
    with pytest.raises(AppModelError, match=r"set HF_TOKEN in the environment or in \.env"):
        resolver.resolve(Parameter("hf-token", secret=True))


def test_secret_value_never_appears_in_text() -> None:
    secret = ParameterResolver(Configuration(environ={"HF_TOKEN": TOKEN}), prompt=None).resolve(
        Parameter("hf-token", secret=True)
    )
    assert isinstance(secret, Secret)
    for text in (str(secret), repr(secret), f"{secret}", f"{secret!r}", repr([secret])):
        assert TOKEN not in text
    assert secret.reveal() == TOKEN
    assert TOKEN not in repr(Parameter("hf-token", secret=True))


def test_prompt_asks_on_the_terminal_with_hidden_input(tmp_path: Path) -> None:
    script = (
        "from scenario6.apphost import Configuration, Parameter, ParameterResolver\n"
        "v = ParameterResolver(Configuration(environ={})).resolve(Parameter('hf-token', True))\n"
        "print('GOT', len(v.reveal()), v.reveal()[::-1])\n"
    )
    pid, fd = pty.fork()
    if pid == 0:  # the child gets the pty as its controlling terminal, like a person would
        os.execv(sys.executable, [sys.executable, "-c", script])
    output = b""
    try:
        while b"(HF_TOKEN):" not in output:
            output += os.read(fd, 1024)
        os.write(fd, TOKEN.encode() + b"\n")
        while True:
            try:
                chunk = os.read(fd, 1024)
            except OSError:
                break
            if not chunk:
                break
            output += chunk
    finally:
        _, status = os.waitpid(pid, 0)
        os.close(fd)
    text = output.decode()
    assert os.waitstatus_to_exitcode(status) == 0, text
    assert f"GOT {len(TOKEN)} {TOKEN[::-1]}" in text
    assert TOKEN not in text  # hidden input: the terminal never echoed it
