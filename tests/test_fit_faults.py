"""Training under faults: empty data, a NaN loss, an error or Ctrl-C in the middle of fit, a
checkpoint that cannot be written, float16 gradients to clip."""

from __future__ import annotations

import math

import numpy as np
import pytest

import autonet as an
from autonet.data import DataLoader, TensorDataset
from autonet.optim import clip_grad_norm_
from autonet.train import Callback, LambdaCallback, ModelCheckpoint, TerminateOnNaN, evaluate, fit


def regression_data(n: int = 16) -> tuple[an.Tensor, an.Tensor]:
    X = an.randn(n, 3)
    return X, X.sum(axis=1, keepdims=True)


# ---- empty data --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda net, X, y: fit(net, (X[:0], y[:0]), "mse", verbose=False),
         "fit: train_data is empty: it holds no samples"),
        (lambda net, X, y: fit(net, (X, y), "mse", validation_data=(X[:0], y[:0]), verbose=False),
         "fit: validation_data is empty: it holds no samples"),
        (lambda net, X, y: fit(net, DataLoader(TensorDataset(X[:3], y[:3]), batch_size=4,
                                               drop_last=True), "mse", verbose=False),
         "its 3 samples make no batch of 4 with drop_last=True"),
        (lambda net, X, y: evaluate(net, (X[:0], y[:0]), "mse"),
         "evaluate: data is empty: it holds no samples"),
    ],
)  # fmt: skip
def test_empty_data_is_an_error_not_a_perfect_loss(call, match):
    net = an.nn.Linear(3, 1)
    X, y = regression_data()
    with pytest.raises(ValueError, match=match):
        call(net, X, y)


def test_a_checkpoint_never_records_the_loss_of_empty_validation_data(tmp_path):
    net = an.nn.Linear(3, 1)
    X, y = regression_data()
    checkpoint = ModelCheckpoint(tmp_path / "best.safetensors", monitor="val_loss")
    with pytest.raises(ValueError, match="validation_data is empty"):
        fit(net, (X, y), "mse", validation_data=(X[:0], y[:0]), callbacks=[checkpoint],
            verbose=False)  # fmt: skip
    assert checkpoint.best == math.inf and not (tmp_path / "best.safetensors").exists()


# ---- a NaN or infinite loss ----------------------------------------------------------------


def data_with_nan_in_batch(batch: int, n: int = 8, batch_size: int = 2):
    X, y = regression_data(n)
    y = y.numpy().copy()
    y[batch * batch_size] = np.nan
    return X, an.tensor(y)


def test_a_nan_loss_stops_fit_with_the_epoch_and_batch():
    net = an.nn.Linear(3, 1)
    twin = an.nn.Linear(3, 1)
    twin.load_state_dict(net.state_dict())
    X, y = data_with_nan_in_batch(batch=2)
    with pytest.raises(FloatingPointError, match=r"the loss is nan at epoch 1/3, batch 3/4"):
        fit(net, (X, y), "mse", optimizer=an.optim.SGD(net.parameters(), lr=0.1), epochs=3,
            batch_size=2, shuffle=False, verbose=False)  # fmt: skip
    # the weights are those after the two finite batches: the NaN batch did not step
    fit(twin, (X[:4], y[:4]), "mse", optimizer=an.optim.SGD(twin.parameters(), lr=0.1),
        batch_size=2, shuffle=False, verbose=False)  # fmt: skip
    for (k, a), b in zip(net.state_dict().items(), twin.state_dict().values(), strict=True):
        assert np.isfinite(a.numpy()).all(), k
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_an_infinite_loss_is_caught_too():
    X, y = regression_data(4)
    y = an.tensor(np.where(np.arange(4)[:, None] == 1, np.inf, y.numpy()))
    with pytest.raises(FloatingPointError, match=r"the loss is inf at epoch 1/1, batch 1/1"):
        fit(an.nn.Linear(3, 1), (X, y), "mse", batch_size=4, verbose=False)


