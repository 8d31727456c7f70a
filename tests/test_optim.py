"""Optimizers: each update rule step by step against its published formula, state save and
resume, gradient clipping, and the errors."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

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
from autonet.optim.lr_scheduler import CosineAnnealingLR, LinearLR, SequentialLR
from autonet.testing import strategies as ast

P0 = np.array([1.0, -2.0, 0.5, 3.0])
STEPS = 6


def loss(p):
    """A fixed non-quadratic loss, Σ (p⁴/4 − p), so that every step's gradient differs."""
    return ((p**4) / 4 - p).sum()


def gradient(p):
    """The gradient of ``loss``, written by hand."""
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


def adamw_reference(**kwargs):
    return adam_reference(decoupled=True, **kwargs)


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
    (Adam, adam_reference,
     {"lr": 0.1, "betas": (0.5, 0.6), "amsgrad": True, "weight_decay": 0.2}),
    (AdamW, adamw_reference, {"lr": 0.1, "weight_decay": 0.3}),
    (AdamW, adamw_reference,
     {"lr": 0.1, "weight_decay": 0.3, "amsgrad": True, "betas": (0.5, 0.6)}),
    (RMSprop, rmsprop_reference, {"lr": 0.01}),
    (RMSprop, rmsprop_reference, {"lr": 0.01, "alpha": 0.9, "momentum": 0.9}),
    (RMSprop, rmsprop_reference,
     {"lr": 0.01, "alpha": 0.9, "centered": True, "weight_decay": 0.1, "eps": 1e-2}),
    (RMSprop, rmsprop_reference,
     {"lr": 0.01, "alpha": 0.8, "centered": True, "momentum": 0.5, "weight_decay": 0.1}),
    (Adagrad, adagrad_reference, {"lr": 0.5}),
    (Adagrad, adagrad_reference,
     {"lr": 0.5, "lr_decay": 0.1, "weight_decay": 0.1, "initial_accumulator_value": 0.5}),
]  # fmt: skip
IDS = [f"{cls.__name__}-{'-'.join(kwargs)}" for cls, _, kwargs in CASES]


def fresh(cls, kwargs, dtype=an.float64):
    p = an.tensor(P0, dtype=dtype, requires_grad=True)
    return p, cls([p], **kwargs)


def run(p, opt, steps=STEPS, sign=1.0):
    """Take ``steps`` steps on ``sign · loss``; yield a copy of the parameter after each."""
    for _ in range(steps):
        opt.zero_grad()
        (loss(p) * sign).backward()
        opt.step()
        yield p.numpy().copy()


@pytest.mark.parametrize(("cls", "reference", "kwargs"), CASES, ids=IDS)
def test_update_rule_matches_the_formula_step_by_step(cls, reference, kwargs):
    ours = run(*fresh(cls, kwargs))
    for step, (got, expected) in enumerate(zip(ours, reference(**kwargs), strict=True)):
        np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12, err_msg=f"step {step}")


@pytest.mark.parametrize(("cls", "reference", "kwargs"), CASES, ids=IDS)
def test_maximize_climbs_the_negated_loss_the_same_way(cls, reference, kwargs):
    ours = run(*fresh(cls, {**kwargs, "maximize": True}), sign=-1.0)
    for step, (got, expected) in enumerate(zip(ours, reference(**kwargs), strict=True)):
        np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12, err_msg=f"step {step}")


def as_numpy_floats(kwargs):
    """The same hyperparameters, with every float a NumPy float64 scalar."""

    def convert(v):
        if isinstance(v, tuple):
            return tuple(convert(x) for x in v)
        return np.float64(v) if type(v) is float else v

    return {k: convert(v) for k, v in kwargs.items()}


@pytest.mark.parametrize(("cls", "reference", "kwargs"), CASES, ids=IDS)
def test_float32_stays_float32(cls, reference, kwargs):
    """float32 parameters and state stay float32, even with NumPy float64 hyperparameters
    (NumPy 2 would promote float32 arrays times np.float64 scalars) and with a rate a schedule
    set by hand."""
    p, opt = fresh(cls, as_numpy_floats(kwargs), dtype=an.float32)
    steps = run(p, opt)
    next(steps)
    opt.param_groups[0]["lr"] = np.float64(kwargs["lr"])
    *_, last = steps
    assert last.dtype == np.float32 and p.dtype == np.float32
    for name, value in opt.state[p].items():
        if isinstance(value, an.Tensor):
            assert value.dtype == np.float32, name
    *_, expected = reference(**kwargs)
    np.testing.assert_allclose(last, expected, rtol=1e-4, atol=1e-4)


