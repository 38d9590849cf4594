"""Mimi's convolutions over several rows in one product against torch's one-row kernel, in
the tiny model's interpreter::

    python -m tests.personaplex.batched_convolution MODEL_DIR ARCHITECTURE_JSON

For every convolution of the tiny Mimi, rows of random input go through it one at a time (what
upstream runs for one conversation) and all together after :func:`batch_rows`. It prints one
JSON object: per layer and batch size, the largest difference from the one-row outputs and
whether they are the same bit for bit; and how many layers ``batch_rows`` changed.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import torch
from moshi.models import loaders
from moshi.modules.streaming import RawStreamingConv1d

from scenario6.backend import architecture
from scenario6.backend.batched.convolution import batch_rows
from scenario6.backend.model_folder import MIMI_WEIGHTS

ROWS = (2, 8, 16)
STEPS = 6  # outputs per row


def main(folder: Path, sizes: Path) -> int:
    architecture.apply(architecture.load(str(sizes)))
    torch.set_num_threads(1)
    mimi = loaders.get_mimi(str(folder / MIMI_WEIGHTS), "cpu")
    convolutions = [(n, m) for n, m in mimi.named_modules() if isinstance(m, RawStreamingConv1d)]
    generator = torch.Generator().manual_seed(5)
    inputs = {}
    alone = {}
    with torch.no_grad():
        for name, conv in convolutions:
            width = (STEPS - 1) * conv.stride[0] + (conv.kernel_size[0] - 1) * conv.dilation[0] + 1
            x = torch.randn(max(ROWS), conv.in_channels, width, generator=generator)
            inputs[name] = x
            alone[name] = torch.cat([conv(x[row : row + 1]) for row in range(len(x))])
        changed = batch_rows(mimi)
        layers = []
        for name, conv in convolutions:
            for rows in ROWS:
                together = conv(inputs[name][:rows])
                reference = alone[name][:rows]
                layers.append(
                    {
                        "layer": name,
                        "rows": rows,
                        "shape_ok": together.shape == reference.shape,
                        "max_difference": float((together - reference).abs().max()),
                        "scale": float(reference.abs().max()),
                        "identical": torch.equal(together, reference),
                    }
                )
    json.dump({"convolutions": len(convolutions), "changed": changed, "layers": layers}, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]), Path(sys.argv[2])))
