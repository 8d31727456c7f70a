"""Optimizer: the base class of every update rule.

An optimizer holds *parameter groups* — lists of tensors that share hyperparameters such as the
learning rate — and a per-parameter *state* (momentum buffers, moment estimates). Each call of
``step()`` reads every parameter's ``.grad`` and changes the parameter in place, under
``no_grad``, so that the version counter marks any graph that saved the old values.

The update rules themselves are plain NumPy on ``p.grad.data`` and on the state arrays; a
subclass writes ``_init_state`` (the state a parameter starts with) and ``_update`` (one
parameter's step), and the loop over groups and parameters lives here, once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

import numpy as np

from autonet.engine.grad_mode import enable_grad, no_grad
from autonet.engine.tensor import Tensor
from autonet.engine.versions import mark_changed

__all__ = ["Optimizer"]


class Optimizer:
    """Base class of optimizers, with PyTorch's interface.

    ``params`` is an iterable of tensors (a generator is fine: it is read once), or a list of
    dicts, each a *parameter group* with a ``"params"`` entry and any hyperparameters that should
    differ from ``defaults`` for that group.

    Attributes: ``param_groups`` (list of dicts), ``state`` (dict keyed by the parameter tensor
    itself), ``defaults``.

    >>> import autonet as an
    >>> from autonet.optim import SGD
    >>> w = an.tensor([1.0, 2.0], requires_grad=True)
    >>> b = an.tensor(0.5, requires_grad=True)
    >>> opt = SGD([{"params": [w]}, {"params": [b], "lr": 0.5}], lr=0.1)
    >>> [group["lr"] for group in opt.param_groups]
    [0.1, 0.5]
    >>> (w.sum() + b).backward()
    >>> opt.step()
    >>> w, b
    (tensor([0.9, 1.9], requires_grad=True), tensor(0., requires_grad=True))
    """

    def __init__(self, params: Iterable[Any], defaults: Mapping[str, Any]) -> None:
        name = type(self).__name__
        if isinstance(params, Tensor):
            raise TypeError(
                f"{name}: params should be an iterable of Tensors or of dicts (param groups), "
                f"not a single Tensor; wrap it in a list"
            )
        self.defaults: dict[str, Any] = {k: _plain(v) for k, v in defaults.items()}
        self._check_hyperparameters(self.defaults)
        self.param_groups: list[dict[str, Any]] = []
        self.state: dict[Tensor, dict[str, Any]] = {}
        groups = list(params)
        if not groups:
            raise ValueError(f"{name}: got an empty parameter list")
        if not isinstance(groups[0], Mapping):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    # ---- parameter groups ---------------------------------------------------------------
    def add_param_group(self, param_group: Mapping[str, Any]) -> None:
        """Add a group of parameters, with hyperparameters that default to ``defaults``
        (useful to unfreeze layers while training).

        >>> import autonet as an
        >>> from autonet.optim import SGD
        >>> opt = SGD([an.zeros(2, requires_grad=True)], lr=0.1, momentum=0.9)
        >>> opt.add_param_group({"params": an.zeros(3, requires_grad=True), "lr": 0.01})
        >>> opt.param_groups[1]["lr"], opt.param_groups[1]["momentum"]
        (0.01, 0.9)
        """
        name = type(self).__name__
        index = len(self.param_groups)
        if not isinstance(param_group, Mapping):
            raise TypeError(
                f"{name}: a param group must be a dict, not {type(param_group).__name__}"
            )
        if "params" not in param_group:
            raise ValueError(f"{name}: param group {index} has no 'params' entry")
        params = param_group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, (set, frozenset)):
            # NOTE: a set has no stable order, and state_dict() numbers parameters by position.
            raise TypeError(
                f"{name}: parameters must be given in an ordered collection (a list), not a set"
            )
        else:
            params = list(params)
        for i, p in enumerate(params):
            where = f"parameter {i} of param group {index}"
            if not isinstance(p, Tensor):
                raise TypeError(f"{name}: {where} is a {type(p).__name__}, not a Tensor")
            if p.dtype.kind != "f":
                raise TypeError(
                    f"{name}: {where} has dtype {p.dtype}; only floating-point tensors can be "
                    "optimized"
                )
            if not p.is_leaf:
                raise ValueError(
                    f"{name}: {where} is the result of an operation (not a leaf); optimize the "
                    "tensors you created, or .detach() it first"
                )
        seen = {id(p) for group in self.param_groups for p in group["params"]}
        ids = [id(p) for p in params]
        if len(set(ids)) != len(ids) or not seen.isdisjoint(ids):
            raise ValueError(
                f"{name}: a parameter appears more than once (in param group {index} or in an "
                "earlier group); each parameter may be optimized by one group only"
            )
        group = {k: _plain(v) for k, v in param_group.items() if k != "params"}
        for key, default in self.defaults.items():
            group.setdefault(key, default)
        self._check_hyperparameters(group)
        group["params"] = params
        self.param_groups.append(group)

    def _check_hyperparameters(self, group: Mapping[str, Any]) -> None:
        """Raise ValueError if a hyperparameter is out of range (subclasses add their own)."""
        if "lr" in group:
            check_nonnegative(self, group, "lr")

    # ---- the update ---------------------------------------------------------------------
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget every parameter's gradient (``grad = None``), or fill it with zeros.

        >>> import autonet as an
        >>> from autonet.optim import SGD
        >>> w = an.ones(2, requires_grad=True)
        >>> opt = SGD([w])
        >>> (w * 3).sum().backward()
        >>> opt.zero_grad()
        >>> w.grad is None
        True
        """
        for group in self.param_groups:
            for p in group["params"]:
                p.zero_grad(set_to_none)

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Update every parameter that has a gradient, and return ``closure()``'s loss.

        ``closure``, when given, re-evaluates the model and returns the loss (it should call
        ``zero_grad`` and ``backward`` itself); it is called with recording on, even inside
        ``no_grad``. Parameters whose ``grad`` is None are left alone (and get no state).

        >>> import autonet as an
        >>> from autonet.optim import SGD
        >>> w = an.tensor([2.0], requires_grad=True)
        >>> opt = SGD([w], lr=0.25)
        >>> def closure():
        ...     opt.zero_grad()
        ...     loss = (w * w).sum()
        ...     loss.backward()
        ...     return loss
        >>> opt.step(closure)                 # the loss before the step
        tensor(4., grad_fn=<sum>)
        >>> w                                 # 2 − 0.25 · 2·2
        tensor([1.], requires_grad=True)
        """
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        with no_grad():
            for group in self.param_groups:
                for p in group["params"]:
                    if p.grad is None:
                        continue
                    state = self.state.get(p)
                    if state is None:
                        state = self.state[p] = self._init_state(p, group)
                    for value in state.values():
                        if isinstance(value, Tensor):  # a moment, a buffer: about to change
                            mark_changed(value.data)
                    self._update(p, p.grad.data, state, group)
        return loss

    # Every name a parameter's state may hold (load_state_dict refuses others).
    _state_names: tuple[str, ...] = ()

    def _init_state(self, p: Tensor, group: dict[str, Any]) -> dict[str, Any]:
        """The state ``p`` starts with, before its first update."""
        return {}

    def _update(
        self, p: Tensor, grad: np.ndarray, state: dict[str, Any], group: dict[str, Any]
    ) -> None:
        """Change ``p`` in place from its gradient array, its state and its group's
        hyperparameters (runs under ``no_grad``)."""
        raise NotImplementedError(f"{type(self).__name__} does not implement an update rule")

    # ---- saving and restoring -----------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """The optimizer's state as plain data, in PyTorch's layout: ``{"state": {index: {name:
        value}}, "param_groups": [{hyperparameters..., "params": [index, ...]}]}``.

        Parameters are numbered 0, 1, 2, ... across the groups in order; state tensors are
        copies, so the dict does not change as training goes on.

        >>> import autonet as an
        >>> from autonet.optim import Adam
        >>> w = an.ones(2, requires_grad=True)
        >>> opt = Adam([w], lr=0.01)
        >>> (w * w).sum().backward(); opt.step()
        >>> sd = opt.state_dict()
        >>> sd["state"][0]["step"], sorted(sd["state"][0]), sd["param_groups"][0]["params"]
        (1, ['exp_avg', 'exp_avg_sq', 'step'], [0])
        """
        index: dict[int, int] = {}
        groups = []
        for group in self.param_groups:
            packed = {k: v for k, v in group.items() if k != "params"}
            packed["params"] = [index.setdefault(id(p), len(index)) for p in group["params"]]
            groups.append(packed)
        state = {}
        for group in self.param_groups:
            for p in group["params"]:
                if self.state.get(p):
                    state[index[id(p)]] = {k: _copy(v) for k, v in self.state[p].items()}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> None:
        """Restore the state and hyperparameters saved by :meth:`state_dict`, so that training
        goes on exactly where it stopped.

        The saved groups must match this optimizer's: the same number of groups, of
        parameters in each, the state entries this optimizer keeps (a dict saved by another
        kind of optimizer does not fit), and state tensors of each parameter's shape. What
        :func:`autonet.load` gives back is accepted as it is: integer or string keys, ``step``
        as an int or a one-element tensor. Values are copied in with the parameter's dtype. On
        any mismatch a ValueError says where, and nothing is changed.

        >>> import autonet as an
        >>> from autonet.optim import SGD
        >>> w = an.ones(2, requires_grad=True)
        >>> opt = SGD([w], lr=0.1, momentum=0.9)
        >>> (w * w).sum().backward(); opt.step()
        >>> twin = SGD([an.ones(2, requires_grad=True)], lr=0.5)
        >>> twin.load_state_dict(opt.state_dict())
        >>> twin.param_groups[0]["lr"], twin.state_dict()["state"][0]["momentum_buffer"]
        (0.1, tensor([2., 2.]))
        """
        name = f"{type(self).__name__}.load_state_dict"
        if not isinstance(state_dict, Mapping) or not {"state", "param_groups"} <= set(state_dict):
            raise ValueError(f"{name}: expected a dict with 'state' and 'param_groups' entries")
        saved_groups = list(state_dict["param_groups"])
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(
                f"{name}: the state dict has {len(saved_groups)} param groups, this optimizer "
                f"has {len(self.param_groups)}"
            )
        # saved index -> (parameter, its new group, a description for messages)
        where: dict[int, tuple[Tensor, dict[str, Any], str]] = {}
        new_groups = []
        for g, (saved, group) in enumerate(zip(saved_groups, self.param_groups)):
            if not isinstance(saved, Mapping) or "params" not in saved:
                raise ValueError(f"{name}: param group {g} of the state dict has no 'params' entry")
            ids = list(saved["params"])
            if len(ids) != len(group["params"]):
                raise ValueError(
                    f"{name}: param group {g} has {len(ids)} parameters in the state dict and "
                    f"{len(group['params'])} in this optimizer"
                )
            new_group = {k: _plain(v) for k, v in saved.items() if k != "params"}
            for key, default in self.defaults.items():
                new_group.setdefault(key, default)
            self._check_hyperparameters(new_group)
            new_group["params"] = group["params"]
            new_groups.append(new_group)
            for i, (saved_id, p) in enumerate(zip(ids, group["params"])):
                if int(saved_id) in where:
                    raise ValueError(f"{name}: parameter index {saved_id} appears twice")
                where[int(saved_id)] = (p, new_group, f"parameter {i} of param group {g}")

        new_state: dict[Tensor, dict[str, Any]] = {}
        for key, saved_state in state_dict["state"].items():
            if int(key) not in where:
                raise ValueError(f"{name}: the state dict has state for unknown parameter {key}")
            p, group, description = where[int(key)]
            # NOTE: names this kind of optimizer never keeps mean another kind saved the dict;
            # names its first step would have made must be there for the next step to run.
            unknown = set(saved_state) - set(self._state_names)
            missing = set(self._init_state(p, group)) - set(saved_state)
            if unknown or missing:
                raise ValueError(
                    f"{name}: the state of {description} holds {sorted(saved_state)}; "
                    f"{type(self).__name__} keeps {sorted(self._state_names)} "
                    f"(unknown: {sorted(unknown)}, missing: {sorted(missing)}); was it saved by "
                    "another kind of optimizer, or with other settings?"
                )
            entry = {}
            for field, value in saved_state.items():
                if field == "step":
                    entry[field] = int(value)  # a Python int, a 0-d tensor from PyTorch...
                elif isinstance(value, (Tensor, np.ndarray)):
                    if tuple(value.shape) != p.shape:
                        raise ValueError(
                            f"{name}: state {field!r} of {description} has shape "
                            f"{tuple(value.shape)}, the parameter has shape {p.shape}"
                        )
                    entry[field] = Tensor(value, dtype=p.dtype)  # a copy, in p's dtype
                else:
                    entry[field] = _plain(value)
            new_state[p] = entry
        self.param_groups = new_groups
        self.state = new_state

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines += [f"    {k}: {group[k]}" for k in sorted(group) if k != "params"]
        lines.append(")")
        return "\n".join(lines)


def check_nonnegative(optimizer: Any, group: Mapping[str, Any], *keys: str) -> None:
    """Raise ``ValueError("Adam: invalid lr=-1 (it must be >= 0)")`` for a negative value."""
    for key in keys:
        value = group[key]
        if not isinstance(value, (int, float)) or not value >= 0:
            raise ValueError(
                f"{type(optimizer).__name__}: invalid {key}={value!r} (it must be a number >= 0)"
            )


def _plain(value: Any) -> Any:
    """NumPy scalars as Python numbers, recursively through tuples and lists.

    NOTE: hyperparameters must be Python floats: a ``np.float64`` scalar times a float32
    array gives a float64 array (NumPy 2 promotion), a Python float does not.
    """
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (tuple, list)):
        return type(value)(_plain(v) for v in value)
    return value


def _copy(value: Any) -> Any:
    """A state value detached from the live state: tensors copied, numbers as they are."""
    if isinstance(value, Tensor):
        return Tensor(value.data, dtype=value.dtype)
    return _plain(value)
