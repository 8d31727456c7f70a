"""autonet ⇄ PyTorch: modules with their weights, buffers and mode; optimizers with their state.

Every built-in module has a PyTorch twin with the same constructor arguments and the same
state-dict keys and shapes (autonet follows PyTorch's conventions), so converting a module is:
build the twin from the module's settings, copy every parameter and buffer, copy the
train/eval flag. Containers convert their children.

A module class of your own becomes a class of the other library that runs *your* ``forward``
on the converted children (and your other methods, copied over). That is faithful when
``forward`` uses only its sub-modules, operators and the tensor methods both libraries share
(``x @ w``, ``x.reshape(...)``, ``x.relu()``); when it calls one library's functions on the
other's tensors, the call fails with a :class:`ConversionError` naming the class and saying
what to do: give it a twin with ``custom={MyNet: lambda m: TorchMyNet(...)}``, whose weights
are then filled in as for a built-in.

Optimizers (SGD, Adam, AdamW, RMSprop, Adagrad) have the same hyperparameters and state
entries in both libraries; ``step`` counts become PyTorch's float tensors and back.

NOTE: PyTorch is imported inside the functions here, never at import time, so that
``import autonet`` works without it.
"""

from __future__ import annotations

import weakref
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from autonet import functional as F
from autonet import nn, optim
from autonet.engine.tensor import Tensor

__all__ = ["ConversionError", "from_torch", "to_torch"]


class ConversionError(TypeError):
    """A module or optimizer that cannot be converted faithfully, with the reason and what to
    do instead."""


def _torch() -> Any:
    try:
        import torch
    except ImportError as e:  # pragma: no cover - the message is what matters
        raise ImportError(
            "autonet.interop needs PyTorch: pip install 'autonet[torch]' (or torch itself)"
        ) from e
    return torch


# ---- the twins: settings both libraries keep under the same names --------------------------


def _bias(m: Any) -> dict[str, Any]:
    return {"bias": m.bias is not None}


def _batch_norm(m: Any) -> dict[str, Any]:
    return {"affine": m.weight is not None, "track_running_stats": m.running_mean is not None}


def _layer_norm(m: Any) -> dict[str, Any]:
    return {"elementwise_affine": m.weight is not None, "bias": m.bias is not None}


def _attention(m: Any) -> dict[str, Any]:
    return {"bias": m.in_proj_bias is not None}


def _no_flags(m: Any) -> dict[str, Any]:
    return {}


@dataclass(frozen=True)
class _Twin:
    """An autonet class and its PyTorch twin ``torch.nn.<name>``: the constructor arguments
    both keep as attributes of the same name (``settings``), those both derive from which
    parameters exist (``flags``), and, for the PyTorch side, options autonet does not have
    (``unsupported``: attribute name and the only value autonet can take)."""

    autonet: type
    name: str
    settings: tuple[str, ...] = ()
    flags: Callable[[Any], dict[str, Any]] = _no_flags
    unsupported: tuple[tuple[str, Any], ...] = ()


_CONV = ("in_channels", "out_channels", "kernel_size", "stride", "padding", "dilation", "groups",
         "padding_mode")  # fmt: skip
_RNN = ("input_size", "hidden_size", "num_layers", "bias", "batch_first", "dropout",
        "bidirectional")  # fmt: skip
