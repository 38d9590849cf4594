"""What the loopback backend remembers of its sessions, for developers and tests to inspect."""

from __future__ import annotations

import io
import itertools
import time
import wave
from collections import deque
from collections.abc import Iterator

import numpy as np

from scenario6.protocol.messages import SAMPLE_RATE

_MAX_SESSIONS = 50
_MAX_AUDIO_SESSIONS = 4  # only the newest sessions keep their audio
_MAX_AUDIO_SECONDS = 120


class SessionRecord:
    def __init__(self, session_id: int, query: dict[str, str]) -> None:
        self.id = session_id
        self.query = query
        self.started = time.time()
        self.active = True
        self.audio_messages = 0
        self.other_messages = 0
        self.ogg_errors = 0
        self.discarded_messages = 0  # arrived during the prompt phase
        self.output_messages = 0
        self.input_samples = 0
        self.audio: list[np.ndarray] | None = []

    def count_audio(self) -> None:
        self.audio_messages += 1

    def count_other(self) -> None:
        self.other_messages += 1

    def count_discarded(self) -> None:
        self.discarded_messages += 1

    def count_ogg_error(self) -> None:
        self.ogg_errors += 1

    def count_output(self) -> None:
        self.output_messages += 1

    def add_audio(self, pcm: np.ndarray) -> None:
        self.input_samples += len(pcm)
        if self.audio is not None and self.input_samples <= _MAX_AUDIO_SECONDS * SAMPLE_RATE:
            self.audio.append(pcm.astype(np.float32, copy=True))

    def wav(self) -> bytes:
        pcm = np.concatenate(self.audio) if self.audio else np.zeros(0, np.float32)
        samples = (np.clip(pcm, -1.0, 1.0) * 32767).astype("<i2")
        buffer = io.BytesIO()
        with wave.open(buffer, "wb") as out:
            out.setnchannels(1)
            out.setsampwidth(2)
            out.setframerate(SAMPLE_RATE)
            out.writeframes(samples.tobytes())
        return buffer.getvalue()

    def summary(self) -> dict[str, object]:
        return {
            "id": self.id,
            "voice_prompt": self.query.get("voice_prompt"),
            "text_prompt": self.query.get("text_prompt"),
            "query": self.query,
            "started": self.started,
            "active": self.active,
            "messages": {
                "audio": self.audio_messages,
                "other": self.other_messages,
                "discarded": self.discarded_messages,
            },
            "ogg_errors": self.ogg_errors,
            "input_samples": self.input_samples,
            "output_messages": self.output_messages,
        }


class SessionLog:
    """The newest sessions, oldest first."""

    def __init__(self) -> None:
        self._records: deque[SessionRecord] = deque(maxlen=_MAX_SESSIONS)
        self._ids = itertools.count(1)

    def start(self, query: dict[str, str]) -> SessionRecord:
        record = SessionRecord(next(self._ids), query)
        self._records.append(record)
        for old in list(self._records)[:-_MAX_AUDIO_SESSIONS]:
            old.audio = None
        return record

    def find(self, session_id: str) -> SessionRecord | None:
        return next((r for r in self._records if str(r.id) == session_id), None)

    def __iter__(self) -> Iterator[SessionRecord]:
        return iter(list(self._records))
