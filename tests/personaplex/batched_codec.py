"""A test codec whose streaming state matters: the tiny Mimi, with weights that remember.

The tiny model's random Mimi forgets at once. Its codebooks are all zero, so every frame
encodes to code 0 whatever the audio, and its transformers add only a 0.01-scaled update. A
slot that shared another slot's codec state would go unnoticed. :func:`remembering` keeps the
architecture and changes the weights: layer scales of 1, so that the transformers' context
(250 steps at 25 Hz) reaches back through the whole call, and codebooks drawn from the codec's
own latents, so that the codes follow the audio and what came before it.

Runs in the tiny model's interpreter (it needs ``moshi``).
"""

from __future__ import annotations

import hashlib
from typing import Any

import torch
from moshi.modules.transformer import LayerScale

FRAME = 1920  # 80 ms at 24 kHz
LATENT_FRAMES = 32  # audio the codebooks are drawn from
HISTORY_FRAMES = 5  # the two different pasts :func:`memory` compares
ALIKE_FRAMES = 10  # the same frames that follow them


def noise(frames: int, generator: torch.Generator) -> list[torch.Tensor]:
    """``frames`` 80 ms chunks of quiet white noise, ``[1, 1, 1920]`` each."""
    return [(torch.rand(1, 1, FRAME, generator=generator) - 0.5) * 0.2 for _ in range(frames)]


def remembering(mimi: Any, seed: int) -> Any:
    """``mimi`` with weights whose streaming state matters (changed in place); returns it."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for module in mimi.modules():
            if isinstance(module, LayerScale):
                module.scale.fill_(1.0)
        with mimi.streaming(1):
            chunks = noise(LATENT_FRAMES, generator)
            latents = torch.cat([mimi._encode_to_unquantized_latent(c) for c in chunks], dim=-1)
        quantizer = mimi.quantizer
        for rvq in (quantizer.rvq_first, quantizer.rvq_rest):
            residual = rvq.input_proj(latents)[0].T  # [time, dimension]
            for layer in rvq.vq.layers:
                codebook = layer._codebook
                size = codebook.codebook_size
                drawn = residual[torch.randint(0, len(residual), (size,), generator=generator)]
                # Jitter of half the latents' spread keeps 2048 codes distinct.
                jitter = torch.randn(drawn.shape, generator=generator) * residual.std(dim=0) / 2
                codebook.embedding_sum.copy_(drawn + jitter)
                codebook.cluster_usage.fill_(1.0)
                codebook._embedding = None  # upstream caches sum / usage on first use
                residual = residual - codebook.decode(codebook.encode(residual))
    return mimi


def memory(mimi: Any, seed: int = 0) -> dict[str, int]:
    """Of ``ALIKE_FRAMES`` identical frames that follow two different pasts, how many the
    encoder turns into other codes and the decoder into other samples. 0: the codec forgets
    its past at once, so a slot sharing another's codec state would go unseen."""
    generator = torch.Generator().manual_seed(seed)
    pasts = [noise(HISTORY_FRAMES, generator) for _ in range(2)]
    alike = noise(ALIKE_FRAMES, generator)
    encoded = [_encoded(mimi, past, alike) for past in pasts]
    code_pasts = [[_codes(generator) for _ in range(HISTORY_FRAMES)] for _ in range(2)]
    codes = [_codes(generator) for _ in range(ALIKE_FRAMES)]
    decoded = [_decoded(mimi, past, codes) for past in code_pasts]
    return {
        "frames": ALIKE_FRAMES,
        "encoder": sum(a != b for a, b in zip(*encoded, strict=True)),
        "decoder": sum(a != b for a, b in zip(*decoded, strict=True)),
    }


def _codes(generator: torch.Generator) -> torch.Tensor:
    return torch.randint(0, 2048, (1, 8, 1), generator=generator)


def _encoded(mimi: Any, past: list[torch.Tensor], frames: list[torch.Tensor]) -> list[Any]:
    with torch.no_grad(), mimi.streaming(1):
        for chunk in past:
            mimi.encode(chunk)
        return [mimi.encode(chunk).flatten().tolist() for chunk in frames]


def _decoded(mimi: Any, past: list[torch.Tensor], codes: list[torch.Tensor]) -> list[str]:
    with torch.no_grad(), mimi.streaming(1):
        for step in past:
            mimi.decode(step)
        return [digest(mimi.decode(step)) for step in codes]


def digest(pcm: torch.Tensor) -> str:
    return hashlib.sha256(pcm.contiguous().numpy().tobytes()).hexdigest()[:16]
