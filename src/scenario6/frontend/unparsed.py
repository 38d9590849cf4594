"""What a connection has read and its parser not yet seen, handed out a head or a body at a time.

The HTTP layer (``serving``) feeds its parser piece by piece so that it can stop between two
pipelined requests: httptools parses every request in what it is given and cannot say where
it stopped.
"""

from __future__ import annotations

# The blank line that ends a head: llhttp accepts no other line ending (a bare LF is a 400).
HEAD_END = b"\r\n\r\n"


class Unparsed:
    """Bytes read from a connection and not yet parsed.

    >>> pending = Unparsed()
    >>> pending.add(b"GET / HTTP/1.1\\r\\n\\r\\nPOST / HTTP/1.1\\r\\nContent-Length: 2\\r")
    >>> pending.head(), pending.head()
    (b'GET / HTTP/1.1\\r\\n\\r\\n', b'POST / HTTP/1.1\\r\\nContent-Length: 2\\r')
    >>> pending.add(b"\\n\\r\\nhiGET")
    >>> pending.head(), pending.body(2), len(pending)
    (b'\\n\\r\\n', b'hi', 3)
    """

    def __init__(self) -> None:
        self._data = b""
        self._start = 0
        # The last bytes of an unfinished head already handed out: its blank line may have
        # begun there.
        self._tail = b""

    def __len__(self) -> int:
        return len(self._data) - self._start

    def add(self, data: bytes) -> None:
        self._data = self._data[self._start :] + data if self else data
        self._start = 0

    def clear(self) -> None:
        self._data = b""
        self._start = 0
        self._tail = b""

    def head(self) -> bytes:
        """The head in progress up to its blank line, or as much of it as has arrived."""
        data, start = self._data, self._start
        found = (self._tail + data[start : start + len(HEAD_END) - 1]).find(HEAD_END)
        if found != -1:
            end = start + found + len(HEAD_END) - len(self._tail)
        else:
            found = data.find(HEAD_END, start)
            end = len(data) if found == -1 else found + len(HEAD_END)
        piece = self._take(end)
        ended = found != -1
        self._tail = b"" if ended else (self._tail + piece)[-(len(HEAD_END) - 1) :]
        return piece

    def body(self, size: int) -> bytes:
        """Up to ``size`` bytes of the body in progress."""
        return self._take(min(len(self._data), self._start + size))

    def _take(self, end: int) -> bytes:
        piece = self._data[self._start : end]
        self._start = end
        return piece
