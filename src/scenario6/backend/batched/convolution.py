"""Mimi's convolutions for many rows at once, as one matrix product, on a CPU.

For one row (upstream's batch of 1), torch runs Mimi's small 1-d convolutions with its own
kernel: the row's input windows side by side (im2col), times the weight. For two rows or more
it switches to oneDNN, whose per-call layout conversions cost more than the arithmetic at
these sizes: in the tiny model, the first encoder convolution (8 channels in, 4 out, kernel 3)
took 400 µs for 8 rows against 13 µs for one. :func:`batch_rows` gives each convolution one
product over all the rows' windows together instead, what torch's own kernel does row by row.
Each row's output is the one-row kernel's to float32 rounding, and mostly bit for bit (66 of
75 layer and batch size pairs of the tiny Mimi here: ``test_batched_convolution``); the tokens
a conversation gets stay upstream's (``test_batched_equivalence``). One row keeps torch's own
path, and CUDA keeps cuDNN.
"""

from __future__ import annotations

from typing import Any

import torch
from moshi.modules.streaming import RawStreamingConv1d


class _AllRows:
    """``conv``'s ``_conv_forward`` for a batch: one product over every row's windows."""

    def __init__(self, conv: Any) -> None:
        self.native = conv._conv_forward
        self.kernel = int(conv.kernel_size[0])
        self.stride = int(conv.stride[0])

    def __call__(
        self, x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None
    ) -> torch.Tensor:
        rows, channels, _ = x.shape
        if rows <= 1:  # torch's own path, which also takes an empty batch
            return self.native(x, weight, bias)
        windows = x.unfold(2, self.kernel, self.stride)  # [rows, channels, steps, kernel]
        steps = windows.shape[2]
        columns = windows.permute(1, 3, 0, 2).reshape(channels * self.kernel, rows * steps)
        out = weight.reshape(weight.shape[0], -1) @ columns  # [out, rows × steps]
        out = out.view(-1, rows, steps).transpose(0, 1)
        return out if bias is None else out + bias[:, None]


def batch_rows(mimi: Any) -> int:
    """Give each of ``mimi``'s plain 1-d convolutions (no groups, no dilation) the one-product
    forward for batches, on a CPU; the number changed."""
    if next(mimi.parameters()).device.type != "cpu":
        return 0
    plain = [
        module
        for module in mimi.modules()
        if isinstance(module, RawStreamingConv1d)
        and not isinstance(module._conv_forward, _AllRows)
        and module.groups == 1
        and module.dilation[0] == 1
        and module.padding[0] == 0
    ]
    for module in plain:
        module._conv_forward = _AllRows(module)
    return len(plain)
