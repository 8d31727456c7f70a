"""The backward pass as a GIF: one frame before any gradient and one per step, all of one size,
written whole or not at all, and clear errors for what is missing."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest
from helpers import traced_neuron

import autonet as an

pytest.importorskip("graphviz")
Image = pytest.importorskip("PIL.Image")
ImageSequence = pytest.importorskip("PIL.ImageSequence")
from autonet.viz import animate  # noqa: E402
from autonet.viz.animate import animate_backward  # noqa: E402

needs_dot = pytest.mark.skipif(
    shutil.which("dot") is None, reason="Graphviz's dot is not installed"
)


def small_trace():
    """tanh(3x): two backward steps."""
    x = an.tensor(2.0, requires_grad=True)
    with an.viz.trace() as tr:
        (x * 3).tanh().backward()
    return tr, {"x": x}


@pytest.fixture(scope="module")
def neuron_gif(tmp_path_factory):
    """micrograd's neuron, o = tanh(x1·w1 + x2·w2 + b): five backward steps."""
    tr, _, params = traced_neuron()
    path = animate_backward(tr, tmp_path_factory.mktemp("gif") / "neuron.gif", params=params)
    return tr, path


@needs_dot
def test_one_frame_before_backward_and_one_per_step(neuron_gif):
    tr, path = neuron_gif
    with Image.open(path) as im:
        assert im.format == "GIF" and im.n_frames == len(tr.steps) + 1 == 6
        frames = [(frame.size, frame.info["duration"]) for frame in ImageSequence.Iterator(im)]
    assert len({size for size, _ in frames}) == 1
    durations = [duration for _, duration in frames]
    assert durations[0] == durations[-2] < durations[-1]  # the last frame is held longer


def test_frames_of_different_sizes_are_padded_to_one():
    wide, tall = Image.new("RGB", (600, 40), "red"), Image.new("RGB", (500, 90), "blue")
    frames = animate._with_captions([wide.convert("RGBA"), tall.convert("RGBA")],
                                    ["start", "step 1/1: mul — dy/da = b, dy/db = a"])  # fmt: skip
    assert frames[0].size == frames[1].size
    width, height = frames[0].size
    assert width == 600
    band = height - 90  # the caption band above the graphs
    assert frames[0].getpixel((0, band)) == (255, 0, 0)  # anchored at the top left
    assert frames[0].getpixel((0, height - 1)) == (255, 255, 255)  # padded with white
    assert frames[1].getpixel((width - 1, band)) == (255, 255, 255)


@needs_dot
def test_written_whole_or_not_at_all(tmp_path, monkeypatch):
    tr, params = small_trace()
    path = tmp_path / "backward.gif"
    path.write_bytes(b"old")
    moves = []
    real_replace = os.replace

    def replace(src, dst):
        moves.append((src, dst))
        real_replace(src, dst)

    monkeypatch.setattr(animate.os, "replace", replace)
    assert animate_backward(tr, path, params=params) == path
    assert [dst for _, dst in moves] == [path] and moves[0][0] != path
    with Image.open(path) as im:
        assert im.n_frames == 3

    def failing_save(image, fp, *args, **kwargs):  # half a file, then the disk is full
        Path(fp).write_bytes(b"GIF89a")
        raise OSError("disk full")

    path.write_bytes(b"old")
    monkeypatch.setattr(Image.Image, "save", failing_save)
    with pytest.raises(OSError, match="disk full"):
        animate_backward(tr, path, params=params)
    assert path.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["backward.gif"]  # no temporary left


def test_a_trace_without_backward_is_an_error(tmp_path):
    x = an.tensor(2.0, requires_grad=True)
    with an.viz.trace() as tr:
        (x * 3).tanh()
    with pytest.raises(ValueError, match=r"no backward pass; call backward\(\)"):
        animate_backward(tr, tmp_path / "nothing.gif")
    with pytest.raises(TypeError, match=r"expected an an\.viz\.trace\(\)"):
        animate_backward(x, tmp_path / "nothing.gif")
    assert not list(tmp_path.iterdir())


def test_fps_must_be_positive(tmp_path):
    tr, _ = small_trace()
    with pytest.raises(ValueError, match="fps must be positive"):
        animate_backward(tr, tmp_path / "x.gif", fps=0)


def test_missing_dot_says_how_to_install_it(tmp_path, monkeypatch):
    tr, _ = small_trace()
    monkeypatch.setenv("PATH", str(tmp_path))  # no dot to be found
    with pytest.raises(RuntimeError, match="apt-get install graphviz"):
        animate_backward(tr, tmp_path / "x.gif")
    assert not list(tmp_path.iterdir())


def test_missing_pillow_says_how_to_install_it(tmp_path, monkeypatch):
    tr, _ = small_trace()
    monkeypatch.setitem(sys.modules, "PIL", None)  # as if not installed
    with pytest.raises(ImportError, match=r"autonet\[plot\]"):
        animate_backward(tr, tmp_path / "x.gif")
