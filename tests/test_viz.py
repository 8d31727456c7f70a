"""Graph drawings: the DOT text of known graphs, and real rendering through Graphviz."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

import autonet as an

graphviz = pytest.importorskip("graphviz")
from autonet.viz import describe_module, draw_graph, draw_model, render  # noqa: E402

needs_dot = pytest.mark.skipif(
    shutil.which("dot") is None, reason="Graphviz's dot is not installed"
)
EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def nodes(dot):
    """{node id: label} from the DOT text."""
    return dict(re.findall(r"^\s*(\w+) \[label=\"?(.*?)\"? (?:fillcolor|shape|fontcolor|style)",
                           dot.source, flags=re.M | re.S))  # fmt: skip


def edges(dot):
    return re.findall(r"^\s*(\w+) -> (\w+)", dot.source, flags=re.M)


def worked_example():
    a, b = an.tensor(2.0, requires_grad=True), an.tensor(-3.0, requires_grad=True)
    c, f = an.tensor(10.0, requires_grad=True), an.tensor(-2.0, requires_grad=True)
    e = a * b
    d = e + c
    L = d * f
    for t in (e, d):
        t.retain_grad()
    L.backward()
    return L, {"a": a, "b": b, "c": c, "f": f}, (e, d)  # e, d must stay alive to be drawn


def test_scalar_example_shows_data_and_grad_on_every_node():
    L, params, _kept = worked_example()
    dot = draw_graph(L, params=params)
    labels = list(nodes(dot).values())
    ops = [lab for lab in labels if lab in ("mul", "add")]
    assert sorted(ops) == ["add", "mul", "mul"]
    # 4 parameters + 3 values + 3 operations; each operation: 2 edges in, 1 out
    assert len(labels) == 10 and len(edges(dot)) == 9
    for name, value, grad in [("a", "2.", "6."), ("b", "-3.", "-4."), ("c", "10.", "-2."),
                              ("f", "-2.", "4.")]:  # fmt: skip
        assert any(lab.startswith(f"{{{name} |") and f"data {value}" in lab
                   and f"grad {grad}" in lab for lab in labels), name  # fmt: skip
    values = [lab for lab in labels if lab.startswith("{() float32")]
    expected = ["{() float32 | data -8.}", "{() float32 | data -6. | grad -2.}",
                "{() float32 | data 4. | grad -2.}"]  # fmt: skip
    assert sorted(values) == sorted(expected)


def test_values_the_graph_did_not_keep_are_computed_again_for_the_drawing():
    """Before backward: a·b feeds an addition, which keeps nothing of it; the drawing still
    shows its value, computed again from a and b."""
    a, b = an.tensor(2.0, requires_grad=True), an.tensor(-3.0, requires_grad=True)
    L = (a * b + 10.0) * 2.0
    assert L.grad_fn.parents[0].parents[0].out is None  # a·b: not kept
    values = [lab for lab in nodes(draw_graph(L)).values() if lab.startswith("{() float32")]
    assert sorted(values) == ["{() float32 | data -6.}", "{() float32 | data 4.}",
                              "{() float32 | data 8.}"]  # fmt: skip


def test_a_drawing_cut_by_max_nodes_still_shows_values():
    """The values at the cut come from operations that are not drawn, computed on the way."""
    x = an.tensor([1.0, 2.0], requires_grad=True)
    y = x
    for _ in range(6):
        y = y * 2 + 1  # neither operation keeps its output
    labels = list(nodes(draw_graph(y.sum(), max_nodes=3)).values())
    assert "{(2,) float32 | data [127. 191.]}" in labels
    assert "{(2,) float32 | data [126. 190.]}" in labels  # from [63, 95], not drawn


def test_operation_labels_carry_their_arguments():
    x = an.ones(2, 3, requires_grad=True)
    dot = draw_graph((x**2).sum(axis=1).mean())
    labels = set(nodes(dot).values())
    assert {"pow(2)", "sum(axis=1)", "mean"} <= labels
    assert any("(2, 3) float32" in lab for lab in labels)


def test_mlp_has_a_cluster_per_layer_with_named_parameters():
    an.manual_seed(0)
    net = an.nn.MLP(2, [4], 1, activation="tanh")
    with an.viz.trace():
        out = net(an.randn(3, 2)).sum()
    dot = draw_graph(out, model=net)
    clusters = re.findall(r'label="?([^"]+?)"? style="rounded,dashed"', dot.source)
    assert sorted(clusters) == ["0: Linear(2, 4)", "1: Tanh", "2: Linear(4, 1)", "MLP",
                                "layers: Sequential"]  # fmt: skip
    source = dot.source
    for name in ("layers.0.weight", "layers.0.bias", "layers.2.weight", "layers.2.bias"):
        assert name in source
    # each weight sits inside its layer's box: between the cluster's label and its end
    for layer, weight in [
        ("0: Linear(2, 4)", "layers.0.weight"),
        ("2: Linear(4, 1)", "layers.2.weight"),
    ]:
        start = source.index(f'label="{layer}"')
        assert weight in source[start : source.index("}\n", source.index(weight, start))]
        assert weight not in source[:start]


def test_clusters_are_named_without_a_model_too():
    net = an.nn.Sequential(an.nn.Linear(3, 2), an.nn.ReLU())
    with an.viz.trace():
        out = net(an.ones(1, 3))
    dot = draw_graph(out)
    assert "0: Linear(3, 2)" in dot.source and "1: ReLU" in dot.source


def test_module_calls_are_grouped_only_when_traced():
    net = an.nn.Sequential(an.nn.Linear(3, 2), an.nn.ReLU())
    plain = draw_graph(net(an.ones(1, 3)))
    assert "cluster" not in plain.source and "linear" in plain.source
    with an.viz.trace() as tr:
        out = net(an.ones(1, 3))
    assert [type(c.module).__name__ for c in tr.calls] == ["Linear", "ReLU", "Sequential"]
    assert "cluster" in draw_graph(out).source


def test_a_trace_sees_only_its_own_thread():
    import threading

    net = an.nn.Linear(2, 2)
    with an.viz.trace() as tr:
        worker = threading.Thread(target=lambda: net(an.ones(1, 2)))
        worker.start()
        worker.join()
        net(an.ones(1, 2))
    assert len(tr.calls) == 1


def test_collapse_draws_one_node_per_module_call():
    net = an.nn.MLP(2, [8, 8], 3)
    with an.viz.trace():
        out = net(an.zeros(5, 2, requires_grad=True))
    dot = draw_graph(out, model=net, collapse=True)
    labels = list(nodes(dot).values())
    boxes = [lab for lab in labels if ": " in lab]
    assert len(boxes) == 5 and "cluster" not in dot.source
    assert any("0: Linear(2, 8)" in b and "24 parameters" in b and "(5, 8)" in b for b in boxes)
    assert len(edges(dot)) == 5  # input -> 5 layers in a chain


def test_draw_model():
    model = an.nn.Sequential(an.nn.Conv2d(1, 4, 3, padding=1), an.nn.ReLU(), an.nn.Flatten(),
                             an.nn.Linear(4 * 8 * 8, 10))  # fmt: skip
    dot = draw_model(model, (2, 1, 8, 8))
    source = dot.source
    for text in ("0: Conv2d(1, 4, 3)", "40 parameters", "3: Linear(256, 10)", "(2, 10)"):
        assert text in source
    assert model.training  # restored


def test_max_nodes_cuts_with_a_note():
    x = an.tensor(1.0, requires_grad=True)
    y = x
    for _ in range(50):
        y = y * 1.01
    dot = draw_graph(y, max_nodes=10)
    assert len([lab for lab in nodes(dot).values() if lab == "mul"]) == 10
    assert "40 more operations not drawn (max_nodes=10)" in dot.source


def test_backward_graph_of_a_gradient():
    x = an.tensor(1.5, requires_grad=True)
    (g,) = an.grad((x * x).tanh(), x, create_graph=True)
    dot = draw_graph(g, params={"x": x})
    labels = list(nodes(dot).values())
    assert "tanh" in labels and labels.count("mul") >= 3 and "sub" in labels


def test_describe_module():
    assert describe_module(an.nn.Conv2d(3, 8, (3, 5))) == "Conv2d(3, 8, (3, 5))"
    assert describe_module(an.nn.Embedding(10, 4)) == "Embedding(10, 4)"
    assert describe_module(an.nn.Dropout(0.5)) == "Dropout(p=0.5)"


def test_bad_roots():
    with pytest.raises(TypeError, match="draw_graph: root 0 is a ndarray, not a Tensor"):
        import numpy as np

        draw_graph(np.ones(2))


@needs_dot
def test_render_svg_png_and_pdf(tmp_path):
    L, params, _kept = worked_example()
    dot = draw_graph(L, params=params)
    svg = render(dot, tmp_path / "g.svg")
    root = ET.parse(svg).getroot()
    assert root.tag.endswith("svg")
    png = render(dot, tmp_path / "g", format="png")
    assert png.suffix == ".png" and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert render(dot, tmp_path / "g.pdf").read_bytes()[:4] == b"%PDF"


def test_missing_dot_says_how_to_install(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # no dot anywhere
    dot = draw_graph(an.tensor(1.0, requires_grad=True) * 2)
    with pytest.raises(RuntimeError, match="apt-get install graphviz"):
        render(dot, tmp_path / "g.svg")
    assert "mul" in dot.source  # the DOT text still works
    assert not (tmp_path / "g.svg").exists()


@needs_dot
def test_graph_example_renders_three_svgs(tmp_path):
    result = subprocess.run([sys.executable, str(EXAMPLES / "graph.py"), "--out", str(tmp_path)],
                            capture_output=True, text=True, timeout=120)  # fmt: skip
    assert result.returncode == 0, result.stderr
    for name in ("scalar", "mlp", "second_order"):
        assert ET.parse(tmp_path / f"{name}.svg").getroot().tag.endswith("svg")


# ---- large graphs made readable -------------------------------------------------------------


def cnn():
    an.manual_seed(0)
    return an.nn.Sequential(
        an.nn.Conv2d(1, 4, 3, padding=1), an.nn.BatchNorm2d(4), an.nn.ReLU(),
        an.nn.MaxPool2d(2), an.nn.Flatten(), an.nn.Linear(4 * 4 * 4, 10),
    )  # fmt: skip


def test_depth_draws_each_layer_as_one_box_with_shape_and_parameter_count():
    model = cnn()
    with an.viz.trace():
        loss = an.nn.functional.cross_entropy(model(an.randn(2, 1, 8, 8)), an.tensor([1, 2]))
        loss.backward()
    source = draw_graph(loss, model=model, depth=1, rankdir="TB").source
    boxes = re.findall(r'label="(\d: [^"]*)" [^\]]*shape=box3d', source)
    assert [b.split("\n")[0] for b in boxes] == [
        "0: Conv2d(1, 4, 3)", "1: BatchNorm2d(4)", "2: ReLU", "3: MaxPool2d",
        "4: Flatten(start_dim=1, end_dim=-1)", "5: Linear(64, 10)",
    ]  # fmt: skip
    assert "→ (2, 4, 8, 8)\n40 parameters" in boxes[0] and "grad min" in boxes[0]
    assert "unfold" not in source  # the operations are inside the boxes
    assert "cluster" in source and "cross_entropy" in source  # the loss, as a group


def test_alike_consecutive_calls_fold_into_one_box():
    net = an.nn.Sequential(*[an.nn.Linear(8, 8) for _ in range(5)], an.nn.Tanh())
    with an.viz.trace():
        y = net(an.randn(3, 8)).sum()
    source = draw_graph(y, depth=1).source
    assert "0: Linear(8, 8) ×5" in source and "360 parameters" in source
    assert source.count("Linear(8, 8)") == 1


def test_a_tensor_of_more_than_a_few_elements_is_shown_as_statistics():
    b = an.tensor(np.arange(16.0), requires_grad=True)
    source = draw_graph((b * 2).sum(), params={"b": b}).source
    assert "min 0 mean 7.5 max 15 norm 35.21" in source and "[ 0." not in source
    assert "data [1.]" in draw_graph((an.ones(1, requires_grad=True) * 1).sum()).source


def test_the_input_target_loss_and_buffers_are_labelled():
    net = an.nn.Sequential(an.nn.Linear(2, 3), an.nn.BatchNorm1d(3))
    net.eval()
    with an.viz.trace():
        loss = an.nn.functional.mse_loss(net(an.randn(4, 2)), an.randn(4, 3))
    source = draw_graph(loss).source
    for name in (
        "{input | (4, 2)",
        "{target | (4, 3)",
        "{1.running_mean | (1, 3)",
        "label=mse_loss",
    ):
        assert name in source, name


def test_the_cnn_example_drawing_reads_top_to_bottom_within_2000_pixels(tmp_path):
    if shutil.which("dot") is None:
        pytest.skip("Graphviz's dot is not installed")
    model = cnn()
    model.eval()
    with an.viz.trace():
        out = model(an.randn(4, 1, 8, 8))
    dot = draw_graph(out, model=model, depth=1, rankdir="TB")
    assert "rankdir=TB" in dot.source
    svg = render(dot, tmp_path / "cnn.svg")
    width, height = (float(v) for v in re.search(r'<svg width="([\d.]+)pt" height="([\d.]+)pt"',
                                                  svg.read_text()).groups())  # fmt: skip
    assert width * 96 / 72 <= 2000 and height > 0