_TWINS = [
    _Twin(nn.Linear, "Linear", ("in_features", "out_features"), _bias),
    _Twin(nn.Identity, "Identity"),
    _Twin(nn.Flatten, "Flatten", ("start_dim", "end_dim")),
    _Twin(nn.Dropout, "Dropout", ("p",), unsupported=(("inplace", False),)),
    _Twin(nn.Dropout2d, "Dropout2d", ("p",), unsupported=(("inplace", False),)),
    _Twin(nn.Conv1d, "Conv1d", _CONV, _bias),
    _Twin(nn.Conv2d, "Conv2d", _CONV, _bias),
    _Twin(
        nn.MaxPool1d,
        "MaxPool1d",
        ("kernel_size", "stride", "padding", "dilation", "return_indices", "ceil_mode"),
    ),
    _Twin(
        nn.MaxPool2d,
        "MaxPool2d",
        ("kernel_size", "stride", "padding", "dilation", "return_indices", "ceil_mode"),
    ),
    _Twin(
        nn.AvgPool1d,
        "AvgPool1d",
        ("kernel_size", "stride", "padding", "ceil_mode", "count_include_pad"),
    ),
    _Twin(
        nn.AvgPool2d,
        "AvgPool2d",
        ("kernel_size", "stride", "padding", "ceil_mode", "count_include_pad", "divisor_override"),
    ),
    _Twin(nn.AdaptiveAvgPool2d, "AdaptiveAvgPool2d", ("output_size",)),
    _Twin(nn.BatchNorm1d, "BatchNorm1d", ("num_features", "eps", "momentum"), _batch_norm),
    _Twin(nn.BatchNorm2d, "BatchNorm2d", ("num_features", "eps", "momentum"), _batch_norm),
    _Twin(nn.LayerNorm, "LayerNorm", ("normalized_shape", "eps"), _layer_norm),
    _Twin(nn.GroupNorm, "GroupNorm", ("num_groups", "num_channels", "eps", "affine")),
    _Twin(nn.RMSNorm, "RMSNorm", ("normalized_shape", "eps", "elementwise_affine")),
    _Twin(
        nn.Embedding,
        "Embedding",
        ("num_embeddings", "embedding_dim", "padding_idx"),
        unsupported=(("max_norm", None), ("scale_grad_by_freq", False), ("sparse", False)),
    ),
    _Twin(nn.ReLU, "ReLU", unsupported=(("inplace", False),)),
    _Twin(nn.LeakyReLU, "LeakyReLU", ("negative_slope",), unsupported=(("inplace", False),)),
    _Twin(nn.ELU, "ELU", ("alpha",), unsupported=(("inplace", False),)),
    _Twin(nn.GELU, "GELU", ("approximate",)),
    _Twin(nn.Sigmoid, "Sigmoid"),
    _Twin(nn.Tanh, "Tanh"),
    _Twin(nn.Softplus, "Softplus", ("beta",)),
    _Twin(nn.SiLU, "SiLU", unsupported=(("inplace", False),)),
    _Twin(nn.Softmax, "Softmax", ("dim",)),
    _Twin(nn.LogSoftmax, "LogSoftmax", ("dim",)),
    _Twin(nn.RNN, "RNN", (*_RNN, "nonlinearity")),
    _Twin(nn.LSTM, "LSTM", _RNN, unsupported=(("proj_size", 0),)),
    _Twin(nn.GRU, "GRU", _RNN),
    _Twin(nn.RNNCell, "RNNCell", ("input_size", "hidden_size", "bias", "nonlinearity")),
    _Twin(nn.LSTMCell, "LSTMCell", ("input_size", "hidden_size", "bias")),
    _Twin(nn.GRUCell, "GRUCell", ("input_size", "hidden_size", "bias")),
    _Twin(
        nn.MultiheadAttention,
        "MultiheadAttention",
        ("embed_dim", "num_heads", "dropout", "kdim", "vdim", "batch_first"),
        _attention,
        unsupported=(("bias_k", None), ("add_zero_attn", False)),
    ),
    _Twin(nn.MSELoss, "MSELoss", ("reduction",)),
    _Twin(nn.L1Loss, "L1Loss", ("reduction",)),
    _Twin(nn.HuberLoss, "HuberLoss", ("reduction", "delta")),
]
_BY_AUTONET = {t.autonet: t for t in _TWINS}
_BY_NAME = {t.name: t for t in _TWINS}

# autonet's activation functions and PyTorch's of the same name and arguments: a module that
# keeps one as an attribute (a Transformer layer's activation) keeps the other's
_FUNCTIONS = ("relu", "gelu", "sigmoid", "tanh", "silu", "elu", "leaky_relu", "softplus")


def _function_pairs() -> list[tuple[Any, Any]]:
    tf = _torch().nn.functional
    return [(getattr(F, name), getattr(tf, name)) for name in _FUNCTIONS]


