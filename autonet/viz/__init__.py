"""Seeing the computation: drawings of recorded graphs and of models (graphviz), and plots of
training (matplotlib). Needs the ``viz`` and ``plot`` extras: ``pip install 'autonet[viz,plot]'``.
"""

from autonet.viz.animate import animate_backward
from autonet.viz.anomaly import detect_anomaly
from autonet.viz.attention import plot_attention
from autonet.viz.graph import describe_module, draw_graph, render
from autonet.viz.html import to_html
from autonet.viz.model import draw_model
from autonet.viz.plot import (
    animate_training,
    plot_decision_boundary,
    plot_gradient_flow,
    plot_history,
    plot_surface,
)
from autonet.viz.trace import trace

__all__ = [
    "animate_backward", "animate_training", "describe_module", "detect_anomaly", "draw_graph",
    "draw_model", "plot_attention", "plot_decision_boundary", "plot_gradient_flow",
    "plot_history", "plot_surface", "render", "to_html", "trace",
]  # fmt: skip
