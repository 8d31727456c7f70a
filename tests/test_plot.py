"""Plots under matplotlib's Agg backend: images of the expected size, a GIF of several frames."""

from __future__ import annotations

import numpy as np
import pytest

import autonet as an

pytest.importorskip("matplotlib")
Image = pytest.importorskip("PIL.Image")
from autonet.viz import (  # noqa: E402
    animate_training,
    plot_decision_boundary,
    plot_gradient_flow,
    plot_history,
    plot_surface,
)


def saved_size(fig, path, dpi=50):
    fig.savefig(path, dpi=dpi)
    with Image.open(path) as im:
        return im.size


def trained_xor():
    an.manual_seed(0)
    X, y = an.data.xor()
    net = an.nn.MLP(2, [4], 1, activation="tanh", output_activation="sigmoid")
    history = an.train.fit(net, (X, y), "mse", an.optim.Adam(net.parameters(), lr=0.05),
                           epochs=150, batch_size=4, validation_data=(X, y),
                           metrics=["accuracy"], verbose=False)  # fmt: skip
    return net, X, y, history


def test_history_curves(tmp_path):
    _, _, _, history = trained_xor()
    fig = plot_history(history)
    assert [ax.get_title() for ax in fig.axes] == ["loss", "accuracy"]
    lines = fig.axes[0].get_lines()
    assert [line.get_label() for line in lines] == ["train", "validation"]
    np.testing.assert_allclose(lines[0].get_ydata(), history["loss"])
    assert saved_size(fig, tmp_path / "h.png") == (int(4.2 * 2 * 50), int(3.2 * 50))


def test_decision_boundary_and_surface(tmp_path):
    net, X, y, _ = trained_xor()
    fig = plot_decision_boundary(net, X, y, resolution=50)
    assert saved_size(fig, tmp_path / "b.png") == (225, 200)
    ax = fig.axes[0]
    assert len(ax.collections) >= 2  # the filled regions, the boundary, the points
    surface = plot_surface(net, X, y, resolution=20)
    assert surface.axes[0].name == "3d"
    assert saved_size(surface, tmp_path / "s.png") == (250, 200)
    many = an.nn.Linear(2, 3)
    assert plot_decision_boundary(many, X, an.tensor([0, 1, 2, 1]), resolution=20).axes
    with pytest.raises(ValueError, match=r"expected inputs of shape \(N, 2\)"):
        plot_decision_boundary(an.nn.Linear(3, 1), an.zeros(4, 3))


def test_gradient_flow(tmp_path):
    net = an.nn.MLP(2, [8, 8], 1, activation="sigmoid")
    with pytest.raises(ValueError, match="call backward"):
        plot_gradient_flow(net)
    net(an.randn(16, 2)).sum().backward()
    fig = plot_gradient_flow(net)
    bars = fig.axes[0].patches
    assert len(bars) == 6  # max and mean for each of 3 weights
    heights = sorted(b.get_height() for b in bars)
    grads = [np.abs(p.grad.numpy()) for n, p in net.named_parameters() if n.endswith("weight")]
    expected = sorted([g.mean() for g in grads] + [g.max() for g in grads])
    np.testing.assert_allclose(heights, expected, rtol=1e-6)


def test_animation_is_a_gif_of_several_frames(tmp_path):
    an.manual_seed(0)
    X, y = an.data.xor()
    net = an.nn.MLP(2, [2], 1, activation="sigmoid", output_activation="sigmoid")
    opt = an.optim.SGD(net.parameters(), lr=2.0, momentum=0.9)

    def step(epoch):
        loss = an.nn.functional.mse_loss(net(X), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss.item()

    path = animate_training(net, X, y, step, epochs=20, path=tmp_path / "xor.gif", every=5,
                            resolution=20)  # fmt: skip
    with Image.open(path) as gif:
        assert gif.format == "GIF" and gif.n_frames == 4 + 1  # epochs 1, 6, 11, 16 and the last
    assert not list(tmp_path.glob(".*tmp*"))