# ---- saving and resuming ------------------------------------------------------------------


@pytest.mark.parametrize(("cls", "reference", "kwargs"), CASES, ids=IDS)
def test_saved_state_resumes_exactly(tmp_path, cls, reference, kwargs):
    """Three steps, save, load into a fresh optimizer, three more: as six in one go."""
    *_, uninterrupted = run(*fresh(cls, kwargs))
    p, opt = fresh(cls, kwargs)
    list(run(p, opt, steps=3))
    an.save(opt.state_dict(), tmp_path / "opt.safetensors")
    an.save({"p": p.detach()}, tmp_path / "p.safetensors")

    q = an.tensor(an.load(tmp_path / "p.safetensors")["p"], requires_grad=True)
    resumed = cls([q], **{**kwargs, "lr": 123.0})  # the saved lr wins
    resumed.load_state_dict(an.load(tmp_path / "opt.safetensors"))
    *_, last = run(q, resumed, steps=3)
    np.testing.assert_array_equal(last, uninterrupted)


def test_what_load_gives_back_is_what_was_saved(tmp_path):
    """an.load keeps int keys, int steps, tuples and bools, and load_state_dict takes them."""
    w = an.ones(2, requires_grad=True)
    opt = Adam([{"params": [w]}, {"params": [an.ones(1, requires_grad=True)]}], amsgrad=True)
    (w * w).sum().backward()
    opt.step()
    opt.step()
    an.save(opt.state_dict(), tmp_path / "opt.safetensors")
    loaded = an.load(tmp_path / "opt.safetensors")
    assert list(loaded["state"]) == [0]  # the second parameter never had a gradient
    assert type(loaded["state"][0]["step"]) is int and loaded["state"][0]["step"] == 2
    group = loaded["param_groups"][0]
    assert group["betas"] == (0.9, 0.999) and group["amsgrad"] is True
    assert [g["params"] for g in loaded["param_groups"]] == [[0], [1]]
    twin = Adam([{"params": [an.ones(2, requires_grad=True)]},
                 {"params": [an.ones(1, requires_grad=True)]}])  # fmt: skip
    twin.load_state_dict(loaded)
    assert twin.param_groups[0]["amsgrad"] is True


def test_state_in_pytorch_layout_loads_too():
    """String keys (as from JSON), ``step`` as a 0-d float tensor (as PyTorch saves it) and
    float64 arrays are accepted; the state takes the parameter's dtype."""
    p = an.tensor(P0, dtype=an.float32, requires_grad=True)
    opt = Adam([p], lr=0.1)
    list(run(p, opt, steps=2))
    sd = opt.state_dict()
    state = {
        str(k): {
            "step": an.tensor(float(v["step"])),
            "exp_avg": v["exp_avg"].numpy().astype(np.float64),
            "exp_avg_sq": v["exp_avg_sq"].numpy().astype(np.float64),
        }
        for k, v in sd["state"].items()
    }
    q = an.tensor(p.numpy(), requires_grad=True)
    twin = Adam([q])
    twin.load_state_dict({"state": state, "param_groups": sd["param_groups"]})
    assert twin.state[q]["step"] == 2 and twin.state[q]["exp_avg"].dtype == np.float32
    *_, ours = run(p, opt, steps=2)
    *_, theirs = run(q, twin, steps=2)
    np.testing.assert_array_equal(theirs, ours)


