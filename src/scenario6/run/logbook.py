"""Each resource's console output: the last lines in memory, every line in a file."""

from __future__ import annotations

import asyncio
import collections
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, Any

KEEP = 5000  # lines per resource held in memory; the file keeps them all


@dataclass(frozen=True)
class LogLine:
    seq: int  # counts from 1 per resource and run
    at: float  # Unix time
    text: str

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


class LogBook:
    """A bounded ring of one resource's lines, appended to ``path`` (once open) as they come.

    >>> book = LogBook(keep=2); [book.add(t).seq for t in "abc"], [l.text for l in book.tail(5)]
    ([1, 2, 3], ['b', 'c'])
    """

    def __init__(self, path: Path | None = None, keep: int = KEEP) -> None:
        self.path = path
        self.lines: collections.deque[LogLine] = collections.deque(maxlen=keep)
        self.seq = 0
        self._file: IO[str] | None = None
        self._followers: set[asyncio.Queue[LogLine | None]] = set()

    def open(self) -> None:
        """Start the file afresh (lines come before this only into memory)."""
        if self.path is not None and self._file is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # Line-buffered, so that the file is current while the run goes on.
            self._file = self.path.open("w", encoding="utf-8", buffering=1)

    def add(self, text: str) -> LogLine:
        self.seq += 1
        line = LogLine(self.seq, time.time(), text)
        self.lines.append(line)
        if self._file is not None:
            stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(line.at))
            self._file.write(f"{stamp} {text}\n")
        for queue in list(self._followers):
            try:
                queue.put_nowait(line)
            except asyncio.QueueFull:  # a follower that stopped reading is let go
                self._end(queue)
        return line

    def tail(self, count: int | None = None) -> list[LogLine]:
        lines = list(self.lines)
        return lines if count is None else lines[-count:] if count > 0 else []

    def follow(self) -> asyncio.Queue[LogLine | None]:
        """A queue that receives every line from now on and None when it ends
        (the run stops, or it fell ``KEEP`` lines behind); give it back with ``unfollow``."""
        queue: asyncio.Queue[LogLine | None] = asyncio.Queue(maxsize=KEEP)
        self._followers.add(queue)
        return queue

    def unfollow(self, queue: asyncio.Queue[LogLine | None]) -> None:
        self._followers.discard(queue)

    def _end(self, queue: asyncio.Queue[LogLine | None]) -> None:
        self._followers.discard(queue)
        if queue.full():
            queue.get_nowait()
        queue.put_nowait(None)

    def close(self) -> None:
        for queue in list(self._followers):
            self._end(queue)
        if self._file is not None:
            self._file.close()
            self._file = None
