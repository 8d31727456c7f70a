"""MLP: the multi-layer perceptron of the "neural network from scratch" tutorials."""

from __future__ import annotations

import json
from collections.abc import Sequence
from itertools import pairwise
from pathlib import Path
from typing import Any

from autonet.engine.tensor import Tensor
from autonet.nn.activation import get_activation
from autonet.nn.containers import Sequential
from autonet.nn.layers import Dropout, Linear
from autonet.nn.module import Module

_KIND = "autonet.model"
_CONFIG = "autonet.config"
# MLP's settings as MLP.save stores them, with their defaults
_SETTINGS = {"in_features": None, "hidden": None, "out_features": None, "activation": "relu",
             "output_activation": None, "dropout": 0.0}  # fmt: skip


class MLP(Module):
    """Linear layers with an activation between them: ``in_features → hidden... → out_features``.

    ``hidden`` is one width or a list (``[3, 3]``: two hidden layers of 3); ``activation`` and
    ``output_activation`` are names (``"sigmoid"``, ``"relu"``, ...) or modules; ``dropout``
    adds Dropout after each hidden activation. The layers live in ``self.layers`` (a
    Sequential), so parameters are named ``layers.0.weight``, ``layers.0.bias``, ...

    >>> import autonet as an
    >>> net = an.nn.MLP(2, [3, 3], 1, activation="sigmoid")
    >>> net
    MLP(
      (layers): Sequential(
        (0): Linear(in_features=2, out_features=3, bias=True)
        (1): Sigmoid()
        (2): Linear(in_features=3, out_features=3, bias=True)
        (3): Sigmoid()
        (4): Linear(in_features=3, out_features=1, bias=True)
      )
    )
    """

    def __init__(
        self,
        in_features: int,
        hidden: int | Sequence[int],
        out_features: int,
        activation: str | Module = "relu",
        output_activation: str | Module | None = None,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        widths = [hidden] if isinstance(hidden, int) else list(hidden)
        sizes = [in_features, *widths]
        layers: list[Module] = []
        for n_in, n_out in pairwise(sizes):
            layers += [Linear(n_in, n_out), get_activation(activation)]
            if dropout:
                layers.append(Dropout(dropout))
        layers.append(Linear(sizes[-1], out_features))
        if output_activation is not None:
            layers.append(get_activation(output_activation))
        self.layers = Sequential(*layers)
        named = isinstance(activation, str) and (
            output_activation is None or isinstance(output_activation, str)
        )
        # what MLP.load needs to rebuild this network (None when an activation is a module)
        self.config = (
            {
                "in_features": in_features,
                "hidden": widths,
                "out_features": out_features,
                "activation": activation,
                "output_activation": output_activation,
                "dropout": dropout,
            }
            if named
            else None
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.layers(x)

    def save(self, path: str | Path) -> None:
        """Save the weights and the configuration to a safetensors file (atomically), so that
        ``MLP.load(path)`` rebuilds this network."""
        from autonet.io import save

        if self.config is None:
            raise ValueError("MLP.save: activations given as modules cannot be saved by name")
        save(self.state_dict(), path, metadata={_KIND: "MLP", _CONFIG: json.dumps(self.config)})

    @classmethod
    def load(cls, path: str | Path) -> MLP:
        """Rebuild an MLP saved with ``MLP.save``: its configuration and its weights.

        The stored configuration is checked (its names, types and ranges) and so are the
        stored tensors, against the names and shapes the configuration gives them, before
        anything is built: the network takes no more memory than the file's weights. A file
        that does not describe an MLP raises :class:`~autonet.io.LoadError`.
        """
        from autonet.io import LoadError, load, read_metadata

        metadata = read_metadata(path)
        if metadata.get(_KIND) != "MLP" or _CONFIG not in metadata:
            raise LoadError(
                f"MLP.load: {path} holds no MLP configuration (was it saved with MLP.save?)"
            )
        try:
            config = json.loads(metadata[_CONFIG])
        except ValueError as e:
            raise LoadError(
                f"MLP.load: {path}: the stored configuration is not JSON ({e})"
            ) from None
        state = load(path)  # (its tensors take the file's size, no more)
        problem = _config_problem(config, state)
        if problem is not None:
            raise LoadError(f"MLP.load: {path}: the stored configuration {problem}")
        model = cls(**config)
        model.load_state_dict(state)
        return model


def _config_problem(config: Any, state: Any) -> str | None:
    """What is wrong with a stored MLP configuration, read beside the stored tensors
    ``state`` (``None``: nothing). Names and types first; then the names and shapes of the
    Linear layers' weights, which must be exactly the stored ones."""
    if not isinstance(config, dict):
        return f"is a JSON {type(config).__name__}, not an object"
    unknown = sorted(set(config) - set(_SETTINGS))
    if unknown:
        return f"has settings MLP does not take: {', '.join(unknown)}"
    missing = [k for k in ("in_features", "hidden", "out_features") if k not in config]
    if missing:
        return f"lacks {', '.join(missing)}"
    hidden = config["hidden"]
    widths = [hidden] if not isinstance(hidden, list) else hidden
    sizes = [config["in_features"], *widths, config["out_features"]]
    if not all(type(n) is int and n >= 1 for n in sizes):
        return f"gives layer sizes {sizes}, not all whole numbers >= 1"
    for key in ("activation", "output_activation"):
        name = config.get(key, _SETTINGS[key])
        if name is None and key == "output_activation":
            continue
        if not isinstance(name, str):
            return f"gives {key} {name!r}, not a name"
        try:
            get_activation(name)
        except ValueError as e:
            return f"gives {key}: {e}"
    dropout = config.get("dropout", 0.0)
    if type(dropout) not in (int, float) or not 0 <= dropout < 1:
        return f"gives dropout {dropout!r}, not a number in [0, 1)"
    if not isinstance(state, dict) or not all(isinstance(t, Tensor) for t in state.values()):
        return "comes with a file that holds no state dict"
    # the layers' indices in self.layers: Linear, activation (and Dropout) per hidden layer
    per_hidden = 3 if dropout else 2
    expected: dict[str, tuple[int, ...]] = {}
    for i, (n_in, n_out) in enumerate(pairwise(sizes)):
        expected[f"layers.{i * per_hidden}.weight"] = (n_out, n_in)
        expected[f"layers.{i * per_hidden}.bias"] = (n_out,)
    stored = {k: t.shape for k, t in state.items()}
    if stored != expected:
        wrong = [k for k in expected if stored.get(k) != expected[k]]
        wrong += [k for k in stored if k not in expected]
        k = wrong[0]
        says = f"the shape {expected[k]}" if k in expected else "no such tensor"
        holds = f"the shape {stored[k]}" if k in stored else "no such tensor"
        return (
            f"does not match the stored tensors: for {k!r} it gives {says}, the file holds {holds}"
        )
    return None
