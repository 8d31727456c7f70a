"""A character-level language model of Python source code, trained on Python's own standard
library: a small Transformer (GPT-style: causal self-attention, pre-norm) or, with ``--lstm``,
a two-layer LSTM learns to predict each next character, then writes code of its own.

    python examples/char_model.py                 # Transformer: about 2 minutes on 2 cores
    python examples/char_model.py --lstm          # the LSTM instead
    python examples/char_model.py --tiny          # a few seconds: only shows that it runs

The text is the source of a few standard-library modules, read at run time from this Python's
own installation (nothing is downloaded); whole files go to training or to validation, so the
validation loss measures code the model never saw. The model is scored in bits per character
(the loss in nats / ln 2) against the unigram baseline: the entropy of the training text's
character frequencies, what a model that ignores the context can do at best. It is saved
(safetensors) and reloaded, and the reloaded model continues a prompt.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import sys
import time
from pathlib import Path

import numpy as np

import autonet as an
from autonet import nn

F = nn.functional
TRAIN_MODULES = [
    "argparse", "textwrap", "string", "shlex", "fnmatch", "glob", "bisect", "heapq", "fractions",
    "statistics", "difflib", "calendar", "functools", "dataclasses", "configparser", "shutil",
    "pprint", "random", "traceback", "contextlib",
]  # fmt: skip
VALIDATION_MODULES = ["csv", "colorsys", "graphlib"]


def read_sources(names: list[str]) -> str:
    """The source files of standard-library modules, one after another."""
    texts = []
    for name in names:
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.origin and spec.origin.endswith(".py"):
            texts.append(Path(spec.origin).read_text(encoding="utf-8"))
    return "\n".join(texts)


class Vocabulary:
    """The characters of the training text, each with an index; index 0 stands for any
    character the training text does not have."""

    def __init__(self, chars: str) -> None:
        self.chars = "\0" + "".join(sorted(set(chars) - {"\0"}))
        self.index = {c: i for i, c in enumerate(self.chars)}

    def __len__(self) -> int:
        return len(self.chars)

    def encode(self, text: str) -> np.ndarray:
        return np.array([self.index.get(c, 0) for c in text], dtype=np.int64)

    def decode(self, indices: list[int]) -> str:
        return "".join(self.chars[i] for i in indices)


def windows(ids: np.ndarray, context: int, limit: int | None = None) -> tuple[an.Tensor, ...]:
    """Inputs (M, context) and targets (M, context): consecutive stretches of the text and the
    same stretches one character later."""
    count = (len(ids) - 1) // context
    if limit is not None:
        count = min(count, limit)
    x = ids[: count * context].reshape(count, context)
    y = ids[1 : count * context + 1].reshape(count, context)
    return an.tensor(x), an.tensor(y)


class TransformerLM(nn.Module):
    """Token and position embeddings, pre-norm Transformer blocks with causal self-attention,
    a final LayerNorm and a linear read-out to one logit per character."""

    def __init__(self, vocab: int, context: int, width: int = 64, heads: int = 4,
                 layers: int = 2) -> None:  # fmt: skip
        super().__init__()
        self.context = context
        self.embed = nn.Embedding(vocab, width)
        self.position = nn.Embedding(context, width)
        block = nn.TransformerEncoderLayer(width, heads, dim_feedforward=4 * width, dropout=0.0,
                                           activation="relu", batch_first=True,
                                           norm_first=True)  # fmt: skip
        self.blocks = nn.TransformerEncoder(block, layers, norm=nn.LayerNorm(width))
        self.head = nn.Linear(width, vocab)

    def forward(self, ids: an.Tensor) -> an.Tensor:
        positions = an.arange(ids.shape[1])
        x = self.embed(ids) + self.position(positions)  # (B, T, C)
        x = self.blocks(x, is_causal=True)  # each position sees itself and what came before
        return self.head(x)  # (B, T, vocab)


class LSTMLM(nn.Module):
    """Character embeddings, a two-layer LSTM and a linear read-out."""

    def __init__(self, vocab: int, context: int, width: int = 128, layers: int = 2) -> None:
        super().__init__()
        self.context = context
        self.embed = nn.Embedding(vocab, 32)
        self.lstm = nn.LSTM(32, width, num_layers=layers, batch_first=True)
        self.head = nn.Linear(width, vocab)

    def forward(self, ids: an.Tensor) -> an.Tensor:
        out, _ = self.lstm(self.embed(ids))  # (B, T, width)
        return self.head(out)  # (B, T, vocab)


def next_character_loss(logits: an.Tensor, targets: an.Tensor) -> an.Tensor:
    """Cross-entropy of every position's prediction of the next character (in nats)."""
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1))


def bits_per_char(logits: an.Tensor, targets: an.Tensor) -> float:
    """The same loss in bits: how many bits per character the model would need to encode the
    text."""
    return next_character_loss(logits, targets).item() / math.log(2)


