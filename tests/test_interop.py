"""autonet.interop: every built-in module handed to PyTorch and back computes the same outputs
and gradients (float32 to 1e-5, float64 to 1e-10), in the same train/eval mode; optimizers
carry their state over, so the next step is the same step."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest

import autonet as an
from autonet import nn

torch = pytest.importorskip("torch")
from autonet.interop import ConversionError, from_torch, to_torch  # noqa: E402

TOLERANCE = {np.float32: 1e-5, np.float64: 1e-10}


@dataclass
class Case:
    """A module to convert, the inputs it takes (as shapes; ints for integer inputs), and the
    mode it runs in."""

    name: str
    make: Callable[[], nn.Module]
    inputs: list[Any]
    training: bool = False
    kwargs: dict[str, Any] = field(default_factory=dict)

    def __repr__(self) -> str:
        return self.name


class Heads(nn.Module):
    """A module of one's own, with a ModuleList, a ModuleDict, a parameter and a buffer."""

    def __init__(self) -> None:
        super().__init__()
        self.trunk = nn.ModuleList([nn.Linear(4, 6), nn.Tanh()])
        self.heads = nn.ModuleDict({"a": nn.Linear(6, 2), "b": nn.Linear(6, 3)})
        self.scale = nn.Parameter(an.ones(2) * 1.5)
        self.register_buffer("shift", an.tensor([0.5, -0.5]))

    def forward(self, x: an.Tensor) -> tuple[an.Tensor, an.Tensor]:
        for layer in self.trunk:
            x = layer(x)
        return self.heads["a"](x) * self.scale + self.shift, self.features(x)

    def features(self, x: an.Tensor) -> an.Tensor:
        return self.heads["b"](x).relu().reshape(x.shape[0], 3, 1).sum(axis=-1)


def layer(**kw: Any) -> nn.TransformerEncoderLayer:
    return nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, **kw)


