"""an.onnx.export: files that onnx.checker accepts and onnxruntime runs to autonet's outputs
(1e-5), with a dynamic batch axis checked at two batch sizes other than the example's."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import autonet as an
from autonet import nn

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
from autonet.onnx import ExportError  # noqa: E402


def flat(value: Any) -> list[an.Tensor]:
    if isinstance(value, an.Tensor):
        return [value]
    return [t for v in value if v is not None for t in flat(v)]


def exported_matches(model: Any, examples: tuple[Any, ...], tmp_path: Path,
                     batches: tuple[int, ...] = (3, 7), batch_axis: int = 0,
                     **options: Any) -> Any:  # fmt: skip
    """Export ``model`` with a dynamic batch axis on every input, check the file, and compare
    onnxruntime's outputs with autonet's at each batch size."""
    names = ["input"] if len(examples) == 1 else [f"input{i}" for i in range(len(examples))]
    path = tmp_path / "model.onnx"
    dynamic = {n: {batch_axis: "batch"} for n in names}
    proto = an.onnx.export(model, examples, path, dynamic_axes=dynamic, **options)
    onnx.checker.check_model(onnx.load(str(path)), full_check=True)
    assert proto.opset_import[0].version >= 17
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(0)
    if isinstance(model, nn.Module):
        model.eval()
    for batch in batches:
        feeds = {}
        for name, example in zip(names, examples):
            shape = list(example.shape)
            shape[batch_axis] = batch
            if example.dtype.kind in "iu":
                feeds[name] = rng.integers(0, 10, shape).astype(example.dtype)
            else:
                feeds[name] = rng.standard_normal(shape).astype(example.dtype)
        got = session.run(None, feeds)
        want = flat(model(*[an.tensor(a, dtype=a.dtype) for a in feeds.values()]))
        assert len(got) == len(want)
        for g, w in zip(got, want):
            assert g.shape == w.shape
            np.testing.assert_allclose(g, w.numpy(), rtol=1e-5, atol=1e-5)
    return proto


def digits_cnn() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(),
        nn.Conv2d(16, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(),
        nn.MaxPool2d(2), nn.Dropout2d(0.1), nn.Flatten(), nn.Linear(32 * 4 * 4, 10),
    )  # fmt: skip


def trained_statistics(model: nn.Module, x: an.Tensor) -> nn.Module:
    """A few training-mode passes, so that batch norm's running statistics are not 0 and 1."""
    model.train()
    with an.no_grad():
        for _ in range(3):
            model(x)
    return model


def test_mlp(tmp_path: Path) -> None:
    model = nn.MLP(4, [8, 8], 3, activation="tanh", output_activation="softmax")
    proto = exported_matches(model, (an.randn(5, 4),), tmp_path)
    assert [n.op_type for n in proto.graph.node] == ["Gemm", "Tanh", "Gemm", "Tanh", "Gemm",
                                                     "Softmax"]  # fmt: skip
    # parameters under their state-dict names; nodes named after their module calls
    assert {i.name for i in proto.graph.initializer} >= {"layers.0.weight", "layers.4.bias"}
    assert [n.name for n in proto.graph.node][:2] == ["/layers.0/Gemm", "/layers.1/Tanh"]
    assert proto.graph.input[0].type.tensor_type.shape.dim[0].dim_param == "batch"
    assert proto.graph.output[0].type.tensor_type.shape.dim[0].dim_param == "batch"


def test_cnn(tmp_path: Path) -> None:
    model = trained_statistics(digits_cnn(), an.randn(16, 1, 8, 8) * 2 + 1)
    an.onnx.export(model, an.randn(4, 1, 8, 8), None)  # (checked, not written)
    assert model.training, "export runs in evaluation mode, then puts the model back"
    proto = exported_matches(model, (an.randn(4, 1, 8, 8),), tmp_path)
    ops = [n.op_type for n in proto.graph.node]
    assert ops.count("Conv") == 2 and ops.count("MaxPool") == 1


