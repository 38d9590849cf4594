"""Causal self-attention over ring KV caches with one row per conversation, each row at its
own position: upstream's arithmetic for one row (RoPE at the row's offset, the ring cache's
key positions, the causal mask with the context limit), for every row in one pass.

Used for the LM's temporal transformer (:mod:`.rows`, one step a frame) and for Mimi's two
transformers (:mod:`.codec`, two steps a frame).

Until a ring wraps, its keys fill it from the start. On a CPU, a step attends over only the
part of the ring any row has filled (:func:`key_span`), which is exact: torch's CPU attention
kernel walks the keys in blocks of :data:`CPU_KEY_BLOCK`, and a block whose keys are all masked
adds nothing to a row's sum and leaves its running maximum as it was, so leaving out whole
blocks of masked keys changes no bit of the output. (``test_batched_attention`` checks this
against the full ring.) On CUDA every step attends over the whole ring, as upstream does.
"""

from __future__ import annotations

import contextlib
import math
from typing import Any

import torch
from einops import rearrange
from moshi.utils.compile import no_compile
from torch.nn import functional as F

CPU_KEY_BLOCK = 512  # keys per block of torch's CPU attention kernel (its kv split size)


def layers(
    layers: list[Any],
    x: torch.Tensor,
    caches: list[torch.Tensor],
    ends: list[torch.Tensor],
    positions: list[torch.Tensor],
    moving: torch.Tensor,
) -> torch.Tensor:
    """Upstream's transformer ``layers`` on rows ``0..n-1`` of ``x``, each layer's
    attention per row (:func:`attend`) with that layer's cache and counters."""
    n = x.shape[0]
    with eager(x.device), torch.no_grad():
        for layer, cache, end, position in zip(layers, caches, ends, positions, strict=True):
            update = attend(layer.self_attn, layer.norm1(x), cache, end[:n], position[:n], moving)
            x = x + layer.layer_scale_1(update)
            x = layer._ff_block(x)
    return x


def attend(
    attention: Any,
    x: torch.Tensor,
    cache: torch.Tensor,
    end: torch.Tensor,
    position: torch.Tensor,
    moving: torch.Tensor,
) -> torch.Tensor:
    """``attention`` (upstream's StreamingMultiheadAttention) for rows ``0..n-1`` of ``x``
    (``[n, T, dim]``). ``cache`` is ``[2, rows, heads, capacity, head_dim]``; ``end`` (the
    ring's write offset) and ``position`` are the rows' ``[n]`` counters. Only the rows in
    ``moving`` write their keys and advance; the others' outputs are meaningless. The
    attention reads the slots :func:`key_span` gives for the rows' ends after this step."""
    n, steps = x.shape[:2]
    projected = F.linear(x, attention.in_proj_weight)
    q, k, v = rearrange(projected, "b t (p h d) -> p b h t d", p=3, h=attention.num_heads)
    if attention.rope is not None:
        q, k = rope(q, k, position, attention.rope.max_period)
    capacity = cache.shape[3]
    times = torch.arange(steps, device=cache.device, dtype=torch.long)
    slots = (end[moving].view(-1, 1) + times) % capacity
    written = moving.view(-1, 1)
    cache[0, written, :, slots] = k[moving].transpose(1, 2)
    cache[1, written, :, slots] = v[moving].transpose(1, 2)
    end[moving] += steps
    span = key_span(end, capacity)
    # Each row's key positions, as RingKVCache.complete computes them for one row.
    indexes = torch.arange(span, device=cache.device, dtype=torch.long)
    ends = end.view(-1, 1)
    delta = indexes - ends % capacity
    keys_at = torch.where(delta <= 0, ends + delta, ends + delta - capacity)
    keys_at = torch.where(indexes >= ends, torch.full_like(keys_at, -1), keys_at)
    queries_at = position.view(-1, 1) + times
    distance = queries_at[:, :, None] - keys_at[:, None, :]
    allowed = (keys_at[:, None, :] >= 0) & (distance >= 0)
    if attention.context is not None:
        allowed = allowed & (distance < attention.context)
    out = F.scaled_dot_product_attention(
        q, cache[0, :n, :, :span], cache[1, :n, :, :span], allowed[:, None], dropout_p=0.0
    )
    position[moving] += steps
    return attention.out_proj(rearrange(out, "b h t d -> b t (h d)"))


def key_span(end: torch.Tensor, capacity: int) -> int:
    """How many ring slots from the first an attention over rings whose write offsets are
    ``end`` must read: on a CPU, the kernel blocks that hold any row's keys; elsewhere the
    whole ring. (A ring whose offset has reached its capacity has wrapped: it is full.)"""
    if end.device.type != "cpu":
        return capacity
    blocks = -(-max(int(end.max()), 1) // CPU_KEY_BLOCK)
    return min(capacity, blocks * CPU_KEY_BLOCK)


def rope(
    q: torch.Tensor, k: torch.Tensor, position: torch.Tensor, max_period: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """Rotary embedding of ``[B, H, T, D]`` queries and keys, row ``b`` from
    ``position[b]``: upstream's formula, with the time axis per row instead of shared."""
    batch, _, steps, dim = q.shape
    ds = torch.arange(dim // 2, device=q.device, dtype=torch.float32)
    freqs = torch.exp(ds * (-math.log(max_period) * 2 / dim))
    ts = position.float().view(-1, 1) + torch.arange(steps, device=q.device, dtype=torch.float32)
    ts = ts.view(batch, 1, steps, 1)
    rotr = torch.cos(freqs * ts)
    roti = torch.sin(freqs * ts)
    dims = q.shape[:-1]
    q = q.view(*dims, dim // 2, 2)
    k = k.view(*dims, dim // 2, 2)
    qr, qi = q[..., 0].float(), q[..., 1].float()
    kr, ki = k[..., 0].float(), k[..., 1].float()
    dtype = q.dtype
    qo = torch.stack([(qr * rotr - qi * roti).to(dtype), (qr * roti + qi * rotr).to(dtype)], -1)
    ko = torch.stack([(kr * rotr - ki * roti).to(dtype), (kr * roti + ki * rotr).to(dtype)], -1)
    return qo.view(*dims, dim), ko.view(*dims, dim)


def eager(device: torch.device) -> Any:
    """Upstream turns torch.compile off for its layers off CUDA; the batched steps do too."""
    return no_compile() if device.type != "cuda" else contextlib.nullcontext()
