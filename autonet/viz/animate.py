"""An animation of the backward pass a trace recorded: one frame per step, written as a GIF.

Each frame is :func:`~autonet.viz.graph.draw_graph` of the trace as the pass stands after that
step (the operation being processed highlighted, gradients only where they have arrived),
rendered to PNG by Graphviz's ``dot``, with a caption naming the step and the local rule it
applies: ``step 1/5: tanh — dy/dx = 1 - tanh²x = 1 - y²``. The first frame, "start", is the
graph after the forward pass, before any gradient. Needs the ``viz`` and ``plot`` extras
(graphviz and Pillow) and Graphviz's ``dot`` program.
"""

from __future__ import annotations

import importlib.util
import io
import os
from pathlib import Path
from typing import Any

from autonet.viz.graph import INSTALL_DOT, draw_graph
from autonet.viz.trace import Step, trace

__all__ = ["animate_backward"]

HOLD_LAST = 4  # the last frame, with every gradient in place, stays this many frames' time
CAPTION_SIZE = 16  # pixels
PAD = 8  # pixels around the caption
MIN_WIDTH = 480  # pixels: a small graph still leaves room for its captions


def animate_backward(
    tr: trace, path: str | os.PathLike[str], *, fps: float = 1.5, **draw_kwargs: Any
) -> Path:
    """Write the backward pass recorded by ``tr`` to ``path`` as an animated GIF; return the
    path.

    One frame before any gradient ("start"), then one per step of ``tr.steps``: the graph as
    :func:`~autonet.viz.graph.draw_graph` draws it with ``step=k``, under the caption
    ``step k/N: <label> — <rule>`` (counting steps from 1). ``fps`` frames a second; the last
    frame stays ``HOLD_LAST`` times as long. ``draw_kwargs`` go to ``draw_graph``
    (``params=``, ``rankdir=``, ``show_data=``, ``max_nodes=``, ...). Frames of different sizes
    are padded with white to the largest, the graph anchored at the top left; the file is
    written whole or not at all.

    >>> import autonet as an
    >>> from autonet.viz import animate_backward
    >>> x = an.tensor(2.0, requires_grad=True)
    >>> with an.viz.trace() as tr:
    ...     (x * 3).tanh().backward()
    >>> [step.label for step in tr.steps]  # so the GIF has 3 frames: start, tanh, mul
    ['tanh', 'mul']
    >>> animate_backward(tr, "backward.gif", params={"x": x})  # doctest: +SKIP
    PosixPath('backward.gif')
    """
    _require_pillow()
    if not isinstance(tr, trace):
        raise TypeError(f"animate_backward: expected an an.viz.trace(), got {type(tr).__name__}")
    if not tr.steps:
        raise ValueError(
            "animate_backward: the trace recorded no backward pass; call backward() inside "
            "'with an.viz.trace() as tr:'"
        )
    if not fps > 0:
        raise ValueError(f"animate_backward: fps must be positive, got {fps}")
    n = len(tr.steps)
    captions = ["start: after the forward pass, before any gradient"]
    captions += [_caption(step, n) for step in tr.steps]
    graphs = [_png(draw_graph(tr, step=k, **draw_kwargs)) for k in range(-1, n)]
    frames = _with_captions(graphs, captions)

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    durations = [round(1000 / fps)] * len(frames)  # milliseconds
    durations[-1] *= HOLD_LAST
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        frames[0].save(tmp, format="GIF", save_all=True, append_images=frames[1:],
                       duration=durations, loop=0)  # fmt: skip
        os.replace(tmp, path)  # NOTE: never a half-written file
    finally:
        tmp.unlink(missing_ok=True)
    return path


def _caption(step: Step, n: int) -> str:
    """``step 1/5: tanh — dy/dx = 1 - y²`` (the rule left out when the primitive states none)."""
    text = f"step {step.index + 1}/{n}: {step.label}"
    return f"{text} — {step.rule}" if step.rule else text


def _require_pillow() -> None:
    """Say how to install Pillow when it is missing (before any drawing is rendered)."""
    if importlib.util.find_spec("PIL") is None:
        raise ImportError("animate_backward needs Pillow: pip install 'autonet[plot]'")


def _png(dot: Any) -> Any:
    """A ``graphviz.Digraph`` rendered by ``dot`` to PNG, opened as an RGBA image."""
    import graphviz  # draw_graph has already said how to install it if it is missing
    from PIL import Image

    try:
        data = graphviz.Source(dot.source).pipe(format="png")
    except graphviz.ExecutableNotFound as e:
        raise RuntimeError(f"animate_backward: {INSTALL_DOT}") from e
    return Image.open(io.BytesIO(data)).convert("RGBA")


def _font(size: int) -> Any:
    """DejaVu Sans, from the system or else the copy matplotlib ships (the ``plot`` extra).

    NOTE: the rules are written in math (², σ, ≤, ᵀ) that Pillow's own default font does not
    have: it draws them as empty boxes, so it is only the last resort.
    """
    from PIL import ImageFont

    candidates = ["DejaVuSans.ttf"]
    spec = importlib.util.find_spec("matplotlib")
    if spec is not None and spec.origin is not None:
        candidates.append(str(Path(spec.origin).parent / "mpl-data/fonts/ttf/DejaVuSans.ttf"))
    for name in candidates:
        try:
            return ImageFont.truetype(name, size)
        except OSError:
            continue
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow before 10.1: one small bitmap font
        return ImageFont.load_default()


def _wrap(text: str, font: Any, width: int) -> list[str]:
    """``text`` broken at spaces into lines at most ``width`` pixels wide (a longer word
    stays whole on its own line)."""
    lines = [""]
    for word in text.split(" "):
        joined = f"{lines[-1]} {word}" if lines[-1] else word
        if lines[-1] and font.getlength(joined) > width:
            lines.append(word)
        else:
            lines[-1] = joined
    return lines


def _with_captions(graphs: list[Any], captions: list[str]) -> list[Any]:
    """One RGB frame per graph, all of one size: its caption in a band at the top, wrapped to
    the frame's width, and the graph below it, anchored at the top left on white."""
    from PIL import Image, ImageDraw

    font = _font(CAPTION_SIZE)
    width = max(MIN_WIDTH, *(g.width for g in graphs))
    wrapped = [_wrap(c, font, width - 2 * PAD) for c in captions]
    line = font.getbbox("Ayg²")[3] + 4  # pixels from one baseline to the next
    band = max(len(lines) for lines in wrapped) * line + 2 * PAD
    height = band + max(g.height for g in graphs)
    frames = []
    for graph, lines in zip(graphs, wrapped):
        frame = Image.new("RGB", (width, height), "white")
        draw = ImageDraw.Draw(frame)
        draw.rectangle((0, 0, width, band - 1), fill="#f2f2f2")
        draw.line((0, band - 1, width, band - 1), fill="#bbbbbb")
        for i, text in enumerate(lines):
            draw.text((PAD, PAD + i * line), text, fill="#222222", font=font)
        frame.paste(graph, (0, band), graph)  # its alpha as the mask: white stays white
        frames.append(frame)
    return frames
