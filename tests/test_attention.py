"""Scaled dot-product attention and MultiheadAttention against plain NumPy loops (masks,
causal, padding, heads, layouts), their first and second derivatives, PyTorch's parameters,
and the attention heat map."""

from __future__ import annotations

import math

import numpy as np
import pytest
from references import arrays, attention, check_parameter_gradients, multihead

import autonet as an
from autonet.functional.attention import attention as attend
from autonet.testing import gradcheck, gradgradcheck

F = an.nn.functional


def f64(a) -> an.Tensor:
    return an.tensor(a, dtype=an.float64)


def per_item(fn, *arrays_, lead=(2, 3)):
    """Apply the one-head reference to every (batch, head) item of (2, 3, L, ·) arrays."""
    outs, weights = np.zeros(lead + fn(*(a[0, 0] for a in arrays_))[0].shape), []
    for i, j in np.ndindex(*lead):
        outs[i, j], w = fn(*(a[i, j] for a in arrays_))
        weights.append(w)
    return outs, np.stack(weights).reshape(lead + weights[0].shape)


MASKS = ["none", "bool", "float", "causal", "scale", "a row sees nothing", "-inf row"]


@pytest.mark.parametrize("mask_kind", MASKS)
@pytest.mark.parametrize(("L", "S"), [(4, 4), (3, 5)])
def test_scaled_dot_product_attention_matches_the_reference(mask_kind, L, S):
    rng = np.random.default_rng(0)
    q, k = rng.standard_normal((2, 3, L, 6)), rng.standard_normal((2, 3, S, 6))
    v = rng.standard_normal((2, 3, S, 5))
    keep = add = mask = scale = None
    causal = mask_kind == "causal"
    if mask_kind in ("bool", "a row sees nothing"):
        keep = mask = rng.random((L, S)) > 0.4
        if mask_kind == "a row sees nothing":
            keep[1] = False
    elif mask_kind in ("float", "-inf row"):
        add = mask = rng.standard_normal((L, S))
        if mask_kind == "-inf row":
            add[0] = -np.inf
    elif causal:
        keep = np.tril(np.ones((L, S), bool))
    elif mask_kind == "scale":
        scale = 0.3

    def one(q, k, v):
        return attention(q, k, v, keep, add, scale)

    expected, _ = per_item(one, q, k, v)
    out = F.scaled_dot_product_attention(f64(q), f64(k), f64(v), mask, is_causal=causal,
                                         scale=scale)  # fmt: skip
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-10, atol=1e-12)
    if mask_kind in ("a row sees nothing", "-inf row"):
        row = 1 if mask_kind == "a row sees nothing" else 0
        assert not np.isnan(out.numpy()).any() and (out.numpy()[:, :, row] == 0).all()


def test_attention_weights_rows_sum_to_one_and_dropout():
    q = f64(np.random.default_rng(1).standard_normal((3, 4)))
    _, w = attend(q, q, q)
    np.testing.assert_allclose(w.numpy().sum(axis=-1), 1.0)
    dropped = F.scaled_dot_product_attention(q, q, q, dropout_p=1.0)
    assert (dropped.numpy() == 0).all()
    with pytest.raises(ValueError, match="attn_mask or is_causal=True, not both"):
        F.scaled_dot_product_attention(q, q, q, np.ones((3, 3), bool), is_causal=True)
    with pytest.raises(ValueError, match=r"query \(3, 4\) and key \(3, 5\)"):
        F.scaled_dot_product_attention(q, f64(np.zeros((3, 5))), q)


def test_scaled_dot_product_attention_has_first_and_second_derivatives():
    rng = np.random.default_rng(2)
    q, k, v = (f64(rng.standard_normal(s)).requires_grad_() for s in [(2, 3, 4), (2, 5, 4),
                                                                       (2, 5, 3)])  # fmt: skip
    bias = f64(rng.standard_normal((3, 5))).requires_grad_()  # a learned additive mask
    keep = rng.random((3, 5)) > 0.3
    keep[:, 0] = True
    assert gradcheck(lambda q, k, v, b: F.scaled_dot_product_attention(q, k, v, b), (q, k, v, bias))
    assert gradgradcheck(lambda q, k, v: F.scaled_dot_product_attention(q, k, v, keep), (q, k, v))
    assert gradgradcheck(
        lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True), (q, k, v)
    )


def test_multihead_attention_parameters_follow_pytorch():
    an.manual_seed(0)
    mha = an.nn.MultiheadAttention(64, 8)
    assert [(k, v.shape) for k, v in mha.state_dict().items()] == [
        ("in_proj_weight", (192, 64)), ("in_proj_bias", (192,)),
        ("out_proj.weight", (64, 64)), ("out_proj.bias", (64,)),
    ]  # fmt: skip
    bound = math.sqrt(6 / (192 + 64))  # Xavier-uniform over the stacked (3E, E) matrix
    assert np.abs(mha.in_proj_weight.numpy()).max() <= bound
    assert (mha.in_proj_bias.numpy() == 0).all() and (mha.out_proj.bias.numpy() == 0).all()
    separate = an.nn.MultiheadAttention(8, 2, kdim=5, vdim=3, bias=False)
    assert [(k, v.shape) for k, v in separate.state_dict().items()] == [
        ("q_proj_weight", (8, 8)), ("k_proj_weight", (8, 5)), ("v_proj_weight", (8, 3)),
        ("out_proj.weight", (8, 8)),
    ]  # fmt: skip
    with pytest.raises(ValueError, match=r"embed_dim \(10\) must be a positive multiple"):
        an.nn.MultiheadAttention(10, 4)