def test_checkpoint_with_groups_and_a_schedule_resumes_exactly(tmp_path):
    """Parameters in two groups (one never has a gradient), Adam with AMSGrad and weight decay,
    a warm-up then cosine schedule: stopping after 4 epochs, saving one checkpoint, rebuilding
    everything and loading it, then 4 more epochs gives what 8 epochs in one go give."""

    def build():
        a = an.tensor([0.5, -1.0, 2.0], dtype=an.float64, requires_grad=True)
        b = an.tensor([[1.5], [0.0]], dtype=an.float64, requires_grad=True)
        idle = an.zeros(2, dtype=an.float64, requires_grad=True)
        opt = Adam([{"params": [a]}, {"params": [b, idle], "lr": 0.05}], lr=0.1,
                   weight_decay=0.01, amsgrad=True)  # fmt: skip
        warmup = LinearLR(opt, start_factor=0.25, total_iters=3)
        scheduler = SequentialLR(opt, [warmup, CosineAnnealingLR(opt, T_max=6)], milestones=[3])
        return (a, b, idle), opt, scheduler

    def epochs(params, opt, scheduler, n):
        a, b, _ = params
        rates = []
        for _ in range(n):
            for _ in range(2):  # two optimizer steps per epoch
                opt.zero_grad()
                (loss(a) + ((b - 1.0) ** 2 * 3).sum()).backward()
                opt.step()
            scheduler.step()
            rates.append([g["lr"] for g in opt.param_groups])
        return rates

    params, opt, scheduler = build()
    rates = epochs(params, opt, scheduler, 8)
    expected = [p.numpy().copy() for p in params]

    params, opt, scheduler = build()
    first = epochs(params, opt, scheduler, 4)
    checkpoint = {
        "params": [p.detach() for p in params],
        "optimizer": opt.state_dict(),
        "scheduler": scheduler.state_dict(),
    }
    an.save(checkpoint, tmp_path / "checkpoint.safetensors")

    params, opt, scheduler = build()
    checkpoint = an.load(tmp_path / "checkpoint.safetensors")
    with an.no_grad():
        for p, saved in zip(params, checkpoint["params"], strict=True):
            p.copy_(saved)
    opt.load_state_dict(checkpoint["optimizer"])
    scheduler.load_state_dict(checkpoint["scheduler"])
    second = epochs(params, opt, scheduler, 4)

    assert first + second == rates
    for p, e in zip(params, expected, strict=True):
        np.testing.assert_array_equal(p.numpy(), e)
    assert params[2] not in opt.state and params[2].tolist() == [0.0, 0.0]


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


def stepped(cls, shape=(2,), **kwargs):
    w = an.ones(*shape, requires_grad=True)
    opt = cls([w], **kwargs)
    (w * w).sum().backward()
    opt.step()
    return opt


def with_group(sd, **changes):
    return {"state": sd["state"], "param_groups": [{**sd["param_groups"][0], **changes}]}


@pytest.mark.parametrize(
    ("make_bad", "match"),
    [
        (lambda: stepped(Adam, shape=(3,)).state_dict(),
         r"state 'exp_avg' of parameter 0 of param group 0 has shape \(3,\), the parameter has "
         r"shape \(2,\)"),
        (lambda: {"state": {}, "param_groups": [{"params": []}, {"params": []}]},
         "the state dict has 2 param groups, this optimizer has 1"),
        (lambda: with_group(stepped(Adam).state_dict(), params=[0, 1]),
         "param group 0 has 2 parameters in the state dict and 1 in this optimizer"),
        (lambda: stepped(SGD, momentum=0.9).state_dict(),
         r"holds \['momentum_buffer'\]; Adam keeps .* missing: \['exp_avg', 'exp_avg_sq', "
         r"'step'\]"),
        (lambda: stepped(Adagrad).state_dict(), r"unknown: \['sum'\]"),
        (lambda: with_group(stepped(Adam).state_dict(), amsgrad=True),
         r"missing: \['max_exp_avg_sq'\]"),
        (lambda: with_group(stepped(Adam).state_dict(), lr=-0.5), r"Adam: invalid lr=-0.5"),
        (lambda: {"state": {7: {}}, "param_groups": [{"params": [0], "lr": 0.1}]},
         "state for unknown parameter 7"),
        (lambda: {"state": {}, "param_groups": [{"lr": 0.1}]}, "has no 'params' entry"),
        (lambda: {"param_groups": []}, "expected a dict with 'state' and 'param_groups'"),
    ],
)  # fmt: skip
def test_mismatched_state_is_refused_and_changes_nothing(make_bad, match):
    opt = stepped(Adam, lr=0.1)
    before = opt.state_dict()
    with pytest.raises(ValueError, match=match):
        opt.load_state_dict(make_bad())
    after = opt.state_dict()
    assert after["param_groups"] == before["param_groups"]
    assert list(after["state"]) == [0] and after["state"][0]["step"] == 1
    np.testing.assert_array_equal(after["state"][0]["exp_avg"], before["state"][0]["exp_avg"])


def test_adam_state_does_not_load_into_sgd():
    opt = stepped(SGD, lr=0.1, momentum=0.9)
    with pytest.raises(ValueError, match=r"SGD.load_state_dict: .* \(unknown: \['exp_avg'"):
        opt.load_state_dict(stepped(Adam).state_dict())


