"""The networks of the workloads, built once in autonet and copied to the other sides, so all
three start from the same parameters."""

from __future__ import annotations

from itertools import pairwise
from typing import Any

import numpy as np

import autonet as an


def autonet_mlp(sizes: list[int], seed: int) -> an.nn.Module:
    """``Linear → ReLU → ... → Linear`` through the given widths, as a user writes it with
    ``an.nn.Sequential``; parameters drawn after ``an.manual_seed(seed)``."""
    an.manual_seed(seed)
    layers: list[an.nn.Module] = []
    for k, (n_in, n_out) in enumerate(pairwise(sizes)):
        if k:
            layers.append(an.nn.ReLU())
        layers.append(an.nn.Linear(n_in, n_out))
    return an.nn.Sequential(*layers)


def arrays_of(model: Any) -> list[np.ndarray]:
    """Copies of a model's parameters as arrays, in ``parameters()`` order (autonet or torch)."""
    return [
        np.array(p.data if isinstance(p, an.Tensor) else p.detach().numpy(), copy=True)
        for p in model.parameters()
    ]


def torch_mlp(torch: Any, params: list[np.ndarray]) -> Any:
    """The same ReLU MLP in PyTorch, holding copies of ``params`` ([W1, b1, W2, b2, ...])."""
    layers: list[Any] = []
    for k in range(0, len(params), 2):
        w, b = params[k], params[k + 1]
        if k:
            layers.append(torch.nn.ReLU())
        linear = torch.nn.Linear(w.shape[1], w.shape[0])
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(w))
            linear.bias.copy_(torch.from_numpy(b))
        layers.append(linear)
    return torch.nn.Sequential(*layers)
