"""The training loop: fit, evaluate, predict, History, metrics and callbacks."""

from __future__ import annotations

import io
import math

import numpy as np
import pytest

import autonet as an
from autonet.data import DataLoader, TensorDataset
from autonet.train import (
    EarlyStopping,
    History,
    LambdaCallback,
    ModelCheckpoint,
    accuracy,
    evaluate,
    fit,
    mean_absolute_error,
    mean_squared_error,
    predict,
)


def regression_data(n=64, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 3)).astype(np.float32)
    y = (X @ np.array([[1.0], [-2.0], [0.5]], np.float32) + 0.3).astype(np.float32)
    return an.tensor(X), an.tensor(y)


def copied_state(model):
    return {k: v.numpy().copy() for k, v in model.state_dict().items()}


def test_fit_equals_the_hand_written_loop():
    X, y = regression_data()
    an.manual_seed(1)
    net = an.nn.MLP(3, [8], 1, activation="tanh")
    twin = an.nn.MLP(3, [8], 1, activation="tanh")
    twin.load_state_dict(net.state_dict())
    history = fit(net, (X, y), loss="mse", optimizer=an.optim.SGD(net.parameters(), lr=0.05),
                  epochs=3, batch_size=16, shuffle=False, verbose=False)  # fmt: skip

    opt = an.optim.SGD(twin.parameters(), lr=0.05)
    losses = []
    for _ in range(3):
        total = 0.0
        for start in range(0, 64, 16):
            out = twin(X[start : start + 16])
            loss = an.nn.functional.mse_loss(out, y[start : start + 16])
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * 16
        losses.append(total / 64)
    for (name, p), q in zip(net.named_parameters(), twin.parameters()):
        np.testing.assert_allclose(p.numpy(), q.numpy(), rtol=1e-6, err_msg=name)
    np.testing.assert_allclose(history["loss"], losses, rtol=1e-6)
    assert history.epochs == 3 and history["lr"] == [0.05] * 3


def test_fit_learns_xor_and_records_metrics():
    an.manual_seed(0)
    X, y = an.data.xor()
    net = an.nn.MLP(2, [4], 1, activation="tanh", output_activation="sigmoid")
    history = fit(net, (X, y), loss="bce", optimizer=an.optim.Adam(net.parameters(), lr=0.05),
                  epochs=200, batch_size=4, metrics=["accuracy", "mae"], verbose=False)  # fmt: skip
    assert set(history.keys()) == {"loss", "accuracy", "mae", "lr"}
    assert history["loss"][-1] < 0.1 < history["loss"][0]
    assert history["accuracy"][-1] == 1.0
    assert history.best("loss")[0] > 100 and history.best("accuracy")[1] == 1.0


def test_validation_metrics_match_evaluate():
    X, y = regression_data(80)
    an.manual_seed(0)
    net = an.nn.MLP(3, [8], 1)
    history = fit(net, (X[:60], y[:60]), "mse", epochs=2, validation_data=(X[60:], y[60:]),
                  metrics=["mae"], verbose=False)  # fmt: skip
    scores = evaluate(net, (X[60:], y[60:]), "mse", ["mae"], batch_size=7)
    assert history["val_loss"][-1] == pytest.approx(scores["loss"], rel=1e-5)
    assert history["val_mae"][-1] == pytest.approx(scores["mae"], rel=1e-5)
    out = net(X[60:]).numpy()
    assert scores["mae"] == pytest.approx(np.abs(out - y[60:].numpy()).mean(), rel=1e-5)


def test_fit_takes_datasets_and_loaders_and_loss_modules():
    X, y = regression_data(32)
    net = an.nn.Linear(3, 1)
    h1 = fit(net, TensorDataset(X, y), an.nn.MSELoss(), epochs=1, verbose=False)
    h2 = fit(net, DataLoader(TensorDataset(X, y), batch_size=5), an.nn.functional.l1_loss,
             verbose=False)  # fmt: skip
    assert h1.epochs == h2.epochs == 1