# ---- the step -----------------------------------------------------------------------------


def test_parameters_without_gradient_are_left_alone():
    a, b = an.ones(2, requires_grad=True), an.ones(2, requires_grad=True)
    opt = SGD([a, b], lr=0.1, momentum=0.5)
    (a * 3).sum().backward()
    opt.step()
    assert (
        b.tolist() == [1.0, 1.0]
        and b.grad is None
        and "momentum_buffer" not in opt.state.get(b, {})
    )
    assert a.tolist() == pytest.approx([0.7, 0.7])
    # b's momentum starts at its own first gradient
    opt.zero_grad()
    (a * 3 + b * 2).sum().backward()
    opt.step()
    assert a.tolist() == pytest.approx([0.7 - 0.1 * (0.5 * 3 + 3)] * 2)
    assert b.tolist() == pytest.approx([1 - 0.1 * 2] * 2)


def test_param_groups_and_add_param_group():
    a, b = an.ones(1, requires_grad=True), an.ones(1, requires_grad=True)
    opt = SGD([{"params": [a]}], lr=0.1, momentum=0.5)
    opt.add_param_group({"params": b, "lr": 1.0})
    (a + b).sum().backward()
    opt.step()
    assert a.item() == pytest.approx(0.9) and b.item() == pytest.approx(0.0)
    assert opt.param_groups[1]["momentum"] == 0.5
    with pytest.raises(ValueError, match="in param group 2 or in an earlier group"):
        opt.add_param_group({"params": [a]})
    with pytest.raises(ValueError, match="param group 2 has no 'params' entry"):
        opt.add_param_group({"lr": 0.1})
    assert len(opt.param_groups) == 2


def test_zero_grad():
    w = an.ones(2, requires_grad=True)
    opt = SGD([w], lr=0.1)
    (w * 2).sum().backward()
    grad = w.grad
    opt.zero_grad(set_to_none=False)
    assert w.grad is grad and grad.tolist() == [0.0, 0.0]
    opt.zero_grad()
    assert w.grad is None


def test_closure_is_evaluated_with_recording_on():
    w = an.tensor([2.0], requires_grad=True)
    opt = SGD([w], lr=0.25)
    calls = []

    def closure():
        calls.append(an.is_grad_enabled())
        opt.zero_grad()
        value = (w * w).sum()
        value.backward()
        return value

    with an.no_grad():
        returned = opt.step(closure)
    assert calls == [True] and returned.item() == 4.0 and w.item() == pytest.approx(1.0)
    assert opt.step() is None


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
        (lambda w: Adam([w], lr=-1e-3), r"Adam: invalid lr=-0.001"),
        (lambda w: SGD([{"params": [w], "lr": -0.1}]), r"SGD: invalid lr=-0.1"),
        (lambda w: SGD([w], lr=float("nan")), r"SGD: invalid lr=nan"),
        (lambda w: Adam([w], betas=(0.9, 1.0)), r"Adam: invalid beta2=1.0"),
        (lambda w: Adam([w], betas=(0.9,)), r"Adam: betas must be a pair"),
        (lambda w: AdamW([w], eps=-1.0), r"AdamW: invalid eps=-1.0"),
        (lambda w: Adagrad([w], lr_decay=-0.1), r"Adagrad: invalid lr_decay=-0.1"),
        (lambda w: SGD([w], nesterov=True), r"Nesterov momentum needs momentum > 0"),
        (lambda w: SGD([w], momentum=0.9, dampening=0.1, nesterov=True), r"and dampening = 0"),
        (lambda w: SGD([w, w]), r"a parameter appears more than once"),
        (lambda w: SGD([{"params": [w]}, {"params": [w]}]), r"appears more than once"),
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
    with pytest.raises(TypeError, match=r"parameter 1 of param group 0 is a ndarray"):
        SGD([an.ones(1, requires_grad=True), np.ones(1)])
    with pytest.raises(TypeError, match=r"ordered collection"):
        SGD([{"params": {an.ones(1, requires_grad=True)}}])


# ---- clipping -------------------------------------------------------------------------------


def total_norm(arrays, norm_type):
    flat = np.concatenate([a.ravel() for a in arrays])
    if norm_type == math.inf:
        return np.abs(flat).max(initial=0.0)
    return (np.abs(flat) ** norm_type).sum() ** (1 / norm_type)


