"""Learning-rate schedules, with PyTorch's names and habits.

A scheduler changes ``optimizer.param_groups[i]["lr"]`` as training goes on. It counts epochs
in ``last_epoch``: the constructor applies the rate of epoch 0, and each ``step()`` (called once
per epoch, after the optimizer's steps) moves to the next epoch. The rate at epoch ``e`` is a
closed-form function of the group's base rate ``initial_lr`` (remembered in the group when the
first scheduler is attached) and of ``e``::

    opt = SGD(model.parameters(), lr=0.1)
    scheduler = StepLR(opt, step_size=30, gamma=0.1)
    for epoch in range(100):
        train(...)            # optimizer.step() calls
        scheduler.step()

NOTE: every schedule here is computed from ``initial_lr`` and the epoch, never from the
current rate: a rate set by hand between steps is overwritten at the next ``step()``, and two
schedulers stepping the same optimizer do not multiply (combine them with
:class:`SequentialLR`, or with one :class:`LambdaLR`). PyTorch's "chainable" forms give the
same rates when each optimizer has one scheduler at a time.

``ReduceLROnPlateau`` is different: it lowers the rate when a metric stops improving, so its
``step(metric)`` takes that metric.
"""

from __future__ import annotations

import bisect
import copy
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from autonet.optim.optimizer import Optimizer

__all__ = [
    "CosineAnnealingLR", "ExponentialLR", "LRScheduler", "LambdaLR", "LinearLR", "MultiStepLR",
    "ReduceLROnPlateau", "SequentialLR", "StepLR",
]  # fmt: skip


def _check_optimizer(name: str, optimizer: Any) -> None:
    if not isinstance(optimizer, Optimizer):
        raise TypeError(
            f"{name}: expected an autonet.optim.Optimizer, got {type(optimizer).__name__}"
        )


