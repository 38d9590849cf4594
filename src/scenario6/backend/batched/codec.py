"""Mimi's streaming state with one row per slot, and encode / decode of many rows at once.

Upstream's Mimi keeps one streaming state for a batch whose items all started together: each
convolution's left context, each transposed convolution's pending output, each transformer's
ring KV cache and one position. Slots start at different times, so here every piece has one
row per slot, and a frame encodes (or decodes) rows ``0..n-1`` in one call of upstream's
convolutions and quantizer, with the transformers stepped per row at the row's own position
(:func:`.attention.attend`). Only the rows asked for keep the call's new state.

A fresh row holds what a fresh upstream state is equivalent to: zeros as the left context
that the first frame's causal padding would add, and, for a transposed convolution, its bias
as the pending output (which upstream's ``partial - bias`` then cancels). A convolution that
pads otherwise than with zeros (Mimi's downsampling repeats the first sample) gets its left
context from the row's first input, as upstream's padding would.
"""

from __future__ import annotations

import contextlib
from typing import Any

import torch
from moshi.modules.conv import StreamingConv1d, pad1d
from moshi.modules.streaming import (
    RawStreamingConv1d,
    RawStreamingConvTranspose1d,
    StreamingAdd,
)
from moshi.modules.transformer import StreamingMultiheadAttention

from .attention import layers
from .convolution import batch_rows

# Mimi's modules that encode (by top-level name); the others decode.
ENCODING = ("encoder", "encoder_transformer", "downsample")
# Each streaming module's tensor that carries context from one frame to the next.
CARRIED = {
    RawStreamingConv1d: ("previous",),
    RawStreamingConvTranspose1d: ("partial",),
    StreamingAdd: ("previous_x", "previous_y"),
}


class Codec:
    """``count`` rows of Mimi streaming state for ``mimi``; ``frame_size`` samples a frame."""

    def __init__(self, mimi: Any, count: int, frame_size: int) -> None:
        self.mimi = mimi
        self.count = count
        device = next(mimi.parameters()).device
        self.device = device
        batch_rows(mimi)
        # One frame through a fresh batch-1 state gives every carried tensor's shape.
        mimi._start_streaming(1)
        with torch.no_grad():
            codes = mimi.encode(torch.zeros(1, 1, frame_size, device=device))
            mimi.decode(codes)
        self.states = dict(mimi.get_streaming_state())
        # Every streaming module with its state here, found once: binding them by walking
        # Mimi's module tree (set_streaming_state) costs milliseconds a frame.
        self.bindings: list[tuple[Any, Any]] = []
        mimi._apply_named_streaming(
            lambda name, module: self.bindings.append((module, self.states[name]))
        )
        # (module name, its state, attribute, the rows, a fresh row)
        self.carried: list[tuple[str, Any, str, torch.Tensor, torch.Tensor]] = []
        # Per convolution that pads with its input, the rows whose first frame is to come.
        self.unpadded: dict[Any, torch.Tensor] = {}
        self.rows = 0  # while a batched call runs: how many rows it holds, and which move
        self.moving = torch.zeros(0, dtype=torch.long, device=device)
        for name, module in mimi.named_modules():
            state: Any = self.states.get(name)
            if isinstance(module, StreamingConv1d):
                if module.pad_mode != "constant" and state.original_padding_to_add:
                    self.unpadded[module] = torch.ones(count, dtype=torch.bool, device=device)
                    module.register_forward_pre_hook(self._pad)
                state.padding_to_add = 0  # the rows hold that padding as their context
            for kind, attributes in CARRIED.items():
                if not isinstance(module, kind):
                    continue
                for attribute in attributes:
                    shape = getattr(state, attribute).shape[1:]
                    fresh = torch.zeros(shape, device=device)
                    if kind is RawStreamingConvTranspose1d and module.bias is not None:
                        fresh += module.bias[:, None]
                    rows = fresh.expand(count, *shape).clone()
                    self.carried.append((name, state, attribute, rows, fresh))
        self.parts = {
            encoding: [c for c in self.carried if (c[0].split(".")[0] in ENCODING) == encoding]
            for encoding in (True, False)
        }
        self.encoder = _Transformer(mimi.encoder_transformer, count, device)
        self.decoder = _Transformer(mimi.decoder_transformer, count, device)
        mimi._stop_streaming()

    @contextlib.contextmanager
    def _bound(self, n: int, moving: torch.Tensor, encoding: bool) -> Any:
        """Upstream's modules that encode (or decode) hold rows ``0..n-1``; afterwards the
        ``moving`` rows keep what the call left."""
        saved = [module._streaming_state for module, _ in self.bindings]
        _bind(self.bindings, [state for _, state in self.bindings])
        part = self.parts[encoding]
        for _, state, attribute, rows, _ in part:
            setattr(state, attribute, rows[:n])
        self.rows, self.moving = n, moving
        try:
            yield
            every = moving.shape[0] == n  # the usual frame: one copy per tensor
            for _, state, attribute, rows, _ in part:
                left = getattr(state, attribute)
                if every:
                    rows[:n].copy_(left)
                else:
                    rows.index_copy_(0, moving, left.index_select(0, moving))
        finally:
            self.rows = 0
            _bind(self.bindings, saved)

    def _pad(self, module: Any, args: tuple[torch.Tensor, ...]) -> None:
        """Before ``module`` runs in a batched call: the left context of the rows at their
        first frame, padded from their input as upstream pads it."""
        if not self.rows:
            return  # upstream's own call, on a slot's batch-1 state
        (x,) = args
        unpadded = self.unpadded[module][: self.rows]
        conv = module.conv.conv._streaming_state
        width = conv.previous.shape[-1]
        padded = pad1d(x, (width, 0), mode=module.pad_mode)[..., :width]
        conv.previous = torch.where(unpadded[:, None, None], padded, conv.previous)
        self.unpadded[module].index_fill_(0, self.moving, False)

    def encode(self, pcm: torch.Tensor, moving: torch.Tensor) -> torch.Tensor:
        """Codes (``[n, K, 1]``) of ``pcm`` (``[n, 1, frame_size]``, row ``b`` of rows
        ``0..n-1``); only the ``moving`` rows' states advance."""
        mimi = self.mimi
        with self._bound(pcm.shape[0], moving, encoding=True):
            with mimi._context_for_encoder_decoder:
                latent = mimi.encoder(pcm)
            latent = self.encoder.step(latent, moving)
            latent = mimi._to_framerate(latent)
            return mimi.quantizer.encode(latent)

    def decode(self, codes: torch.Tensor, moving: torch.Tensor) -> torch.Tensor:
        """PCM (``[n, 1, frame_size]``) of ``codes`` (``[n, K, 1]``); only the ``moving``
        rows' states advance."""
        mimi = self.mimi
        with self._bound(codes.shape[0], moving, encoding=False):
            latent = mimi._to_encoder_framerate(mimi.decode_latent(codes))
            latent = self.decoder.step(latent, moving)
            with mimi._context_for_encoder_decoder:
                return mimi.decoder(latent)

    def reset(self, row: int) -> None:
        """``row`` as a fresh stream."""
        for *_, rows, fresh in self.carried:
            rows[row].copy_(fresh)
        for unpadded in self.unpadded.values():
            unpadded[row] = True
        for transformer in (self.encoder, self.decoder):
            transformer.reset(row)

    def swap(self, a: int, b: int) -> None:
        """Exchange the contents of rows ``a`` and ``b``."""
        tensors = [rows for *_, rows, _ in self.carried] + list(self.unpadded.values())
        tensors += [*self.encoder.tensors(), *self.decoder.tensors()]
        for tensor in tensors:
            kept = tensor[a].clone()
            tensor[a].copy_(tensor[b])
            tensor[b].copy_(kept)


