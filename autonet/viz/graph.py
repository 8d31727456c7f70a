"""Drawings of the graph a tensor recorded, with the graphviz package.

The drawing follows the record: every operation node (``mul``, ``sum(axis=1)``) points to the
value it produced; leaves are the inputs and parameters. Operations run inside a module's
``forward`` are grouped in a labelled box, nested as the modules are. ``collapse=True`` draws one
node per module instead, which keeps any model readable.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from autonet.engine.function import Function
from autonet.engine.tensor import Tensor
from autonet.nn.parameter import Parameter
from autonet.viz.trace import Summary, module_calls, record_of, trace

__all__ = ["draw_graph", "render"]

INSTALL_DOT = (
    "Graphviz's 'dot' program is needed to render drawings: install it with "
    "'apt-get install graphviz' (Debian, Ubuntu), 'brew install graphviz' (macOS) or "
    "'conda install graphviz'. The DOT text is still available as graph.source."
)

# The looks: one style per kind of node.
STYLES = {
    "op": {"shape": "ellipse", "style": "filled", "fillcolor": "#fde2b0", "fontsize": "11"},
    "value": {"shape": "record", "style": "filled", "fillcolor": "#f4f4f4", "fontsize": "10"},
    "input": {"shape": "record", "style": "filled", "fillcolor": "#d5e8d4", "fontsize": "10"},
    "param": {"shape": "record", "style": "filled", "fillcolor": "#cfe2f3", "fontsize": "10"},
    "const": {"shape": "plaintext", "fontsize": "10", "fontcolor": "#666666"},
    "module": {"shape": "box3d", "style": "filled", "fillcolor": "#e1d5e7", "fontsize": "11"},
    "note": {"shape": "note", "style": "filled", "fillcolor": "#fff2cc", "fontsize": "10"},
    "current": {
        "shape": "ellipse",
        "style": "filled,bold",
        "fillcolor": "#f8a5a5",
        "color": "#c0392b",
        "penwidth": "3",
        "fontsize": "11",
    },
}


def _graphviz() -> Any:
    try:
        import graphviz
    except ImportError as e:
        raise ImportError(
            "drawing graphs needs the graphviz package: pip install 'autonet[viz]'"
        ) from e
    return graphviz


def draw_graph(
    *roots: Tensor,
    params: Mapping[str, Tensor] | None = None,
    model: Any = None,
    show_data: bool | str = "auto",
    show_grad: bool = True,
    show_shapes: bool = True,
    rankdir: str = "LR",
    max_nodes: int | None = None,
    collapse: bool = False,
    step: int | None = None,
) -> Any:
    """The graph that computed ``roots`` as a ``graphviz.Digraph``.

    - Leaves: inputs (green) and parameters (blue), named from ``params`` (name → tensor) or
      from ``model.named_parameters()``; operations (orange) with their arguments, e.g.
      ``sum(axis=1)``; the value each operation produced (grey), with shape and dtype. A
      node keeps only what its derivative needs, so a value the graph no longer holds is
      computed again from its inputs for the drawing (until ``backward`` releases the graph).
    - ``show_data``: the values of tensors with at most 16 elements (``"auto"``), always
      (``True``, abbreviated) or never. ``show_grad``: gradients where the tensor keeps one
      (leaves after ``backward``, roots, and tensors that called ``retain_grad()``).
    - Operations recorded inside a module's ``forward`` during ``with an.viz.trace():`` sit in
      a box labelled like ``0: Linear(2, 4)``, nested as the modules are; ``collapse=True``
      draws one node per innermost module call instead.
    - ``max_nodes``: draw at most this many operations, nearest the roots first, and say
      how many were left out.

    - A trace (``with an.viz.trace() as tr:``) is drawn with ``draw_graph(tr)``; a graph it
      recorded shows every operation's value and, after a traced backward, its gradient.
      ``step=k`` draws the backward pass as it stands after its step k (``tr.steps[k]``): that
      operation highlighted, gradients only where they have arrived.

    After ``backward(create_graph=True)`` a gradient has its own graph: ``draw_graph(x.grad)``.

    >>> import autonet as an
    >>> from autonet.viz import draw_graph
    >>> a = an.tensor(2.0, requires_grad=True)
    >>> L = (a * 3).sum()
    >>> dot = draw_graph(L, params={"a": a})
    >>> "mul" in dot.source and "sum" in dot.source and "a |" in dot.source
    True
    """
    graphviz = _graphviz()
    traced = {}
    if len(roots) == 1 and isinstance(roots[0], trace):
        tr = roots[0]
        traced = tr.names
        roots = tuple(tr.outputs)
    for i, r in enumerate(roots):
        if not isinstance(r, (Tensor, Function)):
            raise TypeError(f"draw_graph: root {i} is a {type(r).__name__}, not a Tensor")
    if not roots:
        raise ValueError("draw_graph: give at least one tensor (or a trace) to draw")
    for r in roots:  # a traced graph: the trace knows the names of parameters and inputs
        noted = record_of(r.grad_fn if isinstance(r, Tensor) else r)
        if noted is not None:
            traced = {**noted.names, **traced}
    names = {**traced, **_parameter_names(params, model)}
    drawer = _Drawer(graphviz, names, model, show_data, show_grad, show_shapes, collapse)
    drawer.step = step
    dot = graphviz.Digraph(
        "autonet", graph_attr={"rankdir": rankdir, "fontsize": "11", "fontname": "Helvetica"},
        node_attr={"fontname": "Helvetica"}, edge_attr={"arrowsize": "0.7"},
    )  # fmt: skip
    drawer.draw(dot, roots, max_nodes)
    return dot


def render(graph: Any, path: str | os.PathLike[str], format: str | None = None) -> Path:
    """Write ``graph`` (a ``graphviz.Digraph``) to ``path`` as SVG, PNG or PDF (from the
    suffix unless ``format`` says), through Graphviz's ``dot`` program; return the path.
    When ``dot`` is missing the error says how to install it.

    >>> import autonet as an
    >>> from autonet.viz import draw_graph, render
    >>> dot = draw_graph(an.tensor(1.0, requires_grad=True) * 2)
    >>> render(dot, "graph.svg")  # doctest: +SKIP
    PosixPath('graph.svg')
    """
    graphviz = _graphviz()
    path = Path(path)
    fmt = (format or path.suffix.lstrip(".") or "svg").lower()
    if fmt not in ("svg", "png", "pdf"):
        raise ValueError(f"render: format must be 'svg', 'png' or 'pdf', got {fmt!r}")
    if path.suffix.lower() != f".{fmt}":
        path = path.with_name(path.name + f".{fmt}")
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        data = graphviz.Source(graph.source).pipe(format=fmt)
    except graphviz.ExecutableNotFound as e:
        raise RuntimeError(f"render: {INSTALL_DOT}") from e
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)  # NOTE: never a half-written image
    return path


# ---- naming ---------------------------------------------------------------------------------


def _parameter_names(params: Mapping[str, Tensor] | None, model: Any) -> dict[int, str]:
    names: dict[int, str] = {}
    if model is not None:
        names.update({id(p): n for n, p in model.named_parameters()})
    if params is not None:
        names.update({id(t): n for n, t in params.items()})
    return names


def describe_module(module: Any) -> str:
    """A short description: ``Linear(2, 4)``, ``Conv2d(1, 16, 3)``, ``ReLU``.

    >>> import autonet as an
    >>> describe_module(an.nn.Linear(2, 4)), describe_module(an.nn.Tanh())
    ('Linear(2, 4)', 'Tanh')
    """
    kind = type(module).__name__
    for fields in (("in_features", "out_features"), ("in_channels", "out_channels"),
                   ("num_embeddings", "embedding_dim"), ("num_features",)):  # fmt: skip
        if all(hasattr(module, f) for f in fields):
            args = [str(getattr(module, f)) for f in fields]
            if hasattr(module, "kernel_size") and fields[0] == "in_channels":
                k = module.kernel_size
                args.append(str(k[0] if len(set(k)) == 1 else k))
            return f"{kind}({', '.join(args)})"
    extra = module.extra_repr() if hasattr(module, "extra_repr") else ""
    return f"{kind}({extra})" if extra and len(extra) <= 24 else kind


# ---- the drawing ----------------------------------------------------------------------------


class _Call:
    """One recorded module call: its module, output node, and the nodes inside it."""

    def __init__(self, module: Any, output: Function, edges: tuple[Any, ...]) -> None:
        self.module = module
        self.output = output
        self.stops = {id(e) for e in edges}
        self.members: set[int] = set()
        self.parent: _Call | None = None
        self.children: list[_Call] = []


class _Drawer:
    def __init__(self, graphviz: Any, names: dict[int, str], model: Any, show_data: Any,
                 show_grad: bool, show_shapes: bool, collapse: bool) -> None:  # fmt: skip
        self.graphviz = graphviz
        self.names = names
        self.module_names = {id(m): n for n, m in model.named_modules()} if model else {}
        self.show_data = show_data
        self.show_grad = show_grad
        self.show_shapes = show_shapes
        self.collapse = collapse
        self.values: dict[int, np.ndarray] = {}  # node id -> the value it produced
        self.step: int | None = None  # draw the backward pass as it stands after this step
        self.leaf_steps: dict[int, int] = {}  # id(leaf) -> the last step sending it gradient
        self.reached: list[Function] = []  # every operation the walk met, drawn or not

    # -- walking -----------------------------------------------------------------------------
    def walk(self, roots: Iterable[Tensor], max_nodes: int | None) -> tuple[list, list, int]:
        """The operation nodes (nearest the roots first, at most ``max_nodes``), the leaves
        reached, and how many operations were left out."""
        order: list[Function] = []
        leaves: list[Tensor] = []
        seen: set[int] = set()
        queue = [r.grad_fn if isinstance(r, Tensor) and r.grad_fn is not None else r
                 for r in roots]  # fmt: skip
        self.reached = []  # every operation, drawn or not (values are computed from them)
        skipped = 0
        i = 0
        while i < len(queue):
            item = queue[i]
            i += 1
            if id(item) in seen:
                continue
            seen.add(id(item))
            if isinstance(item, Tensor):
                leaves.append(item)
                continue
            self.reached.append(item)
            if max_nodes is not None and len(order) >= max_nodes:
                skipped += 1  # not drawn, but counted (and walked past) for the note
            else:
                order.append(item)
            queue.extend(p for p in item.parents if p is not None)
        if skipped:
            leaves = [t for t in leaves if any(t is p for n in order for p in n.parents)]
        return order, leaves, skipped

    def calls(self, order: list[Function]) -> list[_Call]:
        """The module calls among the drawn nodes, with their members and nesting."""
        found = [
            _Call(module, node, edges) for node in order for module, edges, _ in module_calls(node)
        ]
        drawn = {id(n) for n in order}
        for call in found:
            stack = [call.output]
            while stack:
                item = stack.pop()
                if id(item) in call.stops or id(item) in call.members or id(item) not in drawn:
                    continue
                call.members.add(id(item))
                if isinstance(item, Function):
                    stack.extend(p for p in item.parents if p is not None)
            # a module's own parameters belong in its box
            for p in call.module.parameters():
                call.members.add(id(p))
        found.sort(key=lambda c: (len(c.members), c.output.seq))
        for i, call in enumerate(found):
            for bigger in found[i + 1 :]:
                if call.members <= bigger.members and bigger is not call:
                    call.parent = bigger
                    bigger.children.append(call)
                    break
        for call in found:
            call.children.sort(key=lambda c: c.output.seq)  # in the order they ran
        return found

    # -- labels ------------------------------------------------------------------------------
    def array_text(self, a: Any) -> str:
        if a is None:
            return ""
        if isinstance(a, Summary):  # what a trace kept: the array, or statistics
            if a.array is None:
                return a.stats_text() if self.show_data is not False else ""
            a = a.array
        a = np.asarray(a)
        show = self.show_data
        if show is False or (show == "auto" and a.size > 16):
            return ""
        text = np.array2string(a, precision=4, suppress_small=True, threshold=16, edgeitems=2,
                               max_line_width=60)  # fmt: skip
        return text.replace("\n", " ")

    def record(self, title: str, array: Any, grad: Any, shape: Any, dtype: Any) -> str:
        fields = [_escape(title)] if title else []
        if self.show_shapes and shape is not None:
            fields.append(_escape(f"{tuple(shape)} {dtype}"))
        data = self.array_text(array)
        if data:
            fields.append(_escape(f"data {data}"))
        if self.show_grad and grad is not None:
            text = self.array_text(grad.data if isinstance(grad, Tensor) else grad)
            shape = grad.shape if isinstance(grad, Summary) else np.shape(grad)
            fields.append(_escape(f"grad {text}" if text else f"grad {tuple(shape)}"))
        return "{" + " | ".join(fields or [" "]) + "}"

    def leaf_node(self, dot: Any, t: Tensor) -> None:
        name = self.names.get(id(t))
        kind = "param" if name is not None or isinstance(t, Parameter) else "input"
        title = name if name is not None else ("parameter" if kind == "param" else "input")
        grad = t.grad
        if self.step is not None and self.leaf_steps.get(id(t), self.step + 1) > self.step:
            grad = None  # its gradient is not complete yet at this step
        label = self.record(title, t.data, grad, t.shape, t.dtype)
        dot.node(node_id(t), label, **STYLES[kind])

    def value_label(self, node: Function, roots: dict[int, Tensor]) -> str:
        noted = record_of(node)
        if noted is not None:  # a trace kept its value and the gradient that reached it
            value, grad = noted.value, noted.grad
            if self.step is not None and (noted.step is None or noted.step > self.step):
                grad = None  # not arrived yet at this step
            return self.record("", value, grad, value.shape, value.dtype)
        t = roots.get(id(node))
        if t is None and node.hooks is not None and node.hooks.retained is not None:
            t = node.hooks.retained()  # the tensor that called retain_grad()
        grad = t.grad if t is not None else None
        # NOTE: backward releases what a node saved; a tensor still held (a root, or one that
        # called retain_grad()) keeps the values.
        out = t.data if t is not None else self.values.get(id(node))
        if out is None:  # released, or computed from inputs that are not drawn
            return "{released by backward}" if node.released else "{value not kept}"
        return self.record("", out, grad, out.shape, out.dtype)

    def output_values(self, order: list[Function]) -> dict[int, np.ndarray]:
        """The value each drawn operation produced, by node id: the output it saved, else
        computed again by its ``forward`` from its inputs' values (leaves, constants and the
        values of the operations before it, drawn or not, each dropped once no later
        operation needs it). Nodes released by ``backward`` have none."""
        drawn = {id(n) for n in order}
        uses: dict[int, int] = {}  # node id -> how many reached operations take its value
        for node in self.reached:
            for p in node.parents:
                if isinstance(p, Function):
                    uses[id(p)] = uses.get(id(p), 0) + 1
        values: dict[int, np.ndarray] = {}
        for node in sorted(self.reached, key=lambda n: n.seq):  # recording order: inputs first
            if node.released:
                continue
            if node.out is not None:
                values[id(node)] = node.out
            else:
                xs = [x if p is None else p.data if isinstance(p, Tensor) else values.get(id(p))
                      for p, x in zip(node.parents, node.inputs)]  # fmt: skip
                if all(x is not None for x in xs):
                    values[id(node)] = np.asarray(node.forward(*xs))
            for p in node.parents:  # NOTE: drop what nothing later needs, unless it is drawn
                if isinstance(p, Function):
                    uses[id(p)] -= 1
                    if not uses[id(p)] and id(p) not in drawn:
                        values.pop(id(p), None)
        return values

    # -- the whole ---------------------------------------------------------------------------
    def draw(self, dot: Any, roots: tuple[Tensor, ...], max_nodes: int | None) -> None:
        order, leaves, skipped = self.walk(roots, max_nodes)
        if self.step is not None:  # a leaf's gradient is complete after the last step using it
            for node in self.reached:
                noted = record_of(node)
                for p in node.parents:
                    if isinstance(p, Tensor) and noted is not None and noted.step is not None:
                        self.leaf_steps[id(p)] = max(self.leaf_steps.get(id(p), -1), noted.step)
        self.values = self.output_values(order)
        root_of = {id(r.grad_fn): r for r in roots if isinstance(r, Tensor) and r.grad_fn}
        calls = self.calls(order)
        owner: dict[int, _Call] = {}
        for call in reversed(calls):  # the smallest call containing a node owns it
            for member in call.members:
                owner[member] = call
        self.label_calls(calls)

        if self.collapse:
            self.draw_collapsed(dot, order, leaves, owner, root_of)
        else:
            bodies: dict[int, Any] = {}  # id(call) -> list of (callable drawing into a graph)
            for node in order:
                self.op_nodes(bodies.setdefault(id(owner.get(id(node))), []), node, root_of)
            for t in leaves:
                bodies.setdefault(id(owner.get(id(t))), []).append(
                    lambda g, t=t: self.leaf_node(g, t)
                )
            for draw_item in bodies.get(id(None), []):
                draw_item(dot)
            for call in calls:
                if call.parent is None:
                    self.cluster(dot, call, bodies)
            drawn = {id(n) for n in order}
            for node in order:
                for i, p in enumerate(node.parents):
                    if p is None:
                        self.constant(dot, node, i)
                    elif isinstance(p, Tensor) or id(p) in drawn:
                        dot.edge(value_id(p), node_id(node))
                    else:
                        dot.edge("autonet_note", node_id(node), style="dotted")
        if skipped:
            note = _escape(f"{skipped} more operations not drawn (max_nodes={max_nodes})")
            dot.node("autonet_note", note, **STYLES["note"])

    def op_nodes(self, body: list, node: Function, root_of: dict[int, Tensor]) -> None:
        noted = record_of(node)
        current = self.step is not None and noted is not None and noted.step == self.step
        style = STYLES["current"] if current else STYLES["op"]

        def draw(g: Any) -> None:
            g.node(node_id(node), _escape(node.label()), **style)
            g.node(value_id(node), self.value_label(node, root_of), **STYLES["value"])
            g.edge(node_id(node), value_id(node))

        body.append(draw)

    def constant(self, dot: Any, node: Function, i: int) -> None:
        inputs = node.inputs
        if inputs is None:
            return
        value = inputs[i]
        a = np.asarray(value)
        if a.size > 4:
            return
        cid = f"{node_id(node)}_c{i}"
        dot.node(cid, _escape(np.array2string(a, precision=4)), **STYLES["const"])
        dot.edge(cid, node_id(node), style="dashed")

    def label_calls(self, calls: list[_Call]) -> None:
        for call in calls:
            name = self.module_names.get(id(call.module))
            if name:
                name = name.rsplit(".", 1)[-1]
            elif call.parent is not None:
                name = next((k for k, m in call.parent.module._modules.items()
                             if m is call.module), None)  # fmt: skip
            text = describe_module(call.module)
            call.label = f"{name}: {text}" if name else text

    def cluster(self, dot: Any, call: _Call, bodies: dict[int, Any]) -> None:
        with dot.subgraph(name=f"cluster_{id(call)}") as sub:
            sub.attr(label=_escape(call.label), style="rounded,dashed", color="#7e6a9e",
                     fontcolor="#4b3b6b")  # fmt: skip
            for draw_item in bodies.get(id(call), []):
                draw_item(sub)
            for child in call.children:
                self.cluster(sub, child, bodies)

    def draw_collapsed(self, dot: Any, order: list[Function], leaves: list[Tensor],
                       owner: dict[int, _Call], root_of: dict[int, Tensor]) -> None:  # fmt: skip
        """One node per innermost module call; operations outside modules as they are."""
        drawn_calls: set[int] = set()
        for node in order:
            call = owner.get(id(node))
            if call is None:
                self.op_nodes_into(dot, node, root_of)
            elif id(call) not in drawn_calls:
                drawn_calls.add(id(call))
                out = self.values.get(id(call.output))
                count = sum(p.size for p in call.module.parameters())
                lines = [call.label]
                if out is not None:
                    lines.append(f"→ {tuple(out.shape)}")
                if count:
                    lines.append(f"{count:,} parameters")
                dot.node(f"call{id(call)}", _escape("\n".join(lines)), **STYLES["module"])
        for t in leaves:
            if id(t) not in owner:
                self.leaf_node(dot, t)

        def end(item: Any, source: bool) -> str:
            call = owner.get(id(item))
            if call is not None:
                return f"call{id(call)}"
            return value_id(item) if source else node_id(item)

        drawn = {id(n) for n in order}
        edges: list[tuple[str, str]] = []
        for node in order:
            for p in node.parents:
                if p is None or not (isinstance(p, Tensor) or id(p) in drawn):
                    continue
                inside = owner.get(id(p)) is not None and owner.get(id(p)) is owner.get(id(node))
                edge = (end(p, True), end(node, False))
                if not inside and edge not in edges:
                    edges.append(edge)
        for source, target in edges:
            dot.edge(source, target)

    def op_nodes_into(self, dot: Any, node: Function, root_of: dict[int, Tensor]) -> None:
        body: list = []
        self.op_nodes(body, node, root_of)
        for draw_item in body:
            draw_item(dot)


def node_id(obj: Any) -> str:
    """The name of the drawing's node for a leaf tensor or an operation (the ``<title>`` of
    its group in the SVG that Graphviz makes)."""
    return f"n{id(obj)}"


def value_id(obj: Any) -> str:
    """The drawn value an edge starts from: a leaf itself, or the value an operation made."""
    return node_id(obj) if isinstance(obj, Tensor) else f"v{id(obj)}"


def _escape(text: str) -> str:
    """Text safe inside a graphviz record label."""
    for ch in "{}|<>":
        text = text.replace(ch, "\\" + ch)
    return text