def test_fit_keeps_the_training_mode_and_predict_uses_eval():
    an.manual_seed(0)
    net = an.nn.MLP(3, [16], 1, dropout=0.5)
    X, y = regression_data(16)
    fit(net, (X, y), "mse", epochs=1, verbose=False)
    assert net.training
    a, b = predict(net, X), predict(net, X, batch_size=5)
    np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-6)
    assert net.training and not a.requires_grad
    net.eval()
    fit(net, (X, y), "mse", epochs=1, verbose=False)
    assert not net.training


def test_early_stopping_stops_and_restores_the_best_weights():
    X, y = regression_data(32)
    net = an.nn.Linear(3, 1)
    calls = []

    # A learning rate so large that the loss grows every epoch after the first.
    stop = EarlyStopping(monitor="loss", patience=2, restore_best_weights=True)
    snapshot = LambdaCallback(on_epoch_end=lambda s: calls.append(copied_state(s.model)))
    history = fit(net, (X, y), "mse", optimizer=an.optim.SGD(net.parameters(), lr=3.0),
                  epochs=50, batch_size=32, callbacks=[stop, snapshot], verbose=False)  # fmt: skip
    best_epoch, _ = history.best("loss")
    assert history.epochs == best_epoch + 3 == stop.stopped_epoch + 1
    for key, value in net.state_dict().items():
        np.testing.assert_array_equal(value.numpy(), calls[best_epoch][key])
    assert not np.array_equal(calls[-1]["weight"], calls[best_epoch]["weight"])


def test_stop_training_from_a_callback():
    X, y = regression_data(8)

    def stop_after_two(state):
        state.stop_training = state.epoch == 1

    stop = LambdaCallback(on_epoch_end=stop_after_two)
    history = fit(an.nn.Linear(3, 1), (X, y), "mse", epochs=10, callbacks=[stop], verbose=False)
    assert history.epochs == 2


def test_model_checkpoint_saves_the_best_epoch(tmp_path):
    X, y = regression_data(32)
    net = an.nn.Linear(3, 1)
    path = tmp_path / "best.safetensors"
    seen = []
    checkpoint = ModelCheckpoint(path, monitor="val_loss")
    record = LambdaCallback(on_epoch_end=lambda s: seen.append(copied_state(s.model)))
    opt = an.optim.SGD(net.parameters(), lr=3.0)
    history = fit(net, (X, y), "mse", optimizer=opt, epochs=6, validation_data=(X, y),
                  callbacks=[checkpoint, record], verbose=False)  # fmt: skip
    best, _ = history.best("val_loss")
    assert checkpoint.best_epoch == best
    saved = an.load(path)
    for key, value in seen[best].items():
        np.testing.assert_array_equal(saved[key].numpy(), value)
    assert an.io.read_metadata(path)["epoch"] == str(best)


def test_monitoring_an_unmeasured_value_says_what_was_measured():
    X, y = regression_data(8)
    with pytest.raises(KeyError, match=r"'val_loss' was not measured.*validation_data"):
        fit(an.nn.Linear(3, 1), (X, y), "mse", callbacks=[EarlyStopping()], verbose=False)


def test_schedulers_step_once_per_epoch():
    X, y = regression_data(32)
    net = an.nn.Linear(3, 1)
    opt = an.optim.SGD(net.parameters(), lr=0.1)
    sched = an.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
    history = fit(net, (X, y), "mse", optimizer=opt, epochs=5, batch_size=8, scheduler=sched,
                  verbose=False)  # fmt: skip
    np.testing.assert_allclose(history["lr"], [0.1, 0.1, 0.05, 0.05, 0.025])

    # Asking for a 90% improvement every epoch: the plateau halves the rate each time.
    opt = an.optim.SGD(net.parameters(), lr=1e-3)
    plateau = an.optim.lr_scheduler.ReduceLROnPlateau(opt, patience=0, factor=0.5, threshold=0.9)
    history = fit(net, (X, y), "mse", optimizer=opt, epochs=4, validation_data=(X, y),
                  scheduler=plateau, verbose=False)  # fmt: skip
    np.testing.assert_allclose(history["lr"], [1e-3, 1e-3, 5e-4, 2.5e-4])  # the rate used


def test_progress_bar_shows_epoch_and_live_loss(capsys):
    pytest.importorskip("tqdm")
    X, y = regression_data(32)
    fit(an.nn.Linear(3, 1), (X, y), "mse", epochs=2, metrics=["mae"], verbose=True)
    err = capsys.readouterr().err
    assert "Epoch 1/2" in err and "Epoch 2/2" in err
    assert "loss=" in err and "mae=" in err


