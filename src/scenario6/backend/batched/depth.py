"""The depth transformer of every stepping row in one pass per codebook, without upstream's
streaming machinery.

Upstream's ``LMGen.depformer_step`` opens a fresh streaming state for the depth transformer
every frame and steps it once per codebook; each step rebuilds the ring KV cache's key
positions and the causal mask from tensors, and stacks single-step outputs, about as many
torch operations as the step's arithmetic itself. Every row of a frame is at the same depth
step, and a step's key positions follow from its number alone, so here the masks are built
once, each step writes its keys and values at its known place, and the arithmetic (the same
modules and functions on tensors of the same shapes as upstream's) runs with nothing around
it: a token drawn here is the token upstream draws.
"""

from __future__ import annotations

from typing import Any

import torch
from einops import rearrange
from torch import nn
from torch.nn import functional as F

from .attention import eager
from .rows import UnsupportedModel
from .sampling import Draws


class Depth:
    """``lm``'s depth transformer (upstream's ``depformer``) for many rows at once, up to
    the last of the model's own ``codebooks``.

    The codebooks after them are the user's stream, whose tokens a live row is always given
    (they are its audio, one step ahead of the model): upstream still steps the depth
    transformer through them and samples tokens that it then discards. The depth transformer
    is causal, so those steps cannot change the model's own tokens, and they are skipped;
    each row's noise for them is still drawn (:class:`.sampling.Draws`), as upstream draws it.
    """

    def __init__(self, lm: Any, codebooks: int) -> None:
        self.lm = lm
        transformer = lm.depformer
        if transformer.positional_embedding != "none":
            raise UnsupportedModel(
                "the batched depth step needs a depth transformer without positional embedding"
            )
        self.layers = list(transformer.layers)
        if not 0 < codebooks <= lm.dep_q:
            raise UnsupportedModel(f"{codebooks} codebooks of the model's own out of {lm.dep_q}")
        self.steps = codebooks
        device = lm.device
        # Per layer and depth step: the attention's weights, and the keys it may see.
        self.weights: list[list[tuple[torch.Tensor, torch.Tensor]]] = []
        self.masks: list[list[torch.Tensor]] = []
        for layer in self.layers:
            attention = layer.self_attn
            wps = attention.weights_per_step
            if layer.skip_self_attn or not attention.causal or attention.rope is not None:
                raise UnsupportedModel("the batched depth step needs causal self-attention")
            if wps < self.steps or layer.weights_per_step < self.steps:
                raise UnsupportedModel("the batched depth step needs weights per codebook")
            dim = attention.embed_dim
            into = attention.in_proj_weight.view(wps, -1, dim)
            out = attention.out_proj.weight.view(wps, -1, dim)
            self.weights.append([(into[step], out[step]) for step in range(self.steps)])
            capacity = attention.context if attention.context is not None else wps
            self.masks.append(
                [_mask(step, capacity, attention.context, device) for step in range(self.steps)]
            )

    def run(
        self,
        text: torch.Tensor,
        hidden: torch.Tensor,
        known: torch.Tensor,
        forced: torch.Tensor,
        draws: Draws,
    ) -> torch.Tensor:
        """``[n, dep_q]`` audio tokens after the rows' ``text`` tokens and temporal output
        ``hidden`` (``[n, 1, dim]``): drawn for the model's own codebooks (fed ``known``'s
        token to the next step where ``forced``, ``[n, dep_q]``), ``known``'s after them."""
        lm = self.lm
        n = text.shape[0]
        caches = [
            torch.zeros(
                2,
                n,
                layer.self_attn.num_heads,
                mask[0].shape[-1],
                layer.self_attn.embed_dim // layer.self_attn.num_heads,
                device=hidden.device,
                dtype=layer.self_attn.in_proj_weight.dtype,
            )
            for layer, mask in zip(self.layers, self.masks, strict=True)
        ]
        given, forcing = known.unbind(1), forced.unbind(1)
        previous = text
        tokens = []
        with eager(hidden.device):
            for step in range(self.steps):
                into = lm.depformer_in[step if lm.depformer_multi_linear else 0]
                embedding = lm.depformer_text_emb if step == 0 else lm.depformer_emb[step - 1]
                x = into(hidden) + embedding(previous[:, None])
                for index, layer in enumerate(self.layers):
                    x = self._layer(index, layer, x, caches[index], step)
                logits = lm.linears[step](x)
                drawn = draws.audio(logits[:, 0], step)
                previous = torch.where(forcing[step], given[step], drawn)
                tokens.append(drawn)
        return torch.cat([torch.stack(tokens, dim=1), known[:, self.steps :]], dim=1)

    def _layer(
        self, index: int, layer: Any, x: torch.Tensor, cache: torch.Tensor, step: int
    ) -> torch.Tensor:
        """Upstream's StreamingTransformerLayer at depth ``step`` on ``x`` (``[n, 1, dim]``)."""
        attention = layer.self_attn
        into, out = self.weights[index][step]
        projected = F.linear(layer.norm1(x)[:, 0], into)[:, None]
        qkv = rearrange(projected, "b t (p h d) -> p b h t d", p=3, h=attention.num_heads)
        mask = self.masks[index][step]
        cache.select(3, step % mask.shape[-1]).copy_(qkv[1:, :, :, 0])
        keys, values = cache.unbind(0)
        update = F.scaled_dot_product_attention(qkv[0], keys, values, mask, dropout_p=0.0)
        update = F.linear(rearrange(update, "b h t d -> b t (h d)")[:, 0], out)[:, None]
        x = x + layer.layer_scale_1(update)
        gating = layer.gating
        assert isinstance(gating, nn.ModuleList)
        return x + layer.layer_scale_2(gating[step](layer.norm2(x)[:, 0:1]))


def _mask(step: int, capacity: int, context: int | None, device: torch.device) -> torch.Tensor:
    """The keys a query at depth ``step`` attends to, as upstream's ring cache and causal
    mask work them out one step after another (``[1, capacity]``)."""
    end = step + 1  # the ring's write offset once the step's keys are in
    indexes = torch.arange(capacity, device=device)
    delta = indexes - end % capacity
    positions = torch.where(delta <= 0, end + delta, end + delta - capacity)
    positions = torch.where(indexes >= end, torch.full_like(positions, -1), positions)
    distance = step - positions
    allowed = (positions >= 0) & (distance >= 0)
    if context is not None:
        allowed = allowed & (distance < context)
    return allowed.view(1, -1)
