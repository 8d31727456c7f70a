"""Loss functions, written as forward code over engine operations (their gradients come from
the engine). Each takes ``reduction="mean" | "sum" | "none"``.

The ones on logits (``cross_entropy``, ``binary_cross_entropy_with_logits``) go through
``log_softmax`` and ``softplus``, so logits of ±1e4 give finite losses and gradients.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from autonet.engine.hooks import composite
from autonet.engine.ops import log_softmax, maximum, softmax_cross_entropy, softplus, where
from autonet.engine.tensor import Tensor, as_tensor

__all__ = [
    "binary_cross_entropy", "binary_cross_entropy_with_logits", "cross_entropy", "huber_loss",
    "l1_loss", "mse_loss", "nll_loss",
]  # fmt: skip


def _reduce(op: str, loss: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    if reduction == "none":
        return loss
    raise ValueError(f"{op}: reduction must be 'mean', 'sum' or 'none', not {reduction!r}")


def _same_shape(op: str, input: Tensor, target: Tensor) -> None:
    # NOTE: broadcasting (N, 1) against (N,) would silently compare every prediction with every
    # target; PyTorch warns, autonet refuses.
    if input.shape != target.shape:
        raise ValueError(
            f"{op}: input shape {input.shape} and target shape {target.shape} differ; reshape one "
            "of them (e.g. target.reshape(input.shape))"
        )


def _pair(op: str, input: Any, target: Any) -> tuple[Tensor, Tensor]:
    input = as_tensor(input)
    target = as_tensor(target)
    if target.dtype.kind != "f":
        target = target.astype(input.dtype)
    _same_shape(op, input, target)
    return input, target


@composite("mse_loss")
def mse_loss(input: Any, target: Any, reduction: str = "mean") -> Tensor:
    """Mean squared error: mean of (input - target)².

    >>> import autonet as an
    >>> an.nn.functional.mse_loss(an.tensor([1.0, 2.0]), an.tensor([1.0, 4.0]))
    tensor(2.)
    """
    input, target = _pair("mse_loss", input, target)
    d = input - target
    return _reduce("mse_loss", d * d, reduction)


@composite("l1_loss")
def l1_loss(input: Any, target: Any, reduction: str = "mean") -> Tensor:
    """Mean absolute error: mean of |input - target|.

    >>> import autonet as an
    >>> an.nn.functional.l1_loss(an.tensor([1.0, 2.0]), an.tensor([1.0, 4.0]))
    tensor(1.)
    """
    input, target = _pair("l1_loss", input, target)
    return _reduce("l1_loss", (input - target).abs(), reduction)


@composite("huber_loss")
def huber_loss(input: Any, target: Any, reduction: str = "mean", delta: float = 1.0) -> Tensor:
    """½d² where |d| < delta, else delta·(|d| - ½delta), with d = input - target: quadratic near
    zero, linear (robust to outliers) beyond.

    >>> import autonet as an
    >>> an.nn.functional.huber_loss(an.tensor([0.5, 3.0]), an.zeros(2), reduction="none")
    tensor([0.125, 2.5  ])
    """
    input, target = _pair("huber_loss", input, target)
    d = input - target
    a = d.abs()
    return _reduce(
        "huber_loss", where(a < delta, 0.5 * d * d, delta * (a - 0.5 * delta)), reduction
    )


def _log_clamped(p: Tensor) -> Tensor:
    """ln p, never below -100 (PyTorch's rule for binary cross-entropy), with finite gradients.

    NOTE: ln is taken of p raised to the smallest normal float, so that ln p and its derivative
    1/p stay finite even at p = 0 (which is given -100 directly); where a clamp acts the
    gradient is 0. A NaN stays NaN (a loss of NaN, which ``fit`` reports), not -100.
    """
    tiny = float(np.finfo(p.dtype).tiny)
    return maximum(where(p <= 0, -100.0, p.clip(min=tiny).log()), -100.0)


@composite("binary_cross_entropy")
def binary_cross_entropy(
    input: Any, target: Any, weight: Any = None, reduction: str = "mean"
) -> Tensor:
    """-[t·ln p + (1 - t)·ln(1 - p)] for probabilities p (the output of a sigmoid) and targets t
    in [0, 1]; each logarithm is clamped at -100 as in PyTorch. Prefer
    ``binary_cross_entropy_with_logits`` on the sigmoid's input: it is exact for any logit.

    >>> import autonet as an
    >>> an.nn.functional.binary_cross_entropy(an.tensor([0.5, 0.9]), an.tensor([1.0, 1.0]))
    tensor(0.3993)
    """
    input, target = _pair("binary_cross_entropy", input, target)
    p = input.data
    outside = (p < 0) | (p > 1)  # (NaN is neither: it gives a NaN loss, as any NaN does)
    if outside.any():
        raise ValueError(
            f"binary_cross_entropy: the input holds {float(p[outside][0]):g}, but it must hold "
            "probabilities in [0, 1] (the output of a sigmoid); for scores (logits) use "
            "binary_cross_entropy_with_logits"
        )
    loss = -(target * _log_clamped(input) + (1 - target) * _log_clamped(1 - input))
    if weight is not None:
        loss = loss * weight
    return _reduce("binary_cross_entropy", loss, reduction)


@composite("binary_cross_entropy_with_logits")
def binary_cross_entropy_with_logits(
    input: Any, target: Any, weight: Any = None, reduction: str = "mean", pos_weight: Any = None
) -> Tensor:
    """Binary cross-entropy of σ(x) against t, computed from the logit x:
    pos_weight·t·softplus(-x) + (1 - t)·softplus(x), since -ln σ(x) = softplus(-x) and
    -ln(1 - σ(x)) = softplus(x). Exact and finite for any x.

    >>> import autonet as an
    >>> F = an.nn.functional
    >>> F.binary_cross_entropy_with_logits(an.tensor([1e4, -1e4]), an.tensor([1.0, 1.0]))
    tensor(5000.)
    """
    input, target = _pair("binary_cross_entropy_with_logits", input, target)
    positive = softplus(-input)
    if pos_weight is not None:
        positive = positive * pos_weight
    loss = target * positive + (1 - target) * softplus(input)
    if weight is not None:
        loss = loss * weight
    return _reduce("binary_cross_entropy_with_logits", loss, reduction)


@composite("nll_loss")
def nll_loss(
    input: Any,
    target: Any,
    weight: Any = None,
    ignore_index: int = -100,
    reduction: str = "mean",
) -> Tensor:
    """Negative log-likelihood: -input[n, target[n]] for log-probabilities ``input`` of shape
    (N, C) or (N, C, d1, ...) and class indices ``target`` of shape (N,) or (N, d1, ...).

    With ``weight`` (one per class) each term is multiplied by its class's weight and the mean
    divides by the sum of those weights; targets equal to ``ignore_index`` count for nothing.

    >>> import autonet as an
    >>> logp = an.tensor([[-0.1, -2.0], [-3.0, -0.2]])
    >>> an.nn.functional.nll_loss(logp, an.tensor([0, 1]))
    tensor(0.15)
    """
    return _indexed_loss("nll_loss", as_tensor(input), as_tensor(target), weight, ignore_index,
                         reduction, 0.0)  # fmt: skip


@composite("cross_entropy")
def cross_entropy(
    input: Any,
    target: Any,
    weight: Any = None,
    ignore_index: int = -100,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
) -> Tensor:
    """Cross-entropy between softmax(input) over axis 1 and the target, computed through
    ``log_softmax``.

    ``target`` holds class indices (shape (N,) or (N, d1, ...), integers) or class
    probabilities (same shape as ``input``, floats). With ``label_smoothing`` ε the target
    becomes (1 - ε)·target + ε/C. ``weight`` and ``ignore_index`` are as in ``nll_loss``.

    >>> import autonet as an
    >>> logits = an.tensor([[2.0, 0.0], [0.0, 2.0]])
    >>> an.nn.functional.cross_entropy(logits, an.tensor([0, 1]))
    tensor(0.1269)
    """
    op = "cross_entropy"
    input = as_tensor(input)
    target = as_tensor(target)
    if not 0 <= label_smoothing <= 1:
        raise ValueError(f"cross_entropy: label_smoothing must be in [0, 1], got {label_smoothing}")
    if input.ndim < 2:
        raise ValueError(
            f"cross_entropy: expected input of shape (N, C) or (N, C, ...), got {input.shape}"
        )
    if target.dtype.kind != "f":
        common = weight is None and not label_smoothing and reduction == "mean"
        if common and input.ndim == 2 and _class_rows(op, input, target, ignore_index)[2]:
            return softmax_cross_entropy(input, target)  # every sample counted once: one node
        return _indexed_loss(op, log_softmax(input, axis=1), target, weight, ignore_index,
                             reduction, label_smoothing)  # fmt: skip
    if target.shape == (input.shape[0],) + input.shape[2:]:
        # NOTE: the shape of class indices, but floats (labels made with np.zeros, say):
        # reshaping them to the input's shape, as the probabilities' error says, cannot work.
        raise TypeError(
            f"cross_entropy: target of shape {target.shape} and dtype {target.dtype} looks like "
            f"class labels, which must be integers (convert them with .long()); class "
            f"probabilities have the input's shape {input.shape}"
        )
    logp = log_softmax(input, axis=1)
    # class probabilities
    _same_shape("cross_entropy", input, target)
    c = input.shape[1]
    if label_smoothing:
        target = target * (1 - label_smoothing) + label_smoothing / c
    terms = logp * target
    if weight is not None:
        terms = terms * as_tensor(weight).reshape((1, c) + (1,) * (input.ndim - 2))
    return _reduce("cross_entropy", -terms.sum(axis=1), reduction)


def _indexed_loss(
    op: str,
    logp: Tensor,
    target: Tensor,
    weight: Any,
    ignore_index: int,
    reduction: str,
    smoothing: float,
) -> Tensor:
    """Σ over samples of w[yₙ]·(-logp[n, yₙ]), mixed with ε/C·Σ_c w[c]·(-logp[n, c]) under label
    smoothing ε (PyTorch's definition); the mean divides by Σ w[yₙ] over the kept samples."""
    rows, labels, everything = _class_rows(op, logp, target, ignore_index)  # (M, C), (M,)
    c = rows.shape[1]
    if weight is None and not smoothing and (everything or (labels != ignore_index).all()):
        # the common case: every sample counts once, so the loss is the picked -log p itself
        picked = -rows[np.arange(len(labels)), labels]  # (M,)
        if reduction == "mean":
            return picked.mean()
        return picked.reshape(target.shape) if reduction == "none" else picked.sum()
    keep = labels != ignore_index
    safe = np.where(keep, labels, 0)
    class_weight = np.ones(c, logp.dtype) if weight is None else as_tensor(weight).data
    if class_weight.shape != (c,):
        raise ValueError(
            f"{op}: weight must have one entry per class ({c}), got {class_weight.shape}"
        )
    w = np.where(keep, class_weight[safe], 0).astype(logp.dtype)  # (M,)
    loss = -rows[np.arange(len(safe)), safe] * w  # (M,)
    if smoothing:
        spread = -(rows * class_weight.astype(logp.dtype)).sum(axis=1) * (keep / c).astype(
            logp.dtype
        )
        loss = loss * (1 - smoothing) + spread * smoothing
    if reduction == "mean":
        return loss.sum() / w.sum()
    if reduction == "none":
        return loss.reshape(target.shape)
    return _reduce(op, loss, reduction)


def _class_rows(
    op: str, input: Tensor, target: Tensor, ignore_index: int
) -> tuple[Tensor, np.ndarray, bool]:
    """(N, C, d1, ...) scores and (N, d1, ...) labels as (M, C) rows and (M,) labels, and
    whether every label is a class index and ``ignore_index`` none of them (so nothing is
    ignored; False may still mean that, when the quick test cannot tell)."""
    if input.ndim < 2:
        raise ValueError(f"{op}: expected input of shape (N, C) or (N, C, ...), got {input.shape}")
    expected = (input.shape[0],) + input.shape[2:]
    if target.shape != expected:
        raise ValueError(
            f"{op}: input of shape {input.shape} needs class indices of shape {expected}, got "
            f"{target.shape}"
        )
    labels = target.data
    if labels.dtype.kind not in "iu":
        raise TypeError(f"{op}: class indices must be integers, not {labels.dtype}")
    c = input.shape[1]
    # NOTE: the smallest and largest label settle the common case in two reductions
    lowest = np.minimum.reduce(labels, axis=None, initial=0)
    every_class = lowest >= 0 and np.maximum.reduce(labels, axis=None, initial=0) < c
    if not every_class:
        bad = (labels != ignore_index) & ((labels < 0) | (labels >= c))
        if bad.any():
            raise ValueError(f"{op}: class index {labels[bad][0]} is out of range for {c} classes")
    if input.ndim > 2:  # (N, C, d1, ...) -> (N, d1, ..., C) -> (M, C)
        input = input.transpose((0, *range(2, input.ndim), 1)).reshape(-1, c)
    return input, labels.reshape(-1), bool(every_class and not 0 <= ignore_index < c)
