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
        (lambda o: LinearLR(o, start_factor=1.0, end_factor=0.2, total_iters=5),
         lambda b, e: b * (1.0 - 0.8 * min(e, 5) / 5)),
        (lambda o: MultiStepLR(o, milestones=[6, 3, 3], gamma=0.5),
         lambda b, e: b * 0.5 ** ((e >= 3) * 2 + (e >= 6))),
        (lambda o: CosineAnnealingLR(o, T_max=4),
         lambda b, e: b * (1 + math.cos(math.pi * e / 4)) / 2),
    ],
)  # fmt: skip
def test_rates_follow_the_closed_form(make, closed_form):
    for epoch, lrs in enumerate(rates(make, groups=2)):
        for i, lr in enumerate(lrs):
            assert lr == pytest.approx(closed_form(BASE * (i + 1), epoch), rel=1e-12), epoch


def halve_every_third(epoch):
    return 0.5 ** (epoch // 3)


def test_lambda_per_group():
    got = rates(lambda o: LambdaLR(o, [halve_every_third, lambda e: 1 / (1 + e)]), groups=2)
    for e, lrs in enumerate(got):
        assert lrs == pytest.approx([BASE * 0.5 ** (e // 3), 2 * BASE / (1 + e)], rel=1e-12)


def warmup_cosine(o):
    return SequentialLR(o, [LinearLR(o, 0.25, total_iters=3), CosineAnnealingLR(o, T_max=6)],
                        milestones=[3])  # fmt: skip


def test_warm_up_then_cosine():
    got = [lr for (lr,) in rates(warmup_cosine, epochs=10)]  # 3 epochs of warm-up, 7 of cosine
    warm = [BASE * (0.25 + 0.75 * e / 3) for e in range(3)]
    cosine = [BASE * (1 + math.cos(math.pi * e / 6)) / 2 for e in range(7)]
    assert got == pytest.approx(warm + cosine, rel=1e-12)


RESUMABLE = {
    "StepLR": lambda o: StepLR(o, step_size=2, gamma=0.5),
    "MultiStepLR": lambda o: MultiStepLR(o, milestones=[1, 4, 4], gamma=0.3),
    "ExponentialLR": lambda o: ExponentialLR(o, gamma=0.9),
    "CosineAnnealingLR": lambda o: CosineAnnealingLR(o, T_max=5, eta_min=0.1),
    "LambdaLR": lambda o: LambdaLR(o, [halve_every_third, lambda e: 1 / (1 + e)]),
    "LinearLR": lambda o: LinearLR(o, start_factor=0.2, total_iters=4),
    "SequentialLR": warmup_cosine,
    "ReduceLROnPlateau": lambda o: ReduceLROnPlateau(o, factor=0.5, patience=1, cooldown=1),
}
METRICS = [5.0, 4.0, 4.0, 4.0, 4.5, 3.0, 3.0, 3.0, 3.0, 3.0]


def advance(scheduler, epochs):
    """Step through ``epochs`` (a range), giving a plateau schedule its metric."""
    for epoch in epochs:
        if isinstance(scheduler, ReduceLROnPlateau):
            scheduler.step(METRICS[epoch])
        else:
            scheduler.step()
    return scheduler.get_last_lr()


@pytest.mark.parametrize("name", list(RESUMABLE))
@pytest.mark.parametrize("stop", [0, 4])
def test_scheduler_state_resumes(tmp_path, name, stop):
    """Stop after ``stop`` epochs, save optimizer and schedule, rebuild both, load, go on: the
    rates are those of the schedule that never stopped."""
    make = RESUMABLE[name]
    opt = optimizer(groups=2)
    scheduler = make(opt)
    advance(scheduler, range(stop))
    an.save({"opt": opt.state_dict(), "sched": scheduler.state_dict()}, tmp_path / "s.safetensors")
    uninterrupted = [advance(scheduler, [e]) for e in range(stop, len(METRICS))]

    opt2 = optimizer(groups=2)
    resumed = make(opt2)
    saved = an.load(tmp_path / "s.safetensors")
    opt2.load_state_dict(saved["opt"])
    resumed.load_state_dict(saved["sched"])
    assert resumed.get_last_lr() == [g["lr"] for g in opt2.param_groups]
    assert [advance(resumed, [e]) for e in range(stop, len(METRICS))] == uninterrupted


@pytest.mark.parametrize(
    ("make", "bad", "match"),
    [
        (lambda o: StepLR(o, step_size=2), lambda o: CosineAnnealingLR(o, T_max=3).state_dict(),
         r"missing keys \['gamma', 'step_size'\], unexpected keys \['T_max', 'eta_min'\]"),
        (lambda o: StepLR(o, step_size=2), lambda o: {**StepLR(o, 2).state_dict(), "base_lrs": []},
         "0 values in 'base_lrs', one per param group; the optimizer has 1 param groups"),
        (lambda o: ReduceLROnPlateau(o), lambda o: {**ReduceLROnPlateau(o).state_dict(),
                                                    "min_lrs": [0.0, 0.0]},
         "2 values in 'min_lrs'"),
        (warmup_cosine, lambda o: {**warmup_cosine(o).state_dict(),
                                   "_schedulers": [LinearLR(o).state_dict()]},
         "the state dict holds 1 schedules, this SequentialLR runs 2"),
        (warmup_cosine, lambda o: {**warmup_cosine(o).state_dict(),
                                   "_schedulers": [LinearLR(o).state_dict(), {"T_max": 3}]},
         r"SequentialLR.load_state_dict: schedule 1: CosineAnnealingLR.load_state_dict: .* "
         r"\(missing keys \['_last_lr', 'base_lrs', 'eta_min', 'last_epoch'\]"),
        (lambda o: StepLR(o, step_size=2), lambda o: [1, 2], "expected a dict, got list"),
    ],
)  # fmt: skip
def test_mismatched_scheduler_state_is_refused_and_changes_nothing(make, bad, match):
    scheduler = make(optimizer())
    advance(scheduler, range(2))
    before = scheduler.state_dict()
    with pytest.raises(ValueError, match=match):
        scheduler.load_state_dict(bad(optimizer()))
    assert scheduler.state_dict() == before


def test_resuming_by_last_epoch_needs_initial_lr():
    opt = optimizer()
    with pytest.raises(KeyError, match="param group 0 has no 'initial_lr'"):
        StepLR(opt, step_size=2, gamma=0.5, last_epoch=3)
    opt.param_groups[0]["initial_lr"] = BASE
    scheduler = StepLR(opt, step_size=2, gamma=0.5, last_epoch=3)  # applies epoch 4
    assert scheduler.get_last_lr() == [pytest.approx(BASE * 0.25)]


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


def test_plateau_threshold_in_mode_min():
    # a loss must fall below best · 0.9 (rel) or best − 0.2 (abs) to count as progress
    got = plateau_rates([1.0, 0.95, 0.85, 0.8], factor=0.5, patience=0, threshold=0.1)
    assert got == [1, 0.5, 0.5, 0.25]
    got = plateau_rates([1.0, 0.85, 0.75, 0.7], factor=0.5, patience=0, threshold=0.2,
                        threshold_mode="abs")  # fmt: skip
    assert got == [1, 0.5, 0.5, 0.25]


def test_plateau_skips_changes_smaller_than_eps_and_takes_tensors():
    # 1 → 0.5 changes by 0.5 > eps; 0.5 → 0.25 would change by 0.25 < eps: skipped
    got = plateau_rates([an.tensor(2.0)] * 5, factor=0.5, patience=0, eps=0.3)
    assert got == [1, 0.5, 0.5, 0.5, 0.5]


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
