"""autonet: reverse-mode automatic differentiation over NumPy, and neural networks on top.

>>> import autonet as an
>>> x = an.tensor([1.0, 2.0], requires_grad=True)
>>> (x ** 2).sum().backward()
>>> x.grad
tensor([2., 4.])
"""

from autonet import data, func, functional, io, nn, optim, testing, train, viz
from autonet.engine import allocator as _allocator
from autonet.engine.autograd import backward, grad
from autonet.engine.dtypes import (
    bool_,
    float16,
    float32,
    float64,
    get_default_dtype,
    int8,
    int16,
    int32,
    int64,
    set_default_dtype,
    uint8,
)
from autonet.engine.factories import (
    arange,
    empty,
    eye,
    from_numpy,
    full,
    full_like,
    linspace,
    ones,
    ones_like,
    rand,
    rand_like,
    randint,
    randn,
    randn_like,
    tensor,
    zeros,
    zeros_like,
)
from autonet.engine.function import Function
from autonet.engine.grad_mode import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from autonet.engine.ops import *  # noqa: F403  (every operation as a function: an.exp, an.sum, ...)
from autonet.engine.ops import linalg
from autonet.engine.random import default_generator, manual_seed
from autonet.engine.tensor import Tensor, as_tensor
from autonet.io import load, save
from autonet.viz.anomaly import detect_anomaly

bool = bool_

_allocator.keep_freed_memory()  # training's arrays reuse freed pages (see autonet.engine.allocator)

__version__ = "0.1.0"


def __getattr__(name: str) -> object:
    """``an.onnx`` and ``an.interop`` load on first use (neither imports onnx or PyTorch until
    one of its functions runs, so that ``import autonet`` needs neither)."""
    if name in ("onnx", "interop"):
        import importlib

        return importlib.import_module(f"autonet.{name}")
    raise AttributeError(f"module 'autonet' has no attribute {name!r}")