@pytest.mark.parametrize("how", ["on_nan='stop'", "TerminateOnNaN"])
def test_stopping_on_nan_returns_the_history_so_far(how, capsys):
    net = an.nn.Linear(3, 1)
    X, y = data_with_nan_in_batch(batch=1)
    epochs_seen = []
    record = LambdaCallback(on_epoch_end=lambda s: epochs_seen.append(s.epoch))
    kwargs = {"on_nan": "stop"} if how == "on_nan='stop'" else {"callbacks": [TerminateOnNaN()]}
    kwargs.setdefault("callbacks", [])
    kwargs["callbacks"] = [*kwargs["callbacks"], record]
    history = fit(net, (X, y), "mse", epochs=5, batch_size=2, shuffle=False, verbose=False,
                  **kwargs)  # fmt: skip
    assert history.epochs == 1 and math.isnan(history["loss"][0])
    assert epochs_seen == [0]
    for v in net.state_dict().values():
        assert np.isfinite(v.numpy()).all()
    assert "the loss is nan at epoch 1/5, batch 2/4: training stopped" in capsys.readouterr().err


def test_on_nan_continue_trains_on_as_before():
    X, y = data_with_nan_in_batch(batch=0)
    history = fit(an.nn.Linear(3, 1), (X, y), "mse", epochs=2, batch_size=2, shuffle=False,
                  verbose=False, on_nan="continue")  # fmt: skip
    assert history.epochs == 2


def test_on_nan_must_be_known():
    X, y = regression_data()
    with pytest.raises(ValueError, match="on_nan must be one of raise, stop, continue"):
        fit(an.nn.Linear(3, 1), (X, y), "mse", on_nan="ignore", verbose=False)


# ---- an error or Ctrl-C in the middle of fit ----------------------------------------------


class Boom(Callback):
    def __init__(self, error: BaseException, at_epoch: int = 1) -> None:
        self.error = error
        self.at_epoch = at_epoch

    def on_epoch_end(self, state):
        if state.epoch == self.at_epoch:
            raise self.error


def test_fit_restores_eval_mode_after_an_error():
    net = an.nn.Sequential(an.nn.Linear(3, 4), an.nn.Dropout(0.5), an.nn.Linear(4, 1))
    net.eval()
    X, y = regression_data()
    with pytest.raises(RuntimeError, match="boom"):
        fit(net, (X, y), "mse", epochs=3, callbacks=[Boom(RuntimeError("boom"))], verbose=False)
    assert not any(m.training for m in net.modules())


def test_fit_restores_each_modules_own_mode():
    net = an.nn.Sequential(an.nn.Linear(3, 4), an.nn.BatchNorm1d(4), an.nn.Linear(4, 1))
    net[1].eval()  # a frozen BatchNorm in a model that trains
    X, y = regression_data()
    fit(net, (X, y), "mse", epochs=1, verbose=False)
    assert [m.training for m in net.modules()] == [True, True, False, True]


def test_ctrl_c_ends_fit_cleanly_and_returns_the_history(capsys):
    net = an.nn.Sequential(an.nn.Linear(3, 4), an.nn.Dropout(0.5), an.nn.Linear(4, 1))
    net.eval()
    X, y = regression_data()
    ended = []
    note_end = LambdaCallback(on_train_end=lambda s: ended.append(s.epoch))
    history = fit(net, (X, y), "mse", epochs=10, verbose=False,
                  callbacks=[Boom(KeyboardInterrupt(), at_epoch=2), note_end])  # fmt: skip
    assert history.epochs == 3  # the epoch being ended was recorded before the interruption
    assert ended == [2]
    assert not any(m.training for m in net.modules())
    assert an.is_grad_enabled()
    out = net(X)  # the model is usable
    assert np.isfinite(out.numpy()).all()
    assert "fit: interrupted (Ctrl-C) in epoch 3/10" in capsys.readouterr().err


