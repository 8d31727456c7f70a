"""One HTML file to study a graph: the drawing, every node's value and gradient, and the backward
pass step by step.

``to_html(tr, "backward.html")`` writes a page that opens from disk in any browser, with no
network: the SVG that Graphviz draws (inline), the details of every node it draws (as JSON), and
a short script. Hovering over a node, or clicking it, shows its details in a side panel: what
kind of node it is, its shape and dtype, its value and gradient, the local rule of its
operation, the module it ran in and its step of the backward pass. Buttons (Start, Previous,
Next, End), a slider and the arrow keys step through the backward pass of a trace: at step k
the operation of ``tr.steps[k]`` is highlighted and only the gradients that have arrived are
shown. Stepping only switches CSS classes on the SVG; nothing is drawn again.

In Jupyter a trace shows the same page (``trace._repr_html_`` returns :func:`html_fragment`).

The page is built from three parts, each made once here:

- the drawing: ``draw_graph(...)`` rendered to SVG by Graphviz's ``dot``;
- the details: one entry per drawn node, named by its ``<title>`` in the SVG (which is
  :func:`~autonet.viz.graph.node_id` or :func:`~autonet.viz.graph.value_id`), and one entry per
  backward step;
- the page: :data:`STYLE` and :data:`SCRIPT`, the same for every page.
"""

from __future__ import annotations

import html
import json
import os
import re
import uuid
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import numpy as np

from autonet.engine.function import Function
from autonet.engine.tensor import Tensor
from autonet.viz.graph import (
    INSTALL_DOT,
    draw_graph,
    gradient_ready,
    node_id,
    reachable,
    value_id,
)
from autonet.viz.trace import NodeRecord, Step, Summary, record_of, rule_of, trace

__all__ = ["html_fragment", "to_html"]

SVG_NS = "{http://www.w3.org/2000/svg}"


