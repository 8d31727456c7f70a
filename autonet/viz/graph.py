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
from autonet.viz.trace import Summary, module_calls, name_of, record_of, trace

__all__ = ["draw_graph", "render"]

INSTALL_DOT = (
    "Graphviz's 'dot' program is needed to render drawings: install it with "
    "'apt-get install graphviz' (Debian, Ubuntu), 'brew install graphviz' (macOS) or "
    "'conda install graphviz'. The DOT text is still available as graph.source."
)

# Arrays with more elements than this are shown as statistics (min, mean, max, norm).
INLINE_ELEMENTS = 6
# What max_nodes="auto" draws at most, of operations and of leaves: Graphviz lays out a
# drawing of this size in a second or two; a larger one takes minutes and cannot be read.
AUTO_MAX_NODES = 1000
# Names a trace gives to leaves that are data, not learned: drawn in the inputs' colour.
LEAF_ROLES = ("input", "target")

# The looks: one style per kind of node.
STYLES = {
    "op": {"shape": "ellipse", "style": "filled", "fillcolor": "#fde2b0", "fontsize": "11"},
    "value": {"shape": "record", "style": "filled", "fillcolor": "#f4f4f4", "fontsize": "10"},
    "input": {"shape": "record", "style": "filled", "fillcolor": "#d5e8d4", "fontsize": "10"},
    "param": {"shape": "record", "style": "filled", "fillcolor": "#cfe2f3", "fontsize": "10"},
    "buffer": {"shape": "record", "style": "filled", "fillcolor": "#e8e8f4", "fontsize": "10"},
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
    max_nodes: int | str | None = "auto",
    collapse: bool = False,
    step: int | None = None,
    depth: int | None = None,
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
    - ``depth=N``: module calls nested deeper than N (the model's own call is at depth 0) are
      drawn as one box each: the module, its parameter count and output shape (and, when
      traced, statistics of its value and gradient); consecutive calls of alike modules, each
      taking the previous one's output, fold into one box marked ``×n``.
    - ``max_nodes``: draw at most this many operations, nearest the roots first, and at most
      this many of their leaves, and say how many were left out. ``"auto"`` (the default)
      stands for 1000 (``AUTO_MAX_NODES``), which Graphviz draws in a second or two;
      ``None`` draws everything.
    - Values with more than a few elements are shown as shape and statistics (``"auto"``);
      leaves a trace named are labelled ``input``, ``target``, or by their parameter or
      buffer name.

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
    if not (max_nodes is None or max_nodes == "auto" or _is_count(max_nodes)):
        raise ValueError(
            f"draw_graph: max_nodes must be an int >= 0, None or 'auto', got {max_nodes!r}"
        )
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
    given = _parameter_names(params, model)
    names = {**traced, **given}
    drawer = _Drawer(graphviz, names, model, show_data, show_grad, show_shapes, collapse, depth)
    drawer.step = step
    drawer.param_ids = set(given)
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
                   ("num_embeddings", "embedding_dim"), ("num_features",),
                   ("input_size", "hidden_size"), ("embed_dim", "num_heads")):  # fmt: skip
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
    """One traced call (of a module, or a named composite operation such as ``mse_loss``):
    its output node, where its inputs came from, the drawn items inside it (operations,
    and a module's own parameters), and its place among the others."""

    def __init__(self, module: Any, name: str, output: Function, edges: tuple[Any, ...]) -> None:
        self.module = module  # None for a composite operation
        self.name = name
        self.output = output
        self.stops = {id(e) for e in edges}
        self.members: set[int] = set()
        self.parent: _Call | None = None
        self.children: list[_Call] = []
        self.level = 0  # how many calls it sits in
        self.label = name

    def parameters(self) -> list[Tensor]:
        return list(self.module.parameters()) if self.module is not None else []

    def signature(self) -> tuple[Any, ...]:
        """What makes two calls look alike (for folding repeats): the kind and the shapes."""
        kind = type(self.module).__name__ if self.module is not None else self.name
        return (kind, describe_module(self.module) if self.module is not None else "",
                tuple(p.shape for p in self.parameters()))  # fmt: skip


class _Drawer:
    def __init__(self, graphviz: Any, names: dict[int, str], model: Any, show_data: Any,
                 show_grad: bool, show_shapes: bool, collapse: bool,
                 depth: int | None = None) -> None:  # fmt: skip
        self.graphviz = graphviz
        self.names = names
        self.module_names = {id(m): n for n, m in model.named_modules()} if model else {}
        self.show_data = show_data
        self.show_grad = show_grad
        self.show_shapes = show_shapes
        self.collapse = collapse
        self.depth = depth
        self.param_ids: set[int] = set()  # tensors named as parameters (not buffers)
        self.values: dict[int, np.ndarray] = {}  # node id -> the value it produced
        self.step: int | None = None  # draw the backward pass as it stands after this step
        self.ready: dict[int, int] = {}  # id(leaf or node) -> the step completing its gradient
        self.reached: list[Function] = []  # every operation the walk met, drawn or not

    # -- walking -----------------------------------------------------------------------------
    def walk(self, roots: Iterable[Tensor], max_nodes: int | None
             ) -> tuple[list, list, int, int]:  # fmt: skip
        """The operation nodes (nearest the roots first, at most ``max_nodes``), the leaves
        they take (the first ``max_nodes`` reached), and how many of each were left out."""
        self.reached, leaves = reachable(roots)  # every operation (values are made from them)
        order = self.reached if max_nodes is None else self.reached[:max_nodes]
        skipped = len(self.reached) - len(order)
        if skipped:
            taken = {id(p) for n in order for p in n.parents}  # NOTE: a set keeps this linear
            leaves = [t for t in leaves if id(t) in taken]
        skipped_leaves = 0
        if max_nodes is not None and len(leaves) > max_nodes:
            skipped_leaves = len(leaves) - max_nodes
            leaves = leaves[:max_nodes]
        return order, leaves, skipped, skipped_leaves

    def calls(self, order: list[Function]) -> list[_Call]:
        """The traced calls among the drawn nodes, with their members and nesting."""
        found = [
            _Call(call.module, call.name, node, call.inputs)
            for node in order
            for call in module_calls(node)
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
            for p in call.parameters():
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
            outer = call.parent
            while outer is not None:
                call.level += 1
                outer = outer.parent
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
        if show is False:
            return ""
        if show == "auto" and a.size > INLINE_ELEMENTS:  # shape and statistics, not the array
            return Summary.of(a, 0).stats_text() if a.size and a.dtype.kind in "fiub" else ""
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
        name = name_of(t, self.names)
        if isinstance(t, Parameter) or (name is not None and name not in LEAF_ROLES):
            kind = "param" if isinstance(t, Parameter) or id(t) in self.param_ids else "buffer"
        else:
            kind = "input"  # an input, a target, or a tensor the drawing cannot name
        title = name if name is not None else ("parameter" if kind == "param" else "input")
        grad = t.grad
        if self.step is not None and self.ready.get(id(t), self.step + 1) > self.step:
            grad = None  # its gradient is not complete yet at this step
        label = self.record(title, t.data, grad, t.shape, t.dtype)
        dot.node(node_id(t), label, **STYLES[kind])

    def value_label(self, node: Function, roots: dict[int, Tensor]) -> str:
        noted = record_of(node)
        if noted is not None:  # a trace kept its value and the gradient that reached it
            value, grad = noted.value, noted.grad
            if self.step is not None and self.ready.get(id(node), -1) > self.step:
                grad = None  # not complete yet at this step
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
    def draw(self, dot: Any, roots: tuple[Tensor, ...], max_nodes: int | str | None) -> None:
        cap = AUTO_MAX_NODES if max_nodes == "auto" else max_nodes
        order, leaves, skipped, skipped_leaves = self.walk(roots, cap)
        if self.step is not None:
            self.ready = gradient_ready(self.reached)
        self.values = self.output_values(order)
        root_of = {id(r.grad_fn): r for r in roots if isinstance(r, Tensor) and r.grad_fn}
        calls = self.calls(order)
        self.label_calls(calls)
        boxes = self.boxes(calls)
        leader = self.fold(boxes)  # id(box) -> the box it is drawn in (itself, or its fold)
        box_of: dict[int, _Call] = {}  # id(item) -> the box it is drawn inside
        for box in sorted(boxes, key=lambda c: -len(c.members)):  # (inner boxes win)
            for member in box.members:
                box_of[member] = leader[id(box)]
        # the calls drawn as clusters: those above the boxes (none with collapse=True)
        open_calls = [c for c in calls if self.depth is None or c.level < self.depth]
        if self.collapse and self.depth is None:
            open_calls = []  # one flat drawing of boxes and operations
        owner: dict[int, _Call] = {}  # id(item) -> the smallest open call it is drawn in
        for call in sorted(open_calls, key=lambda c: -len(c.members)):
            for member in call.members:
                owner[member] = call

        bodies: dict[int, list] = {}  # id(call) -> what is drawn inside it (None: outside all)
        for node in order:
            if id(node) not in box_of:
                self.op_nodes(bodies.setdefault(id(owner.get(id(node))), []), node, root_of)
        for t in leaves:
            if id(t) not in box_of:
                bodies.setdefault(id(owner.get(id(t))), []).append(
                    lambda g, t=t: self.leaf_node(g, t)
                )
        shown = {id(b): b for b in leader.values()}
        for box in shown.values():
            bodies.setdefault(id(owner.get(id(box.output))), []).append(
                lambda g, box=box: self.box_node(g, box, leader)
            )
        for draw_item in bodies.get(id(None), []):
            draw_item(dot)
        opened = {id(c) for c in open_calls}
        for call in open_calls:
            if call.parent is None or id(call.parent) not in opened:
                self.cluster(dot, call, bodies, open_calls)

        drawn = {id(n) for n in order} | {id(t) for t in leaves} | box_of.keys()

        def source(item: Any) -> str:
            box = box_of.get(id(item))
            return f"call{id(box)}" if box is not None else value_id(item)

        edges: dict[tuple[str, str], dict[str, str]] = {}  # (a dict: each edge once, in order)
        for node in order:
            target = f"call{id(box_of[id(node)])}" if id(node) in box_of else node_id(node)
            for i, p in enumerate(node.parents):
                if p is None:
                    if id(node) not in box_of:
                        self.constant(dot, node, i)
                    continue
                if id(p) not in drawn:  # an operation or a leaf left out
                    tail, attrs = "autonet_note", {"style": "dotted"}
                else:
                    tail, attrs = source(p), {}
                if tail != target:
                    edges.setdefault((tail, target), attrs)
        for (tail, head), attrs in edges.items():
            dot.edge(tail, head, **attrs)
        if skipped or skipped_leaves:
            left_out = [f"{n} more {what}" for n, what in
                        ((skipped, "operations"), (skipped_leaves, "leaves")) if n]  # fmt: skip
            how = f"max_nodes={cap}" + (
                " by default; max_nodes=None draws them all" if max_nodes == "auto" else ""
            )
            note = _escape(f"{' and '.join(left_out)} not drawn ({how})")
            dot.node("autonet_note", note, **STYLES["note"])

    def boxes(self, calls: list[_Call]) -> list[_Call]:
        """The calls drawn as one node each: those at ``depth`` (with ``depth=N``), or the
        innermost module calls (with ``collapse=True``)."""
        if self.depth is not None:
            return [c for c in calls if c.level == self.depth]
        if self.collapse:
            return [c for c in calls if not c.children]
        return []

    def fold(self, boxes: list[_Call]) -> dict[int, _Call]:
        """Each box's leader: itself, or the first of a run of alike boxes in which each one
        takes only the previous one's output, or of a run of calls of one module in which each
        takes the previous one's output beside inputs of its own (a recurrent cell at every
        time step); a run is drawn as one box marked ``×n``."""
        leader: dict[int, _Call] = {}
        self.repeats: dict[int, list[_Call]] = {}
        by_output = {id(b.output): b for b in boxes}
        for box in sorted(boxes, key=lambda b: b.output.seq):
            previous = [by_output[s] for s in box.stops if s in by_output]
            again = [p for p in previous if box.module is not None and p.module is box.module]
            if len(again) == 1 and again[0].parent is box.parent:
                previous = again  # the same module again: a recurrence
            elif not (len(box.stops) == 1 and len(previous) == 1
                      and previous[0].signature() == box.signature()
                      and previous[0].parent is box.parent):  # fmt: skip
                previous = []
            if previous:
                first = leader[id(previous[0])]
                leader[id(box)] = first
                self.repeats[id(first)].append(box)
            else:
                leader[id(box)] = box
                self.repeats[id(box)] = [box]
        return leader

    def box_node(self, dot: Any, box: _Call, leader: dict[int, _Call]) -> None:
        """One box for a call (or a run of alike calls): what it is, its output's shape,
        its parameter count and, when traced, statistics of its value and gradient."""
        run = self.repeats.get(id(box), [box])
        last = run[-1]
        # (each parameter once: the calls of a recurrence share theirs)
        count = sum(p.size for p in {id(p): p for call in run for p in call.parameters()}.values())
        lines = [box.label + (f" ×{len(run)}" if len(run) > 1 else "")]
        noted = record_of(last.output)
        out = noted.value if noted is not None else self.values.get(id(last.output))
        if out is not None:
            lines.append(f"→ {tuple(out.shape)}")
        if count:
            lines.append(f"{count:,} parameters")
        if noted is not None and self.show_data is not False:
            lines.append(f"value {self.array_text(noted.value)}")
            if self.show_grad and noted.grad is not None:
                grad = noted.grad
                if self.step is None or self.ready.get(id(last.output), -1) <= self.step:
                    lines.append(f"grad {self.array_text(grad)}")
        dot.node(f"call{id(box)}", _escape("\n".join(lines)), **STYLES["module"])

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
            if call.module is None:  # a composite operation: its name (mse_loss)
                continue
            name = self.module_names.get(id(call.module)) or call.name
            if name:
                name = name.rsplit(".", 1)[-1]
            elif call.parent is not None:
                name = next((k for k, m in call.parent.module._modules.items()
                             if m is call.module), None)  # fmt: skip
            text = describe_module(call.module)
            call.label = f"{name}: {text}" if name else text

    def cluster(self, dot: Any, call: _Call, bodies: dict[int, Any], open_calls: list) -> None:
        with dot.subgraph(name=f"cluster_{id(call)}") as sub:
            sub.attr(label=_escape(call.label), style="rounded,dashed", color="#7e6a9e",
                     fontcolor="#4b3b6b")  # fmt: skip
            for draw_item in bodies.get(id(call), []):
                draw_item(sub)
            for child in call.children:
                if any(child is c for c in open_calls):
                    self.cluster(sub, child, bodies, open_calls)


def reachable(roots: Iterable[Any]) -> tuple[list[Function], list[Tensor]]:
    """The operations behind ``roots`` (tensors or nodes), nearest the roots first (a walk
    breadth first, each once), and the leaf tensors they reach."""
    order: list[Function] = []
    leaves: list[Tensor] = []
    seen: set[int] = set()
    queue = [r.grad_fn if isinstance(r, Tensor) and r.grad_fn is not None else r for r in roots]
    i = 0
    while i < len(queue):
        item = queue[i]
        i += 1
        if id(item) in seen:
            continue
        seen.add(id(item))
        if isinstance(item, Tensor):
            leaves.append(item)
        else:
            order.append(item)
            queue.extend(p for p in item.parents if p is not None)
    return order, leaves


def gradient_ready(nodes: Iterable[Function]) -> dict[int, int]:
    """For each value a traced backward pass reached (by the id of its node, or of the leaf),
    the step after which its gradient is complete: the last of ``tr.steps`` that sends it a
    share. (The loss's own gradient is there from the start: it has none.)"""
    ready: dict[int, int] = {}
    for node in nodes:
        noted = record_of(node)
        if noted is None or noted.step is None:
            continue
        for p in node.parents:
            if p is not None:
                ready[id(p)] = max(ready.get(id(p), -1), noted.step)
    return ready


def node_id(obj: Any) -> str:
    """The name of the drawing's node for a leaf tensor or an operation (the ``<title>`` of
    its group in the SVG that Graphviz makes)."""
    return f"n{id(obj)}"


def value_id(obj: Any) -> str:
    """The drawn value an edge starts from: a leaf itself, or the value an operation made."""
    return node_id(obj) if isinstance(obj, Tensor) else f"v{id(obj)}"


def _escape(text: str) -> str:
    r"""Text safe inside a graphviz record label.

    NOTE: backslashes first: Graphviz reads ``\n``, ``\l`` and ``\r`` in a label as line
    breaks and ``\{`` as a brace, so a name such as ``C:\new`` or ``p\{q`` must keep its
    backslashes as text.

    >>> print(_escape(r"C:\new\{run}"))
    C:\\new\\\{run\}
    """
    text = text.replace("\\", "\\\\")
    for ch in "{}|<>":
        text = text.replace(ch, "\\" + ch)
    return text


def _is_count(n: Any) -> bool:
    return isinstance(n, int) and not isinstance(n, bool) and n >= 0