def test_lstm(tmp_path: Path) -> None:
    model = nn.LSTM(4, 6, num_layers=2, batch_first=True)
    proto = exported_matches(model, (an.randn(5, 7, 4),), tmp_path)
    assert [o.name for o in proto.graph.output] == ["output0", "output1", "output2"]
    h_n = proto.graph.output[1].type.tensor_type.shape.dim
    assert [d.dim_value or d.dim_param for d in h_n] == [2, "batch", 6]


def test_lstm_sequence_first(tmp_path: Path) -> None:
    exported_matches(nn.GRU(4, 5, bidirectional=True), (an.randn(6, 3, 4),), tmp_path,
                     batch_axis=1)  # fmt: skip


def test_transformer_encoder_layer(tmp_path: Path) -> None:
    model = nn.TransformerEncoderLayer(16, 4, dim_feedforward=32, batch_first=True)
    exported_matches(model, (an.randn(2, 5, 16),), tmp_path, output_names=["encoded"])


class Causal(nn.Module):
    """A Transformer encoder with a causal mask, pre-norm and GELU, and a read-out."""

    def __init__(self) -> None:
        super().__init__()
        layer = nn.TransformerEncoderLayer(8, 2, 16, activation="gelu", norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, 2, norm=nn.LayerNorm(8))
        self.head = nn.Linear(8, 3)

    def forward(self, x: an.Tensor) -> an.Tensor:
        return self.head(self.encoder(x, is_causal=True)).log_softmax(axis=-1)