class LRScheduler:
    """Base class of the epoch-based schedules: a subclass writes :meth:`get_lr`, the rates of
    epoch ``self.last_epoch`` as a function of ``self.base_lrs``.

    ``last_epoch=-1`` starts a new schedule (each group's current ``lr`` becomes its
    ``initial_lr`` unless it has one already); another value resumes one, and then every group
    must already hold ``initial_lr``.

    >>> import autonet as an
    >>> from autonet.optim import SGD
    >>> from autonet.optim.lr_scheduler import ExponentialLR
    >>> opt = SGD([an.zeros(1, requires_grad=True)], lr=1.0)
    >>> scheduler = ExponentialLR(opt, gamma=0.5)
    >>> for epoch in range(3):
    ...     print(epoch, scheduler.get_last_lr())
    ...     scheduler.step()
    0 [1.0]
    1 [0.5]
    2 [0.25]
    """

    def __init__(self, optimizer: Optimizer, last_epoch: int = -1) -> None:
        name = type(self).__name__
        _check_optimizer(name, optimizer)
        self.optimizer = optimizer
        if last_epoch == -1:
            for group in optimizer.param_groups:
                # NOTE: setdefault, not assignment: a second scheduler on the same optimizer
                # (as in SequentialLR) keeps the base rate the first one found.
                group.setdefault("initial_lr", group["lr"])
        else:
            for i, group in enumerate(optimizer.param_groups):
                if "initial_lr" not in group:
                    raise KeyError(
                        f"{name}: param group {i} has no 'initial_lr', needed to resume a "
                        f"schedule at last_epoch={last_epoch}; start with last_epoch=-1 or "
                        "load the optimizer's state dict first"
                    )
        self.base_lrs: list[float] = [float(g["initial_lr"]) for g in optimizer.param_groups]
        self.last_epoch = last_epoch
        self._last_lr: list[float] = []
        self._initial_step()

    def _initial_step(self) -> None:
        """Apply the rate of the epoch after ``last_epoch`` (epoch 0 for a new schedule)."""
        self.step()

    def get_lr(self) -> list[float]:
        """The rate of each param group at epoch ``self.last_epoch``."""
        raise NotImplementedError(f"{type(self).__name__} does not define get_lr()")

    def step(self, epoch: int | None = None) -> None:
        """Move to the next epoch (or to ``epoch``) and set each group's ``lr``."""
        self.last_epoch = self.last_epoch + 1 if epoch is None else int(epoch)
        for group, lr in zip(self.optimizer.param_groups, self.get_lr()):
            group["lr"] = lr
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def get_last_lr(self) -> list[float]:
        """The rates set by the last ``step()`` (or by the constructor), one per group."""
        return list(self._last_lr)

    def state_dict(self) -> dict[str, Any]:
        """The schedule's position and settings as plain data (no functions, no optimizer),
        which :func:`autonet.save` can write.

        >>> import autonet as an
        >>> from autonet.optim import SGD
        >>> from autonet.optim.lr_scheduler import StepLR
        >>> scheduler = StepLR(SGD([an.zeros(1, requires_grad=True)], lr=1.0), step_size=2)
        >>> scheduler.step()
        >>> scheduler.state_dict()
        {'step_size': 2, 'gamma': 0.1, 'base_lrs': [1.0], 'last_epoch': 1, '_last_lr': [1.0]}
        """
        return copy.deepcopy({k: v for k, v in vars(self).items() if k not in self._not_saved})

    # Attributes that state_dict() leaves out (the optimizer is saved on its own).
    _not_saved: tuple[str, ...] = ("optimizer",)
    # Saved lists that hold one value per param group.
    _per_group: tuple[str, ...] = ("base_lrs", "_last_lr")

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> None:
        """Restore what :meth:`state_dict` saved (the optimizer's rates are restored by the
        optimizer's own ``load_state_dict``). A dict that does not fit raises a ValueError
        and changes nothing.

        >>> import autonet as an
        >>> from autonet.optim import SGD
        >>> from autonet.optim.lr_scheduler import StepLR
        >>> opt = SGD([an.zeros(1, requires_grad=True)], lr=1.0)
        >>> scheduler = StepLR(opt, step_size=2, gamma=0.5)
        >>> for epoch in range(3):
        ...     scheduler.step()
        >>> resumed = StepLR(SGD([an.zeros(1, requires_grad=True)], lr=1.0), step_size=2)
        >>> resumed.load_state_dict(scheduler.state_dict())
        >>> resumed.step(); resumed.get_last_lr()      # epoch 4: 1.0 · 0.5²
        [0.25]
        """
        self._check_state_dict(state_dict)
        vars(self).update(copy.deepcopy(dict(state_dict)))

    def _check_state_dict(self, state_dict: Any) -> None:
        """Raise ValueError unless ``state_dict`` has this scheduler's keys, with one value per
        param group where there should be one."""
        name = f"{type(self).__name__}.load_state_dict"
        if not isinstance(state_dict, Mapping):
            raise ValueError(f"{name}: expected a dict, got {type(state_dict).__name__}")
        expected = set(self.state_dict())
        missing, unexpected = expected - set(state_dict), set(state_dict) - expected
        if missing or unexpected:
            raise ValueError(
                f"{name}: the state dict does not fit this scheduler (missing keys "
                f"{sorted(missing)}, unexpected keys {sorted(unexpected)}); was it saved from "
                "another kind of scheduler?"
            )
        groups = len(self.optimizer.param_groups)
        for key in self._per_group:
            if len(state_dict[key]) != groups:
                raise ValueError(
                    f"{name}: the state dict has {len(state_dict[key])} values in {key!r}, one "
                    f"per param group; the optimizer has {groups} param groups"
                )