@pytest.mark.parametrize("norm_type", [1.0, 2.0, 3.0, math.inf])
def test_clip_grad_norm(norm_type):
    rng = np.random.default_rng(0)
    grads = [rng.standard_normal(s) for s in [(3, 2), (4,), ()]]
    params = [an.zeros(g.shape, dtype=an.float64, requires_grad=True) for g in grads]
    for p, g in zip(params, grads, strict=True):
        p.grad = an.tensor(g, dtype=an.float64)
    total = total_norm(grads, norm_type)
    returned = clip_grad_norm_(params, max_norm=total / 4, norm_type=norm_type)
    assert returned.item() == pytest.approx(total, rel=1e-12)
    scale = (total / 4) / (total + 1e-6)
    for p, g in zip(params, grads, strict=True):
        np.testing.assert_allclose(p.grad.numpy(), g * scale, rtol=1e-12)
    # below the limit nothing changes
    before = [p.grad.numpy().copy() for p in params]
    clip_grad_norm_(params, max_norm=total * 10, norm_type=norm_type)
    for p, b in zip(params, before, strict=True):
        np.testing.assert_array_equal(p.grad.numpy(), b)


finite = st.floats(-100, 100, allow_nan=False)


@given(
    grads=st.lists(hnp.arrays(np.float64, ast.shapes(max_dims=2), elements=finite),
                   min_size=1, max_size=3),
    max_norm=st.floats(0.01, 50),
    norm_type=st.sampled_from([1.0, 2.0, math.inf]),
)  # fmt: skip
def test_clipped_gradients_keep_their_direction_within_the_norm(grads, max_norm, norm_type):
    params = [an.zeros(g.shape, dtype=an.float64, requires_grad=True) for g in grads]
    for p, g in zip(params, grads, strict=True):
        p.grad = an.tensor(g, dtype=an.float64)
    total = total_norm(grads, norm_type)
    assert clip_grad_norm_(params, max_norm, norm_type).item() == pytest.approx(total, rel=1e-9)
    coef = min(1.0, max_norm / (total + 1e-6))
    clipped = [p.grad.numpy() for p in params]
    for c, g in zip(clipped, grads, strict=True):
        np.testing.assert_allclose(c, g * coef, rtol=1e-12, atol=1e-300)
    assert total_norm(clipped, norm_type) <= max_norm * (1 + 1e-9)


def test_clip_grad_norm_keeps_float32_and_skips_missing_gradients():
    a, b = an.zeros(2, requires_grad=True), an.zeros(1, requires_grad=True)
    a.grad = an.tensor([6.0, 8.0])
    norm = clip_grad_norm_([a, b], max_norm=np.float64(5.0))
    assert norm.dtype == np.float32 and norm.item() == pytest.approx(10.0)
    assert a.grad.dtype == np.float32 and b.grad is None
    np.testing.assert_allclose(a.grad.numpy(), [3.0, 4.0], rtol=1e-6)
    assert clip_grad_norm_([b], 1.0).item() == 0.0


def test_clip_grad_norm_nonfinite():
    p = an.zeros(2, requires_grad=True)
    p.grad = an.tensor([1.0, math.inf])
    with pytest.raises(RuntimeError, match=r"clip_grad_norm_: the total norm .* is inf"):
        clip_grad_norm_(p, 1.0, error_if_nonfinite=True)
    p.grad = an.tensor([1.0, math.nan])
    assert math.isnan(clip_grad_norm_(p, 1.0).item())
    assert np.isnan(p.grad.numpy()).all()  # a nan norm spreads, as in PyTorch


def test_clip_grad_value():
    p, q = an.zeros(3, requires_grad=True), an.zeros(1, requires_grad=True)
    p.grad = an.tensor([-3.0, 0.25, 7.0])
    clip_grad_value_([p, q], 0.5)  # q has no gradient: skipped
    assert p.grad.tolist() == [-0.5, 0.25, 0.5] and q.grad is None
    assert p.grad.dtype == np.float32
    with pytest.raises(ValueError, match="clip_value must be >= 0"):
        clip_grad_value_(p, -1)
    with pytest.raises(TypeError, match="clip_grad_value_: parameter 0 is a list"):
        clip_grad_value_([[1.0]], 1.0)
    assert an.nn.utils.clip_grad_norm_ is clip_grad_norm_