def test_ctrl_c_during_a_batch_keeps_the_finished_epochs():
    X, y = regression_data(8)
    calls = 0

    class Interrupting(an.nn.Module):
        def __init__(self):
            super().__init__()
            self.layer = an.nn.Linear(3, 1)

        def forward(self, x):
            nonlocal calls
            calls += 1
            if calls == 7:  # epoch 2 of 4 batches each, during its third batch
                raise KeyboardInterrupt
            return self.layer(x)

    history = fit(Interrupting(), (X, y), "mse", epochs=5, batch_size=2, verbose=False)
    assert history.epochs == 1


# ---- a checkpoint that cannot be written ---------------------------------------------------


@pytest.mark.parametrize(
    ("where", "error", "match"),
    [
        (lambda tmp: tmp / "missing" / "best.safetensors", FileNotFoundError, "no such directory"),
        (lambda tmp: tmp, IsADirectoryError, "the path is a directory"),
        (lambda tmp: (tmp / "file").touch() or tmp / "file" / "best.safetensors",
         FileNotFoundError, "no such directory"),
    ],
)  # fmt: skip
def test_an_unwritable_checkpoint_fails_before_the_first_epoch(tmp_path, where, error, match):
    net = an.nn.Linear(3, 1)
    X, y = regression_data()
    epochs = []
    with pytest.raises(error, match=match):
        fit(net, (X, y), "mse", epochs=2, validation_data=(X, y), verbose=False,
            callbacks=[LambdaCallback(on_epoch_end=lambda s: epochs.append(s.epoch)),
                       ModelCheckpoint(where(tmp_path))])  # fmt: skip
    assert epochs == []  # not even one epoch trained in vain


def test_a_checkpoint_in_a_folder_without_write_permission(tmp_path):
    import os

    folder = tmp_path / "read_only"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        if os.access(folder, os.W_OK) and os.geteuid() == 0:
            pytest.skip("root may write anywhere")
        X, y = regression_data()
        with pytest.raises(PermissionError, match="ModelCheckpoint: cannot write in the folder"):
            fit(an.nn.Linear(3, 1), (X, y), "mse", validation_data=(X, y), verbose=False,
                callbacks=[ModelCheckpoint(folder / "best.safetensors")])  # fmt: skip
    finally:
        folder.chmod(0o700)


def test_a_writable_checkpoint_still_saves(tmp_path):
    X, y = regression_data()
    fit(an.nn.Linear(3, 1), (X, y), "mse", epochs=2, validation_data=(X, y), verbose=False,
        callbacks=[ModelCheckpoint(tmp_path / "best.safetensors")])  # fmt: skip
    assert set(an.load(tmp_path / "best.safetensors")) == {"weight", "bias"}
    assert [p.name for p in tmp_path.iterdir()] == ["best.safetensors"]


# ---- clip_grad_norm_ on float16 gradients ------------------------------------------------


def test_clip_grad_norm_of_float16_gradients_does_not_overflow():
    p = an.zeros(3, dtype=an.float16, requires_grad=True)
    p.grad = an.tensor([300.0, 300.0, 0.25], dtype=an.float16)  # squares beyond 65504
    total = clip_grad_norm_([p], max_norm=1.0)
    assert total.item() == pytest.approx(424.26, rel=1e-4)  # PyTorch: 424.25 (in float16)
    np.testing.assert_allclose(p.grad.numpy().astype(np.float64), [0.7071, 0.7071, 5.9e-4],
                               rtol=2e-3)  # fmt: skip
    assert p.grad.dtype == np.float16


def test_clip_grad_norm_keeps_float64_precision():
    p = an.zeros(2, dtype=an.float64, requires_grad=True)
    p.grad = an.tensor([3.0, 4.0], dtype=an.float64)
    assert clip_grad_norm_([p], 10.0).dtype == np.float64