class StepLR(LRScheduler):
    """Multiply the rate by ``gamma`` every ``step_size`` epochs:
    ``lr(e) = base_lr · gamma^⌊e / step_size⌋``.

    >>> import autonet as an
    >>> from autonet.optim import SGD
    >>> from autonet.optim.lr_scheduler import StepLR
    >>> opt = SGD([an.zeros(1, requires_grad=True)], lr=1.0)
    >>> scheduler = StepLR(opt, step_size=2, gamma=0.5)
    >>> lrs = []
    >>> for epoch in range(5):
    ...     lrs.append(opt.param_groups[0]["lr"])
    ...     scheduler.step()
    >>> lrs
    [1.0, 1.0, 0.5, 0.5, 0.25]
    """

    def __init__(
        self, optimizer: Optimizer, step_size: int, gamma: float = 0.1, last_epoch: int = -1
    ) -> None:
        if not isinstance(step_size, int) or step_size < 1:
            raise ValueError(f"StepLR: step_size must be a positive integer, got {step_size!r}")
        self.step_size = step_size
        self.gamma = float(gamma)
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        factor = self.gamma ** (self.last_epoch // self.step_size)
        return [base * factor for base in self.base_lrs]


class MultiStepLR(LRScheduler):
    """Multiply the rate by ``gamma`` at each milestone epoch:
    ``lr(e) = base_lr · gamma^(number of milestones ≤ e)`` (a milestone listed twice counts
    twice).

    >>> import autonet as an
    >>> from autonet.optim import SGD
    >>> from autonet.optim.lr_scheduler import MultiStepLR
    >>> opt = SGD([an.zeros(1, requires_grad=True)], lr=1.0)
    >>> scheduler = MultiStepLR(opt, milestones=[1, 3], gamma=0.1)
    >>> lrs = []
    >>> for epoch in range(4):
    ...     lrs.append(round(opt.param_groups[0]["lr"], 6))
    ...     scheduler.step()
    >>> lrs
    [1.0, 0.1, 0.1, 0.01]
    """

    def __init__(
        self,
        optimizer: Optimizer,
        milestones: Sequence[int],
        gamma: float = 0.1,
        last_epoch: int = -1,
    ) -> None:
        self.milestones = sorted(int(m) for m in milestones)
        self.gamma = float(gamma)
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        factor = self.gamma ** bisect.bisect_right(self.milestones, self.last_epoch)
        return [base * factor for base in self.base_lrs]


class ExponentialLR(LRScheduler):
    """Multiply the rate by ``gamma`` every epoch: ``lr(e) = base_lr · gammaᵉ``.

    >>> import autonet as an
    >>> from autonet.optim import SGD
    >>> from autonet.optim.lr_scheduler import ExponentialLR
    >>> opt = SGD([an.zeros(1, requires_grad=True)], lr=2.0)
    >>> scheduler = ExponentialLR(opt, gamma=0.5)
    >>> scheduler.step(); scheduler.step()
    >>> scheduler.get_last_lr()
    [0.5]
    """

    def __init__(self, optimizer: Optimizer, gamma: float, last_epoch: int = -1) -> None:
        self.gamma = float(gamma)
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        return [base * self.gamma**self.last_epoch for base in self.base_lrs]


class CosineAnnealingLR(LRScheduler):
    """Follow half a cosine from the base rate down to ``eta_min`` over ``T_max`` epochs
    (SGDR, Loshchilov & Hutter, 2017, without restarts):

        lr(e) = eta_min + (base_lr − eta_min) · (1 + cos(π e / T_max)) / 2

    Past ``T_max`` the formula goes on, so the rate climbs back along the cosine.

    >>> import autonet as an
    >>> from autonet.optim import SGD
    >>> from autonet.optim.lr_scheduler import CosineAnnealingLR
    >>> opt = SGD([an.zeros(1, requires_grad=True)], lr=1.0)
    >>> scheduler = CosineAnnealingLR(opt, T_max=4)
    >>> lrs = []
    >>> for epoch in range(5):
    ...     lrs.append(round(opt.param_groups[0]["lr"], 4))
    ...     scheduler.step()
    >>> lrs
    [1.0, 0.8536, 0.5, 0.1464, 0.0]
    """

    def __init__(
        self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0, last_epoch: int = -1
    ) -> None:
        if not T_max > 0:
            raise ValueError(f"CosineAnnealingLR: T_max must be > 0, got {T_max!r}")
        self.T_max = T_max
        self.eta_min = float(eta_min)
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        cosine = (1 + math.cos(math.pi * self.last_epoch / self.T_max)) / 2
        return [self.eta_min + (base - self.eta_min) * cosine for base in self.base_lrs]


class LambdaLR(LRScheduler):
    """Scale the base rate by a function of the epoch: ``lr(e) = base_lr · lr_lambda(e)``.

    ``lr_lambda`` is one function for every group or a list with one per group. The functions
    are not part of ``state_dict()``: pass the same ones when rebuilding the scheduler.

    >>> import autonet as an
    >>> from autonet.optim import SGD
    >>> from autonet.optim.lr_scheduler import LambdaLR
    >>> opt = SGD([an.zeros(1, requires_grad=True)], lr=0.1)
    >>> warmup = LambdaLR(opt, lambda epoch: min(1.0, (epoch + 1) / 4))
    >>> warmup.get_last_lr()
    [0.025]
    """

    _not_saved = ("optimizer", "lr_lambdas")

    def __init__(
        self,
        optimizer: Optimizer,
        lr_lambda: Callable[[int], float] | Sequence[Callable[[int], float]],
        last_epoch: int = -1,
    ) -> None:
        _check_optimizer("LambdaLR", optimizer)
        groups = len(optimizer.param_groups)
        if callable(lr_lambda):
            self.lr_lambdas = [lr_lambda] * groups
        else:
            self.lr_lambdas = list(lr_lambda)
            if len(self.lr_lambdas) != groups:
                raise ValueError(
                    f"LambdaLR: expected one lr_lambda or {groups} (one per param group), got "
                    f"{len(self.lr_lambdas)}"
                )
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        return [
            base * float(fn(self.last_epoch)) for fn, base in zip(self.lr_lambdas, self.base_lrs)
        ]


class LinearLR(LRScheduler):
    """Change the rate linearly, by a factor going from ``start_factor`` to ``end_factor`` over
    ``total_iters`` epochs, then staying there (the usual warm-up):

        lr(e) = base_lr · (start + (end − start) · min(e, total_iters) / total_iters)

    >>> import autonet as an
    >>> from autonet.optim import SGD
    >>> from autonet.optim.lr_scheduler import LinearLR
    >>> opt = SGD([an.zeros(1, requires_grad=True)], lr=1.0)
    >>> scheduler = LinearLR(opt, start_factor=0.25, total_iters=3)
    >>> lrs = []
    >>> for epoch in range(5):
    ...     lrs.append(opt.param_groups[0]["lr"])
    ...     scheduler.step()
    >>> lrs
    [0.25, 0.5, 0.75, 1.0, 1.0]
    """

    def __init__(
        self,
        optimizer: Optimizer,
        start_factor: float = 1.0 / 3,
        end_factor: float = 1.0,
        total_iters: int = 5,
        last_epoch: int = -1,
    ) -> None:
        if not 0 < start_factor <= 1:
            raise ValueError(f"LinearLR: start_factor must be in (0, 1], got {start_factor!r}")
        if not 0 <= end_factor <= 1:
            raise ValueError(f"LinearLR: end_factor must be in [0, 1], got {end_factor!r}")
        if not isinstance(total_iters, int) or total_iters < 1:
            raise ValueError(
                f"LinearLR: total_iters must be a positive integer, got {total_iters!r}"
            )
        self.start_factor = float(start_factor)
        self.end_factor = float(end_factor)
        self.total_iters = total_iters
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        progress = min(self.last_epoch, self.total_iters) / self.total_iters
        factor = self.start_factor + (self.end_factor - self.start_factor) * progress
        return [base * factor for base in self.base_lrs]


class SequentialLR(LRScheduler):
    """Run schedules one after another: ``schedulers[i]`` takes over at epoch
    ``milestones[i - 1]`` and starts there from its own epoch 0.

    Typical use: a linear warm-up, then cosine annealing.

    >>> import autonet as an
    >>> from autonet.optim import SGD
    >>> from autonet.optim.lr_scheduler import CosineAnnealingLR, LinearLR, SequentialLR
    >>> opt = SGD([an.zeros(1, requires_grad=True)], lr=1.0)
    >>> warmup = LinearLR(opt, start_factor=0.5, total_iters=2)
    >>> cosine = CosineAnnealingLR(opt, T_max=2)
    >>> scheduler = SequentialLR(opt, [warmup, cosine], milestones=[2])
    >>> lrs = []
    >>> for epoch in range(5):
    ...     lrs.append(round(opt.param_groups[0]["lr"], 4))
    ...     scheduler.step()
    >>> lrs
    [0.5, 0.75, 1.0, 0.5, 0.0]
    """

    def __init__(
        self,
        optimizer: Optimizer,
        schedulers: Sequence[LRScheduler],
        milestones: Sequence[int],
        last_epoch: int = -1,
    ) -> None:
        _check_optimizer("SequentialLR", optimizer)
        schedulers = list(schedulers)
        if not schedulers:
            raise ValueError("SequentialLR: expected at least one scheduler")
        for i, s in enumerate(schedulers):
            if not isinstance(s, LRScheduler) or isinstance(s, (ReduceLROnPlateau, SequentialLR)):
                raise TypeError(
                    f"SequentialLR: scheduler {i} is a {type(s).__name__}; only epoch-based "
                    "schedules (StepLR, LinearLR, ...) can be sequenced"
                )
            if s.optimizer is not optimizer:
                raise ValueError(
                    f"SequentialLR: scheduler {i} steps a different optimizer from the one given"
                )
        if len(milestones) != len(schedulers) - 1:
            raise ValueError(
                f"SequentialLR: {len(schedulers)} schedulers need {len(schedulers) - 1} "
                f"milestones, got {len(milestones)}"
            )
        self.optimizer = optimizer
        self._schedulers = schedulers
        self._milestones = [int(m) for m in milestones]
        self.base_lrs = [float(g["initial_lr"]) for g in optimizer.param_groups]
        self.last_epoch = last_epoch + 1
        # Each scheduler's constructor applied its epoch 0; undo that, and start the first.
        for group in optimizer.param_groups:
            group["lr"] = group["initial_lr"]
        for s in schedulers:
            s.last_epoch -= 1
        schedulers[0]._initial_step()
        self._last_lr = schedulers[0].get_last_lr()

    def step(self, epoch: int | None = None) -> None:
        """Move to the next epoch, handing over to the next schedule at a milestone."""
        if epoch is not None:
            raise TypeError("SequentialLR.step: takes no epoch; it counts epochs itself")
        self.last_epoch += 1
        i = bisect.bisect_right(self._milestones, self.last_epoch)
        scheduler = self._schedulers[i]
        if i > 0 and self._milestones[i - 1] == self.last_epoch:
            scheduler.step(0)  # a new phase starts at its own epoch 0
        else:
            scheduler.step()
        self._last_lr = scheduler.get_last_lr()

    _not_saved = ("optimizer", "_schedulers")

    def state_dict(self) -> dict[str, Any]:
        """The position, milestones and each inner schedule's state dict."""
        state = super().state_dict()
        state["_schedulers"] = [s.state_dict() for s in self._schedulers]
        return state

    def _check_state_dict(self, state_dict: Any) -> None:
        super()._check_state_dict(state_dict)
        inner = state_dict["_schedulers"]
        if len(inner) != len(self._schedulers):
            raise ValueError(
                f"SequentialLR.load_state_dict: the state dict holds {len(inner)} schedules, "
                f"this SequentialLR runs {len(self._schedulers)}"
            )
        for i, (s, saved) in enumerate(zip(self._schedulers, inner)):
            try:
                s._check_state_dict(saved)
            except ValueError as e:
                raise ValueError(f"SequentialLR.load_state_dict: schedule {i}: {e}") from None

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> None:
        """Restore the position and every inner schedule (all are checked first)."""
        self._check_state_dict(state_dict)
        state = dict(state_dict)
        for s, saved in zip(self._schedulers, state.pop("_schedulers")):
            s.load_state_dict(saved)
        vars(self).update(copy.deepcopy(state))


class ReduceLROnPlateau(LRScheduler):
    """Lower the rate when a metric has stopped improving.

    Call ``step(metric)`` once per epoch with, say, the validation loss. The metric improves
    when it beats the best so far by the threshold: in ``mode="min"``,
    ``metric < best · (1 − threshold)`` (``threshold_mode="rel"``) or
    ``metric < best − threshold`` (``"abs"``); in ``mode="max"``, ``metric > best · (1 +
    threshold)`` or ``metric > best + threshold``. After more than ``patience`` epochs in a row
    without improvement, each group's rate becomes ``max(lr · factor, min_lr)`` (a change
    smaller than ``eps`` is skipped), and the next ``cooldown`` epochs are not counted.

    >>> import autonet as an
    >>> from autonet.optim import SGD
    >>> from autonet.optim.lr_scheduler import ReduceLROnPlateau
    >>> opt = SGD([an.zeros(1, requires_grad=True)], lr=1.0)
    >>> scheduler = ReduceLROnPlateau(opt, factor=0.5, patience=1)
    >>> rates = []
    >>> for loss in [3.0, 2.0, 2.0, 2.0, 2.0, 2.0]:
    ...     scheduler.step(loss)
    ...     rates += scheduler.get_last_lr()
    >>> rates
    [1.0, 1.0, 1.0, 0.5, 0.5, 0.25]
    """

    _per_group = ("min_lrs", "_last_lr")

    def __init__(
        self,
        optimizer: Optimizer,
        mode: str = "min",
        factor: float = 0.1,
        patience: int = 10,
        threshold: float = 1e-4,
        threshold_mode: str = "rel",
        cooldown: int = 0,
        min_lr: float | Sequence[float] = 0.0,
        eps: float = 1e-8,
    ) -> None:
        name = "ReduceLROnPlateau"
        _check_optimizer(name, optimizer)
        if not 0 <= factor < 1:
            raise ValueError(f"{name}: factor must be in [0, 1), got {factor!r}")
        if mode not in ("min", "max"):
            raise ValueError(f"{name}: mode must be 'min' or 'max', got {mode!r}")
        if threshold_mode not in ("rel", "abs"):
            raise ValueError(
                f"{name}: threshold_mode must be 'rel' or 'abs', got {threshold_mode!r}"
            )
        groups = len(optimizer.param_groups)
        if isinstance(min_lr, (list, tuple)):
            if len(min_lr) != groups:
                raise ValueError(
                    f"{name}: expected one min_lr or {groups} (one per param group), got "
                    f"{len(min_lr)}"
                )
            self.min_lrs = [float(m) for m in min_lr]
        else:
            self.min_lrs = [float(min_lr)] * groups
        self.optimizer = optimizer
        self.mode = mode
        self.factor = float(factor)
        self.patience = int(patience)
        self.threshold = float(threshold)
        self.threshold_mode = threshold_mode
        self.cooldown = int(cooldown)
        self.eps = float(eps)
        self.best = math.inf if mode == "min" else -math.inf
        self.num_bad_epochs = 0
        self.cooldown_counter = 0
        self.last_epoch = 0
        self._last_lr = [group["lr"] for group in optimizer.param_groups]

    def is_better(self, metric: float, best: float) -> bool:
        """Whether ``metric`` improves on ``best`` by more than the threshold."""
        if self.mode == "min":
            bound = (
                best * (1 - self.threshold)
                if self.threshold_mode == "rel"
                else best - self.threshold
            )
            return metric < bound
        bound = (
            best * (1 + self.threshold) if self.threshold_mode == "rel" else best + self.threshold
        )
        return metric > bound

    def step(self, metrics: Any) -> None:  # type: ignore[override]
        """Record this epoch's metric (a number or a one-element tensor) and lower the rates
        if it has not improved for more than ``patience`` epochs."""
        current = float(metrics)
        self.last_epoch += 1
        if self.is_better(current, self.best):
            self.best = current
            self.num_bad_epochs = 0
        else:
            self.num_bad_epochs += 1
        if self.cooldown_counter > 0:  # epochs right after a reduction do not count
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0
        if self.num_bad_epochs > self.patience:
            self._reduce_lr()
            self.cooldown_counter = self.cooldown
            self.num_bad_epochs = 0
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def _reduce_lr(self) -> None:
        for group, min_lr in zip(self.optimizer.param_groups, self.min_lrs):
            old = group["lr"]
            new = max(old * self.factor, min_lr)
            if old - new > self.eps:
                group["lr"] = new
