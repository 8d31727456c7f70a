"""A model's architecture as a drawing: its layers, the shapes between them, parameter counts."""

from __future__ import annotations

from typing import Any

from autonet.engine.factories import zeros
from autonet.engine.grad_mode import enable_grad
from autonet.viz.graph import draw_graph
from autonet.viz.trace import trace

__all__ = ["draw_model"]


def draw_model(
    model: Any, input_shape: tuple[int, ...], rankdir: str = "TB", dtype: Any = None
) -> Any:
    """Run ``model`` once on zeros of ``input_shape`` (batch axis included) and draw one box per
    layer, with the shape it produced and its parameter count, joined as the data flowed.

    >>> import autonet as an
    >>> from autonet.viz import draw_model
    >>> dot = draw_model(an.nn.MLP(2, [4], 1, activation="tanh"), (8, 2))
    >>> "0: Linear(2, 4)" in dot.source and "12 parameters" in dot.source
    True
    """
    x = zeros(*input_shape, dtype=dtype, requires_grad=True)
    was_training = model.training
    model.eval()
    try:
        with enable_grad(), trace():
            out = model(x)
    finally:
        model.train(was_training)
    return draw_graph(out, model=model, collapse=True, rankdir=rankdir, show_data=False)
