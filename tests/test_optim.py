"""Optimizers: each update rule step by step against its published formula, state save and
resume, gradient clipping, and the errors."""

from __future__ import annotations

import math

import numpy as np
import pytest

import autonet as an
from autonet.optim import (
    SGD,
    Adagrad,
    Adam,
    AdamW,
    RMSprop,
    clip_grad_norm_,
    clip_grad_value_,
)

P0 = np.array([1.0, -2.0, 0.5, 3.0])
STEPS = 6


def gradient(p):
    """The gradient of a fixed non-quadratic loss, Σ (p⁴/4 − p), so every step differs."""
    return p**3 - 1.0


# ---- the published rules, in plain float64 NumPy ------------------------------------------


def sgd_reference(lr, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False):
    p, b = P0.copy(), None
    for t in range(STEPS):
        g = gradient(p) + weight_decay * p
        if momentum:
            b = g.copy() if t == 0 else momentum * b + (1 - dampening) * g
            g = g + momentum * b if nesterov else b
        p = p - lr * g
        yield p


def adam_reference(lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, amsgrad=False,
                   decoupled=False):  # fmt: skip
    (b1, b2), p = betas, P0.copy()
    m, v, vmax = np.zeros(4), np.zeros(4), np.zeros(4)
    for t in range(1, STEPS + 1):
        g = gradient(p)
        if decoupled:
            p = p * (1 - lr * weight_decay)
        else:
            g = g + weight_decay * p
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        vmax = np.maximum(vmax, v)
        v_hat = (vmax if amsgrad else v) / (1 - b2**t)
        p = p - lr * (m / (1 - b1**t)) / (np.sqrt(v_hat) + eps)
        yield p


def rmsprop_reference(lr, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0, centered=False):
    p, v, gbar, b = P0.copy(), np.zeros(4), np.zeros(4), np.zeros(4)
    for _ in range(STEPS):
        g = gradient(p) + weight_decay * p
        v = alpha * v + (1 - alpha) * g * g
        denom = v
        if centered:
            gbar = alpha * gbar + (1 - alpha) * g
            denom = v - gbar * gbar
        step = g / (np.sqrt(denom) + eps)
        if momentum:
            b = momentum * b + step
            step = b
        p = p - lr * step
        yield p


def adagrad_reference(lr, lr_decay=0.0, weight_decay=0.0, initial_accumulator_value=0.0,
                      eps=1e-10):  # fmt: skip
    p, s = P0.copy(), np.full(4, initial_accumulator_value)
    for t in range(1, STEPS + 1):
        g = gradient(p) + weight_decay * p
        s = s + g * g
        p = p - lr / (1 + (t - 1) * lr_decay) * g / (np.sqrt(s) + eps)
        yield p


CASES = [
    (SGD, sgd_reference, {"lr": 0.05}),
    (SGD, sgd_reference, {"lr": 0.05, "momentum": 0.9}),
    (SGD, sgd_reference, {"lr": 0.05, "momentum": 0.8, "dampening": 0.3, "weight_decay": 0.1}),
    (SGD, sgd_reference, {"lr": 0.05, "momentum": 0.9, "nesterov": True, "weight_decay": 0.01}),
    (Adam, adam_reference, {"lr": 0.1}),
    (Adam, adam_reference, {"lr": 0.1, "betas": (0.8, 0.9), "weight_decay": 0.1}),
    (Adam, adam_reference, {"lr": 0.1, "betas": (0.5, 0.6), "amsgrad": True, "eps": 1e-3}),
    (AdamW, lambda **k: adam_reference(decoupled=True, **k), {"lr": 0.1, "weight_decay": 0.3}),
    (AdamW, lambda **k: adam_reference(decoupled=True, **k),
     {"lr": 0.1, "weight_decay": 0.3, "amsgrad": True, "betas": (0.5, 0.6)}),
    (RMSprop, rmsprop_reference, {"lr": 0.01}),
    (RMSprop, rmsprop_reference, {"lr": 0.01, "alpha": 0.9, "momentum": 0.9}),
    (RMSprop, rmsprop_reference,
     {"lr": 0.01, "alpha": 0.9, "centered": True, "weight_decay": 0.1, "eps": 1e-2}),
    (Adagrad, adagrad_reference, {"lr": 0.5}),
    (Adagrad, adagrad_reference,
     {"lr": 0.5, "lr_decay": 0.1, "weight_decay": 0.1, "initial_accumulator_value": 0.5}),
]  # fmt: skip


def run(cls, kwargs, dtype=an.float64, steps=STEPS, p=None, opt=None):
    p = an.tensor(P0, dtype=dtype, requires_grad=True) if p is None else p
    opt = cls([p], **kwargs) if opt is None else opt
    for _ in range(steps):
        opt.zero_grad()
        ((p**4) / 4 - p).sum().backward()
        opt.step()
        yield p.numpy().copy()


