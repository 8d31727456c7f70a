"""Convolutional modules: parameter shapes and PyTorch's initialization, batch norm over
images, embeddings, and a small CNN that learns."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import autonet as an
from autonet.testing import gradcheck

F = an.nn.functional
EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


@pytest.mark.parametrize(
    ("layer", "weight", "fan_in"),
    [
        (lambda: an.nn.Conv2d(3, 64, 5), (64, 3, 5, 5), 75),
        (lambda: an.nn.Conv2d(4, 32, (3, 1), groups=2), (32, 2, 3, 1), 6),
        (lambda: an.nn.Conv1d(8, 64, 3), (64, 8, 3), 24),
    ],
)
def test_parameters_follow_pytorch(layer, weight, fan_in):
    an.manual_seed(0)
    conv = layer()
    assert conv.weight.shape == weight and conv.bias.shape == (weight[0],)
    assert list(conv.state_dict()) == ["weight", "bias"]
    bound = 1 / math.sqrt(fan_in)
    for p in (conv.weight, conv.bias):
        values = p.numpy()
        assert np.abs(values).max() <= bound
    # U(-b, b) has standard deviation b/√3
    assert conv.weight.numpy().std() == pytest.approx(bound / math.sqrt(3), rel=0.1)


def test_reprs_read_as_pytorch_prints_them():
    assert repr(an.nn.Conv2d(1, 16, 3, padding="same", bias=False)) == (
        "Conv2d(1, 16, kernel_size=(3, 3), stride=(1, 1), padding=same, bias=False)"
    )
    assert repr(an.nn.Conv2d(4, 4, 3, dilation=2, groups=4)) == (
        "Conv2d(4, 4, kernel_size=(3, 3), stride=(1, 1), dilation=(2, 2), groups=4)"
    )
    assert repr(an.nn.Conv1d(2, 3, 5, padding=2, padding_mode="reflect")) == (
        "Conv1d(2, 3, kernel_size=(5,), stride=(1,), padding=(2,), padding_mode=reflect)"
    )
    assert repr(an.nn.MaxPool2d(2)) == (
        "MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)"
    )
    assert repr(an.nn.AvgPool2d((2, 3), 1)) == "AvgPool2d(kernel_size=(2, 3), stride=1, padding=0)"
    assert repr(an.nn.AvgPool1d(2)) == "AvgPool1d(kernel_size=(2,), stride=(2,), padding=(0,))"
    assert repr(an.nn.Embedding(5, 2, padding_idx=-1)) == "Embedding(5, 2, padding_idx=4)"


NUMPY_MODES = {"reflect": "reflect", "replicate": "edge", "circular": "wrap"}


@given(st.sampled_from(sorted(NUMPY_MODES)), st.integers(0, 2), st.integers(0, 2),
       st.integers(0, 2**16))  # fmt: skip
def test_padding_modes(mode, ph, pw, seed):
    """The module pads as np.pad does (reflect / edge / wrap), then convolves; the gradient
    adds each copied element's share back to where it was copied from."""
    an.manual_seed(seed)
    rng = np.random.default_rng(seed)
    conv = an.nn.Conv2d(2, 3, (2, 3), padding=(ph, pw), padding_mode=mode, dtype=an.float64)
    x = an.tensor(rng.standard_normal((2, 2, 3, 4)), dtype=an.float64, requires_grad=True)
    padded = np.pad(x.numpy(), ((0, 0), (0, 0), (ph, ph), (pw, pw)), mode=NUMPY_MODES[mode])
    expected = F.conv2d(an.tensor(padded, dtype=an.float64), conv.weight.detach(),
                        conv.bias.detach())  # fmt: skip
    np.testing.assert_allclose(conv(x).numpy(), expected.numpy(), rtol=1e-12)
    assert gradcheck(conv, (x,))

    conv1 = an.nn.Conv1d(2, 3, 3, padding="same", padding_mode=mode, dtype=an.float64)
    x1 = x[:, :, 0].detach()
    padded = np.pad(x1.numpy(), ((0, 0), (0, 0), (1, 1)), mode=NUMPY_MODES[mode])
    expected = F.conv1d(an.tensor(padded, dtype=an.float64), conv1.weight.detach(),
                        conv1.bias.detach())  # fmt: skip
    np.testing.assert_allclose(conv1(x1).numpy(), expected.numpy(), rtol=1e-12)


def test_module_errors():
    with pytest.raises(ValueError, match=r"Conv2d: groups=3 must divide in_channels \(4\)"):
        an.nn.Conv2d(4, 6, 3, groups=3)
    with pytest.raises(ValueError, match=r"Conv2d: padding_mode must be 'zeros', 'reflect'"):
        an.nn.Conv2d(1, 1, 3, padding_mode="mirror")
    with pytest.raises(ValueError, match=r"Conv1d: padding='same' needs stride 1"):
        an.nn.Conv1d(1, 1, 3, stride=2, padding="same")
    with pytest.raises(ValueError, match=r"Conv2d: padding \(\(3, 3\), \(3, 3\)\) with "
                       r"padding_mode='reflect' must be at most the input's size - 1 per axis, "
                       r"got input shape \(1, 1, 3, 3\)"):  # fmt: skip
        an.nn.Conv2d(1, 1, 3, padding=3, padding_mode="reflect")(an.zeros(1, 1, 3, 3))
    with pytest.raises(ValueError, match=r"BatchNorm2d\(3\): expected input \(N, 3, H, W\), got "
                       r"shape \(2, 3\)"):  # fmt: skip
        an.nn.BatchNorm2d(3)(an.zeros(2, 3))


