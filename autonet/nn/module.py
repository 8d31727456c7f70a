"""Module: the base class of layers and models.

Assigning a :class:`Parameter` or another Module as an attribute registers it, so a model's
parameters are found by walking its attributes (``parameters()``, ``named_parameters()``) and
saved under dotted names (``state_dict()``: ``"layers.0.weight"``), as in PyTorch.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, NamedTuple

import numpy as np

from autonet.engine import versions
from autonet.engine.grad_mode import grad_enabled, no_grad
from autonet.engine.hooks import RemovableHandle
from autonet.engine.tensor import Tensor
from autonet.nn import hooks
from autonet.nn.parameter import Parameter


class IncompatibleKeys(NamedTuple):
    missing_keys: list[str]
    unexpected_keys: list[str]


def check_name(kind: str, name: Any) -> None:
    """Refuse a name that cannot be a key of ``state_dict`` (PyTorch's rule): not a string,
    empty, or holding a ``"."``, which would make ``"a.b"`` beside a module ``"a"`` holding
    ``"b"`` one key for two tensors.

    >>> check_name("module", "layers.0")
    Traceback (most recent call last):
    ...
    ValueError: module name cannot contain ".", got 'layers.0'
    """
    if not isinstance(name, str):
        raise TypeError(f"{kind} name must be a string, not {type(name).__name__}")
    if not name:
        raise ValueError(f"{kind} name cannot be empty")
    if "." in name:
        raise ValueError(f'{kind} name cannot contain ".", got {name!r}')


class Module:
    """Base class for layers and models: subclass it, create parameters and sub-modules in
    ``__init__`` (after ``super().__init__()``), and write ``forward``.

    >>> import autonet as an
    >>> class Affine(an.nn.Module):
    ...     def __init__(self, n):
    ...         super().__init__()
    ...         self.scale = an.nn.Parameter(an.ones(n))
    ...         self.shift = an.nn.Parameter(an.zeros(n))
    ...     def forward(self, x):
    ...         return x * self.scale + self.shift
    >>> m = Affine(2)
    >>> [name for name, _ in m.named_parameters()]
    ['scale', 'shift']
    >>> m(an.tensor([1.0, 2.0]))
    tensor([1., 2.], grad_fn=<add>)
    """

    training: bool

    def __init__(self) -> None:
        object.__setattr__(self, "_parameters", {})
        object.__setattr__(self, "_buffers", {})
        object.__setattr__(self, "_non_persistent", set())
        object.__setattr__(self, "_modules", {})
        object.__setattr__(self, "_forward_pre_hooks", {})
        object.__setattr__(self, "_forward_hooks", {})
        object.__setattr__(self, "_backward_pre_hooks", {})
        object.__setattr__(self, "_backward_hooks", {})
        object.__setattr__(self, "training", True)

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} has no forward()")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if (self._forward_pre_hooks or self._forward_hooks or self._backward_hooks
                or self._backward_pre_hooks or hooks.global_forward_pre_hooks
                or hooks.global_forward_hooks):  # fmt: skip
            return self._call_with_hooks(args, kwargs)
        return self.forward(*args, **kwargs)

    def _call_with_hooks(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """``forward`` with the hooks around it (see :mod:`autonet.nn.hooks`)."""
        for hook in [*hooks.global_forward_pre_hooks.values(), *self._forward_pre_hooks.values()]:
            changed = hook(self, args)
            if changed is not None:
                args = changed if isinstance(changed, tuple) else (changed,)
        call = None
        if (self._backward_hooks or self._backward_pre_hooks) and grad_enabled():
            call = hooks.BackwardHookCall(self)
            args = call.inputs(args)
        out = self.forward(*args, **kwargs)
        for hook in [*hooks.global_forward_hooks.values(), *self._forward_hooks.values()]:
            changed = hook(self, args, out)
            if changed is not None:
                out = changed
        if call is not None:
            out = call.outputs(out)
        return out

    # ---- registration ---------------------------------------------------------------------
    def __setattr__(self, name: str, value: Any) -> None:
        if "_parameters" not in self.__dict__:
            if isinstance(value, (Parameter, Module)):
                raise AttributeError(
                    f"cannot assign {type(value).__name__} '{name}' before Module.__init__() is "
                    "called: call super().__init__() first"
                )
            object.__setattr__(self, name, value)
            return
        params, buffers, modules = self._parameters, self._buffers, self._modules
        if isinstance(value, Parameter):
            check_name("parameter", name)
            self._forget(name)
            self._register(params, name, value)
        elif isinstance(value, Module):
            check_name("module", name)
            self._forget(name)
            self._register(modules, name, value)
        elif name in params:
            if value is not None:
                raise TypeError(
                    f"cannot assign {type(value).__name__} as parameter '{name}' "
                    "(an nn.Parameter or None is expected)"
                )
            self._register(params, name, None)
        elif name in buffers:
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(f"cannot assign {type(value).__name__} as buffer '{name}'")
            self._register(buffers, name, value)
        elif name in modules:
            if value is not None:
                raise TypeError(f"cannot assign {type(value).__name__} as sub-module '{name}'")
            self._register(modules, name, None)
        else:
            object.__setattr__(self, name, value)

    def _register(self, registry: dict[str, Any], name: str, value: Any) -> None:
        """Put ``value`` in its registry and, as a plain attribute, in the instance dict.

        NOTE: the copy in ``__dict__`` makes ``self.weight`` an ordinary attribute lookup; a
        lookup that missed and went through ``__getattr__`` would cost a caught exception on
        every forward. Every change goes through here or ``_forget``, so the two agree.
        """
        registry[name] = value
        self.__dict__[name] = value

    def _forget(self, name: str) -> None:
        for registry in (self._parameters, self._buffers, self._modules):
            registry.pop(name, None)
        self.__dict__.pop(name, None)

    def __getattr__(self, name: str) -> Any:
        # only reached when ordinary lookup fails (a name nothing registered, or an object made
        # without __init__): look in the registries
        d = self.__dict__
        for registry in ("_parameters", "_buffers", "_modules"):
            found = d.get(registry)
            if found is not None and name in found:
                return found[name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __delattr__(self, name: str) -> None:
        if any(name in r for r in (self._parameters, self._buffers, self._modules)):
            self._forget(name)
        else:
            object.__delattr__(self, name)

    def __dir__(self) -> list[str]:
        names = [*self._parameters, *self._buffers, *self._modules]
        return sorted(set(super().__dir__()) | set(names))

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        """Register ``param`` (or ``None``, a placeholder) under ``name``."""
        check_name("parameter", name)
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"register_parameter: '{name}' must be a Parameter or None")
        self._forget(name)
        self._register(self._parameters, name, param)

    def register_buffer(self, name: str, tensor: Tensor | None, persistent: bool = True) -> None:
        """Register a tensor that is state but not learned (running statistics); it is saved in
        ``state_dict`` unless ``persistent=False``.

        >>> import autonet as an
        >>> m = an.nn.Module()
        >>> m.register_buffer("count", an.tensor(0))
        >>> list(m.state_dict())
        ['count']
        """
        check_name("buffer", name)
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(f"register_buffer: '{name}' must be a Tensor or None")
        self._forget(name)
        self._register(self._buffers, name, tensor)
        if persistent:
            self._non_persistent.discard(name)
        else:
            self._non_persistent.add(name)

    def add_module(self, name: str, module: Module | None) -> None:
        """Register ``module`` under ``name`` (what attribute assignment does)."""
        check_name("module", name)
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"add_module: '{name}' must be a Module or None")
        self._forget(name)
        self._register(self._modules, name, module)

    def register_forward_pre_hook(self, hook: Callable[[Module, tuple], Any]) -> RemovableHandle:
        """Call ``hook(module, args)`` before every forward; a non-None return value replaces
        the positional arguments (a tuple, or a single argument). Returns a handle whose
        ``remove()`` unregisters it.

        >>> import autonet as an
        >>> double = an.nn.Identity()
        >>> handle = double.register_forward_pre_hook(lambda m, args: args[0] * 2)
        >>> double(an.tensor([1.0, 2.0]))
        tensor([2., 4.])
        """
        return RemovableHandle(self._forward_pre_hooks).add(hook)

    def register_forward_hook(self, hook: Callable[[Module, tuple, Any], Any]) -> RemovableHandle:
        """Call ``hook(module, args, output)`` after every forward; a non-None return value
        replaces the output. Returns a handle whose ``remove()`` unregisters it."""
        return RemovableHandle(self._forward_hooks).add(hook)

    def register_full_backward_pre_hook(self, hook: Callable[[Module, tuple], Any]
                                        ) -> RemovableHandle:  # fmt: skip
        """Call ``hook(module, grad_output)`` when the gradients with respect to this module's
        outputs have been computed; a returned tuple replaces them."""
        return RemovableHandle(self._backward_pre_hooks).add(hook)

    def register_full_backward_hook(self, hook: Callable[[Module, tuple, tuple], Any]
                                    ) -> RemovableHandle:  # fmt: skip
        """Call ``hook(module, grad_input, grad_output)`` when the gradients with respect to
        this module's inputs have been computed (``None`` for an input that is not a tensor
        requiring grad); a returned tuple replaces ``grad_input``.

        >>> import autonet as an
        >>> layer = an.nn.Linear(2, 1)
        >>> seen = []
        >>> h = layer.register_full_backward_hook(lambda m, gi, go: seen.append(go[0].shape))
        >>> layer(an.ones(3, 2, requires_grad=True)).sum().backward()
        >>> seen
        [(3, 1)]
        """
        return RemovableHandle(self._backward_hooks).add(hook)

    # ---- walking the tree ---------------------------------------------------------------
    def named_modules(self, prefix: str = "", memo: set[int] | None = None
                      ) -> Iterator[tuple[str, Module]]:  # fmt: skip
        """This module and every sub-module, with dotted names (each once), parents first."""
        memo = set() if memo is None else memo
        # NOTE: an explicit stack, not recursion: a walk over a deep tree costs one loop.
        stack = [(prefix, self)]
        while stack:
            name, module = stack.pop()
            if id(module) in memo:
                continue
            memo.add(id(module))
            yield name, module
            children = [(f"{name}.{key}" if name else key, child)
                        for key, child in module._modules.items() if child is not None]  # fmt: skip
            stack.extend(reversed(children))

    def modules(self) -> Iterator[Module]:
        """This module and every sub-module, each once, parents first."""
        # NOTE: the walk of named_modules without the names: parameters() runs it on every
        # call, often once per training step.
        seen: set[int] = set()
        stack = [self]
        while stack:
            module = stack.pop()
            if id(module) in seen:
                continue
            seen.add(id(module))
            yield module
            stack.extend(reversed([m for m in module._modules.values() if m is not None]))

    def named_children(self) -> Iterator[tuple[str, Module]]:
        for name, child in self._modules.items():
            if child is not None:
                yield name, child

    def children(self) -> Iterator[Module]:
        for _, child in self.named_children():
            yield child

    def named_parameters(self, prefix: str = "", recurse: bool = True
                         ) -> Iterator[tuple[str, Parameter]]:  # fmt: skip
        """Every parameter with its dotted name (``"layers.0.weight"``); one shared by several
        modules is listed once.

        >>> import autonet as an
        >>> [n for n, _ in an.nn.Sequential(an.nn.Linear(2, 3)).named_parameters()]
        ['0.weight', '0.bias']
        """
        yield from self._named("_parameters", prefix, recurse)

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        """Every parameter (what an optimizer is given), in the order of
        :meth:`named_parameters`."""
        seen: set[int] = set()
        for module in self.modules() if recurse else [self]:
            for p in module._parameters.values():
                if p is not None and id(p) not in seen:
                    seen.add(id(p))
                    yield p

    def named_buffers(self, prefix: str = "", recurse: bool = True
                      ) -> Iterator[tuple[str, Tensor]]:  # fmt: skip
        yield from self._named("_buffers", prefix, recurse)

    def buffers(self, recurse: bool = True) -> Iterator[Tensor]:
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    def _named(self, registry: str, prefix: str, recurse: bool) -> Iterator[tuple[str, Any]]:
        seen: set[int] = set()
        modules = self.named_modules(prefix) if recurse else [(prefix, self)]
        for module_name, module in modules:
            for name, value in getattr(module, registry).items():
                if value is None or id(value) in seen:
                    continue
                seen.add(id(value))
                yield (f"{module_name}.{name}" if module_name else name), value

    # ---- modes and gradients ------------------------------------------------------------
    def train(self, mode: bool = True) -> Module:
        """Set training mode (dropout active, batch statistics used) here and below."""
        for m in self.modules():
            object.__setattr__(m, "training", bool(mode))
        return self

    def eval(self) -> Module:
        """Set evaluation mode: ``train(False)``."""
        return self.train(False)

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget every parameter's gradient."""
        for p in self.parameters():
            p.zero_grad(set_to_none)

    def requires_grad_(self, requires_grad: bool = True) -> Module:
        """Freeze (``False``) or unfreeze every parameter."""
        for p in self.parameters():
            p.requires_grad = requires_grad
        return self

    def apply(self, fn: Callable[[Module], Any]) -> Module:
        """Call ``fn`` on every sub-module, then on this one (for custom initialization)."""
        for child in self.children():
            child.apply(fn)
        fn(self)
        return self

    def to(self, *args: Any, **kwargs: Any) -> Module:
        """Convert floating parameters and buffers to a dtype (``model.to(an.float64)``); a
        device name such as ``"cpu"`` is accepted and ignored."""
        dtype = kwargs.get("dtype")
        for a in args:
            if not (isinstance(a, str) and a.startswith("cpu")):
                dtype = a
        if dtype is not None:
            dt = np.dtype(dtype)
            with no_grad():
                for t in [*self.parameters(), *self.buffers()]:
                    if t.dtype.kind == "f" and t.dtype != dt:
                        t.data = t.data.astype(dt)
                        t.grad = None
        return self

    def double(self) -> Module:
        return self.to(np.float64)

    def float(self) -> Module:
        return self.to(np.float32)

    # ---- state ----------------------------------------------------------------------------
    def state_dict(self, prefix: str = "") -> dict[str, Tensor]:
        """Parameters and persistent buffers by dotted name, PyTorch's keys and shapes (the
        tensors share memory with the model; save or copy them to keep a snapshot)."""
        state: dict[str, Tensor] = {}
        for module_name, module in self.named_modules(prefix):
            base = f"{module_name}." if module_name else ""
            for name, p in module._parameters.items():
                if p is not None:
                    state[base + name] = p.detach()
            for name, b in module._buffers.items():
                if b is not None and name not in module._non_persistent:
                    state[base + name] = b.detach()
        return state

    def load_state_dict(self, state_dict: Mapping[str, Any], strict: bool = True
                        ) -> IncompatibleKeys:  # fmt: skip
        """Copy values into the parameters and buffers of the same names.

        Every key, shape and value is checked and converted before anything changes: a
        missing or unexpected key (with ``strict=True``), a shape mismatch, or values that are
        not numbers (strings, objects) raise an error naming the key, and leave the module as
        it was. Returns the missing and unexpected keys.

        >>> import autonet as an
        >>> layer = an.nn.Linear(2, 1)
        >>> layer.load_state_dict({"weight": [[1.0, 2.0]], "bias": ["0.5"]})
        Traceback (most recent call last):
        ...
        RuntimeError: load_state_dict for Linear: 'bias' holds <U3 values, not numbers
        """
        own = self.state_dict()
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in state_dict if k not in own]
        problems = []
        converted: list[tuple[Tensor, np.ndarray]] = []  # (target, its new values)
        for key, target in own.items():
            if key not in state_dict:
                continue
            value = state_dict[key]
            try:
                array = np.asarray(value.data if isinstance(value, Tensor) else value)
            except (TypeError, ValueError) as e:  # ragged nested lists, say
                problems.append(f"'{key}' cannot be read as an array ({e})")
                continue
            if array.dtype.kind not in "biuf":
                problems.append(f"'{key}' holds {array.dtype} values, not numbers")
            elif array.shape != target.shape:
                problems.append(
                    f"size mismatch for '{key}': the state has shape {array.shape}, the model "
                    f"has {target.shape}"
                )
            else:
                # NOTE: converted now (a copy), so that nothing is written before every value
                # has been checked, and a value sharing memory with another target is read
                # before that target changes.
                converted.append((target, array.astype(target.dtype)))
        if strict and missing:
            problems.append("missing keys: " + ", ".join(repr(k) for k in missing))
        if strict and unexpected:
            problems.append("unexpected keys: " + ", ".join(repr(k) for k in unexpected))
        if problems:
            raise RuntimeError(f"load_state_dict for {type(self).__name__}: " + "; ".join(problems))
        with no_grad():
            for target, array in converted:
                # the values change under any graph that saved them: backward will know
                versions.mark_changed(target.data)
                target.data[...] = array
        return IncompatibleKeys(missing, unexpected)

    # ---- description ----------------------------------------------------------------------
    def extra_repr(self) -> str:
        """The text inside this module's parentheses in ``repr`` (its settings)."""
        return ""

    def __repr__(self) -> str:
        children = [
            f"  ({name}): " + repr(child).replace("\n", "\n  ")
            for name, child in self._modules.items()
        ]
        extra = self.extra_repr()
        if not children:
            return f"{type(self).__name__}({extra})"
        lines = ([extra] if extra else []) + children
        return f"{type(self).__name__}(\n" + "\n".join(lines) + "\n)"

    def summary(self, input_shape: tuple[int, ...] | Tensor, dtype: Any = None) -> str:
        """A table of the layers with their output shapes and parameter counts, found by running
        one forward pass on zeros of ``input_shape`` (batch axis included) or on a given input.

        >>> import autonet as an
        >>> print(an.nn.MLP(2, [3], 1, activation="sigmoid").summary((4, 2)))
        Layer                 Output shape      Params
        ----------------------------------------------
        layers.0 (Linear)     (4, 3)                 9
        layers.1 (Sigmoid)    (4, 3)                 0
        layers.2 (Linear)     (4, 1)                 4
        ----------------------------------------------
        Total parameters: 13 (trainable: 13)
        """
        from autonet.engine.factories import zeros

        x = input_shape if isinstance(input_shape, Tensor) else zeros(input_shape, dtype=dtype)
        rows: list[tuple[str, str, int]] = []
        handles = []
        for name, m in self.named_modules():
            if m is self or m._modules:
                continue  # containers: their layers are listed instead

            def record(module: Module, inputs: Any, output: Any, name: str = name) -> None:
                shape = output.shape if isinstance(output, Tensor) else "?"
                count = sum(p.size for p in module.parameters(recurse=False))
                rows.append((f"{name} ({type(module).__name__})", str(shape), count))

            handles.append(m.register_forward_hook(record))
        was_training = self.training
        try:
            self.eval()
            with no_grad():
                out = self(x)
        finally:
            self.train(was_training)
            for h in handles:
                h.remove()
        if not rows:
            rows.append(
                (type(self).__name__, str(getattr(out, "shape", "?")), self.num_parameters())
            )
        width = max(20, *(len(r[0]) for r in rows)) + 2
        header = f"{'Layer':<{width}}{'Output shape':<16}{'Params':>8}"
        rule = "-" * len(header)
        body = [f"{n:<{width}}{s:<16}{c:>8}" for n, s, c in rows]
        total = self.num_parameters()
        trainable = self.num_parameters(trainable_only=True)
        return "\n".join(
            [header, rule, *body, rule, f"Total parameters: {total} (trainable: {trainable})"]
        )

    def num_parameters(self, trainable_only: bool = False) -> int:
        """How many numbers the model learns."""
        return sum(p.size for p in self.parameters() if p.requires_grad or not trainable_only)


@contextmanager
def modes_kept(model: Any) -> Iterator[None]:
    """Within: change training modes freely; on leaving, the model and each of its sub-modules
    get back their own mode (a frozen BatchNorm may stay in evaluation mode in a model that
    trains, which ``model.train(mode)`` would undo). Anything but a Module: nothing to keep."""
    modes = [(m, m.training) for m in model.modules()] if isinstance(model, Module) else []
    try:
        yield
    finally:
        for module, training in modes:
            object.__setattr__(module, "training", training)  # this module alone
