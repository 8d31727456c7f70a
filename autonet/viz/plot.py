"""Plots of training with matplotlib: loss and metric curves, decision boundaries and output
surfaces of two-input models, an animation of learning, and the flow of gradients per layer.

Every function returns a ``matplotlib.figure.Figure``, made without pyplot, so it works without
a display; save it with ``fig.savefig(path)``. In Jupyter it is drawn inline as a cell's value
once ``%matplotlib inline`` has run (the notebooks in ``examples/notebooks`` start with it).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from autonet.engine.factories import tensor
from autonet.engine.grad_mode import no_grad
from autonet.engine.tensor import Tensor

__all__ = [
    "animate_training", "plot_decision_boundary", "plot_gradient_flow", "plot_history",
    "plot_surface",
]  # fmt: skip


def _figure(**kwargs: Any) -> Any:
    try:
        from matplotlib.figure import Figure
    except ImportError as e:
        raise ImportError("plots need matplotlib: pip install 'autonet[plot]'") from e
    return Figure(**kwargs)


def plot_history(history: Any, keys: list[str] | None = None) -> Any:
    """One panel per measured quantity (``loss``, ``accuracy``, ...) with the training curve
    and, when measured, the validation curve (``val_...``), against the epoch.

    >>> import autonet as an
    >>> from autonet.viz.plot import plot_history
    >>> h = an.train.History()
    >>> for loss in [1.0, 0.5, 0.3]:
    ...     h.append({"loss": loss, "val_loss": loss + 0.1, "accuracy": 1 - loss})
    >>> [ax.get_title() for ax in plot_history(h).axes]
    ['loss', 'accuracy']
    """
    names = keys or [k for k in history if not k.startswith("val_") and k != "lr"]
    if not names:
        raise ValueError("plot_history: the history has nothing to plot")
    fig = _figure(figsize=(4.2 * len(names), 3.2), layout="constrained")
    for i, name in enumerate(names):
        ax = fig.add_subplot(1, len(names), i + 1)
        epochs = np.arange(1, len(history[name]) + 1)
        ax.plot(epochs, history[name], label="train")
        if f"val_{name}" in history:
            ax.plot(epochs, history[f"val_{name}"], label="validation")
        ax.set_title(name)
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
        ax.legend()
    return fig


def _grid(X: Any, resolution: int, margin: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    x = np.asarray(X.data if isinstance(X, Tensor) else X, dtype=np.float64)
    if x.ndim != 2 or x.shape[1] != 2:
        raise ValueError(f"expected inputs of shape (N, 2) for a two-input model, got {x.shape}")
    lo, hi = x.min(axis=0) - margin, x.max(axis=0) + margin
    xx, yy = np.meshgrid(
        np.linspace(lo[0], hi[0], resolution), np.linspace(lo[1], hi[1], resolution)
    )
    return x, xx, yy


def _outputs(model: Any, xx: np.ndarray, yy: np.ndarray) -> np.ndarray:
    """The model's outputs over the grid, (resolution, resolution, outputs)."""
    points = tensor(np.column_stack([xx.ravel(), yy.ravel()]))
    was_training = model.training
    model.eval()
    try:
        with no_grad():
            out = model(points).numpy()
    finally:
        model.train(was_training)
    return out.reshape(xx.shape + (-1,))


def _draw_boundary(ax: Any, model: Any, X: Any, y: Any, resolution: int, margin: float) -> None:
    x, xx, yy = _grid(X, resolution, margin)
    out = _outputs(model, xx, yy)
    labels = None if y is None else np.asarray(y.data if isinstance(y, Tensor) else y).ravel()
    if out.shape[-1] == 1:
        z = out[..., 0]
        # probabilities split at 0.5; scores (logits, margins) at 0
        level = 0.5 if z.min() >= 0 and z.max() <= 1 else 0.0
        ax.contourf(xx, yy, z, levels=20, cmap="RdBu", alpha=0.6)
        ax.contour(xx, yy, z, levels=[level], colors="k", linewidths=1.5)
        points = {"c": "k"} if labels is None else {"c": labels, "cmap": "RdBu"}
    else:
        z = out.argmax(axis=-1)
        # NOTE: one colour per class for both the regions and the points (class k's colour is
        # the k-th of tab10), whatever classes the points or the regions happen to show.
        palette = _class_colors(out.shape[-1])
        ax.contourf(xx, yy, z, levels=np.arange(len(palette) + 1) - 0.5, colors=palette,
                    alpha=0.4)  # fmt: skip
        if labels is not None and labels.size != len(x):  # one-hot or probabilities
            labels = labels.reshape(len(x), -1).argmax(axis=1)
        points = {"c": "k" if labels is None else [palette[int(k)] for k in labels]}
    ax.scatter(x[:, 0], x[:, 1], edgecolors="k", s=60, **points)
    ax.set_xlim(xx.min(), xx.max())
    ax.set_ylim(yy.min(), yy.max())


def _class_colors(n: int) -> list[Any]:
    """The colour of each of ``n`` classes: tab10's, in order (tab20's beyond 10 classes)."""
    from matplotlib import colormaps

    colors = colormaps["tab10" if n <= 10 else "tab20"].colors
    return [colors[k % len(colors)] for k in range(n)]