def test_batch_norm_2d_statistics():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 3, 5, 6)).astype(np.float32) * 3 + 1
    bn = an.nn.BatchNorm2d(3, momentum=0.5)
    y = bn(an.tensor(x)).numpy()
    mean, var = x.mean(axis=(0, 2, 3)), x.var(axis=(0, 2, 3))
    expected = (x - mean[None, :, None, None]) / np.sqrt(var[None, :, None, None] + 1e-5)
    np.testing.assert_allclose(y, expected, rtol=1e-4, atol=1e-5)
    n = 4 * 5 * 6
    np.testing.assert_allclose(bn.running_mean.numpy(), 0.5 * mean, rtol=1e-5)
    np.testing.assert_allclose(bn.running_var.numpy(), 0.5 + 0.5 * var * n / (n - 1), rtol=1e-5)
    bn.eval()
    y = bn(an.tensor(x)).numpy()
    expected = (x - bn.running_mean.numpy()[None, :, None, None]) / np.sqrt(
        bn.running_var.numpy()[None, :, None, None] + 1e-5
    )
    np.testing.assert_allclose(y, expected, rtol=1e-4, atol=1e-5)


def test_pool_modules():
    x = an.tensor(np.random.default_rng(0).permutation(32).reshape(1, 2, 4, 4).astype(np.float32))
    values, indices = an.nn.MaxPool2d(2, return_indices=True)(x)
    flat = x.numpy().reshape(1, 2, 16)
    np.testing.assert_array_equal(np.take_along_axis(flat, indices.numpy().reshape(1, 2, 4), -1),
                                  values.numpy().reshape(1, 2, 4))  # fmt: skip
    assert an.nn.MaxPool2d(3, 2, ceil_mode=True)(x).shape == (1, 2, 2, 2)
    assert an.nn.AvgPool2d(3, 2, ceil_mode=True)(x).shape == (1, 2, 2, 2)
    assert an.nn.MaxPool1d(3, 2)(x[0]).shape == (2, 4, 1)
    assert an.nn.AvgPool1d(2, padding=1)(x[0]).shape == (2, 4, 3)


def test_embedding():
    an.manual_seed(0)
    emb = an.nn.Embedding(6, 3, padding_idx=0)
    idx = an.tensor([[1, 0, 1], [5, 0, 2]])
    out = emb(idx)
    assert out.shape == (2, 3, 3)
    np.testing.assert_array_equal(out.numpy(), emb.weight.numpy()[idx.numpy()])
    assert emb.weight[0].tolist() == [0.0, 0.0, 0.0]
    out.sum().backward()
    counts = np.bincount(idx.numpy().ravel(), minlength=6).astype(np.float32)
    counts[0] = 0  # padding rows pass no gradient
    np.testing.assert_array_equal(emb.weight.grad.numpy(), np.repeat(counts[:, None], 3, axis=1))
    assert abs(np.std(an.nn.Embedding(1000, 10).weight.numpy()) - 1) < 0.05
    with pytest.raises(IndexError, match="embedding: index 6 out of range for 6 embeddings"):
        emb(an.tensor([6]))
    with pytest.raises(TypeError, match="embedding: indices must be integers"):
        emb(an.tensor([1.0]))


def test_a_small_cnn_learns_to_tell_stripes_apart():
    """Horizontal against vertical stripes: a conv layer, pooling, a linear read-out."""
    an.manual_seed(0)
    rng = np.random.default_rng(0)
    images, labels = [], []
    for i in range(64):
        img = np.zeros((6, 6), np.float32)
        k = rng.integers(0, 6)
        if i % 2:
            img[k, :] = 1
        else:
            img[:, k] = 1
        images.append(img + 0.1 * rng.standard_normal((6, 6)).astype(np.float32))
        labels.append(i % 2)
    X, y = an.tensor(np.stack(images)[:, None]), an.tensor(labels)
    model = an.nn.Sequential(
        an.nn.Conv2d(1, 4, 3, padding=1), an.nn.BatchNorm2d(4), an.nn.ReLU(), an.nn.MaxPool2d(2),
        an.nn.Dropout2d(0.1), an.nn.AdaptiveAvgPool2d(1), an.nn.Flatten(), an.nn.Linear(4, 2),
    )  # fmt: skip
    history = an.train.fit(model, (X, y), "cross_entropy",
                           an.optim.Adam(model.parameters(), lr=0.05), epochs=30, batch_size=16,
                           metrics=["accuracy"], verbose=False)  # fmt: skip
    assert history["loss"][-1] < 0.5 * history["loss"][0]
    assert an.train.evaluate(model, (X, y), metrics=["accuracy"])["accuracy"] >= 0.95


def test_digits_cnn_example_runs_fast():
    """``--fast`` trains two epochs: it runs, reports an accuracy, exits cleanly."""
    result = subprocess.run([sys.executable, str(EXAMPLES / "digits_cnn.py"), "--fast"],
                            capture_output=True, text=True, timeout=120)  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "trained 2 epochs" in result.stdout
    assert "test accuracy" in result.stdout