def unigram_bits(train: np.ndarray, validation: np.ndarray, vocab: int) -> float:
    """Bits per character of the validation text under the training text's character
    frequencies (add-one smoothed): the best a model can do without looking at context."""
    counts = np.bincount(train, minlength=vocab) + 1.0
    p = counts / counts.sum()
    return float(-np.log2(p[validation]).mean())


def sample(model: nn.Module, vocab: Vocabulary, prompt: str, length: int,
           temperature: float = 0.8, seed: int = 0) -> str:  # fmt: skip
    """Continue ``prompt`` by ``length`` characters, each drawn from the model's predicted
    distribution (sharpened by ``temperature`` < 1), looking at the last ``context``."""
    rng = np.random.default_rng(seed)
    ids = list(vocab.encode(prompt))
    model.eval()
    with an.no_grad():
        for _ in range(length):
            window = an.tensor([ids[-model.context :]])
            logits = model(window)[0, -1].numpy().astype(np.float64) / temperature
            p = np.exp(logits - logits.max())
            ids.append(int(rng.choice(len(p), p=p / p.sum())))
    return vocab.decode(ids)


def main(args: argparse.Namespace) -> dict[str, float]:
    an.manual_seed(args.seed)
    vocab_text = read_sources(TRAIN_MODULES)
    val_text = read_sources(VALIDATION_MODULES)
    if args.tiny:
        vocab_text, val_text = vocab_text[:6000], val_text[:2000]
    vocab = Vocabulary(vocab_text)
    train_ids, val_ids = vocab.encode(vocab_text), vocab.encode(val_text)
    print(f"text: {len(train_ids):,} training characters ({', '.join(TRAIN_MODULES)}), "
          f"{len(val_ids):,} validation ({', '.join(VALIDATION_MODULES)}); "
          f"{len(vocab)} distinct")  # fmt: skip
    if args.lstm:
        model = LSTMLM(len(vocab), args.context, width=args.width or 128)
    else:
        model = TransformerLM(len(vocab), args.context, width=args.width or 64)
    print(f"{type(model).__name__}: {model.num_parameters():,} parameters")
    baseline = unigram_bits(train_ids, val_ids, len(vocab))
    print(f"unigram baseline: {baseline:.3f} bits/char on the validation text")

    train = windows(train_ids, args.context)
    validation = windows(val_ids, args.context, limit=args.val_windows)
    optimizer = an.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.01)
    scheduler = an.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=args.epochs)
    start = time.perf_counter()
    history = an.train.fit(
        model, train, loss=next_character_loss, optimizer=optimizer, epochs=args.epochs,
        batch_size=args.batch_size, validation_data=validation, metrics=[bits_per_char],
        scheduler=scheduler, verbose=True,
    )  # fmt: skip
    seconds = time.perf_counter() - start
    for epoch, bits in enumerate(history["val_bits_per_char"], 1):
        print(f"epoch {epoch}: validation {bits:.3f} bits/char")
    final = history["val_bits_per_char"][-1]
    print(f"trained {args.epochs} epochs in {seconds:.0f} s: validation {final:.3f} bits/char "
          f"against the unigram baseline's {baseline:.3f}")  # fmt: skip

    path = Path(args.out)
    config = {"kind": type(model).__name__, "vocab": vocab.chars, "context": args.context,
              "width": args.width or (128 if args.lstm else 64)}  # fmt: skip
    an.save(model.state_dict(), path, metadata={"char_model": json.dumps(config)})
    reloaded = load_model(path)
    print(f"saved to {path} and reloaded; it continues {args.prompt!r}:\n")
    print(sample(reloaded, Vocabulary(config["vocab"]), args.prompt, args.sample_length))
    return {"val_bits": final, "baseline": baseline, "seconds": seconds}


def load_model(path: Path) -> nn.Module:
    """A model saved by this example, rebuilt from the configuration in its metadata."""
    config = json.loads(an.io.read_metadata(path)["char_model"])
    kind = LSTMLM if config["kind"] == "LSTMLM" else TransformerLM
    model = kind(len(config["vocab"]), config["context"], width=config["width"])
    model.load_state_dict(an.load(path))
    return model


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lstm", action="store_true", help="an LSTM instead of a Transformer")
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--context", type=int, default=None, help="characters per window")
    parser.add_argument("--width", type=int, default=None, help="model width")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=None)
    parser.add_argument("--val-windows", type=int, default=200)
    parser.add_argument("--prompt", default="def ")
    parser.add_argument("--sample-length", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="char_model.safetensors")
    parser.add_argument("--tiny", action="store_true", help="a few seconds on a little text")
    args = parser.parse_args(argv)
    defaults = {"epochs": 8, "context": 64, "lr": 3e-3}
    if args.lstm:
        defaults = {"epochs": 5, "context": 64, "lr": 5e-3}
    if args.tiny:
        defaults = {"epochs": 2, "context": 16, "lr": 1e-2}
        args.width = args.width or 16
        args.sample_length = min(args.sample_length, 40)
    for key, value in defaults.items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    return args


if __name__ == "__main__":
    results = main(parse())
    sys.exit(0 if results["val_bits"] < results["baseline"] else 1)