@pytest.mark.parametrize(("cls", "reference", "kwargs"), CASES)
def test_update_rule_matches_the_formula_step_by_step(cls, reference, kwargs):
    for step, (ours, expected) in enumerate(zip(run(cls, kwargs), reference(**kwargs))):
        np.testing.assert_allclose(ours, expected, rtol=1e-12, atol=1e-12, err_msg=f"step {step}")


@pytest.mark.parametrize(("cls", "reference", "kwargs"), CASES)
def test_float32_stays_float32(cls, reference, kwargs):
    *_, last = run(cls, kwargs, dtype=an.float32)
    assert last.dtype == np.float32
    *_, expected = reference(**kwargs)
    np.testing.assert_allclose(last, expected, rtol=1e-4, atol=1e-4)


def test_maximize_climbs():
    p = an.tensor([0.0], requires_grad=True)
    opt = SGD([p], lr=0.1, maximize=True)
    (p * 2).sum().backward()
    opt.step()
    assert p.item() == pytest.approx(0.2)


@pytest.mark.parametrize(("cls", "reference", "kwargs"), CASES[1::2])
def test_saved_state_resumes_exactly(tmp_path, cls, reference, kwargs):
    """Three steps, save, load into a fresh optimizer, three more: as six in one go."""
    *_, uninterrupted = run(cls, kwargs)
    p = an.tensor(P0, dtype=an.float64, requires_grad=True)
    opt = cls([p], **kwargs)
    list(run(cls, kwargs, steps=3, p=p, opt=opt))
    an.save(opt.state_dict(), tmp_path / "opt.safetensors")
    an.save({"p": p.detach()}, tmp_path / "p.safetensors")

    q = an.tensor(an.load(tmp_path / "p.safetensors")["p"], requires_grad=True)
    resumed = cls([q], **{**kwargs, "lr": 123.0})  # the saved lr wins
    resumed.load_state_dict(an.load(tmp_path / "opt.safetensors"))
    *_, last = run(cls, kwargs, steps=3, p=q, opt=resumed)
    np.testing.assert_array_equal(last, uninterrupted)


def test_state_dict_is_a_snapshot_in_pytorch_layout():
    w, b = an.ones(2, requires_grad=True), an.ones(1, requires_grad=True)
    opt = SGD([{"params": [w]}, {"params": [b], "lr": 0.5}], lr=0.1, momentum=0.9)
    (w.sum() + b.sum()).backward()
    opt.step()
    sd = opt.state_dict()
    assert [g["params"] for g in sd["param_groups"]] == [[0], [1]]
    assert [g["lr"] for g in sd["param_groups"]] == [0.1, 0.5]
    buffer = sd["state"][0]["momentum_buffer"].numpy().copy()
    opt.step()
    np.testing.assert_array_equal(sd["state"][0]["momentum_buffer"].numpy(), buffer)


def test_mismatched_state_is_refused_and_changes_nothing():
    w = an.ones(2, requires_grad=True)
    opt = Adam([w], lr=0.1)
    (w * w).sum().backward()
    opt.step()
    other = Adam([an.ones(3, requires_grad=True)], lr=0.5)
    (other.param_groups[0]["params"][0] * 1).sum().backward()
    other.step()
    before = opt.state_dict()
    with pytest.raises(ValueError, match=r"state 'exp_avg' of parameter 0 of param group 0 has "
                       r"shape \(3,\), the parameter has shape \(2,\)"):  # fmt: skip
        opt.load_state_dict(other.state_dict())
    with pytest.raises(ValueError, match="the state dict has 2 param groups, this optimizer has 1"):
        opt.load_state_dict({"state": {}, "param_groups": [{"params": []}, {"params": []}]})
    after = opt.state_dict()
    assert after["param_groups"] == before["param_groups"]
    np.testing.assert_array_equal(after["state"][0]["exp_avg"], before["state"][0]["exp_avg"])


def test_parameters_without_gradient_are_left_alone():
    a, b = an.ones(2, requires_grad=True), an.ones(2, requires_grad=True)
    opt = Adam([a, b], lr=0.1)
    (a * 3).sum().backward()
    opt.step()
    assert b.tolist() == [1.0, 1.0] and b not in opt.state and a.tolist() != [1.0, 1.0]


def test_param_groups_and_add_param_group():
    a, b = an.ones(1, requires_grad=True), an.ones(1, requires_grad=True)
    opt = SGD([{"params": [a]}], lr=0.1, momentum=0.5)
    opt.add_param_group({"params": b, "lr": 1.0})
    (a + b).sum().backward()
    opt.step()
    assert a.item() == pytest.approx(0.9) and b.item() == pytest.approx(0.0)
    assert opt.param_groups[1]["momentum"] == 0.5