class _Twins:
    """Parameters and their twins in the other library, from the latest conversion: what
    ``to_torch(optimizer)`` and ``from_torch(optimizer)`` find them by. Both are held weakly.

    NOTE: keyed by ``id`` (a WeakKeyDictionary would compare PyTorch tensors with ``==``,
    which is elementwise)."""

    def __init__(self) -> None:
        self._found: dict[int, tuple[Any, Any]] = {}

    def set(self, key: Any, twin: Any) -> None:
        k = id(key)
        self._found[k] = (weakref.ref(key, lambda _: self._found.pop(k, None)), weakref.ref(twin))

    def get(self, key: Any) -> Any:
        found = self._found.get(id(key))
        return found[1]() if found is not None and found[0]() is key else None


_torch_twin, _autonet_twin = _Twins(), _Twins()

# module classes of autonet's own that PyTorch has no twin for, converted as your own classes
# are: their forward runs as written
_RUN_AS_WRITTEN = (nn.MLP,)


# ---- to PyTorch -------------------------------------------------------------------------------


def to_torch(obj: Any, *, custom: Mapping[type, Callable[[Any], Any]] | None = None,
             params: Any = None) -> Any:  # fmt: skip
    """The PyTorch equivalent of an autonet module or optimizer.

    A module (any built-in one, a container, or your own ``Module`` subclass) becomes a
    ``torch.nn.Module`` with copies of its parameters and buffers (same names, shapes and
    dtypes) and the same train/eval mode, so it computes the same outputs and gradients.
    ``custom`` maps a class of yours to a function that builds its PyTorch twin (weights are
    copied in afterwards, by name). See the module docstring for how your own classes are
    converted otherwise.

    An optimizer becomes ``torch.optim.<the same name>`` with the same param groups,
    hyperparameters and state (moments, step counts), over the twins of its parameters: those
    of the latest ``to_torch(model)``, or ``params`` (in the optimizer's order).

    Needs PyTorch (``pip install "autonet[torch]"``); the tests hold runnable examples.

    >>> import autonet as an
    >>> model = an.nn.Sequential(an.nn.Linear(4, 8), an.nn.ReLU(), an.nn.Linear(8, 2))
    >>> torch_model = to_torch(model)              # doctest: +SKIP
    >>> torch_model                                # doctest: +SKIP
    Sequential(
      (0): Linear(in_features=4, out_features=8, bias=True)
      (1): ReLU()
      (2): Linear(in_features=8, out_features=2, bias=True)
    )
    """
    if isinstance(obj, optim.Optimizer):
        return _optimizer_to_torch(obj, params)
    if not isinstance(obj, nn.Module):
        raise TypeError(f"to_torch: expected an autonet Module or Optimizer, got {type(obj)}")
    _torch()
    return _ToTorch(dict(custom or {})).module(obj, "")


