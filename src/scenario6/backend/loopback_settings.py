"""How the loopback backend behaves: its settings, shared by its server and its echo."""

from __future__ import annotations

from dataclasses import dataclass

from scenario6.protocol.limits import MAX_BACKLOG_S


@dataclass(frozen=True)
class LoopbackSettings:
    """How the loopback backend behaves; the defaults resemble a real session.

    >>> LoopbackSettings(prompt_ms=0).own_prompts
    False
    >>> LoopbackSettings(slots=4).own_prompts
    True
    """

    prompt_ms: int = 1500  # the prompt phase before the handshake
    delay_ms: int = 200  # echo delay
    concurrent: bool = False  # upstream serves one conversation at a time
    # Holds this many conversations at once, each with its own prompts, and advertises the
    # number in its upgrade response; more connections wait, as upstream's second one does.
    slots: int | None = None
    text_interval_ms: int = 1000  # of client audio: text too is clocked by input
    max_message_bytes: int = 1 << 20
    # Benchmarks turn this off to echo audio messages untouched, so that the codec's cost
    # does not hide the proxy's.
    transcode: bool = True
    # Audio received and not yet echoed, past which the conversation is closed, as the batched
    # server closes one: a client sending faster than real time must not pile it up here.
    max_backlog_s: float = MAX_BACKLOG_S

    def __post_init__(self) -> None:
        if self.slots is not None and self.slots < 1:
            raise ValueError(f"slots must be at least 1, not {self.slots}")

    @property
    def own_prompts(self) -> bool:
        """Whether each connection keeps its own prompts (upstream shares one pair)."""
        return self.concurrent or self.slots is not None
