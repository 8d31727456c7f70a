"""What ``fit`` shows while it trains, on standard error.

Keras's habit (``verbose=2``): one readable line per epoch, written when the epoch ends, with
its loss and metrics, validation ones included, wrapped to the terminal's width::

    Epoch 3/60 loss=0.4123 accuracy=0.8800 val_loss=0.5012 val_accuracy=0.8500 250ms

While an epoch runs, a bar (tqdm's, when it is installed) shows the batches done and the
running loss; it is erased when the epoch's line is written, so a fit of 60 epochs leaves 60
lines, not 60 bars.
"""

from __future__ import annotations

import math
import shutil
import sys
import time
from typing import Any


def should_show(verbose: bool | str) -> bool:
    """``verbose="auto"`` shows progress only when standard error is a terminal."""
    if verbose == "auto":
        return bool(getattr(sys.stderr, "isatty", lambda: False)())
    return bool(verbose)


def number(value: float) -> str:
    """A logged value in at most 10 characters: 4 decimals, or 4 significant digits for the
    very large and the very small.

    >>> number(0.41234), number(12.5), number(3e-7), number(123456.0), number(float("nan"))
    ('0.4123', '12.5000', '3e-07', '1.235e+05', 'nan')
    """
    if not math.isfinite(value) or value == 0 or 1e-4 <= abs(value) < 1e5:
        return f"{value:.4f}" if math.isfinite(value) else str(value)
    return f"{value:.4g}"


def epoch_line(label: str, logs: dict[str, float], seconds: float | None = None,
               width: int = 80) -> str:  # fmt: skip
    """The summary of one epoch: ``label``, then ``name=value`` for each logged quantity but
    the learning rate, then the time it took; lines wrap at ``width`` columns, continuation
    lines indented under the first value.

    >>> logs = {"loss": 0.41234, "accuracy": 0.88, "val_loss": 0.5012, "val_accuracy": 0.85}
    >>> print(epoch_line("Epoch 3/60", {**logs, "lr": 0.001}, 0.25))
    Epoch 3/60 loss=0.4123 accuracy=0.8800 val_loss=0.5012 val_accuracy=0.8500 250ms
    >>> print(epoch_line("Epoch 3/60", {**logs, "val_mae": 1.5}, 0.25, width=50))
    Epoch 3/60 loss=0.4123 accuracy=0.8800
               val_loss=0.5012 val_accuracy=0.8500
               val_mae=1.5000 250ms
    """
    items = [f"{k}={number(v)}" for k, v in logs.items() if k != "lr"]
    if seconds is not None:
        items.append(f"{seconds:.1f}s" if seconds >= 1 else f"{seconds * 1000:.0f}ms")
    indent = " " * (len(label) + 1)
    lines, line = [], label
    for item in items:
        if len(line) + 1 + len(item) > width and line.strip():
            lines.append(line)
            line = indent + item
        else:
            line = f"{line} {item}"
    lines.append(line)
    return "\n".join(lines)


class Progress:
    """The lines and bars of one ``fit`` (nothing at all when ``show`` is false, but for the
    messages of :meth:`message`)."""

    def __init__(self, show: bool, epochs: int, batches: int) -> None:
        self.show = show
        self.epochs = epochs
        self.batches = batches
        self.bar: Any = None
        self.label = ""
        self.started = 0.0

    def start_epoch(self, epoch: int) -> None:
        self.label = f"Epoch {epoch + 1}/{self.epochs}"
        self.started = time.perf_counter()
        if not self.show:
            return
        try:
            from tqdm.auto import tqdm
        except ImportError:
            return
        # NOTE: the bar holds the epoch, the batches and the running loss, which leaves it
        # about 35 columns at a width of 80; the metrics go to the epoch's line.
        self.bar = tqdm(
            total=self.batches, desc=self.label, leave=False, file=sys.stderr,
            ncols=_width(), dynamic_ncols=_is_terminal(sys.stderr),
            bar_format="{desc} {bar} {n_fmt}/{total_fmt} [{elapsed}<{remaining}{postfix}]",
        )  # fmt: skip

    def update(self, loss: float) -> None:
        """After a training step: the running mean of the epoch's loss."""
        if self.bar is not None:
            self.bar.set_postfix_str(f"loss={number(loss)}", refresh=False)
            self.bar.update(1)

    def end_epoch(self, logs: dict[str, float]) -> None:
        """The epoch's line (the bar, erased, makes way for it)."""
        self._close_bar()
        if self.show:
            seconds = time.perf_counter() - self.started
            print(epoch_line(self.label, logs, seconds, _width()), file=sys.stderr, flush=True)

    def message(self, text: str) -> None:
        """Something the user must see (training stopped, interrupted), shown in any case."""
        self._close_bar()
        print(text, file=sys.stderr, flush=True)

    def close(self) -> None:
        self._close_bar()

    def _close_bar(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def _width() -> int:
    """The terminal's width (the ``COLUMNS`` variable, else the terminal's; 80 otherwise)."""
    return shutil.get_terminal_size((80, 24)).columns


def _is_terminal(stream: Any) -> bool:
    return bool(getattr(stream, "isatty", lambda: False)())
