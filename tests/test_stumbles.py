"""Where a user stumbles: the progress of fit at 80 columns, the colours of a decision boundary
with several classes, typing "0 1" to the XOR example, and what the README says."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import numpy as np
import pytest

import autonet as an
from autonet.train import fit
from autonet.train.progress import epoch_line, number

ROOT = Path(__file__).resolve().parent.parent


# ---- the progress of fit -------------------------------------------------------------------


def visible_lines(err: str) -> list[str]:
    """What a terminal shows at the end: each line as its last carriage return left it."""
    return [line.rsplit("\r", 1)[-1] for line in err.split("\n") if line.rsplit("\r", 1)[-1]]


def confidence(logits, labels):
    """The mean probability of the predicted class (a metric with a long name)."""
    return float(an.nn.functional.softmax(logits, axis=1).max(axis=1).mean())


def classification_fit():
    X, y = an.data.moons(64, noise=0.2, seed=0)
    net = an.nn.MLP(2, [8], 2, activation="tanh")
    return fit(net, (X, y), an.nn.CrossEntropyLoss(), epochs=5, batch_size=16,
               validation_data=(X, y), metrics=["accuracy", confidence], verbose=True)  # fmt: skip


@pytest.mark.parametrize("tqdm", ["with tqdm", "without tqdm"])
def test_progress_is_a_readable_line_per_epoch_within_80_columns(capsys, monkeypatch, tqdm):
    monkeypatch.setenv("COLUMNS", "80")
    if tqdm == "without tqdm":
        monkeypatch.setitem(sys.modules, "tqdm.auto", None)  # import fails
    else:
        pytest.importorskip("tqdm")
    history = classification_fit()
    err = capsys.readouterr().err
    frames = [f for f in err.replace("\r", "\n").split("\n") if f.strip()]
    assert max(len(f) for f in frames) <= 80  # every bar and every line fits
    lines = visible_lines(err)
    epochs = [i for i, line in enumerate(lines) if line.startswith("Epoch ")]
    assert [lines[i].split()[1] for i in epochs] == [f"{k}/5" for k in range(1, 6)]
    assert all(line.startswith(("Epoch ", " ")) for line in lines)  # no bar left behind
    text = " ".join(" ".join(lines).split())
    for k in range(5):  # every value is shown whole, validation ones included
        for key in ("loss", "accuracy", "confidence", "val_loss", "val_accuracy", "val_confidence"):
            assert f"{key}={number(history[key][k])}" in text


def test_a_long_epoch_line_wraps_under_its_values():
    logs = {f"metric_{i}": 0.5 for i in range(12)}
    text = epoch_line("Epoch 10/100", logs, 1.25, width=80)
    lines = text.splitlines()
    assert len(lines) > 1 and all(len(line) <= 80 for line in lines)
    assert all(line.startswith(" " * len("Epoch 10/100 ")) for line in lines[1:])
    assert text.split() == ["Epoch", "10/100", *(f"{k}=0.5000" for k in logs), "1.2s"]


# ---- decision boundaries of several classes ----------------------------------------------


class NearestCenter(an.nn.Module):
    """Class k wins nearest the point (2k - 2, 0): three vertical bands."""

    def forward(self, x):
        centers = an.tensor([-2.0, 0.0, 2.0])
        return -((x[:, :1] - centers) ** 2)


def rgb(colors):
    return [tuple(np.round(np.asarray(c)[:3], 4)) for c in colors]


@pytest.mark.parametrize("labels", [[0, 1, 2], [1, 2], [2, 0]], ids=["all", "1 and 2", "2, 0"])
def test_regions_and_points_of_a_class_have_one_colour(labels):
    pytest.importorskip("matplotlib")
    from autonet.viz.plot import plot_decision_boundary

    X = an.tensor([[2.0 * k - 2.0, 0.0] for k in labels])
    fig = plot_decision_boundary(NearestCenter(), X, an.tensor(labels), resolution=30)
    ax = fig.axes[0]
    bands, points = ax.collections[0], ax.collections[-1]
    band_colors = rgb(bands.get_facecolor())  # one per class, in class order
    assert len(set(band_colors)) == 3
    assert rgb(points.get_facecolor()) == [band_colors[k] for k in labels]


def test_one_hot_labels_colour_points_by_their_class():
    pytest.importorskip("matplotlib")
    from autonet.viz.plot import plot_decision_boundary

    X = an.tensor([[-2.0, 0.0], [2.0, 0.0]])
    onehot = an.tensor([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
    ax = plot_decision_boundary(NearestCenter(), X, onehot, resolution=20).axes[0]
    band_colors = rgb(ax.collections[0].get_facecolor())
    assert rgb(ax.collections[-1].get_facecolor()) == [band_colors[0], band_colors[2]]


# ---- the XOR example's prompt ------------------------------------------------------------


@pytest.fixture
def xor_example():
    sys.path.insert(0, str(ROOT / "examples"))
    try:
        import xor
    finally:
        sys.path.pop(0)
    return xor


def test_xor_takes_both_inputs_on_one_line_or_two(xor_example, capsys):
    replies = iter(["0 1", "1,0", "1", "1", "0  0", "2 3 4", "x", "1 0", "q"])
    asked = []
    xor_example.ask(lambda x, y: asked.append((x, y)) or 0.5, lambda prompt: next(replies))
    assert asked == [(0.0, 1.0), (1.0, 0.0), (1.0, 1.0), (0.0, 0.0), (1.0, 0.0)]
    out = capsys.readouterr().out
    assert "'2 3 4' is too many numbers" in out and "'x' is not a number" in out


# ---- the README ------------------------------------------------------------------------------


def readme_section(title: str) -> str:
    text = (ROOT / "README.md").read_text()
    return text.split(f"## {title}\n", 1)[1].split("\n## ", 1)[0]


def test_readme_says_a_plain_backward_gets_numpy_arrays():
    section = readme_section("Writing a primitive")
    assert "receives NumPy arrays" in section
    assert "`np.abs(x)`" in section and "`x.abs()` fails" in section


@pytest.mark.parametrize(
    "example",
    ["xor.py", "identity.py", "regression.py", "tour.py", "digits_cnn.py", "graph.py",
     "backprop.py"],
)  # fmt: skip
def test_readme_lists_the_examples(example):
    text = (ROOT / "README.md").read_text()
    listed = text.split("The other examples:", 1)[1].split("\n\n", 1)[0]  # the paragraph
    assert re.search(rf"`(examples/)?{example}`", listed)