CASES = [
    Case("Linear", lambda: nn.Linear(4, 3), [(5, 4)]),
    Case("Linear-nobias", lambda: nn.Linear(4, 3, bias=False), [(2, 7, 4)]),
    Case("Conv1d", lambda: nn.Conv1d(3, 4, 3, stride=2, padding=1), [(2, 3, 9)]),
    Case("Conv2d", lambda: nn.Conv2d(2, 4, 3, padding=1, groups=2), [(2, 2, 6, 6)]),
    Case(
        "Conv2d-reflect",
        lambda: nn.Conv2d(2, 3, 3, padding=2, dilation=2, padding_mode="reflect"),
        [(2, 2, 7, 7)],
    ),
    Case("MaxPool1d", lambda: nn.MaxPool1d(2), [(2, 3, 9)]),
    Case("MaxPool2d", lambda: nn.MaxPool2d(3, stride=2, padding=1, ceil_mode=True), [(2, 3, 8, 8)]),
    Case("AvgPool1d", lambda: nn.AvgPool1d(3, stride=2), [(2, 3, 9)]),
    Case("AvgPool2d", lambda: nn.AvgPool2d(2, padding=1, count_include_pad=False), [(2, 3, 7, 7)]),
    Case("AdaptiveAvgPool2d", lambda: nn.AdaptiveAvgPool2d((2, 3)), [(2, 3, 7, 9)]),
    Case("BatchNorm1d-train", lambda: nn.BatchNorm1d(4), [(6, 4)], training=True),
    Case("BatchNorm1d-eval", lambda: nn.BatchNorm1d(4), [(6, 4, 3)]),
    Case("BatchNorm2d-train", lambda: nn.BatchNorm2d(3), [(4, 3, 5, 5)], training=True),
    Case("BatchNorm2d-eval", lambda: nn.BatchNorm2d(3, affine=False), [(4, 3, 5, 5)]),
    Case("LayerNorm", lambda: nn.LayerNorm(6), [(3, 6)]),
    Case("LayerNorm-2d", lambda: nn.LayerNorm((3, 4), bias=False), [(2, 3, 4)]),
    Case("GroupNorm", lambda: nn.GroupNorm(2, 6), [(3, 6, 4)]),
    Case("RMSNorm", lambda: nn.RMSNorm(5), [(3, 5)]),
    Case("RMSNorm-eps", lambda: nn.RMSNorm((2, 5), eps=1e-3), [(3, 2, 5)]),
    Case("Dropout", lambda: nn.Dropout(0.3), [(4, 5)]),
    Case("Dropout2d", lambda: nn.Dropout2d(0.3), [(2, 3, 4, 4)]),
    Case("Embedding", lambda: nn.Embedding(10, 4, padding_idx=0), [(3, 5, 10)]),
    Case("Identity", lambda: nn.Identity(), [(2, 3)]),
    Case("Flatten", lambda: nn.Flatten(), [(2, 3, 4)]),
    Case("ReLU", lambda: nn.ReLU(), [(4, 5)]),
    Case("LeakyReLU", lambda: nn.LeakyReLU(0.2), [(4, 5)]),
    Case("ELU", lambda: nn.ELU(0.7), [(4, 5)]),
    Case("GELU", lambda: nn.GELU(), [(4, 5)]),
    Case("GELU-tanh", lambda: nn.GELU("tanh"), [(4, 5)]),
    Case("Sigmoid", lambda: nn.Sigmoid(), [(4, 5)]),
    Case("Tanh", lambda: nn.Tanh(), [(4, 5)]),
    Case("Softplus", lambda: nn.Softplus(2.0), [(4, 5)]),
    Case("SiLU", lambda: nn.SiLU(), [(4, 5)]),
    Case("Softmax", lambda: nn.Softmax(dim=1), [(4, 5, 2)]),
    Case("LogSoftmax", lambda: nn.LogSoftmax(), [(4, 5)]),
    Case(
        "Sequential", lambda: nn.Sequential(nn.Linear(4, 6), nn.ReLU(), nn.Linear(6, 2)), [(3, 4)]
    ),
    Case("ModuleList-ModuleDict-own", Heads, [(3, 4)]),
    Case("MLP", lambda: nn.MLP(4, [5, 5], 2, activation="tanh", dropout=0.2), [(3, 4)]),
    Case(
        "RNN",
        lambda: nn.RNN(4, 5, num_layers=2, nonlinearity="relu", bidirectional=True),
        [(6, 3, 4)],
    ),
    Case("LSTM", lambda: nn.LSTM(4, 5, num_layers=2, batch_first=True), [(3, 6, 4)]),
    Case("LSTM-state", lambda: nn.LSTM(4, 5), [(6, 3, 4), ((1, 3, 5), (1, 3, 5))]),
    Case("GRU", lambda: nn.GRU(4, 5, bidirectional=True, bias=False), [(6, 4)]),
    Case("RNNCell", lambda: nn.RNNCell(4, 5, nonlinearity="tanh"), [(3, 4), (3, 5)]),
    Case("LSTMCell", lambda: nn.LSTMCell(4, 5), [(3, 4), ((3, 5), (3, 5))]),
    Case("GRUCell", lambda: nn.GRUCell(4, 5), [(3, 4), (3, 5)]),
    Case(
        "MultiheadAttention",
        lambda: nn.MultiheadAttention(8, 2, batch_first=True),
        [(2, 5, 8), (2, 7, 8), (2, 7, 8)],
    ),
    Case(
        "MultiheadAttention-kdim",
        lambda: nn.MultiheadAttention(8, 4, kdim=6, vdim=3),
        [(5, 2, 8), (7, 2, 6), (7, 2, 3)],
        kwargs={"average_attn_weights": False},
    ),
    Case("TransformerEncoderLayer", lambda: layer(), [(5, 2, 8)]),
    Case(
        "TransformerEncoderLayer-prenorm-gelu",
        lambda: layer(norm_first=True, activation="gelu", batch_first=True),
        [(2, 5, 8)],
        kwargs={"is_causal": True, "src_mask": np.triu(np.ones((5, 5), bool), 1)},
    ),
    Case(
        "TransformerDecoderLayer",
        lambda: nn.TransformerDecoderLayer(8, 2, 16),
        [(5, 2, 8), (7, 2, 8)],
    ),
    Case(
        "TransformerEncoder",
        lambda: nn.TransformerEncoder(layer(), 2, norm=nn.LayerNorm(8)),
        [(5, 2, 8)],
    ),
    Case(
        "TransformerDecoder",
        lambda: nn.TransformerDecoder(nn.TransformerDecoderLayer(8, 2, 16, batch_first=True), 2),
        [(2, 5, 8), (2, 3, 8)],
    ),
    Case("MSELoss", lambda: nn.MSELoss(reduction="sum"), [(4, 3), (4, 3)]),
    Case("HuberLoss", lambda: nn.HuberLoss(delta=0.5), [(4, 3), (4, 3)]),
]


