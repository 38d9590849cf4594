"""One child process: own process group, output read line by line, stopped with its children."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import os
import signal
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path

from scenario6.containers.engine import KNOWN_SECRETS

LineSink = Callable[[str], None]


def public_environment(withheld: Iterable[str] = ()) -> dict[str, str]:
    """This process's environment without the known secrets and ``withheld``: what any child
    may inherit."""
    hidden = KNOWN_SECRETS.union(withheld)
    return {key: value for key, value in os.environ.items() if key not in hidden}


class ManagedProcess:
    """A child in its own session, so stopping it reaches its children too.

    Without ``env`` it inherits ours, secrets left out (see ``public_environment``).
    ``on_line`` receives every output line (stdout and stderr, decoded with ``replace``);
    the last ``keep`` lines stay available for error messages.
    """

    def __init__(
        self,
        argv: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        on_line: LineSink | None = None,
        keep: int = 30,
    ) -> None:
        self.argv = list(argv)
        self.env = dict(env) if env is not None else public_environment()
        self.cwd = cwd
        self.on_line = on_line
        self.last_lines: collections.deque[str] = collections.deque(maxlen=keep)
        self._process: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task[None] | None = None

    @property
    def pid(self) -> int | None:
        return None if self._process is None else self._process.pid

    @property
    def returncode(self) -> int | None:
        return None if self._process is None else self._process.returncode

    async def start(self) -> None:
        self._process = await asyncio.create_subprocess_exec(
            *self.argv,
            env=self.env,
            cwd=self.cwd,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,
        )
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        assert self._process is not None and self._process.stdout is not None
        stream = self._process.stdout
        while True:
            try:
                raw = await stream.readline()
            except ValueError:  # a line longer than the buffer: take what is there
                raw = await stream.read(65536)
            if not raw:
                return
            text = raw.decode("utf-8", "replace").rstrip("\r\n")
            self.last_lines.append(text)
            if self.on_line is not None:
                self.on_line(text)

    async def wait(self) -> int:
        assert self._process is not None
        code = await self._process.wait()
        if self._reader is not None:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(asyncio.shield(self._reader), 2)
        return code

    async def stop(self, grace: float = 5.0) -> int | None:
        """SIGTERM to the whole group, SIGKILL after ``grace`` seconds; the exit code."""
        if self._process is None:
            return None
        if self._process.returncode is None:
            self._signal_group(signal.SIGTERM)
            try:
                await asyncio.wait_for(self._process.wait(), grace)
            except asyncio.TimeoutError:  # the builtin TimeoutError from Python 3.11 on
                self._signal_group(signal.SIGKILL)
                await self._process.wait()
        # Grandchildren that ignored SIGTERM still share the group: make sure they are gone.
        self._signal_group(signal.SIGKILL)
        if self._reader is not None:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(asyncio.shield(self._reader), 2)
        return self._process.returncode

    def _signal_group(self, sig: int) -> None:
        assert self._process is not None
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self._process.pid, sig)


async def run_to_end(
    argv: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    on_line: LineSink | None = None,
) -> tuple[int, list[str]]:
    """Run a short-lived command (a build, an install); its exit code and last lines."""
    process = ManagedProcess(argv, env=env, cwd=cwd, on_line=on_line, keep=40)
    await process.start()
    try:
        code = await process.wait()
    except asyncio.CancelledError:
        await process.stop(grace=2)
        raise
    return code, list(process.last_lines)