class _Conversion:
    """One conversion, either way: modules converted once each (a module used twice stays one
    module), parameters likewise. What both directions share is here; a subclass converts
    modules (:meth:`module`) and tensors (:meth:`tensor`, :meth:`new_parameter`)."""

    def __init__(self, custom: dict[type, Callable[[Any], Any]], source_base: type,
                 target_base: type, tensor_class: type, to_torch: bool) -> None:  # fmt: skip
        self.torch = _torch()
        self.custom = custom
        self.source_base = source_base  # the Module class of the library converted from
        self.target_base = target_base  # and of the library converted to
        self.tensor_class = tensor_class  # the tensors converted from
        self.done: dict[int, Any] = {}
        self.params: dict[int, Any] = {}
        pairs = _function_pairs()
        self.functions = {id(a if to_torch else t): t if to_torch else a for a, t in pairs}
        self.twins, self.back = (_torch_twin, _autonet_twin) if to_torch else (
            _autonet_twin, _torch_twin)  # fmt: skip
        self.caller = "to_torch" if to_torch else "from_torch"

    def module(self, m: Any, path: str) -> Any:
        raise NotImplementedError

    def tensor(self, t: Any) -> Any:
        raise NotImplementedError

    def new_parameter(self, p: Any) -> Any:
        raise NotImplementedError

    def wrapped(self, m: Any, path: str, kind: type) -> Any:
        """A module of class ``kind`` (the other library's) with ``m``'s plain attributes,
        children, parameters and buffers."""
        t = kind.__new__(kind)
        self.target_base.__init__(t)
        internals = {*vars(self.source_base()), *m._parameters, *m._buffers, *m._modules}
        for name, value in vars(m).items():
            if name not in internals:
                object.__setattr__(t, name, self.value(value))
        for name, child in m._modules.items():
            t.add_module(name, None if child is None else self.module(child, _join(path, name)))
        for name, p in m._parameters.items():
            t.register_parameter(name, None if p is None else self.parameter(p))
        hidden = _non_persistent(m)
        for name, b in m._buffers.items():
            t.register_buffer(name, None if b is None else self.tensor(b),
                              persistent=name not in hidden)  # fmt: skip
        return t

    def value(self, v: Any) -> Any:
        """A plain attribute's value for the other side."""
        if isinstance(v, self.tensor_class):
            return self.tensor(v)
        if isinstance(v, (tuple, list)):
            return type(v)(self.value(x) for x in v)
        if isinstance(v, dict):
            return {k: self.value(x) for k, x in v.items()}
        if callable(v) and id(v) in self.functions:
            return self.functions[id(v)]
        return v

    def parameter(self, p: Any) -> Any:
        found = self.params.get(id(p))
        if found is None:
            found = self.params[id(p)] = self.new_parameter(p)
            self.twins.set(p, found)
            self.back.set(found, p)
        return found

    def state(self, m: Any, t: Any, where: str) -> None:
        """Put copies of every parameter and buffer of ``m`` (and its sub-modules) into its
        twin ``t``, by name; the names must be the same on both sides."""
        ours, theirs = _state_names(m), _state_names(t)
        if ours != theirs:
            raise ConversionError(
                f"{self.caller}: the twin of {where} holds {sorted(theirs - ours) or 'no'} "
                f"extra and lacks {sorted(ours - theirs) or 'no'} parameters or buffers"
            )
        for path, sub in m.named_modules():
            owner = _submodule(t, path)
            for name, p in sub._parameters.items():
                if p is not None:
                    setattr(owner, name, self.parameter(p))
            hidden = _non_persistent(sub)
            for name, b in sub._buffers.items():
                if b is not None:
                    owner.register_buffer(name, self.tensor(b), persistent=name not in hidden)
            if path:
                owner.training = sub.training


class _ToTorch(_Conversion):
    """One conversion to PyTorch."""

    def __init__(self, custom: dict[type, Callable[[Any], Any]]) -> None:
        torch = _torch()
        super().__init__(custom, nn.Module, torch.nn.Module, Tensor, to_torch=True)

    def module(self, m: nn.Module, path: str) -> Any:
        if id(m) in self.done:
            return self.done[id(m)]
        kind = type(m)
        where = f"{kind.__name__} at {path!r}" if path else kind.__name__
        if kind in self.custom:
            t = self.custom[kind](m)
            self.state(m, t, where)
        elif kind in _BY_AUTONET:
            twin = _BY_AUTONET[kind]
            settings = {k: getattr(m, k) for k in twin.settings}
            t = getattr(self.torch.nn, twin.name)(**settings, **twin.flags(m))
            self.state(m, t, where)
        elif kind in (nn.Sequential, nn.ModuleList, nn.ModuleDict):
            children = OrderedDict((name, self.module(c, _join(path, name)))
                                   for name, c in m._modules.items())  # fmt: skip
            if kind is nn.Sequential:
                t = self.torch.nn.Sequential(children)
            elif kind is nn.ModuleList:
                t = self.torch.nn.ModuleList(children.values())
            else:
                t = self.torch.nn.ModuleDict(children)
        elif kind in _TRANSFORMER:
            t = _TRANSFORMER[kind][0](self, m, path)
            self.state(m, t, where)
        elif kind.__module__.startswith("autonet.") and kind not in _RUN_AS_WRITTEN:
            raise ConversionError(
                f"to_torch: {where} has no PyTorch twin yet; give one with "
                f"to_torch(model, custom={{an.nn.{kind.__name__}: lambda m: <torch module>}})"
            )
        else:  # your own class: PyTorch's, when from_torch made it, else one running yours
            original = getattr(kind, "converted_from", None)
            if not (isinstance(original, type) and issubclass(original, self.torch.nn.Module)):
                original = _class_running(kind, self.torch.nn.Module, nn.Module, "to_torch")
            t = self.wrapped(m, path, original)
        t.training = m.training
        self.done[id(m)] = t
        return t

    def tensor(self, t: Tensor) -> Any:
        return self.torch.from_numpy(np.array(t.data, copy=True))

    def new_parameter(self, p: Tensor) -> Any:
        return self.torch.nn.Parameter(self.tensor(p), requires_grad=p.requires_grad)