def make_inputs(shapes: list[Any], dtype: Any, rng: np.random.Generator) -> list[Any]:
    """Arrays of the given shapes (a tuple of shapes: a tuple of arrays; a shape whose last
    entry is the table size of an Embedding: integers below it)."""
    out = []
    for shape in shapes:
        if isinstance(shape[0], tuple):
            out.append(tuple(rng.standard_normal(s).astype(dtype) for s in shape))
        else:
            out.append(rng.standard_normal(shape).astype(dtype))
    return out


def as_autonet(value: Any) -> Any:
    if isinstance(value, tuple):
        return tuple(as_autonet(v) for v in value)
    return an.tensor(value, dtype=value.dtype, requires_grad=value.dtype.kind == "f")


def as_torch(value: Any) -> Any:
    if isinstance(value, tuple):
        return tuple(as_torch(v) for v in value)
    t = torch.from_numpy(value.copy())
    return t.requires_grad_() if value.dtype.kind == "f" else t


def leaves(value: Any) -> list[Any]:
    if isinstance(value, (tuple, list)):
        return [leaf for v in value for leaf in leaves(v)]
    return [] if value is None else [value]


def array(t: Any) -> np.ndarray:
    return t.detach().numpy() if isinstance(t, torch.Tensor) else t.numpy()


def run_both(case: Case, ours: nn.Module, theirs: Any, dtype: Any) -> None:
    """Run both modules on the same inputs; compare outputs, then the gradients of the
    parameters and inputs after backward from the same random output gradients."""
    rng = np.random.default_rng(1)
    arrays = make_inputs(case.inputs, dtype, rng)
    if case.name == "Embedding":
        arrays = [rng.integers(0, 10, (3, 5))]
    xs_a, xs_t = [as_autonet(a) for a in arrays], [as_torch(a) for a in arrays]
    kwargs_a = {
        k: an.tensor(v, dtype=v.dtype) if isinstance(v, np.ndarray) else v
        for k, v in case.kwargs.items()
    }
    kwargs_t = {k: torch.from_numpy(v) if isinstance(v, np.ndarray) else v
                for k, v in case.kwargs.items()}  # fmt: skip
    out_a, out_t = leaves(ours(*xs_a, **kwargs_a)), leaves(theirs(*xs_t, **kwargs_t))
    tol = TOLERANCE[dtype]
    assert len(out_a) == len(out_t)
    for a, t in zip(out_a, out_t):
        assert array(a).dtype == dtype
        np.testing.assert_allclose(array(a), array(t), rtol=tol, atol=tol)
    # the same weighted sum of the outputs, differentiated in both
    weights = [rng.standard_normal(array(a).shape).astype(dtype) for a in out_a]
    total = an.tensor(0.0, dtype=dtype)
    for a, w in zip(out_a, weights):
        total = total + (a * an.tensor(w, dtype=dtype)).sum()
    total.backward()
    sum((t * torch.from_numpy(w)).sum() for t, w in zip(out_t, weights)).backward()
    grads_t = {n: p.grad for n, p in theirs.named_parameters()}
    for name, p in ours.named_parameters():
        assert (p.grad is None) == (grads_t[name] is None), name
        if p.grad is not None:
            np.testing.assert_allclose(array(p.grad), array(grads_t[name]), rtol=tol, atol=tol,
                                       err_msg=name)  # fmt: skip
    for a, t in zip(leaves(xs_a), leaves(xs_t)):
        if t.grad is not None:
            np.testing.assert_allclose(array(a.grad), array(t.grad), rtol=tol, atol=tol)
    # buffers (running statistics updated in training) agree afterwards too
    buffers_t = dict(theirs.named_buffers())
    for name, b in ours.named_buffers():
        np.testing.assert_allclose(array(b), array(buffers_t[name]), rtol=tol, atol=tol)


