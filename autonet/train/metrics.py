"""Metrics: numbers that say how well predictions match targets (computed without gradient).

A metric is any callable ``metric(predictions, targets) -> float``; ``fit`` and ``evaluate``
also take these names: ``"accuracy"``, ``"mae"``, ``"mse"``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from autonet.engine.tensor import Tensor

Metric = Callable[[Tensor, Tensor], float]


def _array(t: Any) -> np.ndarray:
    return t.data if isinstance(t, Tensor) else np.asarray(t)


def accuracy(predictions: Any, targets: Any, threshold: float = 0.5) -> float:
    """The fraction of correct predictions.

    With several outputs per sample (N, C) the predicted class is the argmax, compared with
    class indices (N,) or with the argmax of one-hot/probability targets (N, C). With one
    output per sample (N,) or (N, 1) it is a binary decision: class 1 where the prediction is
    at least ``threshold`` (0.5 for probabilities; use 0.0 for logits).

    >>> import autonet as an
    >>> an.train.accuracy(an.tensor([[0.1, 0.9], [0.8, 0.2]]), an.tensor([1, 1]))
    0.5
    >>> an.train.accuracy(an.tensor([[0.7], [0.2]]), an.tensor([[1.0], [0.0]]))
    1.0
    """
    p, t = _array(predictions), _array(targets)
    if p.ndim >= 2 and p.shape[-1] > 1:
        predicted = p.argmax(axis=-1)
        truth = t.argmax(axis=-1) if t.shape == p.shape else t
    else:
        predicted = (p.reshape(-1) >= threshold).astype(np.int64)
        truth = t.reshape(-1).round().astype(np.int64)
    if predicted.size != truth.size:
        raise ValueError(
            f"accuracy: predictions of shape {p.shape} do not match targets of shape {t.shape}"
        )
    truth = truth.reshape(predicted.shape)
    return float((predicted == truth).mean()) if predicted.size else 0.0


def mean_absolute_error(predictions: Any, targets: Any) -> float:
    """mean |prediction - target|.

    >>> import autonet as an
    >>> an.train.mean_absolute_error(an.tensor([1.0, 3.0]), an.tensor([2.0, 3.0]))
    0.5
    """
    d = _array(predictions) - _array(targets).reshape(np.shape(predictions))
    return float(np.abs(d).mean())


def mean_squared_error(predictions: Any, targets: Any) -> float:
    """mean (prediction - target)².

    >>> import autonet as an
    >>> an.train.mean_squared_error(an.tensor([1.0, 3.0]), an.tensor([2.0, 3.0]))
    0.5
    """
    d = _array(predictions) - _array(targets).reshape(np.shape(predictions))
    return float((d * d).mean())


METRICS: dict[str, Metric] = {
    "accuracy": accuracy,
    "acc": accuracy,
    "mae": mean_absolute_error,
    "mse": mean_squared_error,
}


def get_metric(metric: str | Metric) -> tuple[str, Metric]:
    """``(name, function)`` for a metric name or callable."""
    if callable(metric):
        return getattr(metric, "__name__", "metric"), metric
    fn = METRICS.get(metric)
    if fn is None:
        raise ValueError(f"unknown metric {metric!r}; valid names: {', '.join(sorted(METRICS))}")
    return ("accuracy" if fn is accuracy else metric), fn
