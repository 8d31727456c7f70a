"""Learning-rate schedules: the rates of every epoch against their closed forms."""

from __future__ import annotations

import math

import pytest

import autonet as an
from autonet.optim import SGD
from autonet.optim.lr_scheduler import (
    CosineAnnealingLR,
    ExponentialLR,
    LambdaLR,
    LinearLR,
    MultiStepLR,
    ReduceLROnPlateau,
    SequentialLR,
    StepLR,
)

BASE = 0.8


def optimizer(lr=BASE, groups=1):
    return SGD([{"params": [an.zeros(1, requires_grad=True)], "lr": lr * (i + 1)}
                for i in range(groups)], lr=lr)  # fmt: skip


def rates(make, epochs=12, groups=1):
    opt = optimizer(groups=groups)
    scheduler = make(opt)
    seen = []
    for _ in range(epochs):
        seen.append([g["lr"] for g in opt.param_groups])
        opt.step()
        scheduler.step()
    return seen


@pytest.mark.parametrize(
    ("make", "closed_form"),
    [
        (lambda o: StepLR(o, step_size=3, gamma=0.5), lambda b, e: b * 0.5 ** (e // 3)),
        (lambda o: MultiStepLR(o, milestones=[2, 5, 9], gamma=0.1),
         lambda b, e: b * 0.1 ** sum(e >= m for m in (2, 5, 9))),
        (lambda o: ExponentialLR(o, gamma=0.7), lambda b, e: b * 0.7**e),
        (lambda o: CosineAnnealingLR(o, T_max=10, eta_min=0.01),
         lambda b, e: 0.01 + (b - 0.01) * (1 + math.cos(math.pi * e / 10)) / 2),
        (lambda o: LambdaLR(o, lambda e: 1 / (1 + e)), lambda b, e: b / (1 + e)),
        (lambda o: LinearLR(o, start_factor=0.1, total_iters=4),
         lambda b, e: b * (0.1 + 0.9 * min(e, 4) / 4)),
    ],
)  # fmt: skip
def test_rates_follow_the_closed_form(make, closed_form):
    for epoch, lrs in enumerate(rates(make, groups=2)):
        for i, lr in enumerate(lrs):
            assert lr == pytest.approx(closed_form(BASE * (i + 1), epoch), rel=1e-12), epoch


def test_warm_up_then_cosine():
    def make(o):
        return SequentialLR(o, [LinearLR(o, 0.25, total_iters=3), CosineAnnealingLR(o, T_max=6)],
                            milestones=[3])  # fmt: skip

    got = [lr for (lr,) in rates(make, epochs=10)]
    warm = [BASE * (0.25 + 0.75 * e / 3) for e in range(3)]
    cosine = [BASE * (1 + math.cos(math.pi * e / 6)) / 2 for e in range(7)]
    assert got == pytest.approx(warm + cosine, rel=1e-12)


def test_scheduler_state_resumes(tmp_path):
    opt = optimizer()
    sched = StepLR(opt, step_size=2, gamma=0.5)
    for _ in range(3):
        sched.step()
    an.save(sched.state_dict(), tmp_path / "sched.safetensors")
    opt2 = optimizer()
    sched2 = StepLR(opt2, step_size=2, gamma=0.5)
    sched2.load_state_dict(an.load(tmp_path / "sched.safetensors"))
    for _ in range(3):
        sched.step()
        sched2.step()
        assert sched2.get_last_lr() == sched.get_last_lr()


def plateau_rates(metrics, **kwargs):
    opt = optimizer(lr=1.0)
    scheduler = ReduceLROnPlateau(opt, **kwargs)
    seen = []
    for m in metrics:
        scheduler.step(m)
        seen.append(opt.param_groups[0]["lr"])
    return seen


def test_plateau_patience():
    # improvement at 1, 2; then flat: after `patience` bad epochs the next one reduces
    assert plateau_rates([5, 4, 4, 4, 4, 4, 4], factor=0.5, patience=2) == [1, 1, 1, 1, 0.5, 0.5,
                                                                            0.5]  # fmt: skip


def test_plateau_cooldown_and_min_lr():
    got = plateau_rates([1.0] * 8, factor=0.1, patience=0, cooldown=2, min_lr=0.005)
    assert got == pytest.approx([1, 0.1, 0.1, 0.1, 0.01, 0.01, 0.01, 0.005])


def test_plateau_mode_max_and_threshold():
    # accuracy rising by less than 10% counts as no progress
    got = plateau_rates([0.5, 0.52, 0.53, 0.6, 0.61], mode="max", factor=0.5, patience=0,
                        threshold=0.1)  # fmt: skip
    assert got == [1, 0.5, 0.25, 0.25, 0.125]
    got = plateau_rates([0.5, 0.52, 0.6], mode="max", factor=0.5, patience=0, threshold=0.05,
                        threshold_mode="abs")  # fmt: skip
    assert got == [1, 0.5, 0.5]


@pytest.mark.parametrize(
    ("make", "error", "match"),
    [
        (lambda o: StepLR(o, step_size=0), ValueError, "StepLR: step_size must be a positive"),
        (lambda o: CosineAnnealingLR(o, T_max=0), ValueError, "T_max must be > 0"),
        (lambda o: LinearLR(o, start_factor=0), ValueError, r"start_factor must be in \(0, 1\]"),
        (lambda o: ReduceLROnPlateau(o, mode="up"), ValueError, "mode must be 'min' or 'max'"),
        (lambda o: SequentialLR(o, [StepLR(o, 2), StepLR(o, 3)], milestones=[]), ValueError,
         "2 schedulers need 1 milestones, got 0"),
        (lambda o: StepLR("opt", 2), TypeError, "Optimizer"),
    ],
)  # fmt: skip
def test_bad_arguments(make, error, match):
    with pytest.raises(error, match=match):
        make(optimizer())