def made(case: Case, dtype: Any) -> nn.Module:
    an.manual_seed(0)
    module = case.make().to(dtype)
    return module.train(case.training)


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("case", CASES, ids=repr)
def test_to_torch(case: Case, dtype: Any) -> None:
    ours = made(case, dtype)
    theirs = to_torch(ours)
    assert isinstance(theirs, torch.nn.Module)
    assert theirs.training == case.training
    assert {n: tuple(p.shape) for n, p in theirs.state_dict().items()} == {
        n: t.shape for n, t in ours.state_dict().items()
    }
    run_both(case, ours, theirs, dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("case", CASES, ids=repr)
def test_from_torch(case: Case, dtype: Any) -> None:
    theirs = to_torch(made(case, dtype))
    torch.manual_seed(1)
    with torch.no_grad():  # weights of PyTorch's own, so nothing comes from the first module
        for p in theirs.parameters():
            p.add_(torch.randn_like(p) * 0.1)
    ours = from_torch(theirs)
    assert isinstance(ours, nn.Module)
    assert type(ours).__name__ == case.make().__class__.__name__
    assert ours.training == case.training
    run_both(case, ours, theirs, dtype)


def test_torch_built_modules_come_over() -> None:
    """Modules made by PyTorch itself (its own initialization and attribute values)."""
    torch.manual_seed(0)
    theirs = torch.nn.Sequential(
        torch.nn.LSTM(3, 4, batch_first=True, num_layers=2, dropout=0.0),
    )
    lstm = from_torch(theirs[0])
    x = np.random.default_rng(0).standard_normal((2, 5, 3)).astype(np.float32)
    out, _ = lstm(an.tensor(x))
    out_t, _ = theirs[0](torch.from_numpy(x))
    np.testing.assert_allclose(out.numpy(), out_t.detach().numpy(), atol=1e-5)
    enc = torch.nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, activation="gelu").eval()
    ours = from_torch(enc)
    assert isinstance(ours, nn.TransformerEncoderLayer) and ours.activation is an.nn.functional.gelu
    x = np.random.default_rng(1).standard_normal((4, 2, 8)).astype(np.float32)
    np.testing.assert_allclose(ours(an.tensor(x)).numpy(),
                               enc(torch.from_numpy(x)).detach().numpy(), atol=1e-5)  # fmt: skip


def test_mode_is_carried_over_per_module() -> None:
    model = nn.Sequential(nn.Linear(2, 2), nn.Dropout(0.5), nn.BatchNorm1d(2))
    model[1].eval()
    theirs = to_torch(model)
    assert [m.training for m in theirs] == [True, False, True] and theirs.training
    theirs.eval()
    assert not any(m.training for m in from_torch(theirs).modules())