def test_zero_grad():
    w = an.ones(2, requires_grad=True)
    opt = SGD([w], lr=0.1)
    (w * 2).sum().backward()
    opt.zero_grad(set_to_none=False)
    assert w.grad.tolist() == [0.0, 0.0]
    opt.zero_grad()
    assert w.grad is None


def test_closure_is_evaluated_with_recording_on():
    w = an.tensor([2.0], requires_grad=True)
    opt = SGD([w], lr=0.25)

    def closure():
        opt.zero_grad()
        loss = (w * w).sum()
        loss.backward()
        return loss

    with an.no_grad():
        loss = opt.step(closure)
    assert loss.item() == 4.0 and w.item() == pytest.approx(1.0)


def test_step_bumps_the_version_so_stale_graphs_refuse_backward():
    w = an.ones(2, requires_grad=True)
    opt = SGD([w], lr=0.1)
    (w * w).sum().backward()
    y = (w * w).sum()  # saves w
    opt.step()
    with pytest.raises(RuntimeError, match=r"modified|changed"):
        y.backward()


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda w: SGD([w], lr=-1.0), r"SGD: invalid lr=-1.0"),
        (lambda w: Adam([w], betas=(0.9, 1.0)), r"Adam: invalid beta2=1.0"),
        (lambda w: SGD([w], nesterov=True), r"Nesterov momentum needs momentum > 0"),
        (lambda w: SGD([w, w]), r"a parameter appears more than once"),
        (lambda w: SGD([w * 2]), r"parameter 0 of param group 0 is the result of an operation"),
        (lambda w: SGD([]), r"SGD: got an empty parameter list"),
        (lambda w: RMSprop([w], alpha=-0.5), r"RMSprop: invalid alpha=-0.5"),
    ],
)
def test_bad_arguments_are_named(make, match):
    w = an.ones(2, requires_grad=True)
    with pytest.raises(ValueError, match=match):
        make(w)


def test_bad_parameter_types():
    with pytest.raises(TypeError, match="not a single Tensor; wrap it in a list"):
        SGD(an.ones(2, requires_grad=True))
    with pytest.raises(TypeError, match=r"parameter 0 of param group 0 has dtype int64"):
        SGD([an.tensor([1, 2])])
    with pytest.raises(TypeError, match=r"ordered collection"):
        SGD([{"params": {an.ones(1, requires_grad=True)}}])


# ---- clipping -------------------------------------------------------------------------------


@pytest.mark.parametrize("norm_type", [1.0, 2.0, 3.0, math.inf])
def test_clip_grad_norm(norm_type):
    rng = np.random.default_rng(0)
    grads = [rng.standard_normal(s) for s in [(3, 2), (4,), ()]]
    params = [an.zeros(g.shape, dtype=an.float64, requires_grad=True) for g in grads]
    for p, g in zip(params, grads):
        p.grad = an.tensor(g, dtype=an.float64)
    flat = np.concatenate([g.ravel() for g in grads])
    total = (
        np.abs(flat).max()
        if norm_type == math.inf
        else (np.abs(flat) ** norm_type).sum() ** (1 / norm_type)
    )
    returned = clip_grad_norm_(params, max_norm=total / 4, norm_type=norm_type)
    assert returned.item() == pytest.approx(total)
    scale = (total / 4) / (total + 1e-6)
    for p, g in zip(params, grads):
        np.testing.assert_allclose(p.grad.numpy(), g * scale, rtol=1e-12)
    # below the limit nothing changes
    before = [p.grad.numpy().copy() for p in params]
    clip_grad_norm_(params, max_norm=total * 10, norm_type=norm_type)
    for p, b in zip(params, before):
        np.testing.assert_array_equal(p.grad.numpy(), b)


def test_clip_grad_norm_nonfinite():
    p = an.zeros(2, requires_grad=True)
    p.grad = an.tensor([1.0, math.inf])
    with pytest.raises(RuntimeError, match=r"clip_grad_norm_: the total norm .* is inf"):
        clip_grad_norm_(p, 1.0, error_if_nonfinite=True)


def test_clip_grad_value():
    p, q = an.zeros(3, requires_grad=True), an.zeros(1, requires_grad=True)
    p.grad = an.tensor([-3.0, 0.25, 7.0])
    clip_grad_value_([p, q], 0.5)  # q has no gradient: skipped
    assert p.grad.tolist() == [-0.5, 0.25, 0.5] and q.grad is None
    with pytest.raises(ValueError, match="clip_value must be >= 0"):
        clip_grad_value_(p, -1)
    assert an.nn.utils.clip_grad_norm_ is clip_grad_norm_