def to_html(
    obj: trace | Tensor | Any,
    path: str | os.PathLike[str],
    *,
    title: str | None = None,
    **draw_kwargs: Any,
) -> Path:
    """Write one self-contained HTML page to study ``obj`` at ``path``; return the path.

    ``obj`` is

    - a trace (``with an.viz.trace() as tr:``): the whole drawing, each node's details on
      hover or click, and the backward pass to step through;
    - a tensor: its graph drawn with ``draw_graph`` (with details on hover or click);
    - a drawing (a ``graphviz.Digraph``) as it is, each node's text on hover or click.

    ``draw_kwargs`` go to ``draw_graph`` (``params=``, ``model=``, ``show_data=``, ...).
    The page needs no network: the SVG, the data and the script are all inside it. The file is
    written whole or not at all.

    >>> import tempfile
    >>> from pathlib import Path
    >>> import autonet as an
    >>> x = an.tensor([1.0, -2.0], requires_grad=True)
    >>> with an.viz.trace() as tr:
    ...     y = (x * 3).tanh().sum()
    ...     y.backward()
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     text = an.viz.to_html(tr, Path(folder) / "backward.html").read_text()
    >>> text.startswith("<!DOCTYPE html>") and "<svg" in text and "dy/dx = 1 - tanh²x" in text
    True
    """
    path = Path(path)
    fragment, title = _page(obj, title, draw_kwargs)
    document = (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{html.escape(title)}</title>\n"
        '<link rel="icon" href="data:,">\n'  # NOTE: no request for a favicon
        f"</head>\n<body>\n{fragment}\n</body>\n</html>\n"
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(document, encoding="utf-8")
    os.replace(tmp, path)  # NOTE: never a half-written page
    return path


def html_fragment(
    obj: trace | Tensor | Any, *, title: str | None = None, **draw_kwargs: Any
) -> str:
    """The page of :func:`to_html` as an HTML fragment: one ``<div>`` with its style, data and
    script, for Jupyter (``_repr_html_``) or for a page of your own.

    >>> import autonet as an
    >>> a = an.tensor(2.0, requires_grad=True)
    >>> fragment = html_fragment(a * 3, params={"a": a})
    >>> fragment.startswith('<div class="an-page"') and "<svg" in fragment
    True
    """
    return _page(obj, title, draw_kwargs)[0]


# ---- the parts of a page --------------------------------------------------------------------


def _page(obj: Any, title: str | None, draw_kwargs: dict[str, Any]) -> tuple[str, str]:
    """The fragment and the title of the page of ``obj``."""
    if isinstance(obj, trace):
        if "step" in draw_kwargs:
            raise TypeError("to_html: the page steps through the backward pass itself; no step=")
        if not obj.records:
            raise ValueError("to_html: the trace recorded no operations; nothing to draw")
        dot, roots, steps = draw_graph(obj, **draw_kwargs), obj.outputs, obj.steps
        max_elements = obj.max_elements
        default = f"autonet: {len(obj.records)} operations, {len(steps)} backward steps"
    elif isinstance(obj, Tensor):
        dot, roots, steps, max_elements = draw_graph(obj, **draw_kwargs), [obj], [], 10_000
        default = f"autonet: the graph of a tensor of shape {tuple(obj.shape)}"
    elif isinstance(getattr(obj, "source", None), str):  # a drawing: graphviz.Digraph, Source
        if draw_kwargs:
            raise TypeError(f"to_html: a drawing is shown as it is; got {sorted(draw_kwargs)}")
        dot, roots, steps, max_elements = obj, [], [], 10_000
        default = "autonet: a drawing"
    else:
        raise TypeError(
            f"to_html: expected a trace, a Tensor or a graphviz drawing, got {type(obj).__name__}"
        )
    svg = _svg(dot)
    nodes = _details(_drawn_texts(svg), _graph_details(roots, max_elements))
    data = {"nodes": nodes, "steps": [_step(s) for s in steps]}
    return _fragment(_mark_gradients(svg), data, title or default), title or default


def _svg(dot: Any) -> str:
    """The drawing as SVG text, from its ``<svg>`` tag on (no XML prolog, no DOCTYPE)."""
    import graphviz  # draw_graph (or the caller) has already needed it

    try:
        svg = graphviz.Source(dot.source).pipe(format="svg").decode("utf-8")
    except graphviz.ExecutableNotFound as e:
        raise RuntimeError(f"to_html: {INSTALL_DOT}") from e
    return svg[svg.index("<svg") :]


def _drawn_texts(svg: str) -> dict[str, list[str]]:
    """Every node of the SVG by its ``<title>``, with the lines of text drawn in it."""
    drawn: dict[str, list[str]] = {}
    for g in ET.fromstring(svg).iter(f"{SVG_NS}g"):
        if g.get("class") == "node":
            title = g.findtext(f"{SVG_NS}title") or ""
            drawn[title] = [t.text or "" for t in g.iter(f"{SVG_NS}text")]
    return drawn


def _mark_gradients(svg: str) -> str:
    """The SVG with the class ``an-grad`` on each ``grad ...`` text, which stepping hides."""
    return re.sub(r"<text([^>]*)>grad ", r'<text class="an-grad"\1>grad ', svg)


# ---- the details of the nodes ---------------------------------------------------------------


def _details(drawn: dict[str, list[str]], known: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """One entry per drawn node: what the graph knows of it, else the text drawn in it."""
    nodes: dict[str, Any] = {}
    for title, lines in drawn.items():
        entry = known.get(title)
        if entry is None:  # a constant, a module box, a note, or a node of any other drawing
            entry = {"kind": "node", "label": " ".join(lines[:1]), "step": None}
        if entry["kind"] == "leaf" and lines:
            entry["label"] = lines[0]  # the name the drawing gives it: "w1", "input"
        if entry["kind"] != "operation" and entry.get("value") is None:
            entry["drawn"] = lines  # nothing kept but what the drawing shows
        nodes[title] = entry
    return nodes


def _graph_details(roots: list[Any], max_elements: int) -> dict[str, dict[str, Any]]:
    """The details of every operation, value and leaf of the graph behind ``roots`` (tensors or
    nodes), by their names in the drawing.

    An operation's ``step`` is the step it runs; a value's or a leaf's is the step after which
    its gradient is complete: the last step that sends it a share (for the loss, its own)."""
    root_of = {id(r.grad_fn): r for r in roots if isinstance(r, Tensor) and r.grad_fn is not None}
    nodes, leaves = reachable(roots)
    ready = gradient_ready(nodes)  # id(leaf or node) -> the last step sending it gradient
    found: dict[str, dict[str, Any]] = {}
    values: list[tuple[Function, dict[str, Any]]] = []
    for item in nodes:
        noted = record_of(item)
        found[node_id(item)] = _operation(item, noted)
        found[value_id(item)] = _value(item, noted, root_of.get(id(item)), max_elements)
        values.append((item, found[value_id(item)]))
    for node, entry in values:
        entry["step"] = ready.get(id(node), entry["step"])
    for t in leaves:
        found[node_id(t)] = {
            "kind": "leaf",
            "label": "leaf",
            "shape": list(t.shape),
            "dtype": str(t.dtype),
            "value": _summary(Summary.of(t, max_elements)),
            "grad": None if t.grad is None else _summary(Summary.of(t.grad, max_elements)),
            "step": ready.get(id(t)),
        }
    return found


def _operation(node: Function, noted: NodeRecord | None) -> dict[str, Any]:
    """An operation: its label, rule, module and step; the gradient it sent to each input."""
    entry: dict[str, Any] = {
        "kind": "operation",
        "label": node.label(),
        "rule": rule_of(node),
        "output": value_id(node),
        "step": None,
    }
    if noted is not None:
        grads = noted.input_grads or [None] * len(noted.input_shapes)
        entry.update(
            label=noted.label,
            rule=noted.rule,
            module=noted.module,
            step=noted.step,
            inputs=[
                {"shape": None if s is None else list(s), "grad": None if g is None else _text(g)}
                for s, g in zip(noted.input_shapes, grads)
            ],
        )
    return entry


def _value(node: Function, noted: NodeRecord | None, root: Tensor | None,
           max_elements: int) -> dict[str, Any]:  # fmt: skip
    """The value an operation produced, and the gradient that reached it."""
    entry: dict[str, Any] = {"kind": "value", "label": f"value of {node.label()}", "step": None}
    if noted is not None:  # a trace kept them
        value, grad = noted.value, noted.grad
        entry.update(label=f"value of {noted.label}", module=noted.module, step=noted.step)
    elif root is not None:  # the tensor asked for holds them
        value = Summary.of(root, max_elements)
        grad = None if root.grad is None else Summary.of(root.grad, max_elements)
    else:
        return entry
    entry.update(shape=list(value.shape), dtype=value.dtype, value=_summary(value),
                 grad=None if grad is None else _summary(grad))  # fmt: skip
    return entry


def _step(step: Step) -> dict[str, Any]:
    """One backward step: its operation's node, label and rule, and the gradients in and out."""
    return {
        "index": step.index,
        "node": node_id(step.record.node),
        "label": step.label,
        "rule": step.rule,
        "grad_output": None if step.grad_output is None else _text(step.grad_output),
        "grad_inputs": [None if g is None else _text(g) for g in step.grad_inputs],
    }


def _summary(s: Summary) -> dict[str, Any]:
    """An array as a trace keeps it: its shape and dtype, the array as nested lists (``None``
    when only statistics were kept) and a text to read (the array, or its statistics)."""
    return {"shape": list(s.shape), "dtype": s.dtype, "array": _plain(s.array), "text": _text(s)}


def _text(s: Summary) -> str:
    """The array to read, its long lines wrapped and the middle of big ones left out; or its
    statistics when only they were kept."""
    if s.array is None:
        return s.stats_text()
    return np.array2string(s.array, precision=4, suppress_small=True, threshold=64, edgeitems=3,
                           max_line_width=56)  # fmt: skip


def _plain(a: np.ndarray | None) -> Any:
    """An array as nested lists for JSON, NaN and infinities as the strings JavaScript prints
    for them (JSON has no numbers for them)."""
    if a is None:
        return None
    if a.dtype.kind != "f" or np.isfinite(a).all():
        return a.tolist()
    out = a.astype(object)
    out[np.isnan(a)] = "NaN"
    out[np.isposinf(a)] = "Infinity"
    out[np.isneginf(a)] = "-Infinity"
    return out.tolist()


# ---- the page -------------------------------------------------------------------------------


def _fragment(svg: str, data: dict[str, Any], title: str) -> str:
    """The page: a bar of controls, the drawing, the side panel, the data and the script."""
    page_id = f"an-{uuid.uuid4().hex[:12]}"  # NOTE: several pages may share a notebook
    # NOTE: "<" escaped, so no text in the data can end the <script> element early
    payload = json.dumps(data, ensure_ascii=False, allow_nan=False).replace("<", "\\u003c")
    hidden = "" if data["steps"] else " hidden"
    last = len(data["steps"]) - 1
    return f"""<div class="an-page" id="{page_id}" tabindex="0">
<style>{STYLE}</style>
<div class="an-bar">
<strong class="an-title">{html.escape(title)}</strong>
<span class="an-controls"{hidden}>
<button type="button" data-go="start" title="before the backward pass (Home)">Start</button>
<button type="button" data-go="previous" title="the step before (←)">Previous</button>
<button type="button" data-go="next" title="the next step (→)">Next</button>
<button type="button" data-go="end" title="after the last step (End)">End</button>
<input type="range" class="an-slider" min="-1" max="{last}" step="1" value="{last}"
 aria-label="backward step">
</span>
<label>size <select class="an-zoom" aria-label="the drawing's size">
<option value="fit">fit to the width</option><option value="0.5">50%</option>
<option value="0.75">75%</option><option value="1">100%</option></select></label>
</div>
<div class="an-main">
<div class="an-graph">
{svg}
</div>
<div class="an-panel">
<div class="an-step"{hidden}></div>
<div class="an-details"></div>
</div>
</div>
<script type="application/json" class="an-data">{payload}</script>
<script>{SCRIPT}({json.dumps(page_id)});</script>
</div>"""


STYLE = """
.an-page { font: 14px/1.4 system-ui, -apple-system, "Segoe UI", Helvetica, sans-serif;
  color: #222; outline: none; }
.an-page .an-bar { display: flex; flex-wrap: wrap; gap: .4rem 1rem; align-items: center;
  padding: .4rem 0 .6rem; }
.an-page .an-controls { display: inline-flex; gap: .4rem; align-items: center; }
.an-page .an-controls[hidden], .an-page .an-step[hidden] { display: none; }
.an-page button { font: inherit; padding: .15rem .7rem; cursor: pointer; }
.an-page .an-slider { width: 14rem; }
.an-page .an-main { display: flex; gap: 1rem; align-items: flex-start; }
.an-page .an-graph { flex: 1 1 auto; min-width: 0; max-height: 85vh; overflow: auto;
  border: 1px solid #ddd; border-radius: 4px; }
.an-page .an-graph svg { display: block; height: auto; }
.an-page .an-panel { flex: 0 0 24rem; max-width: 40%; border: 1px solid #ddd;
  border-radius: 4px; padding: .5rem .8rem; background: #fafafa; }
.an-page .an-step { border-bottom: 1px solid #ddd; padding-bottom: .5rem; margin-bottom: .5rem; }
.an-page .an-panel h3 { font-size: 1rem; margin: .2rem 0 .4rem; }
.an-page .an-panel .an-kind { font-weight: normal; color: #777; font-size: .85rem; }
.an-page .an-panel dl { margin: 0; }
.an-page .an-panel dt { color: #555; font-size: .8rem; margin-top: .35rem; }
.an-page .an-panel dd { margin: 0; }
.an-page .an-panel pre { margin: 0; white-space: pre-wrap; word-break: break-word;
  font: 12px/1.35 ui-monospace, Menlo, Consolas, monospace; }
.an-page .an-panel .an-muted { color: #888; font-style: italic; }
.an-page g.node { cursor: pointer; }
.an-page g.node.an-current ellipse { fill: #f8a5a5; stroke: #c0392b; stroke-width: 3px; }
.an-page g.node.an-selected polygon, .an-page g.node.an-selected ellipse {
  stroke: #1f6feb; stroke-width: 2.5px; }
.an-page g.node.an-pending text.an-grad { visibility: hidden; }
"""

# The script of every page: a function of the page's id. It reads the data, finds the SVG group
# of every node by its <title>, and keeps two things: the step the page stands at (`at`: -1
# before the backward pass, else after tr.steps[at]) and the node clicked (`selected`).
SCRIPT = """(function (pageId) {
  "use strict";
  const page = document.getElementById(pageId);
  const data = JSON.parse(page.querySelector("script.an-data").textContent);
  const steps = data.steps;
  const last = steps.length - 1;
  const slider = page.querySelector(".an-slider");
  const stepBox = page.querySelector(".an-step");
  const details = page.querySelector(".an-details");
  const buttons = {};
  for (const b of page.querySelectorAll("button[data-go]")) buttons[b.dataset.go] = b;
  const groups = {};  // title -> the <g class="node"> that draws the node
  for (const g of page.querySelectorAll("svg g.node")) {
    groups[g.querySelector("title").textContent] = g;
  }
  let at = last;
  let selected = null;
  let shown = null;

  // Has the gradient of this node arrived by the current step? (A node no step reaches is
  // drawn as it is.)
  function arrived(step) {
    return steps.length === 0 || step === null || step === undefined || step <= at;
  }

  function shapeText(shape, dtype) {
    const inner = shape.join(", ") + (shape.length === 1 ? "," : "");
    return "(" + inner + ") " + (dtype || "");
  }

  function element(tag, text, className) {
    const e = document.createElement(tag);
    if (text !== undefined) e.textContent = text;
    if (className) e.className = className;
    return e;
  }

  // A list of (name, text) rows; an array's text keeps its lines.
  function rows(pairs) {
    const list = element("dl");
    for (const [name, text, muted] of pairs) {
      list.append(element("dt", name));
      const dd = element("dd");
      dd.append(element("pre", text, muted ? "an-muted" : ""));
      list.append(dd);
    }
    return list;
  }

  function gradientRow(name, summary, step) {
    if (!arrived(step)) return [name, "not yet (complete after tr.steps[" + step + "])", true];
    if (!summary) return [name, "none", true];
    return [name, summary.text];
  }

  function show(title) {
    shown = title;
    details.replaceChildren();
    const node = title === null ? undefined : data.nodes[title];
    if (node === undefined) {
      details.append(element("p", "Hover over a node or click it to see its details.", "an-muted"));
      return;
    }
    const heading = element("h3", node.label + " ");
    heading.append(element("span", node.kind, "an-kind"));
    details.append(heading);
    const pairs = [];
    if (node.shape) pairs.push(["shape, dtype", shapeText(node.shape, node.dtype)]);
    if (node.kind === "operation") {
      pairs.push(["local rule", node.rule || "—"]);
      const output = data.nodes[node.output];
      pairs.push(gradientRow("gradient arriving at its output", output && output.grad, node.step));
      (node.inputs || []).forEach(function (input, i) {
        const shape = input.shape ? shapeText(input.shape) : "";
        const sent = arrived(node.step) ? (input.grad === null ? "none" : input.grad) : "not yet";
        pairs.push(["input " + i + " " + shape + ": gradient sent", sent, !arrived(node.step)]);
      });
    } else {
      if (node.value) pairs.push(["value", node.value.text]);
      if (node.kind !== "node") pairs.push(gradientRow("gradient", node.grad, node.step));
    }
    if (node.module) pairs.push(["module", node.module]);
    if (node.step !== null && node.step !== undefined) {
      const when = node.kind === "operation" ? "its backward step" : "gradient complete after";
      pairs.push([when, "tr.steps[" + node.step + "]"]);
    }
    if (node.drawn) pairs.push(["drawn", node.drawn.join("\\n")]);
    details.append(rows(pairs));
  }

  function select(title) {
    if (selected !== null) groups[selected].classList.remove("an-selected");
    selected = title;
    groups[title].classList.add("an-selected");
    show(title);
  }

  function showStep() {
    stepBox.replaceChildren();
    if (at < 0) {
      stepBox.append(element("h3", "Before the backward pass"));
      stepBox.append(element("p", "The values of the forward pass; no gradient yet.", "an-muted"));
      return;
    }
    const step = steps[at];
    stepBox.append(element("h3", "tr.steps[" + at + "] of " + steps.length + ": " + step.label));
    const sent = step.grad_inputs.map(function (g, i) {
      return "to input " + i + ": " + (g || "none");
    });
    stepBox.append(rows([
      ["local rule", step.rule || "—"],
      ["gradient arriving", step.grad_output || "none"],
      ["gradients sent", sent.join("\\n") || "none"],
    ]));
  }

  // Stand after tr.steps[k]: highlight its operation, hide the gradients not yet arrived.
  function goTo(k) {
    at = Math.max(-1, Math.min(last, k));
    const current = at >= 0 ? steps[at].node : null;
    for (const [title, g] of Object.entries(groups)) {
      const node = data.nodes[title];
      g.classList.toggle("an-current", title === current);
      g.classList.toggle("an-pending", node !== undefined && !arrived(node.step));
    }
    slider.value = String(at);
    buttons.start.disabled = buttons.previous.disabled = at === -1;
    buttons.end.disabled = buttons.next.disabled = at === last;
    showStep();
    show(shown);
  }

  for (const [title, g] of Object.entries(groups)) {
    g.addEventListener("mouseenter", function () { show(title); });
    g.addEventListener("mouseleave", function () { show(selected); });
    g.addEventListener("click", function () { select(title); });
  }
  buttons.start.addEventListener("click", function () { goTo(-1); });
  buttons.previous.addEventListener("click", function () { goTo(at - 1); });
  buttons.next.addEventListener("click", function () { goTo(at + 1); });
  buttons.end.addEventListener("click", function () { goTo(last); });
  slider.addEventListener("input", function () { goTo(Number(slider.value)); });
  // The drawing's size: fitted to the width (never enlarged), or a fraction of its own.
  const graph = page.querySelector(".an-graph");
  const svg = graph.querySelector("svg");
  const natural = svg.width.baseVal.value;
  const zoom = page.querySelector(".an-zoom");
  function resize() {
    const fit = zoom.value === "fit";
    svg.style.width = fit ? "100%" : natural * Number(zoom.value) + "px";
    svg.style.maxWidth = fit ? natural + "px" : "none";
  }
  // NOTE: fitting a wide drawing would make its text too small to read; it scrolls instead
  zoom.value = natural * 0.6 <= graph.clientWidth ? "fit" : "0.75";
  resize();
  zoom.addEventListener("change", resize);
  page.addEventListener("keydown", function (event) {
    const moves = { ArrowLeft: at - 1, ArrowRight: at + 1, Home: -1, End: last };
    if (steps.length === 0 || !(event.key in moves)) return;
    event.preventDefault();
    goTo(moves[event.key]);
  });
  show(null);
  if (steps.length) goTo(last);
})"""