def test_quiet_when_asked_or_not_a_terminal(capsys, monkeypatch):
    X, y = regression_data(8)
    fit(an.nn.Linear(3, 1), (X, y), "mse", epochs=2, verbose=False)
    monkeypatch.setattr("sys.stderr", io.StringIO())  # not a terminal
    fit(an.nn.Linear(3, 1), (X, y), "mse", epochs=2)
    captured = capsys.readouterr()
    assert captured.out == captured.err == ""


def test_progress_without_tqdm_prints_a_line_per_epoch(capsys, monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_tqdm(name, *args, **kwargs):
        if name.startswith("tqdm"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_tqdm)
    X, y = regression_data(8)
    fit(an.nn.Linear(3, 1), (X, y), "mse", epochs=2, verbose=True)
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 2 and lines[1].startswith("Epoch 2/2 loss=")


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"loss": "hinge"}, ValueError, r"unknown loss 'hinge'; valid names: mse, l1"),
        ({"loss": 3}, TypeError, r"loss must be a loss module, a function or a name, not int"),
        ({"loss": "mse", "epochs": -1}, ValueError, r"epochs must be an int >= 0, got -1"),
        ({"loss": "mse", "metrics": ["f2"]}, ValueError, r"unknown metric 'f2'; valid names"),
    ],
)
def test_bad_arguments(kwargs, error, match):
    X, y = regression_data(8)
    with pytest.raises(error, match=match):
        fit(an.nn.Linear(3, 1), (X, y), verbose=False, **kwargs)


def test_bad_data():
    with pytest.raises(
        TypeError, match=r"train_data: expected \(X, y\), a Dataset or a DataLoader"
    ):
        fit(an.nn.Linear(3, 1), an.zeros(4, 3), "mse")
    with pytest.raises(ValueError, match="every batch must hold inputs and targets"):
        fit(an.nn.Linear(3, 1), DataLoader(TensorDataset(an.zeros(4, 3)), batch_size=2), "mse")


def test_metrics():
    logits = an.tensor([[2.0, 0.1, 0.3], [0.0, 0.2, 0.1], [1.0, 3.0, 0.0]])
    assert accuracy(logits, an.tensor([0, 1, 2])) == pytest.approx(2 / 3)
    assert accuracy(logits, an.nn.functional.one_hot(an.tensor([0, 2, 1]), 3)) == pytest.approx(
        2 / 3
    )
    assert accuracy(an.tensor([0.2, 0.7, 0.5]), an.tensor([0.0, 1.0, 0.0])) == pytest.approx(2 / 3)
    assert accuracy(an.tensor([-1.0, 2.0]), an.tensor([0, 1]), threshold=0.0) == 1.0
    with pytest.raises(ValueError, match=r"accuracy: predictions of shape \(3, 3\)"):
        accuracy(logits, an.tensor([0, 1]))
    p, t = an.tensor([[1.0], [2.0]]), an.tensor([0.0, 4.0])
    assert mean_absolute_error(p, t) == pytest.approx(1.5)
    assert mean_squared_error(p, t) == pytest.approx(2.5)


def test_custom_metric_is_logged_by_its_name():
    def max_error(p, t):
        return float(np.abs(p.numpy() - t.numpy()).max())

    X, y = regression_data(8)
    history = fit(an.nn.Linear(3, 1), (X, y), "mse", metrics=[max_error], verbose=False)
    assert "max_error" in history and math.isfinite(history["max_error"][0])


def test_history():
    h = History()
    for loss, acc in [(1.0, 0.5), (0.4, 0.9), (0.6, 0.8)]:
        h.append({"loss": loss, "val_accuracy": acc})
    assert h.best("loss") == (1, 0.4) and h.best("val_accuracy") == (1, 0.9)
    assert h.best("loss", mode="max") == (0, 1.0)
    with pytest.raises(KeyError, match="History has no 'acc'; it has loss, val_accuracy"):
        h["acc"]
    assert repr(h) == "History(epochs=3, loss=0.6, val_accuracy=0.8)"
