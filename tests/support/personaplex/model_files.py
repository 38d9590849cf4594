"""Writes a tiny random PersonaPlex model's files; run by the server's own interpreter.

    <venv>/bin/python model_files.py OUT_DIR [--seed N]

Test support only: the weights are random, so the model says nothing meaningful, but every
file is one the unchanged loaders and server accept. The modules are built by the fork's own
loaders after the architecture is shrunk to ``TINY``, so every key they expect is there.
Needs ``scenario6`` on ``PYTHONPATH`` for the architecture.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import random
from collections.abc import Iterator
from pathlib import Path

import sentencepiece
import torch
from moshi.models import loaders
from safetensors.torch import save_file, save_model

from scenario6.backend import architecture
from scenario6.protocol.voices import VOICES, voice_file

# Length of each voice prompt: 1 s of audio frames (a real one lasts several seconds; this
# keeps the prompt phase short while still replaying stored embeddings).
VOICE_FRAMES = 13

# Words the tokenizer learns its pieces from.
CORPUS = """
you are a helpful friendly assistant who enjoys conversation about travel food music science
history weather sports books films cooking gardening technology computers phones trains planes
your name is jane john alex sam maria wei kenji ana the and of to in that it with as for on
was at by be this have from or one had not but what all were when we there can an which their
said if do will each about how up out them then she many some so these would other into has
more her two like him see time could no make than first been its who now people my made over
did down only way find use may water long little very after word called just where most know
get through back much before go good new write our used me man too any day same right look
think also around another came come work three must because does part even place well such
here take why help put different away again off went old number great tell men say small
every found still between name should home big give air line set own under read last never us
left end along while might next sound below saw something thought both few those always show
large often together asked house don't world going want school important until form food
keep children feet land side without boy once animal life enough took four head above kind
began almost live page got earth need far hand high year mother light country father let
night picture being study second soon story since white ever paper hard near sentence better
best across during today however sure knew it's try told young sun thing whole hear example
heard several change answer room sea against top turned learn point city play toward five
himself usually money seen didn't car morning i'm body upon family later turn move face door
cut done group true leave color red friend pretty eat front feel fact hour rock open ground
system prompt voice audio speak listen quiet loud hello goodbye please thank question
"""


def _sentences(rng: random.Random, count: int) -> Iterator[str]:
    words = CORPUS.split()
    for _ in range(count):
        yield " ".join(rng.choice(words) for _ in range(rng.randint(4, 14)))
    yield "<system> You enjoy having a good conversation. <system>"


def write_tokenizer(path: Path, seed: int) -> int:
    model = io.BytesIO()
    sentencepiece.SentencePieceTrainer.train(
        sentence_iterator=_sentences(random.Random(seed), 2000),
        model_writer=model,
        vocab_size=architecture.TINY_TEXT_CARD,
        model_type="bpe",
        character_coverage=1.0,
        unk_id=0,
        bos_id=1,
        eos_id=2,
        pad_id=3,
        num_threads=1,
        minloglevel=2,
    )
    path.write_bytes(model.getvalue())
    size = sentencepiece.SentencePieceProcessor(model_file=str(path)).vocab_size()
    if size != architecture.TINY_TEXT_CARD:
        raise RuntimeError(
            f"the tokenizer has {size} pieces, the LM expects exactly {architecture.TINY_TEXT_CARD}"
        )
    return int(size)


@contextlib.contextmanager
def _random_weights() -> Iterator[None]:
    """``get_mimi`` always loads a checkpoint; skipping that leaves its random initialisation."""
    original = loaders.load_model
    loaders.load_model = lambda *_args, **_kwargs: None
    try:
        yield
    finally:
        loaders.load_model = original


def write_mimi(path: Path) -> None:
    with _random_weights():
        mimi = loaders.get_mimi(path.with_suffix(".safetensors"), "cpu")
    save_model(mimi, str(path))


def write_lm(path: Path) -> None:
    lm = loaders.get_moshi_lm(None, device="cpu", dtype=torch.bfloat16)
    # Every key stored on its own: the loader fills keys it does not find with nothing.
    state = {name: tensor.detach().clone().contiguous() for name, tensor in lm.state_dict().items()}
    save_file(state, str(path))


def write_voices(folder: Path, generator: torch.Generator) -> None:
    """Stored voice prompts, the format ``LMGen`` saves: replayed embeddings and the token cache."""
    folder.mkdir()
    dim = loaders._lm_kwargs["dim"]
    streams = loaders._lm_kwargs["n_q"] + 1
    width = max(loaders._lm_kwargs["delays"]) + 3
    padding = loaders._lm_kwargs["existing_text_padding_id"]
    card = loaders._lm_kwargs["card"]
    for name in VOICES:
        embeddings = torch.randn(VOICE_FRAMES, 1, 1, dim, generator=generator)
        cache = torch.randint(0, card, (1, streams, width), generator=generator)
        cache[:, 0] = padding
        torch.save(
            {"embeddings": embeddings.to(torch.bfloat16), "cache": cache},
            folder / voice_file(name),
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    architecture.apply(architecture.TINY)
    torch.manual_seed(args.seed)
    generator = torch.Generator().manual_seed(args.seed)
    torch.set_num_threads(1)
    write_tokenizer(out / loaders.TEXT_TOKENIZER_NAME, args.seed)
    write_mimi(out / loaders.MIMI_NAME)
    write_lm(out / loaders.MOSHI_NAME)
    write_voices(out / "voices", generator)
    architecture.dump(out / architecture.FILENAME, architecture.TINY)


if __name__ == "__main__":
    with torch.no_grad():
        main()