class Pools(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv1d(4, 6, 3, padding=1, groups=2)
        self.max = nn.MaxPool1d(2)
        self.avg = nn.AvgPool2d(2, padding=1, count_include_pad=False)
        self.adaptive = nn.AdaptiveAvgPool2d((2, 1))
        self.norm = nn.GroupNorm(3, 6)

    def forward(self, x: an.Tensor) -> an.Tensor:
        y = self.norm(self.max(self.conv(x)).relu())  # (N, 6, 4)
        return self.adaptive(self.avg(y.unsqueeze(1))).flatten(1)


class Tagger(nn.Module):
    """Token ids in, one score per token: an embedding, an RNN, RMSNorm and activations."""

    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Embedding(10, 6)
        self.rnn = nn.RNN(6, 5, batch_first=True, nonlinearity="relu")
        self.norm = nn.RMSNorm(5)
        self.out = nn.Sequential(nn.Linear(5, 4), nn.GELU("tanh"), nn.LeakyReLU(0.1), nn.ELU(),
                                 nn.Softplus(2.0), nn.SiLU(), nn.Linear(4, 1))  # fmt: skip

    def forward(self, ids: an.Tensor) -> an.Tensor:
        return self.out(self.norm(self.rnn(self.embed(ids))[0])).squeeze(-1)


class Decode(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.decoder = nn.TransformerDecoderLayer(8, 2, 16, batch_first=True)

    def forward(self, tgt: an.Tensor, memory: an.Tensor) -> an.Tensor:
        return self.decoder(tgt, memory, tgt_is_causal=True)


@pytest.mark.parametrize(
    ("make", "examples"),
    [
        (Causal, lambda: (an.randn(5, 2, 8),)),
        (Pools, lambda: (an.randn(2, 4, 8),)),
        (Tagger, lambda: (an.tensor(np.array([[1, 2, 3], [4, 5, 0]])),)),
        (Decode, lambda: (an.randn(2, 4, 8), an.randn(2, 6, 8))),
    ],
    ids=["causal-encoder", "pools-norms", "embedding-rnn-activations", "decoder-two-inputs"],
)
def test_more_models(make: Callable[[], nn.Module], examples: Callable[[], tuple],
                     tmp_path: Path) -> None:  # fmt: skip
    model = make()
    axis = 1 if make is Causal else 0
    exported_matches(model, examples(), tmp_path, batch_axis=axis)


def test_float64_and_a_function(tmp_path: Path) -> None:
    w = an.randn(3, 2, dtype=an.float64, requires_grad=True)

    def fn(x: an.Tensor) -> an.Tensor:
        return (x @ w).sigmoid().clip(0.2, 0.8) ** 3 + x.sum(axis=1, keepdims=True).exp()

    exported_matches(fn, (an.randn(4, 3, dtype=an.float64),), tmp_path)


def test_without_dynamic_axes(tmp_path: Path) -> None:
    model = nn.Sequential(nn.Linear(3, 2), nn.Tanh())
    proto = an.onnx.export(model, an.randn(4, 3), tmp_path / "fixed.onnx")
    assert proto.graph.input[0].type.tensor_type.shape.dim[0].dim_value == 4
    session = ort.InferenceSession(str(tmp_path / "fixed.onnx"))
    x = np.ones((4, 3), np.float32)
    np.testing.assert_allclose(session.run(None, {"input": x})[0], model(an.tensor(x)).numpy(),
                               atol=1e-6)  # fmt: skip


def test_unmapped_primitive_is_named(tmp_path: Path) -> None:
    class Inverse(nn.Module):
        def forward(self, x: an.Tensor) -> an.Tensor:
            return an.linalg.inv(x)

    model = nn.Sequential(nn.Linear(3, 3), Inverse())
    with pytest.raises(ExportError, match=r"primitive 'inv' \(Inv, recorded in '1'\) has no ONNX"):
        an.onnx.export(model, an.randn(3, 3), tmp_path / "inv.onnx")
    assert not (tmp_path / "inv.onnx").exists()


def test_values_made_outside_the_graph_are_refused(tmp_path: Path) -> None:
    def scaled(x: an.Tensor) -> an.Tensor:
        return x * an.tensor(np.abs(x.data).max(axis=1, keepdims=True))  # not recorded

    with pytest.raises(ExportError, match="outside recorded operations"):
        an.onnx.export(scaled, an.randn(4, 3), tmp_path / "bad.onnx",
                       dynamic_axes={"input": {0: "batch"}})  # fmt: skip


def test_control_flow_on_the_batch_size_is_refused(tmp_path: Path) -> None:
    def branchy(x: an.Tensor) -> an.Tensor:
        return x.tanh() if x.shape[0] < 5 else x.relu()

    with pytest.raises(ExportError, match="control flow depends on that size"):
        an.onnx.export(branchy, an.randn(4, 3), tmp_path / "bad.onnx",
                       dynamic_axes={"input": [0]})  # fmt: skip


def test_output_axis_that_cannot_be_dynamic(tmp_path: Path) -> None:
    with pytest.raises(ExportError, match="axis 1 of 'output' dynamic"):
        an.onnx.export(nn.Linear(3, 2), an.randn(4, 3), tmp_path / "bad.onnx",
                       dynamic_axes={"input": {0: "batch"}, "output": {1: "classes"}})  # fmt: skip


def test_windows_of_unfold(tmp_path: Path) -> None:
    """an.unfold's windows (Slices, joined), and a max over them, which becomes a MaxPool."""

    def pooled(x: an.Tensor) -> an.Tensor:
        return an.unfold(x, 2, stride=2).max(axis=(-2, -1))

    def smoothed(x: an.Tensor) -> an.Tensor:
        return an.unfold(x, 3, dilation=(1, 2)).mean(axis=(-2, -1)).tanh()

    proto = exported_matches(pooled, (an.randn(2, 3, 6, 6),), tmp_path)
    assert [n.op_type for n in proto.graph.node] == ["MaxPool"]
    proto = exported_matches(smoothed, (an.randn(2, 3, 7, 8),), tmp_path)
    assert "MaxPool" not in [n.op_type for n in proto.graph.node]