def test_shared_parameters_stay_shared() -> None:
    class Tied(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embed = nn.Embedding(7, 4)
            self.out = nn.Linear(4, 7, bias=False)
            self.out.weight = self.embed.weight

        def forward(self, idx: an.Tensor) -> an.Tensor:
            return self.out(self.embed(idx))

    theirs = to_torch(Tied())
    assert theirs.out.weight is theirs.embed.weight
    back = from_torch(theirs)
    assert type(back) is Tied and back.out.weight is back.embed.weight


def test_own_module_that_calls_autonet_functions_is_a_clear_error() -> None:
    class Gate(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc = nn.Linear(3, 3)

        def forward(self, x: an.Tensor) -> an.Tensor:
            return an.nn.functional.softmax(self.fc(x), axis=-1)

    theirs = to_torch(Gate())
    with pytest.raises(ConversionError, match=r"Gate\.forward cannot run on PyTorch's tensors.*"
                                              r"custom=\{Gate: "):  # fmt: skip
        theirs(torch.ones(2, 3))

    class TorchGate(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc = torch.nn.Linear(3, 3)

        def forward(self, x: Any) -> Any:
            return torch.softmax(self.fc(x), dim=-1)

    # the way out the message names: a twin of one's own, weights filled in by name
    ours = Gate()
    twin = to_torch(ours, custom={Gate: lambda m: TorchGate()})
    x = np.ones((2, 3), np.float32)
    np.testing.assert_allclose(
        twin(torch.from_numpy(x)).detach().numpy(),
        an.nn.functional.softmax(ours.fc(an.tensor(x)), axis=-1).numpy(), atol=1e-6,
    )  # fmt: skip
    with pytest.raises(ConversionError, match=r"TorchGate\.forward cannot run on autonet.s"):
        from_torch(TorchGate())(an.ones(2, 3))


def test_modules_without_twin_are_named() -> None:
    with pytest.raises(ConversionError, match=r"CrossEntropyLoss has no PyTorch twin"):
        to_torch(nn.CrossEntropyLoss())
    with pytest.raises(ConversionError, match=r"Conv3d at '1' has no autonet twin"):
        from_torch(torch.nn.Sequential(torch.nn.Identity(), torch.nn.Conv3d(1, 1, 1)))
    with pytest.raises(ConversionError, match="proj_size=2"):
        from_torch(torch.nn.LSTM(3, 4, proj_size=2))


# ---- optimizers -------------------------------------------------------------------------------

OPTIMIZERS = {
    "SGD": lambda ps: an.optim.SGD(ps, lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01),
    "Adam": lambda ps: an.optim.Adam(ps, lr=0.01, betas=(0.8, 0.95), weight_decay=0.1),
    "AdamW-amsgrad": lambda ps: an.optim.AdamW(ps, lr=0.01, amsgrad=True),
    "RMSprop": lambda ps: an.optim.RMSprop(ps, lr=0.01, momentum=0.5, centered=True),
    "Adagrad": lambda ps: an.optim.Adagrad(ps, lr=0.1, lr_decay=0.01),
}


def batch() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(3)
    return rng.standard_normal((8, 4)), rng.integers(0, 3, 8)


def autonet_step(model: nn.Module, opt: Any) -> None:
    x, y = batch()
    loss = an.nn.functional.cross_entropy(model(an.tensor(x, dtype=np.float64)), an.tensor(y))
    opt.zero_grad()
    loss.backward()
    opt.step()


def torch_step(model: Any, opt: Any) -> None:
    x, y = batch()
    loss = torch.nn.functional.cross_entropy(model(torch.from_numpy(x)), torch.from_numpy(y))
    opt.zero_grad()
    loss.backward()
    opt.step()


def assert_same_parameters(ours: nn.Module, theirs: Any) -> None:
    found = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        np.testing.assert_allclose(p.numpy(), found[name].detach().numpy(), rtol=1e-10,
                                   atol=1e-10, err_msg=name)  # fmt: skip


def two_groups(model: nn.Module) -> list[dict[str, Any]]:
    layers = model.layers
    return [{"params": list(layers[0].parameters())},
            {"params": list(layers[2].parameters()), "lr": 0.003}]  # fmt: skip


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_optimizer_to_torch_resumes_with_the_same_step(name: str) -> None:
    model = nn.MLP(4, [6], 3).double()
    opt = OPTIMIZERS[name](two_groups(model))
    for _ in range(3):
        autonet_step(model, opt)
    theirs = to_torch(model)
    their_opt = to_torch(opt)
    assert type(their_opt).__name__ == type(opt).__name__
    assert [g["lr"] for g in their_opt.param_groups] == [g["lr"] for g in opt.param_groups]
    for _ in range(2):
        autonet_step(model, opt)
        torch_step(theirs, their_opt)
        assert_same_parameters(model, theirs)


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_optimizer_from_torch_resumes_with_the_same_step(name: str) -> None:
    theirs = to_torch(nn.MLP(4, [6], 3).double())
    their_opt = to_torch(OPTIMIZERS[name](two_groups(from_torch(theirs))))
    for _ in range(3):
        torch_step(theirs, their_opt)
    ours = from_torch(theirs)
    opt = from_torch(their_opt)
    assert opt.state_dict()["state"][0].keys() <= set(type(opt)._state_names)
    for _ in range(2):
        autonet_step(ours, opt)
        torch_step(theirs, their_opt)
        assert_same_parameters(ours, theirs)


def test_optimizer_needs_its_parameters_twins() -> None:
    opt = an.optim.Adam(nn.Linear(2, 2).parameters())
    with pytest.raises(ConversionError, match="convert the model first"):
        to_torch(opt)
    model = nn.Linear(2, 2)
    opt = an.optim.Adam(model.parameters())
    theirs = torch.nn.Linear(2, 2)
    assert to_torch(opt, params=theirs.parameters()).param_groups[0]["params"][0] is theirs.weight
