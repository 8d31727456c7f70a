"""Callbacks: code that ``fit`` runs at the start, after every epoch, and at the end.

Subclass :class:`Callback` and override what you need; each method gets the
:class:`TrainingState` (model, optimizer, history, epoch, this epoch's ``logs``) and may set
``state.stop_training = True``.
"""

from __future__ import annotations

import math
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from autonet.io.serialization import check_save_target
from autonet.train.history import lower_is_better

if TYPE_CHECKING:
    from autonet.train.loop import TrainingState


class Callback:
    """Base class: every hook does nothing."""

    def on_train_begin(self, state: TrainingState) -> None:
        pass

    def on_epoch_end(self, state: TrainingState) -> None:
        pass

    def on_train_end(self, state: TrainingState) -> None:
        pass


class _Monitor(Callback):
    """Tracks the best value of one logged quantity."""

    def __init__(self, monitor: str, mode: str, min_delta: float = 0.0) -> None:
        if mode not in ("auto", "min", "max"):
            raise ValueError(f"{type(self).__name__}: mode must be 'auto', 'min' or 'max'")
        self.monitor = monitor
        self.lower = lower_is_better(monitor) if mode == "auto" else mode == "min"
        self.min_delta = abs(min_delta)
        self.best = math.inf if self.lower else -math.inf
        self.best_epoch = -1

    def _value(self, state: TrainingState) -> float:
        if self.monitor not in state.logs:
            raise KeyError(
                f"{type(self).__name__}: {self.monitor!r} was not measured (measured: "
                f"{', '.join(state.logs)}); pass validation_data to fit, or monitor='loss'"
            )
        return state.logs[self.monitor]

    def _improved(self, value: float) -> bool:
        if self.lower:
            return value < self.best - self.min_delta
        return value > self.best + self.min_delta


class EarlyStopping(_Monitor):
    """Stop when ``monitor`` has not improved by more than ``min_delta`` for ``patience``
    epochs; ``restore_best_weights=True`` puts back the weights of the best epoch.

    >>> stop = EarlyStopping(monitor="val_loss", patience=3)
    """

    def __init__(self, monitor: str = "val_loss", patience: int = 5, min_delta: float = 0.0,
                 mode: str = "auto", restore_best_weights: bool = False) -> None:  # fmt: skip
        super().__init__(monitor, mode, min_delta)
        self.patience = patience
        self.restore_best_weights = restore_best_weights
        self.wait = 0
        self.stopped_epoch: int | None = None
        self._best_weights: dict[str, np.ndarray] | None = None

    def on_train_begin(self, state: TrainingState) -> None:
        self.best = math.inf if self.lower else -math.inf
        self.wait = 0
        self.stopped_epoch = None

    def on_epoch_end(self, state: TrainingState) -> None:
        value = self._value(state)
        if self._improved(value):
            self.best, self.best_epoch, self.wait = value, state.epoch, 0
            if self.restore_best_weights:
                self._best_weights = {
                    k: v.numpy().copy() for k, v in state.model.state_dict().items()
                }
            return
        self.wait += 1
        if self.wait >= self.patience:
            state.stop_training = True
            self.stopped_epoch = state.epoch

    def on_train_end(self, state: TrainingState) -> None:
        if self.restore_best_weights and self._best_weights is not None:
            state.model.load_state_dict(self._best_weights)


class ModelCheckpoint(_Monitor):
    """Save the model's ``state_dict`` to ``path`` (safetensors, written atomically) whenever
    ``monitor`` improves — or after every epoch with ``save_best_only=False``.

    >>> checkpoint = ModelCheckpoint("best.safetensors", monitor="val_accuracy")
    """

    def __init__(self, path: str | Path, monitor: str = "val_loss", mode: str = "auto",
                 save_best_only: bool = True) -> None:  # fmt: skip
        super().__init__(monitor, mode)
        self.path = Path(path)
        self.save_best_only = save_best_only

    def on_train_begin(self, state: TrainingState) -> None:
        """Check that ``path`` can be written before any epoch runs, rather than fail after
        the first one."""
        _check_writable(self.path, "ModelCheckpoint")

    def on_epoch_end(self, state: TrainingState) -> None:
        from autonet.io import save

        value = self._value(state) if self.save_best_only else None
        if not self.save_best_only or self._improved(value):
            if value is not None:
                self.best, self.best_epoch = value, state.epoch
            save(state.model.state_dict(), self.path, metadata={"epoch": str(state.epoch)})


def _check_writable(path: Path, op: str) -> None:
    """Raise the error a save to ``path`` would meet: that of :func:`check_save_target`, or
    its folder cannot be written to (tried with an empty file, removed at once)."""
    real, _ = check_save_target(path, op)
    folder = os.path.dirname(real)
    try:
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as e:
        raise PermissionError(
            e.errno, f"{op}: cannot write in the folder ({e.strerror})", str(folder)
        ) from None


class TerminateOnNaN(Callback):
    """Stop training at the first batch whose loss is NaN or infinite, before that batch
    changes the weights, and return the history so far (Keras's ``TerminateOnNaN``). It is
    ``fit(..., on_nan="stop")`` as a callback: without it, ``fit`` raises an error there.

    >>> import math
    >>> import autonet as an
    >>> X, y = an.ones(4, 1), an.tensor([[1.0], [math.nan], [1.0], [1.0]])
    >>> history = an.train.fit(an.nn.Linear(1, 1), (X, y), "mse", epochs=5, batch_size=2,
    ...                        shuffle=False, callbacks=[TerminateOnNaN()], verbose=False)
    >>> history.epochs      # (and on standard error: fit: the loss is nan at epoch 1/5, ...)
    1
    """

    def on_train_begin(self, state: TrainingState) -> None:
        state.on_nan = "stop"


class LambdaCallback(Callback):
    """A callback from plain functions: ``LambdaCallback(on_epoch_end=lambda s: print(s.logs))``."""

    def __init__(self, on_train_begin: Any = None, on_epoch_end: Any = None,
                 on_train_end: Any = None) -> None:  # fmt: skip
        self._hooks = {"begin": on_train_begin, "epoch": on_epoch_end, "end": on_train_end}

    def on_train_begin(self, state: TrainingState) -> None:
        if self._hooks["begin"]:
            self._hooks["begin"](state)

    def on_epoch_end(self, state: TrainingState) -> None:
        if self._hooks["epoch"]:
            self._hooks["epoch"](state)

    def on_train_end(self, state: TrainingState) -> None:
        if self._hooks["end"]:
            self._hooks["end"](state)
