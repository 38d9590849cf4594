"""The temporal transformer's streaming state as one row per slot, stepped in one pass.

Upstream keeps one position per transformer (a ``[1]`` tensor) and one ring KV cache per
attention layer, for a batch whose items all started together. Slots start and end at different
times, so each needs its own position. Here every attention layer's cache, write offset and
position are batch-wide tensors with one row per slot, and each row gets upstream's own state
objects whose tensors are *views* of that row: upstream's batch-1 code (a slot's prompt phase)
reads and writes its row in place, and :meth:`Rows.step` advances rows ``0..n-1`` together,
each at its own position, with the same arithmetic upstream applies to one row.

Live slots occupy the first rows; :meth:`Rows.swap` moves a row's contents (used when a slot
leaves or finishes its prompt phase) so that the live rows stay a prefix and a step never
copies a cache.
"""

from __future__ import annotations

from typing import Any

import torch
from moshi.modules.transformer import RingKVCache, StreamingMultiheadAttention

from .attention import layers

SLOT_MARGIN_BYTES = 64 * 2**20
LMGEN_STATE = ""  # the LMGen's own entry in get_streaming_state(): kept per slot, not per row


class UnsupportedModel(ValueError):
    """A transformer configuration the batched step does not implement."""


class Rows:
    """``count`` rows of streaming state for ``lm_gen``'s temporal transformer.

    ``states[row]`` is that row's state dict in the form ``set_streaming_state`` takes (without
    the LMGen's own entry, which belongs to the slot).
    """

    def __init__(self, lm_gen: Any, count: int) -> None:
        lm = lm_gen.lm_model
        self.transformer = lm.transformer
        self.lm = lm
        if self.transformer.positional_embedding not in {"rope", "none"}:
            raise UnsupportedModel(
                f"positional embedding {self.transformer.positional_embedding!r} is not "
                "supported by the batched step (rope or none)"
            )
        self.layers = list(self.transformer.layers)
        for layer in self.layers:
            attention = layer.self_attn
            if attention.weights_per_step or not attention.causal or layer.weights_per_step:
                raise UnsupportedModel("the batched step needs a causal temporal transformer")
        self.count = count
        first = self.layers[0].self_attn
        device = first.in_proj_weight.device
        self.device = device
        self.caches: list[torch.Tensor] = []
        self.ends: list[torch.Tensor] = []  # RingKVCache.end_offset per row
        self.positions: list[torch.Tensor] = []  # _MHAState.offset per row
        self.transformer_offset = torch.zeros(count, device=device, dtype=torch.long)
        self.every = torch.arange(count, device=device)
        self.states: list[dict[str, Any]] = []
        self._prefix = _prefix(lm, self.transformer)
        for row in range(count):
            self.states.append(self._row_states(lm_gen, row))

    def _row_states(self, lm_gen: Any, row: int) -> dict[str, Any]:
        """Upstream's fresh batch-1 states for one row, re-pointed at the row's views."""
        lm_gen._start_streaming(1)
        states = dict(lm_gen.get_streaming_state())
        states.pop(LMGEN_STATE)
        index = 0
        for name, module in self.transformer.named_modules():
            if not isinstance(module, StreamingMultiheadAttention):
                continue
            state = states[f"{self._prefix}.{name}"]
            cache = state.kv_cache.cache
            if row == 0:
                shape = (cache.shape[0], self.count, *cache.shape[2:])
                self.caches.append(torch.zeros(shape, device=cache.device, dtype=cache.dtype))
                self.ends.append(torch.zeros(self.count, device=cache.device, dtype=torch.long))
                self.positions.append(
                    torch.zeros(self.count, device=cache.device, dtype=torch.long)
                )
            ring = RingKVCache.__new__(RingKVCache)
            ring.capacity = state.kv_cache.capacity
            ring.cache = self.caches[index][:, row : row + 1]
            ring.end_offset = self.ends[index][row : row + 1]
            state.kv_cache = ring
            state.offset = self.positions[index][row : row + 1]
            index += 1
        top = states[self._prefix]
        top.offset = self.transformer_offset[row : row + 1]
        return states

    def _tensors(self) -> list[torch.Tensor]:
        """Every batch-wide tensor, with the row axis first."""
        return [
            *(cache.transpose(0, 1) for cache in self.caches),
            *self.ends,
            *self.positions,
            self.transformer_offset,
        ]

    def swap(self, a: int, b: int) -> None:
        """Exchange the contents of rows ``a`` and ``b`` (tensors and counters)."""
        if a == b:
            return
        for tensor in self._tensors():
            kept = tensor[a].clone()
            tensor[a].copy_(tensor[b])
            tensor[b].copy_(kept)
        for name, state in self.states[a].items():
            other = self.states[b][name]
            if hasattr(state, "offset_cpu"):
                state.offset_cpu, other.offset_cpu = other.offset_cpu, state.offset_cpu

    def index(self, rows: list[int]) -> torch.Tensor:
        """``rows`` as an index tensor on the device; the usual frame, where every live row
        steps, is a view of one made at start rather than a copy from the host."""
        if rows == list(range(len(rows))):
            return self.every[: len(rows)]
        return torch.tensor(rows, device=self.device, dtype=torch.long)

    def step(self, embeddings: torch.Tensor, stepping: list[int]) -> torch.Tensor:
        """One step of rows ``0..n-1`` (``embeddings`` is ``[n, 1, dim]``); the output.

        Only the rows in ``stepping`` advance: a conversation whose client sent nothing this
        frame keeps its state (upstream's output is clocked by its input); its output row is
        meaningless and computed only because the rows are a prefix.
        """
        n = embeddings.shape[0]
        moving = self.index(stepping)
        x = layers(self.layers, embeddings, self.caches, self.ends, self.positions, moving)
        self.transformer_offset[moving] += 1
        for row in stepping:
            assert row < n, (row, n)
            for state in self.states[row].values():
                if hasattr(state, "offset_cpu"):
                    state.offset_cpu += 1
        return x

    def advance(self, row: int, embeddings: torch.Tensor) -> None:
        """``row`` alone through ``embeddings.shape[1]`` steps whose inputs are all known
        (``[1, T, dim]``, a prompt phase's), as few passes as its ring allows; the output is
        not needed, only the keys and values the steps leave in the row's cache."""
        counters = [s for s in self.states[row].values() if hasattr(s, "offset_cpu")]
        capacity = self.caches[0].shape[3]
        views = (
            [cache[:, row : row + 1] for cache in self.caches],
            [end[row : row + 1] for end in self.ends],
            [position[row : row + 1] for position in self.positions],
        )
        done, total = 0, embeddings.shape[1]
        while done < total:
            # Keys written in one pass must not overwrite keys its earlier steps attend to,
            # and the ring's key positions, computed from where the pass ends, must be the
            # ones each step alone would see (they differ once a pass fills the ring): from
            # there on, one step per pass.
            steps = min(total - done, max(1, capacity - 1 - counters[0].offset_cpu))
            layers(self.layers, embeddings[:, done : done + steps], *views, self.every[:1])
            self.transformer_offset[row] += steps
            for state in counters:
                state.offset_cpu += steps
            done += steps


def _prefix(lm: Any, transformer: Any) -> str:
    """The name get_streaming_state() gives ``transformer`` (the LMGen's LM is ``lm_model``)."""
    for own, module in lm.named_modules():
        if module is transformer:
            return f"lm_model.{own}"
    raise UnsupportedModel("the LM has no temporal transformer")


def slot_bytes(lm: Any) -> int:
    """GPU memory one more slot costs: its KV-cache rows in every attention layer, plus a
    margin for its share of the step's activations and its codec state."""
    total = 0
    for module in lm.transformer.modules():
        if isinstance(module, StreamingMultiheadAttention):
            capacity = module.context or module.weights_per_step
            element = module.in_proj_weight.element_size()
            total += 2 * capacity * module.embed_dim * element
    return total + SLOT_MARGIN_BYTES