def plot_decision_boundary(
    model: Any, X: Any, y: Any = None, resolution: int = 200, margin: float = 0.5
) -> Any:
    """The regions a two-input model assigns to each class, with the data on top coloured by
    its label: one output is read as a probability (or a score) with the boundary drawn at
    0.5 (or 0); several outputs as class scores (argmax).

    >>> import autonet as an
    >>> from autonet.viz.plot import plot_decision_boundary
    >>> X, y = an.data.xor()
    >>> fig = plot_decision_boundary(an.nn.Linear(2, 1), X, y, resolution=20)
    >>> len(fig.axes)
    1
    """
    fig = _figure(figsize=(4.5, 4), layout="constrained")
    ax = fig.add_subplot()
    _draw_boundary(ax, model, X, y, resolution, margin)
    ax.set_title("decision boundary")
    return fig


def plot_surface(model: Any, X: Any, y: Any = None, resolution: int = 60,
                 margin: float = 0.5, output: int = 0) -> Any:  # fmt: skip
    """The network's output ``output`` as a 3-D surface over the plane of its two inputs, with
    the data points at their targets.

    >>> import autonet as an
    >>> from autonet.viz.plot import plot_surface
    >>> X, y = an.data.xor()
    >>> fig = plot_surface(an.nn.MLP(2, [3], 1, activation="sigmoid"), X, y, resolution=10)
    >>> fig.axes[0].name
    '3d'
    """
    x, xx, yy = _grid(X, resolution, margin)
    z = _outputs(model, xx, yy)[..., output]
    fig = _figure(figsize=(5, 4), layout="constrained")
    ax = fig.add_subplot(projection="3d")
    ax.plot_surface(xx, yy, z, cmap="viridis", alpha=0.8, linewidth=0)
    if y is not None:
        t = np.asarray(y.data if isinstance(y, Tensor) else y, dtype=float).reshape(len(x), -1)
        ax.scatter(x[:, 0], x[:, 1], t[:, output], color="red", s=30, depthshade=False)
    ax.set_xlabel("x₁")
    ax.set_ylabel("x₂")
    ax.set_zlabel("output")
    return fig


def plot_gradient_flow(model: Any) -> Any:
    """Mean and maximum absolute gradient of each weight (after ``backward``), layer by
    layer from the input: gradients that shrink toward the input vanish, ones that grow
    explode.

    >>> import autonet as an
    >>> from autonet.viz.plot import plot_gradient_flow
    >>> net = an.nn.MLP(2, [8, 8], 1, activation="sigmoid")
    >>> net(an.randn(16, 2)).sum().backward()
    >>> [t.get_text() for t in plot_gradient_flow(net).axes[0].get_xticklabels()]
    ['layers.0.weight', 'layers.2.weight', 'layers.4.weight']
    """
    named = [(n, p) for n, p in model.named_parameters() if p.grad is not None and p.ndim > 1]
    if not named:
        raise ValueError("plot_gradient_flow: no weight has a gradient yet; call backward() first")
    means = [float(np.abs(p.grad.data).mean()) for _, p in named]
    maxes = [float(np.abs(p.grad.data).max()) for _, p in named]
    fig = _figure(figsize=(max(4, 1.2 * len(named)), 3.5), layout="constrained")
    ax = fig.add_subplot()
    at = np.arange(len(named))
    ax.bar(at, maxes, color="#9ecae1", label="max |grad|")
    ax.bar(at, means, color="#3182bd", width=0.5, label="mean |grad|")
    ax.set_xticks(at, [n for n, _ in named], rotation=30, ha="right")
    ax.set_yscale("log")
    ax.set_title("gradient flow")
    ax.legend()
    return fig


def animate_training(
    model: Any,
    X: Any,
    y: Any,
    step: Callable[[int], float],
    epochs: int,
    path: str | os.PathLike[str],
    every: int = 1,
    fps: int = 10,
    resolution: int = 80,
) -> Path:
    """Train by calling ``step(epoch)`` (one epoch; it returns the loss) ``epochs`` times, and
    save a GIF (matplotlib's Pillow writer) with a frame every ``every`` epochs: the decision
    boundary on the left, the loss so far on the right. Returns the path.

    >>> import autonet as an
    >>> from autonet.viz.plot import animate_training
    >>> animate_training(net, X, y, step, epochs=100, path="xor.gif")  # doctest: +SKIP
    PosixPath('xor.gif')
    """
    try:
        from matplotlib.animation import PillowWriter
    except ImportError as e:
        raise ImportError(
            "animations need matplotlib and pillow: pip install 'autonet[plot]'"
        ) from e
    path = Path(path)
    fig = _figure(figsize=(8, 3.6), layout="constrained")
    left, right = fig.add_subplot(1, 2, 1), fig.add_subplot(1, 2, 2)
    losses: list[float] = []
    writer = PillowWriter(fps=fps)
    tmp = path.with_name(f".{path.stem}.tmp{path.suffix or '.gif'}")
    with writer.saving(fig, str(tmp), dpi=80):
        for epoch in range(epochs):
            losses.append(float(step(epoch)))
            if epoch % every and epoch != epochs - 1:
                continue
            left.clear()
            _draw_boundary(left, model, X, y, resolution, 0.5)
            left.set_title(f"epoch {epoch + 1}")
            right.clear()
            right.plot(np.arange(1, len(losses) + 1), losses, color="#3182bd")
            right.set_xlim(1, epochs)
            right.set_yscale("log")
            right.set_title(f"loss {losses[-1]:.4f}")
            right.set_xlabel("epoch")
            writer.grab_frame()
    os.replace(tmp, path)  # NOTE: never a half-written file
    return path
