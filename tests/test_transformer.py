"""Transformer layers and stacks against plain NumPy references (post-norm and pre-norm,
ReLU and GELU, causal and padding masks, batch-first or not), their gradients, PyTorch's
state-dict keys; GroupNorm, RMSNorm and LayerNorm without bias; and the character model
example at a tiny size."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from references import (
    arrays,
    check_parameter_gradients,
    decoder_layer,
    encoder_layer,
    gelu,
    layer_norm,
    relu,
)

import autonet as an
from autonet.testing import gradcheck

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
ACTIVATIONS = {"relu": relu, "gelu": gelu}


def f64(a) -> an.Tensor:
    return an.tensor(a, dtype=an.float64)


def encoder(**options) -> an.nn.TransformerEncoderLayer:
    return an.nn.TransformerEncoderLayer(8, 2, dim_feedforward=12, dropout=0.0,
                                         **options).double()  # fmt: skip


CASES = [  # (norm_first, activation, causal, padding, batch_first)
    (False, "relu", False, False, False),
    (True, "gelu", True, False, True),
    (False, "gelu", True, True, True),
    (True, "relu", False, True, False),
]


def masks(n, length, causal, padding):
    """The reference's keep-mask (N, heads, L, L) and the layer's key_padding_mask."""
    keep = np.ones((n, 2, length, length), bool)
    if causal:
        keep &= np.tril(np.ones((length, length), bool))
    pad = None
    if padding:
        pad = np.zeros((n, length), bool)
        pad[0, -1] = True  # the last position of the first sequence is padding
        keep &= ~pad[:, None, None, :]
    return keep, pad


@pytest.mark.parametrize(("norm_first", "activation", "causal", "padding", "batch_first"), CASES)
def test_encoder_layer_matches_the_reference(norm_first, activation, causal, padding,
                                             batch_first):  # fmt: skip
    rng = np.random.default_rng(0)
    layer = encoder(norm_first=norm_first, activation=activation, batch_first=batch_first)
    x = rng.standard_normal((3, 4, 8))  # (N, L, E)
    keep, pad = masks(3, 4, causal, padding)
    expected = encoder_layer(arrays(layer), x, 2, norm_first, ACTIVATIONS[activation], keep)
    x_in = x if batch_first else x.transpose(1, 0, 2)
    out = layer(f64(x_in), src_key_padding_mask=pad, is_causal=causal)
    out = out.numpy() if batch_first else out.numpy().transpose(1, 0, 2)
    np.testing.assert_allclose(out, expected, rtol=1e-9, atol=1e-10)


@pytest.mark.parametrize("norm_first", [False, True])
def test_decoder_layer_matches_the_reference(norm_first):
    rng = np.random.default_rng(1)
    layer = an.nn.TransformerDecoderLayer(8, 2, dim_feedforward=12, dropout=0.0, batch_first=True,
                                          norm_first=norm_first).double()  # fmt: skip
    x, memory = rng.standard_normal((2, 4, 8)), rng.standard_normal((2, 5, 8))
    keep, _ = masks(2, 4, True, False)
    memory_pad = np.zeros((2, 5), bool)
    memory_pad[1, :2] = True
    memory_keep = np.broadcast_to(~memory_pad[:, None, None, :], (2, 2, 4, 5))
    expected = decoder_layer(arrays(layer), x, memory, 2, norm_first, relu, keep, memory_keep)
    out = layer(f64(x), f64(memory), memory_key_padding_mask=memory_pad, tgt_is_causal=True)
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-9, atol=1e-10)
    stack = an.nn.TransformerDecoder(layer, 2).double()
    assert stack(f64(x), f64(memory)).shape == (2, 4, 8)


def test_encoder_stack_applies_its_copies_in_turn_then_the_norm():
    rng = np.random.default_rng(2)
    layer = encoder(norm_first=True, batch_first=True)
    stack = an.nn.TransformerEncoder(layer, 3, norm=an.nn.LayerNorm(8)).double()
    w = arrays(stack)
    x = rng.standard_normal((2, 4, 8))
    expected = x
    for k in range(3):
        expected = encoder_layer(w, expected, 2, True, relu, prefix=f"layers.{k}.")
    expected = layer_norm(expected, w["norm.weight"], w["norm.bias"])
    np.testing.assert_allclose(stack(f64(x)).numpy(), expected, rtol=1e-9, atol=1e-10)
    assert stack.layers[0].linear1.weight is not layer.linear1.weight  # copies of the layer


def test_state_dict_keys_are_pytorchs():
    layer = an.nn.TransformerEncoderLayer(8, 2, dim_feedforward=12)
    assert [(k, v.shape) for k, v in layer.state_dict().items()] == [
        ("self_attn.in_proj_weight", (24, 8)), ("self_attn.in_proj_bias", (24,)),
        ("self_attn.out_proj.weight", (8, 8)), ("self_attn.out_proj.bias", (8,)),
        ("linear1.weight", (12, 8)), ("linear1.bias", (12,)),
        ("linear2.weight", (8, 12)), ("linear2.bias", (8,)),
        ("norm1.weight", (8,)), ("norm1.bias", (8,)), ("norm2.weight", (8,)), ("norm2.bias", (8,)),
    ]  # fmt: skip
    decoder = an.nn.TransformerDecoderLayer(8, 2, bias=False)
    assert list(decoder.state_dict()) == [
        "self_attn.in_proj_weight", "self_attn.out_proj.weight",
        "multihead_attn.in_proj_weight", "multihead_attn.out_proj.weight",
        "linear1.weight", "linear2.weight", "norm1.weight", "norm2.weight", "norm3.weight",
    ]  # fmt: skip
    with pytest.raises(ValueError, match="activation must be 'relu' or 'gelu'"):
        an.nn.TransformerEncoderLayer(8, 2, activation="tanh")


def test_dropout_only_in_training():
    an.manual_seed(0)
    layer = an.nn.TransformerEncoderLayer(8, 2, dim_feedforward=12, dropout=0.5).double()
    x = f64(np.random.default_rng(3).standard_normal((4, 2, 8)))
    assert not np.allclose(layer(x).numpy(), layer(x).numpy())  # a new mask each time
    layer.eval()
    np.testing.assert_array_equal(layer(x).numpy(), layer(x).numpy())


@pytest.mark.parametrize("norm_first", [False, True])
def test_layer_gradients_match_finite_differences(norm_first):
    rng = np.random.default_rng(4)
    layer = an.nn.TransformerEncoderLayer(4, 2, dim_feedforward=6, dropout=0.0, batch_first=True,
                                          norm_first=norm_first,
                                          activation="gelu").double()  # fmt: skip
    x = f64(rng.standard_normal((2, 3, 4))).requires_grad_()
    assert gradcheck(lambda x: layer(x, is_causal=True), (x,))
    check_parameter_gradients(layer, lambda: (layer(x, is_causal=True) ** 2).sum())
    decoder = an.nn.TransformerDecoderLayer(4, 2, dim_feedforward=6, dropout=0.0,
                                            norm_first=norm_first).double()  # fmt: skip
    memory = f64(rng.standard_normal((5, 2, 4))).requires_grad_()
    target = f64(rng.standard_normal((3, 2, 4))).requires_grad_()
    assert gradcheck(lambda t, m: decoder(t, m, tgt_is_causal=True), (target, memory))
    check_parameter_gradients(decoder, lambda: (decoder(target, memory) ** 2).sum())


def test_state_dict_round_trip(tmp_path):
    an.manual_seed(0)
    layer = an.nn.TransformerEncoderLayer(8, 2, dim_feedforward=12, batch_first=True)
    stack = an.nn.TransformerEncoder(layer, 2, norm=an.nn.LayerNorm(8)).eval()
    an.save(stack.state_dict(), tmp_path / "encoder.safetensors")
    an.manual_seed(1)
    other = an.nn.TransformerEncoderLayer(8, 2, dim_feedforward=12, batch_first=True)
    twin = an.nn.TransformerEncoder(other, 2, norm=an.nn.LayerNorm(8)).eval()
    x = an.randn(2, 5, 8)
    assert not np.allclose(twin(x).numpy(), stack(x).numpy())
    twin.load_state_dict(an.load(tmp_path / "encoder.safetensors"))
    np.testing.assert_array_equal(twin(x, is_causal=True).numpy(), stack(x, is_causal=True).numpy())


def test_drawing_shows_the_attention_and_the_feed_forward_as_boxes():
    pytest.importorskip("graphviz")
    layer = encoder(batch_first=True)  # dropout=0: its Dropout calls return their input
    with an.viz.trace():
        loss = layer(f64(np.ones((2, 3, 8))), is_causal=True).sum()
    dot = an.viz.draw_graph(loss, model=layer, depth=1, show_data=False)
    first_lines = [b.split("\n")[0] for b in re.findall(r'call\d+ \[label="([^"]*)"', dot.source)]
    assert first_lines == [
        "self_attn: MultiheadAttention(8, 2)", "norm1: LayerNorm((8,), eps=1e-05)",
        "linear1: Linear(8, 12)", "linear2: Linear(12, 8)", "norm2: LayerNorm((8,), eps=1e-05)",
    ]  # fmt: skip


# ---- normalization ----------------------------------------------------------------------------


def test_group_norm_matches_the_reference_and_its_gradients():
    rng = np.random.default_rng(5)
    norm = an.nn.GroupNorm(3, 6).double()
    norm.load_state_dict({"weight": rng.standard_normal(6), "bias": rng.standard_normal(6)})
    x = rng.standard_normal((2, 6, 4, 3))
    expected = np.zeros_like(x)
    for n in range(2):
        for g in range(3):
            part = x[n, 2 * g : 2 * g + 2]
            expected[n, 2 * g : 2 * g + 2] = (part - part.mean()) / np.sqrt(part.var() + 1e-5)
    expected = (
        expected * arrays(norm)["weight"][:, None, None] + arrays(norm)["bias"][:, None, None]
    )
    np.testing.assert_allclose(norm(f64(x)).numpy(), expected, rtol=1e-10)
    small = f64(rng.standard_normal((2, 6, 3))).requires_grad_()
    assert gradcheck(norm, (small,))
    check_parameter_gradients(norm, lambda: (norm(small) ** 3).sum())
    assert repr(an.nn.GroupNorm(2, 4, affine=False)) == "GroupNorm(2, 4, eps=1e-05, affine=False)"
    with pytest.raises(ValueError, match=r"num_channels \(5\) must be divisible"):
        an.nn.GroupNorm(2, 5)


def test_rms_norm_and_layer_norm_without_bias():
    rng = np.random.default_rng(6)
    rms = an.nn.RMSNorm((2, 3), eps=1e-3).double()
    rms.load_state_dict({"weight": rng.standard_normal((2, 3))})
    x = rng.standard_normal((4, 2, 3))
    ms = (x**2).mean(axis=(1, 2), keepdims=True)
    np.testing.assert_allclose(
        rms(f64(x)).numpy(), x / np.sqrt(ms + 1e-3) * arrays(rms)["weight"], rtol=1e-10
    )
    default = an.nn.RMSNorm(3)  # eps: the dtype's machine epsilon
    tiny = np.full((1, 3), 1e-4, dtype=np.float32)
    expected = tiny / np.sqrt(1e-8 + np.finfo(np.float32).eps)
    np.testing.assert_allclose(default(an.tensor(tiny)).numpy(), expected, rtol=1e-6)
    small = f64(x[:2]).requires_grad_()
    assert gradcheck(rms, (small,))
    check_parameter_gradients(rms, lambda: (rms(small) ** 3).sum())
    ln = an.nn.LayerNorm(3, bias=False)
    assert list(ln.state_dict()) == ["weight"]
    np.testing.assert_allclose(ln(an.tensor([[1.0, 2.0, 3.0]])).numpy().sum(), 0, atol=1e-6)


# ---- the example ------------------------------------------------------------------------------


@pytest.mark.parametrize("variant", [[], ["--lstm"]])
def test_char_model_example_runs_at_a_tiny_size(tmp_path, variant):
    pytest.importorskip("safetensors")
    out = tmp_path / "model.safetensors"
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / "char_model.py"), "--tiny", "--out", str(out), *variant],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode in (0, 1), result.stdout + result.stderr  # (1: not below baseline)
    text = result.stdout
    baseline = float(re.search(r"unigram baseline: ([\d.]+) bits/char", text).group(1))
    bits = [float(b) for b in re.findall(r"epoch \d+: validation ([\d.]+) bits/char", text)]
    assert len(bits) == 2 and 3 < baseline < 6 and all(0 < b < 8 for b in bits)
    assert "val_bits_per_char=" in result.stderr  # the progress line of each epoch
    assert out.stat().st_size > 0
    assert text.rstrip().split("\n")[-1]  # a sample was written after the prompt
    assert "reloaded; it continues 'def '" in text
