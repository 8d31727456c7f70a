"""The exporter: record a run, then write each recorded primitive as ONNX operators.

How a run is recorded: the engine calls a watcher for every node it records
(:func:`~autonet.engine.function.watch_recording`) and module hooks note which module call is
open (:mod:`autonet.nn.hooks`), the same public mechanisms ``an.viz.trace`` uses. The inputs
are given to the model as leaves that require grad, so that every operation on them is
recorded; what is not recorded is a constant (a parameter, a buffer, a mask made with NumPy).

Dynamic axes: the model runs a second time with each dynamic axis of another size. A
dimension that differs between the two runs depends on that axis, and is written in terms of
the input's size there (``Shape``), so the file runs at any size along it: reshapes use
``0``/``-1`` or a computed shape, constants that repeat along the axis are expanded to it. The
two runs must record the same operations; the rest of the graph (sequence lengths, image
sizes) is fixed at the example's sizes.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from autonet.engine.function import Function, watch_recording
from autonet.engine.grad_mode import enable_grad
from autonet.engine.tensor import Tensor
from autonet.engine.versions import owner
from autonet.nn.hooks import register_module_forward_hook, register_module_forward_pre_hook
from autonet.nn.module import Module, modes_kept

__all__ = ["MAPPED", "ExportError", "export"]

INT64_MAX = np.iinfo(np.int64).max


class ExportError(ValueError):
    """A model the exporter cannot write faithfully, with the reason (an unmapped primitive,
    a value that depends on a dynamic axis in a way it cannot express...)."""


def _onnx() -> Any:
    try:
        import onnx
    except ImportError as e:  # pragma: no cover - the message is what matters
        raise ImportError("an.onnx.export needs onnx: pip install 'autonet[onnx]'") from e
    return onnx


def export(
    model: Module | Callable[..., Any],
    example_inputs: Any,
    path: str | Path | None,
    *,
    input_names: Sequence[str] | None = None,
    output_names: Sequence[str] | None = None,
    dynamic_axes: Mapping[str, Mapping[int, str] | Sequence[int]] | None = None,
    opset: int = 17,
) -> Any:
    """Export ``model`` (a Module, or a function of tensors) to an ONNX file at ``path``.

    ``example_inputs``: a tensor or a tuple of arguments (tensors become the graph's inputs,
    named by ``input_names``: ``input`` for one, else ``input0``, ``input1``, ...; other
    arguments, such as ``is_causal=True`` flags, are passed as they are). The outputs (nested
    tuples of tensors are flattened) are named by ``output_names``. ``dynamic_axes`` as in
    PyTorch: ``{"input": {0: "batch"}}`` lets the input's axis 0 take any size; an output
    axis that follows it is named alike (``{"output": {0: "batch"}}`` may say so, and is
    checked).

    A module is exported in evaluation mode (dropout off, batch norm's running statistics),
    then put back in its mode. The model is checked with ``onnx.checker`` (with shape
    inference) and saved to ``path`` (unless ``path`` is None); the ``onnx.ModelProto`` is
    returned. A primitive with no ONNX mapping (see :data:`MAPPED`) is an
    :class:`ExportError` naming it.

    Needs ``onnx`` (``pip install "autonet[onnx]"``); tests/test_onnx.py runs examples.

    >>> import autonet as an
    >>> model = an.nn.MLP(4, [8], 3)
    >>> proto = an.onnx.export(model, an.randn(2, 4), "mlp.onnx",
    ...                        dynamic_axes={"input": {0: "batch"}})   # doctest: +SKIP
    >>> [n.op_type for n in proto.graph.node]                          # doctest: +SKIP
    ['Gemm', 'Relu', 'Gemm']
    """
    onnx = _onnx()
    if opset < 17:
        raise ValueError(f"an.onnx.export: opset must be 17 or newer, got {opset}")
    args = example_inputs if isinstance(example_inputs, tuple) else (example_inputs,)
    tensor_at = [i for i, a in enumerate(args) if isinstance(a, (Tensor, np.ndarray))]
    names = list(input_names) if input_names is not None else (
        ["input"] if len(tensor_at) == 1 else [f"input{i}" for i in range(len(tensor_at))]
    )  # fmt: skip
    if len(names) != len(tensor_at):
        raise ValueError(
            f"an.onnx.export: {len(names)} input names for {len(tensor_at)} tensor inputs"
        )
    arrays = [np.asarray(args[i].data if isinstance(args[i], Tensor) else args[i])
              for i in tensor_at]  # fmt: skip
    symbols = _symbols(dynamic_axes or {}, names, arrays)
    first = _record(model, args, tensor_at, arrays)
    second = None
    if symbols:
        resized = [_resized(a, names[k], symbols) for k, a in enumerate(arrays)]
        second = _record(model, args, tensor_at, resized)
        _check_same_operations(first, second)
    out_names = list(output_names) if output_names is not None else (
        ["output"] if len(first.outputs) == 1 else
        [f"output{i}" for i in range(len(first.outputs))]
    )  # fmt: skip
    if len(out_names) != len(first.outputs):
        raise ValueError(
            f"an.onnx.export: {len(out_names)} output names for {len(first.outputs)} outputs"
        )
    builder = _Builder(onnx, opset, first, second, names, symbols, model)
    proto = builder.build(out_names, dynamic_axes or {})
    onnx.checker.check_model(proto, full_check=True)
    if path is not None:
        onnx.save(proto, str(path))
    return proto


# ---- dynamic axes ----------------------------------------------------------------------------


@dataclass
class _Symbol:
    """A named dynamic size: where it is (inputs and axes; read from the first) and its size
    in each run."""

    name: str
    places: list[tuple[str, int]]
    sizes: tuple[int, int]


def _symbols(dynamic_axes: Mapping[str, Any], names: list[str],
             arrays: list[np.ndarray]) -> list[_Symbol]:  # fmt: skip
    symbols: dict[str, _Symbol] = {}
    for key, axes in dynamic_axes.items():
        if key not in names:
            continue  # an output's axes follow from the inputs' (checked when it is written)
        array = arrays[names.index(key)]
        axes = dict(axes) if isinstance(axes, Mapping) else {a: f"{key}_dim{a}" for a in axes}
        for axis, name in axes.items():
            axis = axis % array.ndim
            size = array.shape[axis]
            if size < 2:
                raise ValueError(
                    f"an.onnx.export: the example {key!r} has size {size} along dynamic axis "
                    f"{axis}; give at least 2 (a size of 1 broadcasts, and hides the axis)"
                )
            if name in symbols:
                if symbols[name].sizes[0] != size:
                    raise ValueError(f"an.onnx.export: dynamic axis {name!r} has two sizes")
                symbols[name].places.append((key, axis))
                continue
            # the second run's size: distinct for each symbol, so that each is recognized
            symbols[name] = _Symbol(name, [(key, axis)], (size, size + 1 + 2 * len(symbols)))
    return list(symbols.values())


def _resized(array: np.ndarray, name: str, symbols: list[_Symbol]) -> np.ndarray:
    """The example input with each dynamic axis at its second size (its rows repeated)."""
    for s in symbols:
        for key, axis in s.places:
            if key == name:
                array = np.take(array, np.arange(s.sizes[1]) % array.shape[axis], axis=axis)
    return array


# ---- recording a run -------------------------------------------------------------------------


@dataclass
class _Run:
    """What one run recorded: the nodes in order, the module call each ran in, the shape and
    dtype of each node's output, the graph's input leaves and the outputs."""

    nodes: list[Function] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)
    shapes: dict[int, tuple[tuple[int, ...], np.dtype]] = field(default_factory=dict)
    inputs: list[Tensor] = field(default_factory=list)
    outputs: list[Tensor] = field(default_factory=list)


def _record(model: Any, args: tuple[Any, ...], tensor_at: list[int],
            arrays: list[np.ndarray]) -> _Run:  # fmt: skip
    run = _Run()
    call = list(args)
    for i, array in zip(tensor_at, arrays):
        leaf = Tensor(array, dtype=array.dtype)
        if array.dtype.kind == "f":
            leaf.requires_grad_()  # so that every operation on it is recorded
        run.inputs.append(leaf)
        call[i] = leaf
    names = {id(m): n for n, m in model.named_modules()} if isinstance(model, Module) else {}
    open_calls: list[str] = []
    thread = threading.get_ident()

    def before(module: Any, inputs: Any) -> None:
        if threading.get_ident() == thread:
            open_calls.append(names.get(id(module), open_calls[-1] if open_calls else ""))

    def after(module: Any, inputs: Any, output: Any) -> None:
        if threading.get_ident() == thread and open_calls:
            open_calls.pop()

    def recorded(node: Function, out: Tensor) -> None:
        if threading.get_ident() == thread:
            run.nodes.append(node)
            run.paths.append(open_calls[-1] if open_calls else "")
            run.shapes[id(node)] = (out.data.shape, out.data.dtype)

    handles = [watch_recording(recorded), register_module_forward_pre_hook(before),
               register_module_forward_hook(after)]  # fmt: skip
    try:
        with modes_kept(model), enable_grad():
            if isinstance(model, Module):
                model.eval()
            result = model(*call)
    finally:
        for handle in handles:
            handle.remove()
    run.outputs = _flat(result)
    return run


def _flat(value: Any) -> list[Tensor]:
    if isinstance(value, Tensor):
        return [value]
    if isinstance(value, (tuple, list)):
        return [t for v in value for t in _flat(v)]
    if value is None:
        return []
    raise ExportError(f"an.onnx.export: the model returned a {type(value).__name__}, not tensors")


def _check_same_operations(a: _Run, b: _Run) -> None:
    ops_a = [n.name for n in a.nodes]
    ops_b = [n.name for n in b.nodes]
    if ops_a != ops_b or len(a.outputs) != len(b.outputs):
        where = next((i for i, (x, y) in enumerate(zip(ops_a, ops_b)) if x != y),
                     min(len(ops_a), len(ops_b)))  # fmt: skip
        raise ExportError(
            "an.onnx.export: the model records other operations when a dynamic axis changes "
            f"size (operation {where}: {ops_a[where : where + 1]} and {ops_b[where : where + 1]}); "
            "its control flow depends on that size, so that axis cannot be dynamic"
        )


# ---- building the graph ----------------------------------------------------------------------

Dim = Any  # an int (static), a _Symbol, or None (dynamic, but no symbol's size)


class _Builder:
    """Writes one recorded run as an ONNX graph."""

    def __init__(self, onnx: Any, opset: int, run: _Run, other: _Run | None,
                 input_names: list[str], symbols: list[_Symbol], model: Any) -> None:  # fmt: skip
        self.onnx = onnx
        self.helper = onnx.helper
        self.opset = opset
        self.run = run
        self.other = other
        self.input_names = input_names
        self.symbols = symbols
        self.nodes: list[Any] = []
        self.initializers: list[Any] = []
        self.names: dict[int, str] = {}  # id(node or leaf tensor) -> value name
        self.taken: set[str] = set()
        self.prefix = ""
        self.symbol_sizes: dict[str, str] = {}
        # parameters and buffers by the memory they live in, for their names
        self.state: dict[int, str] = {}
        if isinstance(model, Module):
            for name, t in [*model.named_parameters(), *model.named_buffers()]:
                self.state.setdefault(id(t), name)
                self.state.setdefault(id(owner(t.data)), name)
        self.uses: dict[int, int] = {}
        for node in run.nodes:
            for p in node.parents:
                if isinstance(p, Function):
                    self.uses[id(p)] = self.uses.get(id(p), 0) + 1
        for t in run.outputs:
            if t.grad_fn is not None:
                self.uses[id(t.grad_fn)] = self.uses.get(id(t.grad_fn), 0) + 1

    # ---- names, constants, nodes -----------------------------------------------------------
    def unique(self, name: str) -> str:
        candidate, k = name, 1
        while candidate in self.taken:
            candidate, k = f"{name}_{k}", k + 1
        self.taken.add(candidate)
        return candidate

    def add(self, op: str, inputs: list[str], n_out: int = 1, out: str | None = None,
            **attrs: Any) -> str:  # fmt: skip
        """Add a node (named after the open module call) and return its output's name."""
        prefix = f"/{self.prefix}" if self.prefix else ""
        name = self.unique(f"{prefix}/{op}")
        output = out if out is not None else self.unique(f"{name}_output")
        self.nodes.append(self.helper.make_node(op, inputs, [output], name=name, **attrs))
        return output

    def const(self, value: Any, dtype: Any = None, name: str | None = None) -> str:
        array = np.asarray(value, dtype=dtype)
        prefix = f"/{self.prefix}" if self.prefix else ""
        name = self.unique(name or f"{prefix}/Constant")
        self.initializers.append(self.onnx.numpy_helper.from_array(array, name))
        return name

    def ints(self, values: Sequence[int]) -> str:
        return self.const(np.array(list(values), np.int64))

    # ---- shapes in terms of the dynamic axes ----------------------------------------------
    def dims(self, shape_a: tuple[int, ...], shape_b: tuple[int, ...] | None) -> list[Dim]:
        """Each dimension: static (an int), a dynamic axis's size (a _Symbol), or None."""
        if shape_b is None:
            return list(shape_a)
        if len(shape_a) != len(shape_b):
            raise ExportError(f"an.onnx.export: a value of shape {shape_a} changes rank")
        dims: list[Dim] = []
        for a, b in zip(shape_a, shape_b):
            if a == b:
                dims.append(a)
            else:
                dims.append(next((s for s in self.symbols if s.sizes == (a, b)), None))
        return dims

    def symbol_size(self, s: _Symbol) -> str:
        """A 1-element int64 tensor: the size of ``s`` (read from its input)."""
        if s.name not in self.symbol_sizes:
            saved, self.prefix = self.prefix, ""
            name, axis = s.places[0]
            self.symbol_sizes[s.name] = self.add("Shape", [name], start=axis, end=axis + 1)
            self.prefix = saved
        return self.symbol_sizes[s.name]

    def shape_tensor(self, dims: list[Dim], what: str, unknown: int | None = None) -> str:
        """A 1-D int64 tensor of ``dims``; a dimension without symbol is ``unknown`` (-1 for
        a reshape, which infers it), else an error."""
        if all(isinstance(d, int) for d in dims):
            return self.ints(dims)
        pieces: list[str] = []
        static: list[int] = []
        for d in dims:
            if isinstance(d, int) or (d is None and unknown is not None):
                static.append(d if isinstance(d, int) else unknown)
                continue
            if d is None:
                raise ExportError(
                    f"an.onnx.export: {what} has a size that changes with a dynamic axis but "
                    "is none of their sizes; that axis cannot be dynamic here"
                )
            if static:
                pieces.append(self.ints(static))
                static = []
            pieces.append(self.symbol_size(d))
        if static:
            pieces.append(self.ints(static))
        return pieces[0] if len(pieces) == 1 else self.add("Concat", pieces, axis=0)

    # ---- values ----------------------------------------------------------------------------
    def value(self, k: int, i: int) -> str:
        """The name of input ``i`` of node ``k``: an earlier node's output, a graph input, an
        initializer (a parameter or buffer, under its name), or a constant."""
        node = self.run.nodes[k]
        parent = node.parents[i]
        if isinstance(parent, Function):
            return self.names[id(parent)]
        other = self.other.nodes[k] if self.other is not None else None
        if isinstance(parent, Tensor):
            if id(parent) in self.names:
                return self.names[id(parent)]
            data = parent.data
            data_b = other.parents[i].data if other is not None else None
            name = self.state.get(id(parent)) or self.state.get(id(owner(data)))
        else:  # a constant kept as it is: a number or an array
            data = _constant(node.inputs[i], self.out_dtype(k))
            data_b = _constant(other.inputs[i], self.out_dtype(k)) if other is not None else None
            name = None
        value = self.leaf(data, data_b, name)
        if isinstance(parent, Tensor):
            self.names[id(parent)] = value
        return value

    def leaf(self, data: np.ndarray, data_b: np.ndarray | None, name: str | None) -> str:
        """A constant, expanded along the dynamic axes it repeats along."""
        dims = self.dims(data.shape, None if data_b is None else data_b.shape)
        if (
            data_b is not None
            and data.shape == data_b.shape
            and not np.array_equal(data, data_b, equal_nan=data.dtype.kind == "f")
        ):
            raise ExportError(
                f"an.onnx.export: a constant of shape {data.shape} changes with the inputs: it "
                "was computed from them outside recorded operations (with NumPy, under no_grad, "
                "or through detach()), so the file would hold the example's values"
            )
        dynamic = [a for a, d in enumerate(dims) if not isinstance(d, int)]
        if not dynamic:
            if name is not None and name not in self.taken:
                self.taken.add(name)
                self.initializers.append(self.onnx.numpy_helper.from_array(np.asarray(data), name))
                return name
            return self.const(data, name=name)
        first = data[tuple(slice(0, 1) if a in dynamic else slice(None) for a in range(data.ndim))]
        if not np.array_equal(np.broadcast_to(first, data.shape), data):
            raise ExportError(
                f"an.onnx.export: a constant of shape {data.shape} (made outside recorded "
                "operations) depends on a dynamic axis and differs along it; make it from the "
                "inputs with tensor operations so that it is recorded"
            )
        shape = self.shape_tensor(dims, f"a constant of shape {data.shape}")
        return self.add("Expand", [self.const(first, name=name), shape])

    # ---- the graph -------------------------------------------------------------------------
    def build(self, output_names: list[str], dynamic_axes: Mapping[str, Any]) -> Any:
        helper = self.helper
        inputs = []
        for name, leaf in zip(self.input_names, self.run.inputs):
            self.names[id(leaf)] = name
            self.taken.add(name)
            inputs.append(self.value_info(name, leaf.data.shape, None, leaf.data.dtype,
                                          self.input_dims(name, leaf.data.ndim)))  # fmt: skip
        self.taken.update(output_names)
        final: dict[int, str] = {}
        for t, name in zip(self.run.outputs, output_names):
            if t.grad_fn is not None and id(t.grad_fn) not in final:
                final[id(t.grad_fn)] = name
        needed = self.needed()
        for k, node in enumerate(self.run.nodes):
            if id(node) not in needed:
                continue  # (nothing the outputs depend on; or an unfold a MaxPool replaces)
            self.prefix = self.run.paths[k]
            emit = _EMITTERS.get(node.name)
            if emit is None:
                raise ExportError(
                    f"an.onnx.export: the primitive {node.name!r} ({type(node).__name__}, "
                    f"recorded in {repr(self.prefix) if self.prefix else 'the model'}) has no "
                    f"ONNX mapping; mapped: {', '.join(MAPPED)}"
                )
            out = emit(self, k, node)
            if out is None:
                continue
            if id(node) in final:  # a graph output: its value takes the output's name
                name = final.pop(id(node))
                made = self.nodes[-1] if self.nodes else None
                if made is not None and list(made.output) == [out]:
                    made.output[0] = name
                    out = name
                else:
                    self.prefix = ""
                    out = self.add("Identity", [out], out=name)
            self.names[id(node)] = out
        outputs = []
        other_outputs = self.other.outputs if self.other is not None else [None] * len(output_names)
        for t, t_b, name in zip(self.run.outputs, other_outputs, output_names):
            source = self.names.get(id(t.grad_fn)) if t.grad_fn is not None else None
            if source is None:  # an input or a constant returned as it is
                source = self.names.get(id(t)) or self.leaf(
                    t.data, None if t_b is None else t_b.data, None
                )
            if source != name:
                self.prefix = ""
                self.add("Identity", [source], out=name)
            dims = self.dims(t.data.shape, None if t_b is None else t_b.data.shape)
            outputs.append(self.value_info(name, t.data.shape, dims, t.data.dtype,
                                           dynamic_axes.get(name)))  # fmt: skip
        graph = helper.make_graph(self.nodes, "autonet", inputs, outputs, self.initializers)
        return helper.make_model(
            graph, opset_imports=[helper.make_opsetid("", self.opset)],
            producer_name="autonet", producer_version=_version(),
        )  # fmt: skip

    def needed(self) -> set[int]:
        """The nodes the outputs depend on, but for unfolds whose only use becomes a
        MaxPool (see :func:`_pooled`)."""
        fused = {id(node.parents[0]) for k, node in enumerate(self.run.nodes)
                 if _pools(self, k, node)}  # fmt: skip
        needed: set[int] = set()
        stack = [t.grad_fn for t in self.run.outputs if t.grad_fn is not None]
        while stack:
            node = stack.pop()
            if id(node) in needed:
                continue
            needed.add(id(node))
            if id(node) in fused:
                node = node.parents[0]  # what the MaxPool reads instead
                if not isinstance(node, Function):
                    continue
            stack.extend(p for p in node.parents if isinstance(p, Function))
        return needed - fused

    def input_dims(self, name: str, ndim: int) -> dict[int, str]:
        return {axis: s.name for s in self.symbols for key, axis in s.places if key == name}

    def value_info(self, name: str, shape: tuple[int, ...], dims: list[Dim] | None, dtype: Any,
                   names: Any) -> Any:  # fmt: skip
        given = dict(names) if isinstance(names, Mapping) else {}
        shown: list[Any] = []
        for axis, n in enumerate(shape):
            d = dims[axis] if dims is not None else n
            if isinstance(names, Mapping) and dims is None and axis in given:
                shown.append(given[axis])
            elif isinstance(d, _Symbol):
                shown.append(given.get(axis, d.name))
            elif d is None:
                shown.append(given.get(axis, f"{name}_dim{axis}"))
            else:
                if axis in given:
                    raise ExportError(
                        f"an.onnx.export: dynamic_axes makes axis {axis} of {name!r} dynamic, but "
                        "it does not change with the inputs' dynamic axes"
                    )
                shown.append(int(d))
        elem = self.helper.np_dtype_to_tensor_dtype(np.dtype(dtype))
        return self.helper.make_tensor_value_info(name, elem, shown)

    # ---- shapes of a node's input and output ------------------------------------------------
    def out_dims(self, k: int) -> list[Dim]:
        node = self.run.nodes[k]
        shape_b = self.other.shapes[id(self.other.nodes[k])][0] if self.other else None
        return self.dims(self.run.shapes[id(node)][0], shape_b)

    def out_shape(self, k: int) -> tuple[int, ...]:
        return self.run.shapes[id(self.run.nodes[k])][0]

    def out_dtype(self, k: int) -> np.dtype:
        return self.run.shapes[id(self.run.nodes[k])][1]

    def in_shape(self, k: int, i: int, run: _Run | None = None) -> tuple[int, ...]:
        run = run or self.run
        node = run.nodes[k]
        p = node.parents[i]
        if isinstance(p, Function):
            return run.shapes[id(p)][0]
        if isinstance(p, Tensor):
            return p.data.shape
        return np.shape(node.inputs[i])

    def in_dims(self, k: int, i: int) -> list[Dim]:
        shape_b = self.in_shape(k, i, self.other) if self.other else None
        return self.dims(self.in_shape(k, i), shape_b)


def _constant(x: Any, dtype: np.dtype) -> np.ndarray:
    """A constant input as an array: a Python number takes the output's floating dtype (it
    never upcasts a tensor); an array is already what the primitive computed with."""
    if isinstance(x, np.ndarray):
        return x
    if isinstance(x, (int, float)) and not isinstance(x, bool) and dtype.kind == "f":
        return np.asarray(x, dtype=dtype)
    return np.asarray(x)


def _version() -> str:
    from autonet import __version__

    return __version__


# ---- the primitives, one emitter each ---------------------------------------------------------

Emitter = Callable[[_Builder, int, Function], "str | None"]
_EMITTERS: dict[str, Emitter] = {}


def _emits(*names: str) -> Callable[[Emitter], Emitter]:
    def register(fn: Emitter) -> Emitter:
        for name in names:
            _EMITTERS[name] = fn
        return fn

    return register


_SAME = {"add": "Add", "sub": "Sub", "mul": "Mul", "div": "Div", "neg": "Neg", "exp": "Exp",
         "log": "Log", "sqrt": "Sqrt", "abs": "Abs", "sin": "Sin", "cos": "Cos", "tanh": "Tanh",
         "sigmoid": "Sigmoid", "relu": "Relu", "erf": "Erf", "matmul": "MatMul",
         "maximum": "Max", "minimum": "Min", "where": "Where", "power": "Pow",
         "clone": "Identity"}  # fmt: skip


@_emits(*_SAME)
def _elementwise(b: _Builder, k: int, node: Function) -> str:
    ins = [b.value(k, i) for i in range(len(node.parents))]
    return b.add(_SAME[node.name], ins)


@_emits("pow")
def _pow(b: _Builder, k: int, node: Function) -> str:
    x = b.value(k, 0)
    if node.exponent == 2:
        return b.add("Mul", [x, x])
    return b.add("Pow", [x, b.const(node.exponent, b.out_dtype(k))])


@_emits("astype")
def _cast(b: _Builder, k: int, node: Function) -> str:
    to = b.helper.np_dtype_to_tensor_dtype(np.dtype(node.dtype))
    return b.add("Cast", [b.value(k, 0)], to=to)


@_emits("leaky_relu")
def _leaky_relu(b: _Builder, k: int, node: Function) -> str:
    return b.add("LeakyRelu", [b.value(k, 0)], alpha=float(node.negative_slope))


@_emits("elu")
def _elu(b: _Builder, k: int, node: Function) -> str:
    return b.add("Elu", [b.value(k, 0)], alpha=float(node.alpha))


@_emits("softplus")
def _softplus(b: _Builder, k: int, node: Function) -> str:
    x = b.value(k, 0)
    if node.beta == 1:
        return b.add("Softplus", [x])
    beta = b.const(node.beta, b.out_dtype(k))
    return b.add("Div", [b.add("Softplus", [b.add("Mul", [x, beta])]), beta])


@_emits("gelu")
def _gelu(b: _Builder, k: int, node: Function) -> str:
    """GELU from its formula (ONNX's Gelu operator came with opset 20)."""
    x, dtype = b.value(k, 0), b.out_dtype(k)
    if b.opset >= 20:
        return b.add("Gelu", [x], approximate=node.approximate)
    if node.approximate == "tanh":
        cube = b.add("Mul", [b.add("Mul", [x, x]), x])
        inner = b.add("Add", [x, b.add("Mul", [cube, b.const(0.044715, dtype)])])
        t = b.add("Tanh", [b.add("Mul", [inner, b.const(np.sqrt(2 / np.pi), dtype)])])
    else:
        t = b.add("Erf", [b.add("Mul", [x, b.const(np.sqrt(0.5), dtype)])])
    half_x = b.add("Mul", [x, b.const(0.5, dtype)])
    return b.add("Mul", [half_x, b.add("Add", [t, b.const(1.0, dtype)])])


@_emits("clip")
def _clip(b: _Builder, k: int, node: Function) -> str:
    dtype = b.out_dtype(k)
    lo = "" if node.min is None else b.const(node.min, dtype)
    hi = "" if node.max is None else b.const(node.max, dtype)
    return b.add("Clip", [b.value(k, 0), lo, hi])


@_emits("linear")
def _linear(b: _Builder, k: int, node: Function) -> str:
    x, w = b.value(k, 0), b.value(k, 1)
    bias = b.value(k, 2) if len(node.parents) > 2 else None
    if len(b.in_shape(k, 0)) == 2:
        return b.add("Gemm", [x, w] + ([bias] if bias else []), transB=1)
    y = b.add("MatMul", [x, b.add("Transpose", [w], perm=[1, 0])])
    return b.add("Add", [y, bias]) if bias else y


def _reduce(b: _Builder, op: str, x: str, axes: Any, keepdims: bool) -> str:
    keep = int(bool(keepdims))
    if axes is None:
        return b.add(op, [x], keepdims=keep)
    axes = [int(a) for a in axes]
    if op == "ReduceSum" or b.opset >= 18:
        return b.add(op, [x, b.ints(axes)], keepdims=keep)
    return b.add(op, [x], axes=axes, keepdims=keep)


_REDUCE = {"sum": "ReduceSum", "mean": "ReduceMean", "max": "ReduceMax", "min": "ReduceMin",
           "prod": "ReduceProd", "logsumexp": "ReduceLogSumExp"}  # fmt: skip


@_emits(*_REDUCE)
def _reduction(b: _Builder, k: int, node: Function) -> str:
    pooled = _pooled(b, k, node)
    if pooled is not None:
        return pooled
    return _reduce(b, _REDUCE[node.name], b.value(k, 0), node.axis, node.keepdims)


@_emits("norm")
def _norm(b: _Builder, k: int, node: Function) -> str:
    ops = {1: "ReduceL1", 2: "ReduceL2", None: "ReduceL2"}
    if node.ord not in ops:
        raise ExportError(f"an.onnx.export: norm with ord={node.ord!r} has no ONNX mapping")
    return _reduce(b, ops[node.ord], b.value(k, 0), node.axis, node.keepdims)


@_emits("softmax", "log_softmax")
def _softmax(b: _Builder, k: int, node: Function) -> str:
    op = "Softmax" if node.name == "softmax" else "LogSoftmax"
    return b.add(op, [b.value(k, 0)], axis=int(node.axis))


@_emits("reshape")
def _reshape(b: _Builder, k: int, node: Function) -> str:
    dims = b.out_dims(k)
    moving = [d for d in dims if not isinstance(d, int)]
    if len(moving) == 1:  # one size that changes: -1, inferred from the others
        shape = b.ints([d if isinstance(d, int) else -1 for d in dims])
    else:
        unknown = -1 if sum(d is None for d in dims) == 1 else None
        shape = b.shape_tensor(dims, f"reshape to {b.out_shape(k)}", unknown)
    return b.add("Reshape", [b.value(k, 0), shape])


@_emits("transpose")
def _transpose(b: _Builder, k: int, node: Function) -> str:
    rank = len(b.in_shape(k, 0))
    perm = list(node.axes) if node.axes is not None else list(reversed(range(rank)))
    return b.add("Transpose", [b.value(k, 0)], perm=[int(a) % rank for a in perm])


@_emits("expand")
def _expand(b: _Builder, k: int, node: Function) -> str:
    target, source = b.out_dims(k), b.in_dims(k, 0)
    lead = len(target) - len(source)
    # NOTE: ONNX's Expand broadcasts like NumPy, so a 1 keeps the input's own size there
    dims = [1 if a >= lead and source[a - lead] == d and not isinstance(d, int) else d
            for a, d in enumerate(target)]  # fmt: skip
    return b.add("Expand", [b.value(k, 0), b.shape_tensor(dims, f"expand to {b.out_shape(k)}")])


@_emits("concatenate")
def _concatenate(b: _Builder, k: int, node: Function) -> str:
    ins = [b.value(k, i) for i in range(len(node.parents))]
    return b.add("Concat", ins, axis=int(node.axis))


@_emits("stack")
def _stack(b: _Builder, k: int, node: Function) -> str:
    axis = int(node.axis) % len(b.out_shape(k))
    axes = b.ints([axis])
    ins = [b.add("Unsqueeze", [b.value(k, i), axes]) for i in range(len(node.parents))]
    return b.add("Concat", ins, axis=axis)


@_emits("pad")
def _pad(b: _Builder, k: int, node: Function) -> str:
    pads = [int(p[0]) for p in node.pad_width] + [int(p[1]) for p in node.pad_width]
    value = b.const(node.value, b.out_dtype(k))
    return b.add("Pad", [b.value(k, 0), b.ints(pads), value], mode="constant")


@_emits("cumsum")
def _cumsum(b: _Builder, k: int, node: Function) -> str:
    axis = b.const(np.int64(node.axis))
    return b.add("CumSum", [b.value(k, 0), axis], reverse=int(bool(node.reverse)))


@_emits("einsum")
def _einsum(b: _Builder, k: int, node: Function) -> str:
    ins = [b.value(k, i) for i in range(len(node.parents))]
    return b.add("Einsum", ins, equation=f"{','.join(node.terms)}->{node.output}")


@_emits("getitem")
def _getitem(b: _Builder, k: int, node: Function) -> str:
    """Indexing: slices, integers, None and Ellipsis (Slice, Gather, Unsqueeze), and one
    integer array (Gather); an input given as integer indices (an Embedding's) stays an
    input of the graph."""
    x = b.value(k, 0)
    shape = b.in_shape(k, 0)
    dims = b.in_dims(k, 0)
    index = _as_tuple(node.index)
    other = _as_tuple(b.other.nodes[k].index) if b.other is not None else index
    index, other = _expand_ellipsis(index, len(shape)), _expand_ellipsis(other, len(shape))
    arrays = [p for p in index if isinstance(p, np.ndarray)]
    if arrays and (len(arrays) > 1 or arrays[0].dtype == np.bool_):
        raise ExportError(
            "an.onnx.export: getitem with a boolean mask or several index arrays has no ONNX "
            "mapping (slices, integers, None and one integer array do)"
        )
    starts, ends, axes, steps, squeeze, gathers = [], [], [], [], [], []
    axis = 0
    for part, part_b in zip(index, other):
        if part is None:
            continue
        if isinstance(part, slice):
            bounds = _slice_bounds(part, part_b, shape[axis], dims[axis])
            if bounds is not None:
                starts.append(bounds[0])
                ends.append(bounds[1])
                axes.append(axis)
                steps.append(bounds[2])
        elif isinstance(part, np.ndarray):
            gathers.append((axis, part, part_b))
        else:  # an integer: a slice of one, then the axis goes
            i = int(part)
            if part != part_b:
                raise ExportError("an.onnx.export: getitem at an index that moves with the inputs")
            starts.append(i)
            ends.append(i + 1 if i != -1 else INT64_MAX)
            axes.append(axis)
            steps.append(1)
            squeeze.append(axis)
        axis += 1
    y = x
    if axes:
        y = b.add("Slice", [y, b.ints(starts), b.ints(ends), b.ints(axes), b.ints(steps)])
    for at, array, array_b in gathers:  # (one at most; it takes its axis's place, as NumPy's)
        y = b.add("Gather", [y, _index_value(b, array, array_b)], axis=at)
        squeeze = [a if a < at else a + array.ndim - 1 for a in squeeze]
    if squeeze:
        y = b.add("Squeeze", [y, b.ints(squeeze)])
    # None adds an axis of 1: where, counting in the output
    new_axes, out_axis = [], 0
    for part in index:
        if part is None:
            new_axes.append(out_axis)
            out_axis += 1
        elif isinstance(part, slice):
            out_axis += 1
        elif isinstance(part, np.ndarray):
            out_axis += part.ndim
    if new_axes:
        y = b.add("Unsqueeze", [y, b.ints(new_axes)])
    return y


def _index_value(b: _Builder, array: np.ndarray, array_b: Any) -> str:
    """An index array: a graph input when it is one (the indices an Embedding was given),
    else a constant (which must not change with the inputs)."""
    for name, leaf in zip(b.input_names, b.run.inputs):
        same = leaf.data is array or (leaf.data.shape == array.shape and
                                      np.shares_memory(leaf.data, array))  # fmt: skip
        if same and leaf.data.dtype.kind in "iu":
            return name
    if b.other is not None and not (
        isinstance(array_b, np.ndarray) and np.array_equal(array, array_b)
    ):
        raise ExportError(
            f"an.onnx.export: an index array of shape {array.shape} changes with the inputs "
            "but is not one of them (it was computed from them outside recorded operations)"
        )
    return b.const(array.astype(np.int64))


def _as_tuple(index: Any) -> tuple[Any, ...]:
    return index if isinstance(index, tuple) else (index,)


def _expand_ellipsis(index: tuple[Any, ...], ndim: int) -> tuple[Any, ...]:
    if not any(p is Ellipsis for p in index):
        return index
    at = next(i for i, p in enumerate(index) if p is Ellipsis)
    used = sum(1 for p in index if p is not None and p is not Ellipsis)
    used += sum(p.ndim - 1 for p in index if isinstance(p, np.ndarray) and p.dtype == np.bool_)
    return index[:at] + (slice(None),) * (ndim - used) + index[at + 1 :]


def _slice_bounds(part: slice, part_b: slice, size: int, dim: Dim) -> tuple[int, int, int] | None:
    """ONNX Slice bounds (start, end, step) of a slice, or None when it takes everything."""
    step = 1 if part.step is None else int(part.step)
    if (part.start, part.stop, part.step) != (part_b.start, part_b.stop, part_b.step):
        if isinstance(dim, int) or part.indices(size) != (0, size, 1):
            raise ExportError("an.onnx.export: a slice that moves with a dynamic axis")
        return None
    if part.indices(size) == (0, size, 1) and (step > 0):
        return None
    if step > 0:
        start = 0 if part.start is None else int(part.start)
        end = INT64_MAX if part.stop is None else int(part.stop)
    else:
        start = -1 if part.start is None else int(part.start)
        end = -INT64_MAX if part.stop is None else int(part.stop)
    return start, end, step


# ---- sliding windows: unfold, and pooling over its windows ----------------------------------


@_emits("unfold")
def _unfold(b: _Builder, k: int, node: Function) -> str:
    """The windows (..., OH, OW, kH, kW), one Slice per kernel offset, joined."""
    (kh, kw), (sh, sw), (dh, dw) = node.kernel_size, node.stride, node.dilation
    shape = b.out_shape(k)
    oh, ow = shape[-4], shape[-3]
    x = b.value(k, 0)
    axes, last = b.ints([-2, -1]), b.ints([-1])
    pieces = []
    for i in range(kh):
        for j in range(kw):
            starts = [i * dh, j * dw]
            ends = [i * dh + sh * (oh - 1) + 1, j * dw + sw * (ow - 1) + 1]
            piece = b.add("Slice", [x, b.ints(starts), b.ints(ends), axes, b.ints([sh, sw])])
            pieces.append(b.add("Unsqueeze", [piece, last]))
    joined = pieces[0] if len(pieces) == 1 else b.add("Concat", pieces, axis=-1)
    rank = len(shape) - 2
    return b.add("Reshape", [joined, b.ints([0] * (rank - 2) + [oh, ow, kh, kw])])


def _pools(b: _Builder, k: int, node: Function) -> bool:
    """Whether node ``k`` is a max over the windows of an unfold of a 4-D input that nothing
    else uses: a MaxPool."""
    parent = node.parents[0] if node.parents else None
    if node.name != "max" or not isinstance(parent, Function) or parent.name != "unfold":
        return False
    rank = len(b.in_shape(k, 0))
    if rank != 6 or node.keepdims or node.axis is None:
        return False
    return sorted(a % rank for a in node.axis) == [4, 5] and b.uses.get(id(parent)) == 1


def _pooled(b: _Builder, k: int, node: Function) -> str | None:
    """A MaxPool in place of a max over an unfold's windows (see :func:`_pools`)."""
    if not _pools(b, k, node):
        return None
    parent = node.parents[0]
    j = next(i for i in range(k) if b.run.nodes[i] is parent)
    source = b.value(j, 0)
    return b.add("MaxPool", [source], kernel_shape=list(parent.kernel_size),
                 strides=list(parent.stride), dilations=list(parent.dilation))  # fmt: skip


def _window_pieces(b: _Builder, k: int, node: Function) -> list[str]:
    """x[..., i·d₁::s₁, j·d₂::s₂] cut to the output's size, for each kernel offset (i, j)."""
    (kh, kw), (sh, sw), (dh, dw) = node.kernel_size, node.stride, node.dilation
    oh, ow = b.out_shape(k)[-2:]
    x, axes, steps = b.value(k, 0), b.ints([-2, -1]), b.ints([sh, sw])
    return [b.add("Slice", [x, b.ints([i * dh, j * dw]),
                            b.ints([i * dh + sh * (oh - 1) + 1, j * dw + sw * (ow - 1) + 1]),
                            axes, steps])
            for i in range(kh) for j in range(kw)]  # fmt: skip


@_emits("window_max")
def _window_max(b: _Builder, k: int, node: Function) -> str:
    """Max pooling: one MaxPool on (N, C, H, W) inputs, else the max of the window slices."""
    if len(b.in_shape(k, 0)) == 4:
        return b.add("MaxPool", [b.value(k, 0)], kernel_shape=list(node.kernel_size),
                     strides=list(node.stride), dilations=list(node.dilation))  # fmt: skip
    pieces = _window_pieces(b, k, node)
    return pieces[0] if len(pieces) == 1 else b.add("Max", pieces)


@_emits("window_sum")
def _window_sum(b: _Builder, k: int, node: Function) -> str:
    """The (weighted) sum of every window: the sum of the window slices, each times its
    weights when there are some."""
    pieces = _window_pieces(b, k, node)
    if len(node.parents) > 1:
        weights = node.inputs[1] if node.parents[1] is None else node.parents[1].data
        kw = node.kernel_size[1]
        pieces = [b.add("Mul", [p, b.const(weights[n // kw, n % kw])])
                  for n, p in enumerate(pieces)]  # fmt: skip
    return pieces[0] if len(pieces) == 1 else b.add("Sum", pieces)


@_emits("conv2d")
def _conv2d(b: _Builder, k: int, node: Function) -> str:
    x, w = b.value(k, 0), b.value(k, 1)
    (top, bottom), (left, right) = node.padding
    kernel = list(b.in_shape(k, 1)[-2:])
    return b.add("Conv", [x, w], kernel_shape=kernel, strides=list(node.stride),
                 pads=[top, left, bottom, right], dilations=list(node.dilation),
                 group=int(node.groups))  # fmt: skip


MAPPED: tuple[str, ...] = tuple(sorted(_EMITTERS))
"""The names of the primitives an ONNX export can write."""
