"""History: what ``fit`` measured, epoch by epoch."""

from __future__ import annotations

import math
from typing import Any


class History:
    """Per-epoch values by name: ``"loss"``, each metric (``"accuracy"``), and with validation
    data ``"val_loss"``, ``"val_accuracy"``, ...; also ``"lr"`` (the first group's learning rate).

    >>> h = History()
    >>> h.append({"loss": 0.9, "val_loss": 1.0}); h.append({"loss": 0.5, "val_loss": 0.7})
    >>> h["loss"], h.epochs, h.best("val_loss")
    ([0.9, 0.5], 2, (1, 0.7))
    """

    def __init__(self) -> None:
        self.history: dict[str, list[float]] = {}

    def append(self, logs: dict[str, float]) -> None:
        for key, value in logs.items():
            self.history.setdefault(key, []).append(float(value))

    @property
    def epochs(self) -> int:
        return max((len(v) for v in self.history.values()), default=0)

    def __getitem__(self, key: str) -> list[float]:
        if key not in self.history:
            raise KeyError(f"History has no {key!r}; it has {', '.join(self.history) or 'nothing'}")
        return self.history[key]

    def __contains__(self, key: object) -> bool:
        return key in self.history

    def keys(self) -> Any:
        return self.history.keys()

    def __iter__(self) -> Any:
        return iter(self.history)

    def best(self, key: str, mode: str = "auto") -> tuple[int, float]:
        """(epoch index, value) of the best epoch for ``key``: the lowest for losses and errors,
        the highest for accuracies (``mode="min"``/``"max"`` to say otherwise)."""
        values = self[key]
        lower = lower_is_better(key) if mode == "auto" else mode == "min"
        finite = [(i, v) for i, v in enumerate(values) if not math.isnan(v)]
        return (min if lower else max)(finite, key=lambda iv: iv[1])

    def __repr__(self) -> str:
        last = ", ".join(f"{k}={v[-1]:.4g}" for k, v in self.history.items() if v)
        return f"History(epochs={self.epochs}, {last})"


def lower_is_better(key: str) -> bool:
    """Whether a smaller value of the metric ``key`` is better (a loss), as opposed to an
    accuracy, AUC, precision, recall or F1."""
    return not any(word in key for word in ("acc", "auc", "precision", "recall", "f1"))
