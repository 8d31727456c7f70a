"""Every operation on tensors, each a function here and (most) a Tensor method too.

The primitives (a forward and its VJP) are classes in the modules below; the functions build
them and apply them. ``METHODS`` and ``OPERATORS`` list what ``Tensor`` binds as methods and
operators (``t.exp()`` is ``exp(t)``; ``a + b`` is ``add(a, b)``).
"""

from autonet.engine.ops.arithmetic import (
    add,
    astype,
    clone,
    div,
    linear,
    matmul,
    mul,
    neg,
    pow,
    sub,
)
from autonet.engine.ops.compare import (
    eq,
    ge,
    gt,
    isfinite,
    isnan,
    le,
    logical_and,
    logical_not,
    logical_or,
    logical_xor,
    lt,
    ne,
    sign,
)
from autonet.engine.ops.conv import fold, unfold
from autonet.engine.ops.elementwise import (
    abs,
    clamp,
    clip,
    cos,
    elu,
    erf,
    exp,
    gelu,
    leaky_relu,
    log,
    maximum,
    minimum,
    relu,
    sigmoid,
    sin,
    softplus,
    sqrt,
    tanh,
    where,
)
from autonet.engine.ops.indexing import getitem
from autonet.engine.ops.reduction import (
    all,
    any,
    argmax,
    argmin,
    logsumexp,
    max,
    mean,
    min,
    prod,
    std,
    sum,
    var,
)
from autonet.engine.ops.shape import (
    broadcast_to,
    cat,
    chunk,
    concatenate,
    expand,
    flatten,
    pad,
    permute,
    reshape,
    split,
    squeeze,
    stack,
    swapaxes,
    transpose,
    unsqueeze,
    view,
)
from autonet.engine.ops.softmax import log_softmax, softmax, softmax_cross_entropy

METHODS = (
    "add", "sub", "mul", "div", "neg", "pow", "matmul", "astype", "clone",
    "exp", "log", "sqrt", "abs", "sin", "cos", "tanh", "sigmoid", "relu", "leaky_relu", "elu",
    "gelu", "softplus", "erf", "clip", "clamp", "maximum", "minimum", "sign",
    "sum", "mean", "max", "min", "prod", "logsumexp", "var", "std",
    "argmax", "argmin", "any", "all",
    "reshape", "view", "flatten", "squeeze", "unsqueeze", "transpose", "permute", "swapaxes",
    "expand", "broadcast_to", "split", "chunk",
    "softmax", "log_softmax",
    "eq", "ne", "lt", "le", "gt", "ge", "isnan", "isfinite",
)  # fmt: skip

OPERATORS = {
    "__add__": "add",
    "__sub__": "sub",
    "__mul__": "mul",
    "__truediv__": "div",
    "__neg__": "neg",
    "__pow__": "pow",
    "__matmul__": "matmul",
    "__abs__": "abs",
    "__getitem__": "getitem",
    "__lt__": "lt",
    "__le__": "le",
    "__gt__": "gt",
    "__ge__": "ge",
    "__eq__": "eq",
    "__ne__": "ne",
    "__and__": "logical_and",
    "__or__": "logical_or",
    "__xor__": "logical_xor",
    "__invert__": "logical_not",
}

__all__ = [
    *METHODS, "getitem", "where", "concatenate", "cat", "stack", "pad", "fold", "unfold", "linear",
    "logical_and", "logical_or", "logical_xor", "logical_not", "softmax_cross_entropy",
]  # fmt: skip