def _state_names(m: Any) -> set[str]:
    names = {name for name, _ in m.named_parameters()}
    return names | {name for name, _ in m.named_buffers()}


def _non_persistent(m: Any) -> set[str]:
    """The names of a module's buffers that its state dict leaves out (either library's)."""
    found = getattr(m, "_non_persistent", None)  # (autonet's; PyTorch's name is longer)
    return found if found is not None else m._non_persistent_buffers_set


def _submodule(m: Any, path: str) -> Any:
    """The sub-module of ``m`` (either library's) at a dotted ``path`` (``""``: ``m``)."""
    for name in path.split(".") if path else ():
        m = m._modules[name]
    return m


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


# ---- the Transformer layers (settings held by their sub-modules) ----------------------------


def _activation_name(activation: Any, where: str, functions: Mapping[str, Any]) -> str:
    for name, fn in functions.items():
        if activation is fn:
            return name
    kind = type(activation).__name__.lower()
    if kind in functions:  # a ReLU or GELU module given as the activation
        return kind
    raise ConversionError(
        f"{where}: the activation {activation!r} is neither relu nor gelu; convert the layer "
        "by hand, or give it a twin with custom={...}"
    )


def _transformer_layer_settings(m: Any, where: str, functions: Mapping[str, Any]) -> dict:
    attn = m.self_attn
    return {
        "d_model": attn.embed_dim,
        "nhead": attn.num_heads,
        "dim_feedforward": m.linear1.out_features,
        "dropout": m.dropout.p,
        "activation": _activation_name(m.activation, where, functions),
        "layer_norm_eps": m.norm1.eps,
        "batch_first": attn.batch_first,
        "norm_first": m.norm_first,
        "bias": m.linear1.bias is not None,
    }


def _encoder_layer_to_torch(conv: _ToTorch, m: Any, path: str) -> Any:
    settings = _transformer_layer_settings(m, f"to_torch: {path or 'the model'}",
                                           {"relu": F.relu, "gelu": F.gelu})  # fmt: skip
    return getattr(conv.torch.nn, type(m).__name__)(**settings)


def _stack_to_torch(conv: _ToTorch, m: Any, path: str) -> Any:
    torch = conv.torch
    layer = conv.module(m.layers[0], _join(path, "layers.0"))
    norm = None if m.norm is None else conv.module(m.norm, _join(path, "norm"))
    if type(m) is nn.TransformerEncoder:
        return torch.nn.TransformerEncoder(layer, m.num_layers, norm, enable_nested_tensor=False)
    return torch.nn.TransformerDecoder(layer, m.num_layers, norm)


def _encoder_layer_from_torch(conv: _FromTorch, t: Any, path: str) -> Any:
    tf = conv.torch.nn.functional
    settings = _transformer_layer_settings(t, f"from_torch: {path or 'the model'}",
                                           {"relu": tf.relu, "gelu": tf.gelu})  # fmt: skip
    return getattr(nn, type(t).__name__)(**settings)


