"""The backward pass: reverse-mode automatic differentiation over the recorded graph.

Every non-leaf tensor's ``grad_fn`` is a node; a node's ``parents`` are the nodes (or leaf
tensors) that produced its inputs. ``backward`` visits the nodes from the output back to the
leaves so that each node is handled once, after every node that uses its output:

1. start from the output with its gradient, in a priority queue ordered by when each node
   was recorded (its ``seq``), latest first. Whatever used a node's output was recorded
   after it, so a node leaves the queue only once every use has reported its gradient (a
   loop over a heap, no recursion: a chain of 100 000 operations is fine);
2. ask the node's ``backward`` for its inputs' gradients, sum each back to its input's shape,
   and add it to what that input has gathered so far; an input's first gradient queues it;
3. gradients reaching leaves are added into their ``.grad``.

Each node's gradient buffer is dropped as soon as the node is done, and the node's saved
arrays are released unless ``retain_graph=True``.
"""

from __future__ import annotations

import heapq
import weakref
from collections.abc import Sequence
from typing import Any

import numpy as np

from autonet.engine.function import Function, sum_to_shape
from autonet.engine.grad_mode import _State
from autonet.engine.tensor import Tensor, _make

ndarray = np.ndarray

# Non-leaf tensors whose gradient the user asked to keep (Tensor.retain_grad), by node.
_retained: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
# NOTE: a WeakKeyDictionary's len() runs Python code; until the first retain_grad() there is
# nothing to look up, which this flag says for the price of a global read.
_any_retained = False


def retain_grad_of(t: Tensor) -> None:
    global _any_retained
    _any_retained = True
    _retained[t.grad_fn] = weakref.ref(t)


def backward(
    tensors: Tensor | Sequence[Tensor],
    grad_tensors: Sequence[Any] | None = None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
) -> None:
    """Accumulate the gradients of ``tensors`` into the ``.grad`` of every leaf that requires
    grad (``Tensor.backward`` for several outputs at once).

    >>> import autonet as an
    >>> x = an.tensor([1.0, 2.0], requires_grad=True)
    >>> an.backward([x.sum(), (x * x).sum()])
    >>> x.grad
    tensor([3., 5.])
    """
    tensors = [tensors] if isinstance(tensors, Tensor) else list(tensors)
    roots = _root_gradients("backward", tensors, grad_tensors, create_graph)
    if retain_graph is None:
        retain_graph = create_graph
    grads, owned = _reverse_pass(roots, retain_graph, create_graph, None)
    for key, g in grads.items():
        if isinstance(key, Tensor) and key._requires_grad:
            _accumulate_into_leaf(key, g, key in owned, create_graph)


def grad(
    outputs: Tensor | Sequence[Tensor],
    inputs: Tensor | Sequence[Tensor],
    grad_outputs: Sequence[Any] | None = None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
    allow_unused: bool = False,
) -> tuple[Tensor | None, ...]:
    """The gradients of ``outputs`` with respect to ``inputs``, returned rather than
    accumulated (no ``.grad`` is touched).

    With ``create_graph=True`` the returned gradients are themselves recorded, so they can be
    differentiated again (Hessian-vector products, gradient penalties).

    >>> import autonet as an
    >>> x = an.tensor(3.0, requires_grad=True)
    >>> (dy,) = an.grad(x ** 3, x, create_graph=True)   # 3x² = 27
    >>> an.grad(dy, x)                                   # 6x = 18
    (tensor(18.),)
    """
    outputs = [outputs] if isinstance(outputs, Tensor) else list(outputs)
    inputs = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    wanted: dict[Any, int] = {}
    for i, t in enumerate(inputs):
        if not isinstance(t, Tensor) or not t._requires_grad:
            raise RuntimeError(f"grad: input {i} does not require grad")
        wanted[t.grad_fn if t.grad_fn is not None else t] = i
    roots = _root_gradients("grad", outputs, grad_outputs, create_graph)
    if retain_graph is None:
        retain_graph = create_graph
    grads, owned = _reverse_pass(roots, retain_graph, create_graph, wanted)
    result: list[Tensor | None] = [None] * len(inputs)
    for key, i in wanted.items():
        g = grads.get(key)
        if g is None:
            if not allow_unused:
                raise RuntimeError(
                    f"grad: input {i} (shape {inputs[i].shape}) was not used to compute the "
                    "outputs; pass allow_unused=True to get None for it"
                )
            continue
        if create_graph:
            result[i] = g if isinstance(g, Tensor) else _make(np.asarray(g), None)
        else:
            result[i] = _make(g if key in owned else np.array(g), None)
    return tuple(result)


def _root_gradients(
    op: str, tensors: list[Tensor], grads: Sequence[Any] | None, create_graph: bool
) -> list[tuple[Tensor, Any]]:
    if grads is None:
        grads = [None] * len(tensors)
    elif len(grads) != len(tensors):
        raise ValueError(f"{op}: {len(tensors)} outputs but {len(grads)} gradients")
    roots = []
    for t, g in zip(tensors, grads):
        if not isinstance(t, Tensor) or not t._requires_grad:
            raise RuntimeError(
                f"{op}: the output does not require grad (no input has requires_grad=True, or "
                "it was computed under no_grad)"
            )
        if g is None:
            if t.data.size != 1:
                raise RuntimeError(
                    f"{op}: a gradient can be created implicitly only for a single-element "
                    f"output, but the output has shape {t.shape}; reduce it first (e.g. "
                    "loss.sum()) or pass the gradient with respect to it"
                )
            g = np.ones(t.data.shape, t.data.dtype)
        elif isinstance(g, Tensor) and create_graph:
            pass  # may itself require grad (double backward through the gradient)
        else:
            g = np.asarray(g.data if isinstance(g, Tensor) else g, dtype=t.data.dtype)
        if g.shape != t.shape:
            raise ValueError(
                f"{op}: the gradient has shape {g.shape} but the output has shape {t.shape}"
            )
        if create_graph and not isinstance(g, Tensor):
            g = _make(g, None)
        roots.append((t, g))
    return roots


