"""Drawings of graphs: any name is drawn as written (backslashes too), and a huge graph is drawn
in time linear in its size, cut to a readable default with a note."""

from __future__ import annotations

import shutil
import time

import pytest

import autonet as an

pytest.importorskip("graphviz")
from autonet.viz import draw_graph, render
from autonet.viz.graph import AUTO_MAX_NODES

NAMES = ["p\\{q", "C:\\new\\run", "a\\|b<c>", "end\\"]


def named_graph():
    leaves = [an.tensor(float(i), requires_grad=True) for i in range(len(NAMES))]
    total = leaves[0]
    for t in leaves[1:]:
        total = total * t
    return total, dict(zip(NAMES, leaves, strict=True))


def test_backslashes_in_names_are_escaped_in_the_source():
    root, params = named_graph()
    source = draw_graph(root, params=params).source
    assert "p\\\\\\{q" in source  # p, an escaped backslash, an escaped brace, q
    assert "C:\\\\new\\\\run" in source


@pytest.mark.skipif(shutil.which("dot") is None, reason="needs Graphviz's dot program")
def test_names_with_backslashes_render_as_written(tmp_path):
    root, params = named_graph()
    svg = render(draw_graph(root, params=params), tmp_path / "names.svg").read_text()
    texts = [line.split(">", 1)[1].split("<", 1)[0] for line in svg.splitlines() if "<text" in line]
    unescaped = [t.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&") for t in texts]
    for name in NAMES:
        assert name in unescaped, (name, unescaped)


def chain_of_leaves(n: int) -> an.Tensor:
    total = an.tensor(0.0, requires_grad=True)
    for _ in range(n):
        total = total + an.tensor(1.0, requires_grad=True)
    return total


def drawing_time(n: int, repeats: int) -> float:
    """The best time to draw a chain of ``n`` leaves cut at half its operations."""
    root = chain_of_leaves(n)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        dot = draw_graph(root, max_nodes=n // 2)
        times.append(time.perf_counter() - start)
    assert f"{n - n // 2} more operations not drawn (max_nodes={n // 2})" in dot.source
    return min(times)


def test_max_nodes_keeps_drawing_linear_in_the_leaves():
    """Ten times the leaves take about ten times as long, not a hundred (20 000 leaves took
    30 s with max_nodes, 2 s without)."""
    small, large = drawing_time(1_500, repeats=3), drawing_time(15_000, repeats=1)
    assert large / small < 35, (small, large)


def test_a_huge_graph_is_cut_to_a_default_with_a_note():
    root = chain_of_leaves(3 * AUTO_MAX_NODES)
    dot = draw_graph(root)
    source = dot.source
    assert source.count("label=add") == AUTO_MAX_NODES
    assert (f"{2 * AUTO_MAX_NODES} more operations not drawn (max_nodes={AUTO_MAX_NODES} by "
            "default; max_nodes=None draws them all)") in source  # fmt: skip
    assert draw_graph(root, max_nodes=None).source.count("label=add") == 3 * AUTO_MAX_NODES


def test_leaves_beyond_the_cap_are_counted_in_the_note():
    leaves = [an.tensor(1.0, requires_grad=True) for _ in range(50)]
    dot = draw_graph(an.stack(leaves).sum(), max_nodes=10)
    assert "40 more leaves not drawn (max_nodes=10)" in dot.source
    assert dot.source.count("autonet_note ->") == 1  # one dotted edge for all of them


def test_max_nodes_must_be_a_count():
    with pytest.raises(ValueError, match="max_nodes must be an int >= 0, None or 'auto'"):
        draw_graph(an.tensor(1.0, requires_grad=True) * 2, max_nodes="all")
