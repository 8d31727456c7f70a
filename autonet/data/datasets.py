"""Small built-in datasets for learning and testing: ``xor``, ``identity``, ``moons``,
``spirals`` and scikit-learn's ``load_digits``.

Each returns ``(X, y)`` as Tensors, X in the default float dtype (float32). The random ones
draw from ``np.random.default_rng(seed)`` when a seed is given, else from autonet's generator
(so ``an.manual_seed`` repeats them too), and return their rows in random order, so that any
slice of them holds both classes.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np

from autonet.data.dataset import generator_from, is_int
from autonet.engine.factories import tensor
from autonet.engine.tensor import Tensor


def xor(with_product: bool = False) -> tuple[Tensor, Tensor]:
    """The four inputs of XOR and their targets: X (4, 2), y (4, 1) = [0, 1, 1, 0].

    ``with_product=True`` appends the column x1·x2, which makes the problem linearly separable
    (y = x1 + x2 - 2·x1·x2), so a network learns it faster.

    >>> from autonet.data import xor
    >>> X, y = xor(with_product=True)
    >>> X
    tensor([[0., 0., 0.],
            [0., 1., 0.],
            [1., 0., 0.],
            [1., 1., 1.]])
    >>> y.flatten()
    tensor([0., 1., 1., 0.])
    """
    x = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float64)
    if with_product:
        x = np.column_stack([x, x[:, 0] * x[:, 1]])
    y = np.logical_xor(x[:, 0], x[:, 1]).astype(np.float64)[:, None]  # (4, 1)
    return tensor(x), tensor(y)


def identity(n: int = 4) -> tuple[Tensor, Tensor]:
    """The n one-hot vectors and their class indices: X = I (n, n), y = [0, 1, ..., n-1]
    (int64), for softmax + cross-entropy to learn the identity mapping.

    >>> from autonet.data import identity
    >>> X, y = identity(3)
    >>> X, y
    (tensor([[1., 0., 0.],
            [0., 1., 0.],
            [0., 0., 1.]]), tensor([0, 1, 2]))
    """
    _check_count("identity", "n", n)
    return tensor(np.eye(n)), tensor(np.arange(n, dtype=np.int64))


def moons(n_samples: int = 100, noise: float = 0.1, seed: Any = None) -> tuple[Tensor, Tensor]:
    """Two interleaving half circles in the plane, as scikit-learn's ``make_moons``.

    Class 0 lies on (cos t, sin t), class 1 on (1 - cos t, 1 - sin t - 0.5), with t evenly
    spaced in [0, π] (``n_samples // 2`` points for class 0, the rest for class 1), plus
    Gaussian noise of standard deviation ``noise`` on both coordinates. X is (n_samples, 2),
    y int64 in {0, 1}.

    >>> from autonet.data import moons
    >>> X, y = moons(200, seed=0)
    >>> X.shape, X.dtype, y.dtype, int(y.sum())
    ((200, 2), dtype('float32'), dtype('int64'), 100)
    """
    _check_count("moons", "n_samples", n_samples)
    _check_noise("moons", noise)
    rng = generator_from(seed, "moons")
    n_outer = n_samples // 2
    t_outer = np.linspace(0.0, math.pi, n_outer)
    t_inner = np.linspace(0.0, math.pi, n_samples - n_outer)
    outer = np.column_stack([np.cos(t_outer), np.sin(t_outer)])
    inner = np.column_stack([1.0 - np.cos(t_inner), 1.0 - np.sin(t_inner) - 0.5])
    x = np.concatenate([outer, inner]) + noise * rng.standard_normal((n_samples, 2))
    y = np.repeat(np.array([0, 1], dtype=np.int64), [n_outer, n_samples - n_outer])
    return _shuffled(x, y, rng)


def spirals(
    n_per_class: int = 100, n_classes: int = 3, noise: float = 0.2, seed: Any = None
) -> tuple[Tensor, Tensor]:
    """Interleaved spiral arms, one per class (the classic from CS231n).

    Arm k has ``n_per_class`` points at radius r evenly spaced in [0, 1] and angle
    θ = 2πk / n_classes + 4r + ``noise``·ε with ε ~ N(0, 1); the point is (r cos θ, r sin θ).
    X is (n_per_class · n_classes, 2), y int64 in {0, ..., n_classes - 1}.

    >>> import numpy as np
    >>> from autonet.data import spirals
    >>> X, y = spirals(50, n_classes=3, seed=0)
    >>> X.shape, y.dtype, np.bincount(y.numpy()).tolist()
    ((150, 2), dtype('int64'), [50, 50, 50])
    """
    _check_count("spirals", "n_per_class", n_per_class)
    _check_count("spirals", "n_classes", n_classes)
    _check_noise("spirals", noise)
    rng = generator_from(seed, "spirals")
    r = np.tile(np.linspace(0.0, 1.0, n_per_class), n_classes)  # (n_classes * n_per_class,)
    y = np.repeat(np.arange(n_classes, dtype=np.int64), n_per_class)
    theta = 2 * math.pi * y / n_classes + 4.0 * r + noise * rng.standard_normal(r.shape)
    x = np.column_stack([r * np.cos(theta), r * np.sin(theta)])
    return _shuffled(x, y, rng)


def load_digits() -> tuple[Tensor, Tensor]:
    """scikit-learn's handwritten digits: 1797 images of 8×8 pixels, X (1797, 64) scaled to
    [0, 1] (the pixel values 0..16 divided by 16), y (1797,) int64 in 0..9.

    Needs scikit-learn (``pip install 'autonet[data]'``), which holds the data.

    >>> from autonet.data import load_digits
    >>> X, y = load_digits()  # doctest: +SKIP
    >>> X.shape, float(X.max()), y.dtype  # doctest: +SKIP
    ((1797, 64), 1.0, dtype('int64'))
    """
    try:
        from sklearn.datasets import load_digits as sklearn_digits
    except ImportError as e:
        raise ImportError("load_digits needs scikit-learn: pip install 'autonet[data]'") from e
    digits = sklearn_digits()
    return tensor(np.asarray(digits.data) / 16.0), tensor(np.asarray(digits.target, np.int64))


def _shuffled(x: np.ndarray, y: np.ndarray, rng: np.random.Generator) -> tuple[Tensor, Tensor]:
    order = rng.permutation(len(y))
    return tensor(x[order]), tensor(y[order])


def _check_count(where: str, name: str, value: Any) -> None:
    if not (is_int(value) and value > 0):
        raise ValueError(f"{where}: {name} must be a positive int, got {value!r}")


def _check_noise(where: str, noise: Any) -> None:
    if not (isinstance(noise, numbers.Real) and not isinstance(noise, bool) and noise >= 0):
        raise ValueError(f"{where}: noise must be a number >= 0, got {noise!r}")