def _bind(bindings: list[tuple[Any, Any]], states: list[Any]) -> None:
    """Each module of ``bindings`` holds its state in ``states``. The state is a plain
    attribute: set in the instance's dict, past nn.Module's __setattr__, which first looks
    through the module's parameters, buffers and submodules."""
    for (module, _), state in zip(bindings, states, strict=True):
        module.__dict__["_streaming_state"] = state


class _Transformer:
    """One of Mimi's projected transformers, its KV caches and positions one row per slot."""

    def __init__(self, projected: Any, count: int, device: torch.device) -> None:
        self.projected = projected
        self.layers = list(projected.transformer.layers)
        self.caches: list[torch.Tensor] = []
        self.ends: list[torch.Tensor] = []
        self.positions: list[torch.Tensor] = []
        for layer in self.layers:
            attention: StreamingMultiheadAttention = layer.self_attn
            heads = attention.num_heads
            capacity = attention._streaming_state.kv_cache.capacity
            shape = (2, count, heads, capacity, attention.embed_dim // heads)
            dtype = attention.in_proj_weight.dtype
            self.caches.append(torch.zeros(shape, device=device, dtype=dtype))
            self.ends.append(torch.zeros(count, device=device, dtype=torch.long))
            self.positions.append(torch.zeros(count, device=device, dtype=torch.long))

    def tensors(self) -> list[torch.Tensor]:
        """Every per-row tensor, with the row axis first."""
        return [*(c.transpose(0, 1) for c in self.caches), *self.ends, *self.positions]

    def reset(self, row: int) -> None:
        for end, position in zip(self.ends, self.positions, strict=True):
            end[row] = 0
            position[row] = 0

    def step(self, x: torch.Tensor, moving: torch.Tensor) -> torch.Tensor:
        """Upstream's ProjectedTransformer.forward on ``[n, C, T]``, each row at its own
        position."""
        projected = self.projected
        if projected.conv_layout:
            x = x.transpose(1, 2)
        if projected.input_proj is not None:
            x = projected.input_proj(x)
        x = layers(self.layers, x, self.caches, self.ends, self.positions, moving)
        (output,) = projected.output_projs
        y = output(x)
        return y.transpose(1, 2) if projected.conv_layout else y
