"""What a client sends before its backend is ready: the stream's header is kept, audio is not.

PersonaPlex reads and discards every message that arrives before its ``0x00`` handshake
(one per prompt step), and a client may also talk while it waits in the proxy's queue. An
Ogg Opus stream is only decodable from its two header pages (``OpusHead``, ``OpusTags``):
if they are lost, upstream's decoder never starts and the session ends without audio. So
until the handshake the proxy keeps the messages that carry header pages, bounded, and
sends them first once the backend is live. Audio from before the handshake is dropped, as
upstream itself would drop it: replaying it would only add its length to the latency, and
a decoder resumes cleanly after a gap in the page sequence.
"""

from __future__ import annotations

from scenario6.protocol.ogg import OggError, parse_pages


class PreludeTooLarge(Exception):
    """The client sent more header pages before the handshake than a stream ever needs."""


class Prelude:
    """Holds a client's stream header until its backend has sent the handshake.

    >>> prelude = Prelude(limit=1024)
    >>> prelude.take(b"\\x01junk")
    False
    >>> prelude.held
    []
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.held: list[bytes] = []
        self._size = 0

    def take(self, message: bytes) -> bool:
        """Keep ``message`` (an audio message, kind byte first) if it carries a header page.

        Returns whether it was kept; raises PreludeTooLarge past the limit.
        """
        try:
            pages = parse_pages(message[1:])
        except OggError:
            return False
        if any(page.is_opus_head for page in pages):
            # A new stream (an encoder started again) replaces the one before.
            self.release()
        elif not any(page.is_opus_tags for page in pages):
            return False
        self._size += len(message)
        if self._size > self.limit:
            raise PreludeTooLarge(
                f"stream header too large: over {self.limit} bytes of header pages "
                "before the backend was ready"
            )
        self.held.append(message)
        return True

    def release(self) -> list[bytes]:
        """The held messages, in order; the prelude is empty afterwards."""
        held, self.held, self._size = self.held, [], 0
        return held