def _stack_from_torch(conv: _FromTorch, t: Any, path: str) -> Any:
    layer = conv.module(t.layers[0], _join(path, "layers.0"))
    norm = None if t.norm is None else conv.module(t.norm, _join(path, "norm"))
    return getattr(nn, type(t).__name__)(layer, t.num_layers, norm)


_TRANSFORMER: dict[type, tuple[Callable[..., Any], Callable[..., Any]]] = {
    nn.TransformerEncoderLayer: (_encoder_layer_to_torch, _encoder_layer_from_torch),
    nn.TransformerDecoderLayer: (_encoder_layer_to_torch, _encoder_layer_from_torch),
    nn.TransformerEncoder: (_stack_to_torch, _stack_from_torch),
    nn.TransformerDecoder: (_stack_to_torch, _stack_from_torch),
}


# ---- classes of your own, run by the other library -----------------------------------------

_made: dict[tuple[type, type], type] = {}


def _class_running(kind: type, base: type, own_base: type, caller: str) -> type:
    """A subclass of ``base`` (the other library's Module) that has the methods and class
    attributes of ``kind`` (a Module class of ``own_base``'s library), and whose ``forward``
    runs ``kind``'s forward and says clearly when that cannot work on the other's tensors."""
    key = (kind, base)
    made = _made.get(key)
    if made is not None:
        return made
    namespace: dict[str, Any] = {}
    for klass in reversed(kind.__mro__):
        if klass is object or not issubclass(klass, own_base) or klass is own_base:
            continue
        namespace.update({k: v for k, v in vars(klass).items()
                          if not (k.startswith("__") and k.endswith("__"))})  # fmt: skip
    forward = namespace.get("forward")
    if forward is None:
        raise ConversionError(f"{caller}: {kind.__name__} has no forward to run")

    def checked_forward(self: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            out = forward(self, *args, **kwargs)
        except Exception as e:
            raise ConversionError(_cannot_run(kind, caller, f"{type(e).__name__}: {e}")) from e
        foreign = Tensor if caller == "to_torch" else _torch().Tensor
        if any(isinstance(v, (foreign, np.ndarray)) for v in _leaves(out)):
            owner = "autonet" if caller == "to_torch" else "PyTorch"
            raise ConversionError(_cannot_run(kind, caller, f"it returned {owner} tensors"))
        return out

    namespace.update(forward=checked_forward, converted_from=kind, __module__=kind.__module__,
                     __qualname__=kind.__qualname__, __doc__=kind.__doc__)  # fmt: skip
    made = _made[key] = type(kind.__name__, (base,), namespace)
    return made


def _cannot_run(kind: type, caller: str, what: str) -> str:
    other = "PyTorch" if caller == "to_torch" else "autonet"
    return (
        f"{caller}: {kind.__qualname__}.forward cannot run on {other}'s tensors ({what}). "
        f"It runs as written, so it may use only its sub-modules, operators and tensor "
        f"methods both libraries have; where it calls one library's functions, give "
        f"{kind.__name__} a twin: {caller}(model, custom={{{kind.__name__}: lambda m: ...}})"
    )


def _leaves(value: Any) -> list[Any]:
    if isinstance(value, (tuple, list)):
        return [leaf for v in value for leaf in _leaves(v)]
    if isinstance(value, dict):
        return [leaf for v in value.values() for leaf in _leaves(v)]
    return [value]


# ---- from PyTorch -----------------------------------------------------------------------------


def from_torch(obj: Any, *, custom: Mapping[type, Callable[[Any], nn.Module]] | None = None,
               params: Any = None) -> Any:  # fmt: skip
    """The autonet equivalent of a PyTorch module or optimizer: the reverse of
    :func:`to_torch`, for the same modules and optimizers.

    A module class made by ``to_torch`` from one of yours comes back as your class. A
    PyTorch module of your own becomes an autonet Module running its ``forward``, as
    :func:`to_torch` does the other way; ``custom`` maps a PyTorch class to a function that
    builds its autonet twin (weights are copied in afterwards). A PyTorch module autonet has
    no twin for (``Conv3d``) is a :class:`ConversionError`.

    An optimizer's parameters are those of the latest ``from_torch(model)``, or ``params``.

    >>> from autonet.interop import from_torch
    >>> import torch                               # doctest: +SKIP
    >>> from_torch(torch.nn.Linear(3, 2))          # doctest: +SKIP
    Linear(in_features=3, out_features=2, bias=True)
    """
    torch = _torch()
    if isinstance(obj, torch.optim.Optimizer):
        return _optimizer_from_torch(obj, params)
    if not isinstance(obj, torch.nn.Module):
        raise TypeError(f"from_torch: expected a torch.nn.Module or optimizer, got {type(obj)}")
    return _FromTorch(dict(custom or {})).module(obj, "")


class _FromTorch(_Conversion):
    """One conversion from PyTorch."""

    def __init__(self, custom: dict[type, Callable[[Any], Any]]) -> None:
        torch = _torch()
        super().__init__(custom, torch.nn.Module, nn.Module, torch.Tensor, to_torch=False)

    def module(self, t: Any, path: str) -> nn.Module:
        if id(t) in self.done:
            return self.done[id(t)]
        tnn = self.torch.nn
        kind = type(t)
        where = f"{kind.__name__} at {path!r}" if path else kind.__name__
        twin = _BY_NAME.get(kind.__name__)
        if kind in self.custom:
            m = self.custom[kind](t)
            self.state(t, m, where)
        elif twin is not None and kind is getattr(tnn, twin.name):
            for name, allowed in twin.unsupported:
                if getattr(t, name, allowed) != allowed:
                    raise ConversionError(
                        f"from_torch: {where} has {name}={getattr(t, name)!r}; autonet's "
                        f"{twin.name} has only {name}={allowed!r}"
                    )
            settings = {k: getattr(t, k) for k in twin.settings}
            if twin.name in ("Softmax", "LogSoftmax") and settings["dim"] is None:
                raise ConversionError(f"from_torch: {where} has dim=None; give it a dim")
            m = twin.autonet(**settings, **twin.flags(t))
            self.state(t, m, where)
        elif kind in (tnn.Sequential, tnn.ModuleList, tnn.ModuleDict):
            children = {name: self.module(c, _join(path, name))
                        for name, c in t._modules.items()}  # fmt: skip
            if kind is tnn.Sequential:
                m = nn.Sequential(children)
            elif kind is tnn.ModuleList:
                m = nn.ModuleList(children.values())
            else:
                m = nn.ModuleDict(children)
        elif kind.__name__ in _TRANSFORMER_NAMES and kind is getattr(tnn, kind.__name__):
            m = _TRANSFORMER_NAMES[kind.__name__](self, t, path)
            self.state(t, m, where)
        elif isinstance(getattr(kind, "converted_from", None), type) and issubclass(
            kind.converted_from, nn.Module
        ):
            m = self.wrapped(t, path, kind.converted_from)
        elif kind.__module__.startswith("torch."):
            raise ConversionError(
                f"from_torch: {where} has no autonet twin; give one with "
                f"from_torch(model, custom={{torch.nn.{kind.__name__}: lambda t: <a Module>}})"
            )
        else:
            m = self.wrapped(t, path, _class_running(kind, nn.Module, tnn.Module, "from_torch"))
        m.training = t.training
        self.done[id(t)] = m
        return m

    def tensor(self, t: Any) -> Tensor:
        array = t.detach().cpu().numpy()
        return Tensor(array, dtype=array.dtype)  # (a copy)

    def new_parameter(self, p: Any) -> nn.Parameter:
        return nn.Parameter(self.tensor(p), requires_grad=p.requires_grad)


_TRANSFORMER_NAMES = {kind.__name__: fns[1] for kind, fns in _TRANSFORMER.items()}


# ---- optimizers ------------------------------------------------------------------------------

_OPTIMIZERS = ("SGD", "Adam", "AdamW", "RMSprop", "Adagrad")


def _optimizer_to_torch(opt: optim.Optimizer, params: Any) -> Any:
    torch = _torch()
    name = type(opt).__name__
    if name not in _OPTIMIZERS or type(opt) is not getattr(optim, name):
        raise ConversionError(f"to_torch: {name} has no PyTorch twin ({', '.join(_OPTIMIZERS)})")
    twins = _twins(opt.param_groups, params, _torch_twin, "to_torch")
    groups = [{**{k: v for k, v in g.items() if k != "params"}, "params": twins[i]}
              for i, g in enumerate(opt.param_groups)]  # fmt: skip
    t_opt = getattr(torch.optim, name)(groups)

    def convert(key: str, v: Any, twin: Any) -> Any:
        if key == "step":
            return torch.tensor(float(v))  # (PyTorch counts in a float tensor)
        if isinstance(v, Tensor):  # on the twin's device: the model may be on a GPU by now
            return torch.from_numpy(np.array(v.data, copy=True)).to(twin.device, twin.dtype)
        return v

    _carry_state(opt.param_groups, twins, opt.state, t_opt.state, convert)
    return t_opt


def _optimizer_from_torch(t_opt: Any, params: Any) -> optim.Optimizer:
    name = type(t_opt).__name__
    if name not in _OPTIMIZERS or type(t_opt) is not getattr(_torch().optim, name):
        raise ConversionError(f"from_torch: {name} has no autonet twin ({', '.join(_OPTIMIZERS)})")
    kind = getattr(optim, name)
    twins = _twins(t_opt.param_groups, params, _autonet_twin, "from_torch")
    known = set(kind([nn.Parameter(np.zeros(1))]).defaults)
    for g in t_opt.param_groups:
        for key in ("foreach", "fused", "capturable", "differentiable"):
            if g.get(key):
                raise ConversionError(f"from_torch: {name} with {key}=True has no autonet twin")
    groups = [{**{k: _number(v) for k, v in g.items() if k in known}, "params": twins[i]}
              for i, g in enumerate(t_opt.param_groups)]  # fmt: skip
    opt = kind(groups)

    def convert(key: str, v: Any, twin: Tensor) -> Any:
        if key == "step":
            return int(v)
        return Tensor(v.detach().cpu().numpy(), dtype=twin.dtype) if hasattr(v, "detach") else v

    _carry_state(t_opt.param_groups, twins, t_opt.state, opt.state, convert)
    return opt


def _carry_state(groups: list[dict[str, Any]], twins: list[list[Any]], state: Any,
                 twin_state: Any, convert: Callable[[str, Any, Any], Any]) -> None:  # fmt: skip
    """Each parameter's optimizer state, converted, as its twin's (an entry that is None,
    PyTorch's momentum buffer before the first step, has nothing to carry)."""
    for group, twin_params in zip(groups, twins):
        for p, twin in zip(group["params"], twin_params):
            if state.get(p):
                twin_state[twin] = {k: convert(k, v, twin) for k, v in state[p].items()
                                    if v is not None}  # fmt: skip


def _number(v: Any) -> Any:
    """PyTorch's hyperparameters as Python numbers (a learning rate may be a tensor)."""
    if hasattr(v, "item") and getattr(v, "ndim", 1) == 0:
        return v.item()
    if isinstance(v, tuple):
        return tuple(_number(x) for x in v)
    return v


def _twins(groups: list[dict[str, Any]], params: Any, known: Any, caller: str) -> list[list]:
    """The other library's parameters for each group's parameters: ``params`` in order, or
    the twins found by the latest module conversion."""
    if params is not None:
        given = list(params)
        count = sum(len(g["params"]) for g in groups)
        if len(given) != count:
            raise ValueError(f"{caller}: the optimizer has {count} parameters, params {len(given)}")
        out, start = [], 0
        for g in groups:
            out.append(given[start : start + len(g["params"])])
            start += len(g["params"])
        return out
    out = []
    for g in groups:
        twins = []
        for p in g["params"]:
            twin = known.get(p)
            if twin is None:
                raise ConversionError(
                    f"{caller}: a parameter of shape {tuple(p.shape)} of this optimizer has no "
                    f"converted twin: convert the model first ({caller}(model)), or pass "
                    "params=<the converted model's parameters, in the optimizer's order>"
                )
            twins.append(twin)
        out.append(twins)
    return out