CASES = [  # (batch_first, kdim/vdim, attn_mask, key_padding_mask, average, one sequence)
    (True, None, "none", "none", True, False),
    (False, None, "bool", "bool", False, False),
    (True, (5, 3), "float", "none", True, False),
    (False, None, "per head", "float", True, False),
    (True, None, "causal", "bool", False, False),
    (False, (5, 3), "bool", "none", True, True),
    (True, None, "causal", "none", False, True),
]


@pytest.mark.parametrize(("batch_first", "kv", "mask_kind", "padding", "average", "single"), CASES)
def test_multihead_attention_matches_the_reference(batch_first, kv, mask_kind, padding, average,
                                                   single):  # fmt: skip
    rng = np.random.default_rng(3)
    E, heads, N, L, S = 8, 2, 3, 4, 5
    kdim, vdim = kv or (E, E)
    mha = an.nn.MultiheadAttention(E, heads, kdim=kv and kdim, vdim=kv and vdim,
                                   batch_first=batch_first).double()  # fmt: skip
    n = 1 if single else N
    query = rng.standard_normal((n, L, E))
    key, value = rng.standard_normal((n, S, kdim)), rng.standard_normal((n, S, vdim))
    keep = np.ones((n, heads, L, S), bool)  # the reference's masks, per item and head
    add = np.zeros((n, heads, L, S))
    attn_mask = key_padding_mask = None
    if mask_kind == "bool":
        attn_mask = rng.random((L, S)) > 0.7  # True: may not look
        keep &= ~attn_mask
    elif mask_kind == "float":
        attn_mask = rng.standard_normal((L, S))
        add += attn_mask
    elif mask_kind == "per head":
        attn_mask = rng.random((n * heads, L, S)) > 0.8
        keep &= ~attn_mask.reshape(n, heads, L, S)
    elif mask_kind == "causal":
        keep &= np.tril(np.ones((L, S), bool))
    if padding == "bool":
        key_padding_mask = np.zeros((n, S), bool)
        key_padding_mask[0, -2:] = True
        keep &= ~key_padding_mask[:, None, None, :]
    elif padding == "float":
        key_padding_mask = rng.standard_normal((n, S))
        add += key_padding_mask[:, None, None, :]
    expected, weights = multihead(arrays(mha), query, key, value, heads, keep, add)
    if average:
        weights = weights.mean(axis=1)

    def layout(a):
        return a[0] if single else a if batch_first else a.transpose(1, 0, 2)

    if single and key_padding_mask is not None:
        key_padding_mask = key_padding_mask[0]
    out, w = mha(f64(layout(query)), f64(layout(key)), f64(layout(value)),
                 key_padding_mask=key_padding_mask, attn_mask=attn_mask,
                 average_attn_weights=average, is_causal=mask_kind == "causal")  # fmt: skip
    np.testing.assert_allclose(out.numpy(), layout(expected), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(w.numpy(), weights[0] if single else weights, atol=1e-12)
    no_weights = mha(f64(layout(query)), f64(layout(key)), f64(layout(value)),
                     key_padding_mask=key_padding_mask, attn_mask=attn_mask, need_weights=False,
                     is_causal=mask_kind == "causal")  # fmt: skip
    assert no_weights[1] is None
    np.testing.assert_allclose(no_weights[0].numpy(), out.numpy())


def test_multihead_attention_gradients():
    rng = np.random.default_rng(4)
    mha = an.nn.MultiheadAttention(4, 2, batch_first=True).double()
    x = f64(rng.standard_normal((2, 3, 4))).requires_grad_()
    memory = f64(rng.standard_normal((2, 5, 4))).requires_grad_()
    padding = np.array([[False] * 4 + [True], [False] * 5])

    def cross(x, memory):
        out, w = mha(x, memory, memory, key_padding_mask=padding)
        return out.sum() + (w * w).sum()

    assert gradcheck(cross, (x, memory))
    assert gradgradcheck(lambda x: mha(x, x, x, is_causal=True)[0], (x,))
    check_parameter_gradients(mha, lambda: cross(x, memory))


def test_errors_name_the_shapes():
    mha = an.nn.MultiheadAttention(4, 2, batch_first=True)
    x = an.zeros(2, 3, 4)
    with pytest.raises(ValueError, match=r"attn_mask must be \(3, 3\) or \(4, 3, 3\)"):
        mha(x, x, x, attn_mask=np.zeros((2, 3), bool))
    with pytest.raises(ValueError, match=r"key_padding_mask must be \(2, 3\)"):
        mha(x, x, x, key_padding_mask=np.zeros((3, 2), bool))


def test_plot_attention_labels_every_token(tmp_path):
    pytest.importorskip("matplotlib")
    weights = np.full((2, 3, 3), 1 / 3)
    fig = an.viz.plot_attention(weights, "a c", title="uniform")
    axes = [ax for ax in fig.axes if ax.get_title()]
    assert [ax.get_title() for ax in axes] == ["head 0", "head 1"]
    assert [t.get_text() for t in axes[0].get_xticklabels()] == ["a", "␣", "c"]
    assert len(axes[0].texts) == 9  # each weight written in its cell
    cross = an.viz.plot_attention(np.eye(2, 4), ["x", "y"], source_tokens=list("pqrs"))
    assert [t.get_text() for t in cross.axes[0].get_xticklabels()] == list("pqrs")
    cross.savefig(tmp_path / "map.png")
    with pytest.raises(ValueError, match="give source_tokens for the 4 keys"):
        an.viz.plot_attention(np.eye(2, 4), ["x", "y"])
    with pytest.raises(ValueError, match=r"expected weights \(L, S\) or \(heads, L, S\)"):
        an.viz.plot_attention(np.zeros(3))
