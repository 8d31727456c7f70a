"""The training loop: ``fit``, with ``evaluate`` and ``predict`` beside it.

Each training step is the one every PyTorch user writes by hand::

    out = model(x); loss = criterion(out, y)
    optimizer.zero_grad(); loss.backward(); optimizer.step()

``fit`` adds batching, validation, metrics, callbacks, a learning-rate schedule and a progress
bar, and returns a :class:`History`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from autonet.data import DataLoader, Dataset, TensorDataset
from autonet.engine.grad_mode import no_grad
from autonet.engine.ops import concatenate
from autonet.engine.tensor import Tensor, as_tensor
from autonet.nn import loss as losses
from autonet.nn.module import Module, modes_kept
from autonet.optim import Adam, Optimizer
from autonet.optim.lr_scheduler import ReduceLROnPlateau
from autonet.train.callbacks import Callback
from autonet.train.history import History
from autonet.train.metrics import Metric, get_metric
from autonet.train.progress import Progress, should_show

LOSSES: dict[str, Callable[[], Module]] = {
    "mse": losses.MSELoss,
    "l1": losses.L1Loss,
    "huber": losses.HuberLoss,
    "cross_entropy": losses.CrossEntropyLoss,
    "nll": losses.NLLLoss,
    "bce": losses.BCELoss,
    "bce_with_logits": losses.BCEWithLogitsLoss,
}


NAN_POLICIES = ("raise", "stop", "continue")


@dataclass
class TrainingState:
    """What callbacks see: the model and optimizer, the history so far, the current epoch
    (counting from 0), that epoch's ``logs``; setting ``stop_training`` ends ``fit``.
    ``on_nan`` is what ``fit`` does when a batch's loss is NaN or infinite (see :func:`fit`);
    a callback may change it in ``on_train_begin``, as :class:`TerminateOnNaN` does."""

    model: Module
    optimizer: Optimizer
    history: History
    epoch: int = 0
    logs: dict[str, float] = field(default_factory=dict)
    stop_training: bool = False
    on_nan: str = "raise"


def fit(
    model: Module,
    train_data: Any,
    loss: str | Callable[[Tensor, Tensor], Tensor],
    optimizer: Optimizer | None = None,
    epochs: int = 1,
    batch_size: int = 32,
    validation_data: Any = None,
    metrics: Sequence[str | Metric] = (),
    callbacks: Iterable[Callback] = (),
    scheduler: Any = None,
    shuffle: bool = True,
    verbose: bool | str = "auto",
    on_nan: str = "raise",
) -> History:
    """Train ``model`` on ``train_data`` and return the :class:`History` of every epoch.

    - ``train_data`` / ``validation_data``: a tuple ``(X, y)`` of tensors or arrays, a
      ``Dataset``, or a ``DataLoader`` (then ``batch_size`` and ``shuffle`` are its own).
    - ``loss``: a loss module or function ``loss(predictions, targets)``, or a name: ``"mse"``,
      ``"l1"``, ``"huber"``, ``"cross_entropy"``, ``"nll"``, ``"bce"``, ``"bce_with_logits"``.
    - ``optimizer``: Adam with lr=1e-3 on the model's parameters unless given.
    - ``metrics``: names (``"accuracy"``, ``"mae"``, ``"mse"``) or functions, logged for the
      training data (over the epoch's batches) and for the validation data (``"val_..."``).
    - ``scheduler``: stepped after every epoch (``ReduceLROnPlateau`` gets ``val_loss``, or
      ``loss`` without validation data).
    - ``verbose``: a line per epoch with its loss and metrics, validation ones included
      (Keras's ``verbose=2``), wrapped to the terminal's width, and while an epoch runs a
      bar with its running loss (with tqdm), erased when the epoch's line is printed;
      ``"auto"`` shows them only when the output is a terminal.
    - ``on_nan``: what to do when a batch's loss is NaN or infinite, before that batch
      changes the weights: ``"raise"`` a FloatingPointError naming the epoch and the batch,
      ``"stop"`` training there and return the history so far (as the
      :class:`~autonet.train.TerminateOnNaN` callback does), or ``"continue"``.

    The model's training mode (of every sub-module) is restored when ``fit`` ends, also by an
    error. Ctrl-C (KeyboardInterrupt) ends ``fit`` cleanly: the callbacks' ``on_train_end``
    runs and the history of the finished epochs is returned.

    >>> import autonet as an
    >>> _ = an.manual_seed(0)
    >>> X, y = an.data.xor()
    >>> net = an.nn.MLP(2, [4], 1, activation="tanh", output_activation="sigmoid")
    >>> opt = an.optim.Adam(net.parameters(), lr=0.05)
    >>> history = an.train.fit(net, (X, y), loss="mse", optimizer=opt, epochs=300, batch_size=4,
    ...                        metrics=["accuracy"], verbose=False)
    >>> history["accuracy"][-1]
    1.0
    """
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 0:
        raise ValueError(f"fit: epochs must be an int >= 0, got {epochs!r}")
    if on_nan not in NAN_POLICIES:
        raise ValueError(f"fit: on_nan must be one of {', '.join(NAN_POLICIES)}, not {on_nan!r}")
    loss_fn = _loss_function(loss)
    optimizer = optimizer if optimizer is not None else Adam(model.parameters())
    train_loader = _loader(train_data, batch_size, shuffle, "train_data")
    _check_not_empty("fit", "train_data", train_loader)
    val_loader = None
    if validation_data is not None:
        val_loader = _loader(validation_data, batch_size, False, "validation_data")
        _check_not_empty("fit", "validation_data", val_loader)
    named_metrics = [get_metric(m) for m in metrics]
    callbacks = list(callbacks)
    history = History()
    state = TrainingState(model, optimizer, history, on_nan=on_nan)
    progress = Progress(should_show(verbose), epochs, len(train_loader))
    with modes_kept(model):
        try:
            for cb in callbacks:
                cb.on_train_begin(state)
            for epoch in range(epochs):
                state.epoch = epoch
                model.train()
                progress.start_epoch(epoch)
                logs = _train_epoch(state, train_loader, loss_fn, named_metrics, progress)
                if val_loader is not None:
                    scores = evaluate(model, val_loader, loss_fn, metrics)
                    logs.update({f"val_{k}": v for k, v in scores.items()})
                logs["lr"] = float(optimizer.param_groups[0]["lr"])
                progress.end_epoch(logs)
                state.logs = logs
                history.append(logs)
                if scheduler is not None:
                    if isinstance(scheduler, ReduceLROnPlateau):
                        scheduler.step(logs.get("val_loss", logs["loss"]))
                    else:
                        scheduler.step()
                for cb in callbacks:
                    cb.on_epoch_end(state)
                if state.stop_training:
                    break
            for cb in callbacks:
                cb.on_train_end(state)
        except KeyboardInterrupt:
            # NOTE: Ctrl-C is how a user ends a long fit: the model stays usable (the callbacks
            # end as after a last epoch: EarlyStopping may put back its best weights) and the
            # history so far is returned.
            finished = f"{history.epochs} finished epoch" + ("" if history.epochs == 1 else "s")
            progress.message(
                f"fit: interrupted (Ctrl-C) in epoch {state.epoch + 1}/{epochs}; returning the "
                f"history of the {finished}"
            )
            for cb in callbacks:
                cb.on_train_end(state)
        finally:
            progress.close()
    return history


def _train_epoch(state: TrainingState, loader: DataLoader, loss_fn: Any,
                 named_metrics: list[tuple[str, Metric]], progress: Progress
                 ) -> dict[str, float]:  # fmt: skip
    """One epoch of training steps; returns its loss and metrics, averaged over samples."""
    model, optimizer = state.model, state.optimizer
    sums = dict.fromkeys(["loss", *(name for name, _ in named_metrics)], 0.0)
    seen = 0
    for b, batch in enumerate(loader):
        *inputs, target = _split(batch)
        out = model(*inputs)
        value = loss_fn(out, target)
        loss_value = value.item()
        finite = math.isfinite(loss_value)
        if not finite and state.on_nan != "continue":
            # NOTE: checked before backward and step, so the weights are still those that
            # gave a finite loss.
            where = (
                f"fit: the loss is {loss_value} at epoch {state.epoch + 1}/{progress.epochs}, "
                f"batch {b + 1}/{len(loader)}"
            )
            if state.on_nan == "raise":
                raise FloatingPointError(
                    f"{where}; the weights are as before this batch. Lower the learning rate "
                    "or look for nan and inf in the data; on_nan='stop' (or the TerminateOnNaN "
                    "callback) stops training and returns the history, on_nan='continue' "
                    "trains on"
                )
            progress.message(f"{where}: training stopped (on_nan='stop')")
            state.stop_training = True
        n = len(target)
        seen += n
        sums["loss"] += loss_value * n
        for name, fn in named_metrics:
            sums[name] += fn(out.detach(), target) * n
        if not finite and state.stop_training:
            break
        optimizer.zero_grad()
        value.backward()
        optimizer.step()
        progress.update(sums["loss"] / seen)
    if not seen:
        raise ValueError("fit: the training data gave no samples in an epoch")
    return {k: v / seen for k, v in sums.items()}


def evaluate(
    model: Module,
    data: Any,
    loss: str | Callable[[Tensor, Tensor], Tensor] | None = None,
    metrics: Sequence[str | Metric] = (),
    batch_size: int = 256,
) -> dict[str, float]:
    """The loss (when given) and metrics of ``model`` on ``data`` (a tuple ``(X, y)``, a Dataset
    or a DataLoader), in evaluation mode and without recording gradients.

    >>> import autonet as an
    >>> net = an.nn.Linear(2, 1)
    >>> sorted(an.train.evaluate(net, (an.zeros(4, 2), an.zeros(4, 1)), "mse", ["mae"]))
    ['loss', 'mae']
    """
    loss_fn = _loss_function(loss) if loss is not None else None
    named_metrics = [get_metric(m) for m in metrics]
    loader = _loader(data, batch_size, False, "data")
    _check_not_empty("evaluate", "data", loader)
    sums = dict.fromkeys(([] if loss_fn is None else ["loss"]) + [n for n, _ in named_metrics], 0.0)
    seen = 0
    with modes_kept(model), no_grad():
        model.eval()
        for batch in loader:
            *inputs, target = _split(batch)
            out = model(*inputs)
            n = len(target)
            seen += n
            if loss_fn is not None:
                sums["loss"] += loss_fn(out, target).item() * n
            for name, fn in named_metrics:
                sums[name] += fn(out, target) * n
    if not seen:  # NOTE: a mean over nothing is no score; 0.0 would read as a perfect loss
        raise ValueError("evaluate: the data gave no samples")
    return {k: v / seen for k, v in sums.items()}


def predict(model: Module, x: Any, batch_size: int | None = None) -> Tensor:
    """``model(x)`` in evaluation mode without recording gradients, in batches of
    ``batch_size`` when given (for large inputs).

    >>> import autonet as an
    >>> an.train.predict(an.nn.Linear(3, 2), an.zeros(5, 3)).shape
    (5, 2)
    """
    x = as_tensor(x)
    with modes_kept(model), no_grad():
        model.eval()
        if batch_size is None or len(x) <= batch_size:
            return model(x)
        return concatenate([model(x[i : i + batch_size]) for i in range(0, len(x), batch_size)])


def _loss_function(loss: Any) -> Callable[[Tensor, Tensor], Tensor]:
    if isinstance(loss, str):
        make = LOSSES.get(loss)
        if make is None:
            raise ValueError(f"fit: unknown loss {loss!r}; valid names: {', '.join(LOSSES)}")
        return make()
    if not callable(loss):
        kind = type(loss).__name__
        raise TypeError(f"fit: loss must be a loss module, a function or a name, not {kind}")
    return loss


def _loader(data: Any, batch_size: int, shuffle: bool, what: str) -> DataLoader:
    if isinstance(data, DataLoader):
        return data
    if isinstance(data, Dataset):
        return DataLoader(data, batch_size=batch_size, shuffle=shuffle)
    if isinstance(data, (tuple, list)) and len(data) >= 2:
        return DataLoader(TensorDataset(*data), batch_size=batch_size, shuffle=shuffle)
    kind = type(data).__name__
    raise TypeError(f"{what}: expected (X, y), a Dataset or a DataLoader, not {kind}")


def _check_not_empty(op: str, what: str, loader: DataLoader) -> None:
    """Refuse data that gives no batch: its loss would be a mean over nothing."""
    if len(loader) == 0:
        n = len(loader.dataset)
        why = (
            "it holds no samples"
            if n == 0
            else f"its {n} samples make no batch of {loader.batch_size} with drop_last=True"
        )
        raise ValueError(f"{op}: {what} is empty: {why}")


def _split(batch: Any) -> tuple[Any, ...]:
    if isinstance(batch, (tuple, list)) and len(batch) >= 2:
        return tuple(batch)
    raise ValueError("fit: every batch must hold inputs and targets, e.g. a TensorDataset(X, y)")