def _reverse_pass(
    roots: list[tuple[Tensor, Any]],
    retain_graph: bool,
    create_graph: bool,
    wanted: dict[Any, int] | None,
) -> tuple[dict[Any, Any], set[Any]]:
    """Propagate gradients from ``roots`` to the leaves.

    Returns the gradients gathered at leaves (and, when ``wanted`` is given, at the wanted
    non-leaf nodes), keyed by leaf tensor or node, and the set of keys whose buffers this pass
    allocated itself (those can be handed out without a copy).
    """
    grads: dict[Any, Any] = {}
    # keys whose buffer this pass allocated (a leaf's first gradient, or any sum of two), so
    # more gradients may be added to it in place
    owned: set[Any] = set()
    for t, g in roots:
        key = t.grad_fn if t.grad_fn is not None else t
        grads[key] = g if key not in grads else grads[key] + g
    # NOTE: nodes are visited from the most recently recorded down (largest ``seq`` first).
    # Whatever used a node's output was recorded after it, so by the time a node comes off
    # the heap every gradient meant for it has arrived: a topological order without a
    # separate walk to count each node's uses.
    heap = [(-k.seq, k) for k in grads if isinstance(k, Function)]
    heapq.heapify(heap)
    pop, push = heapq.heappop, heapq.heappush
    captured: dict[Any, Any] = {}

    retained = _retained if _any_retained and len(_retained) else None
    watched = wanted is not None or retained is not None
    last_change = _State.last_change
    saved_mode = _State.enabled
    _State.enabled = create_graph
    try:
        while heap:
            node = pop(heap)[1]
            g = grads.pop(node)
            if watched:
                if wanted is not None and node in wanted:
                    captured[node] = g
                if retained is not None:
                    _keep_retained(node, g)
            inputs = node.inputs
            if inputs is None:
                raise RuntimeError(
                    f"backward: trying to backpropagate a second time through {node!r}, whose "
                    "saved arrays the first backward released; pass retain_graph=True to the "
                    "first backward() if you need to go through the graph again"
                )
            if node.seq < last_change:
                _check_unchanged(node)  # something changed in place since it was recorded
            if create_graph:
                xs = [_saved(p, x) for p, x in zip(node.parents, inputs)]
                input_grads = node.backward(g, _make(node.out, node), *xs)
            else:
                input_grads = node.backward(g, node.out, *inputs)
            if not retain_graph:
                node.inputs = node.out = None
            for p, gi, need, x in zip(node.parents, input_grads, node.needs_input_grad, inputs):
                if not need or gi is None:
                    continue
                if create_graph and not isinstance(gi, Tensor):
                    gi = _make(np.asarray(gi), None)
                if x is not None:  # None: the gradient has its input's shape and dtype already
                    if gi.shape != x.shape:
                        gi = sum_to_shape(gi, x.shape)  # undo broadcasting
                    if gi.dtype is not x.dtype and gi.dtype != x.dtype:
                        gi = gi.astype(x.dtype)
                prev = grads.get(p)
                if prev is None:
                    grads[p] = gi
                    if isinstance(p, Function):
                        push(heap, (-p.seq, p))  # its first gradient: queue it
                    elif gi is not g and type(gi) is ndarray and gi.base is None:
                        owned.add(p)  # a leaf's fresh array that nobody else holds
                elif p in owned and not create_graph:
                    np.add(prev, gi, out=prev)
                else:
                    grads[p] = total = prev + gi
                    if type(total) is ndarray:
                        owned.add(p)
    finally:
        _State.enabled = saved_mode
    grads.update(captured)
    return grads, owned


def _check_unchanged(node: Function) -> None:
    """Refuse a node that saved a leaf's values which were changed in place after the node
    was recorded."""
    for i, (p, x) in enumerate(zip(node.parents, node.inputs)):
        if isinstance(p, Tensor) and x is p.data and p._changed_at > node.seq:
            raise RuntimeError(
                f"backward: input {i} of {node!r} (shape {p.shape}) was changed in place after "
                "it was used, so its gradient would be wrong; change it out of place, or only "
                "after backward"
            )


def _saved(parent: Any, x: Any) -> Any:
    """An input as a Tensor for a recorded backward: the leaf itself, or a tensor standing for
    the parent node's output (so gradients of the backward flow on into that node)."""
    if parent is None or x is None:
        return x
    if isinstance(parent, Tensor):
        return parent
    return _make(x, parent)


def _accumulate_into_leaf(leaf: Tensor, g: Any, owned: bool, create_graph: bool) -> None:
    if create_graph:
        g = g if isinstance(g, Tensor) else _make(np.asarray(g), None)
        leaf.grad = g if leaf.grad is None else leaf.grad + g
    elif leaf.grad is None:
        leaf.grad = _make(g if owned and type(g) is ndarray else np.array(g), None)
    elif leaf.grad._requires_grad:
        leaf.grad = _make(leaf.grad.data + g, None)
    else:
        np.add(leaf.grad.data, g, out=leaf.grad.data)


def _keep_retained(node: Function, g: Any) -> None:
    ref = _retained.get(node)
    t = ref() if ref is not None else None
    if t is not None:
        _accumulate_into_leaf(t, g, False, isinstance(g, Tensor))
