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
from collections.abc import Sequence
from typing import Any

import numpy as np

from autonet.engine import versions
from autonet.engine.function import Function, Scattered, sum_to_shape
from autonet.engine.grad_mode import reset_grad_mode, set_grad_mode
from autonet.engine.hooks import hooks_of_leaf, leaf_hooks, run_grad_hooks, run_tensor_hooks
from autonet.engine.tensor import Tensor, wrap

ndarray = np.ndarray


def backward(
    tensors: Tensor | Sequence[Tensor],
    grad_tensors: Any = None,
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
            if leaf_hooks and hooks_of_leaf(key):
                g = _leaf_hooks(key, g, create_graph)
                owned.discard(key)
            _accumulate(key, g, key in owned, create_graph)


def grad(
    outputs: Tensor | Sequence[Tensor],
    inputs: Tensor | Sequence[Tensor],
    grad_outputs: Any = None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
    allow_unused: bool = False,
) -> tuple[Tensor | None, ...]:
    """The gradients of ``outputs`` with respect to ``inputs``, returned rather than
    accumulated (no ``.grad`` is touched). ``grad_outputs`` is the gradient with respect to
    each output (a tensor, or one per output); it may be left out for single-element outputs.

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
        if isinstance(key, Tensor) and leaf_hooks and hooks_of_leaf(key):
            g = _leaf_hooks(key, g, create_graph)
            owned.discard(key)
        if create_graph:
            result[i] = g if isinstance(g, Tensor) else wrap(np.asarray(g))
        else:
            result[i] = wrap(g if key in owned else np.array(g))
    return tuple(result)


def _root_gradients(
    op: str, tensors: list[Tensor], grads: Any, create_graph: bool
) -> list[tuple[Tensor, Any]]:
    if grads is None:
        grads = [None] * len(tensors)
    elif isinstance(grads, (Tensor, np.ndarray, float, int)):
        grads = [grads]  # one gradient for one output, as PyTorch accepts
    else:
        grads = list(grads)
    if len(grads) != len(tensors):
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
            g = wrap(g)
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
    # separate walk to count each node's uses. While only one node waits (along a chain of
    # operations, the commonest case) it is kept in ``following`` instead: the one next.
    heap = [(-k.seq, k) for k in grads if isinstance(k, Function)]
    heapq.heapify(heap)
    pop, push = heapq.heappop, heapq.heappush
    following = None
    captured: dict[Any, Any] = {}
    watched = wanted is not None
    last_change = versions.last_change
    mode = set_grad_mode(create_graph)  # records only to differentiate the pass itself
    try:
        while following is not None or heap:
            if following is None:
                node = pop(heap)[1]
            else:
                node, following = following, None
            g = grads.pop(node)
            hooks = node.hooks
            if hooks is not None or watched:  # hooks, or an.grad wants this node's gradient
                g = _before_backward(node, g, create_graph, wanted, captured)
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
                if node.computes:
                    node.recompute(*xs)  # what forward computed, as Tensors on the graph
                input_grads = node.backward(g, _saved(node, node.out), *xs)
            else:
                input_grads = node.backward(g, node.out, *inputs)
            if hooks is not None and hooks.post:
                input_grads = _post_hooks(node, input_grads, inputs, g, create_graph)
            if not retain_graph:
                node.inputs = node.out = None
                if node.computes:
                    for name in node.computes:
                        setattr(node, name, None)
            for p, gi, need, x in zip(node.parents, input_grads, node.needs_input_grad, inputs):
                if not need or gi is None:
                    continue
                if type(gi) is Scattered:  # zero but at an index: added in place
                    if _add_scattered(gi, p, x, grads, owned):
                        if following is not None:
                            push(heap, (-following.seq, following))
                            following = None
                        push(heap, (-p.seq, p))
                    continue
                if create_graph and not isinstance(gi, Tensor):
                    gi = wrap(np.asarray(gi))
                # x is None where the gradient has its input's shape and dtype already
                if x is not None and (gi.shape != x.shape or gi.dtype is not x.dtype):
                    gi = _fitted(gi, x)
                prev = grads.get(p)
                if prev is None:
                    grads[p] = gi
                    if isinstance(p, Function):  # its first gradient: queue it
                        if following is None and not heap:
                            following = p
                        else:
                            if following is not None:
                                push(heap, (-following.seq, following))
                                following = None
                            push(heap, (-p.seq, p))
                    elif (
                        gi is not g
                        and type(gi) is ndarray
                        and gi.base is None
                        and (
                            hooks is None or not hooks.post  # (else a hook saw it)
                        )
                    ):
                        owned.add(p)  # a leaf's fresh array that nobody else holds
                elif p in owned and not create_graph:
                    np.add(prev, gi, out=prev)
                else:
                    grads[p] = total = prev + gi
                    if type(total) is ndarray:
                        owned.add(p)
    finally:
        reset_grad_mode(mode)
    grads.update(captured)
    return grads, owned


def _add_scattered(gi: Scattered, p: Any, x: Any, grads: dict[Any, Any], owned: set[Any]) -> bool:
    """Add a gradient that is zero but at an index into ``p``'s: into the array this pass
    made for it (in place), or into a fresh one. True when it is ``p``'s first gradient and
    ``p`` a node to queue."""
    prev = grads.get(p)
    if prev is None:
        grads[p] = gi.dense(getattr(x, "dtype", None))
        owned.add(p)  # made here: later gradients may be added to it in place
        return isinstance(p, Function)
    if p not in owned or type(prev) is not np.ndarray:  # someone else may hold it: a copy
        grads[p] = prev = np.array(prev)
        owned.add(p)
    gi.add_into(prev)
    return False


def _fitted(g: Any, x: Any) -> Any:
    """The gradient ``g`` in the shape and dtype of the input ``x`` it is for: summed back over
    the axes broadcasting added (:func:`sum_to_shape`), converted back to x's dtype."""
    if g.shape != x.shape:
        g = sum_to_shape(g, x.shape)
    if g.dtype != x.dtype:
        g = g.astype(x.dtype)
    return g


def _check_unchanged(node: Function) -> None:
    """Refuse a node that saved an array whose memory was changed in place after the node
    was recorded (through that tensor, a view of it, or ``detach()``)."""
    for what, a in node.saved_arrays().items():
        if versions.changed_after(a, node.seq):
            raise RuntimeError(
                f"backward: {what} of {node!r} (shape {a.shape}) was changed in place after it "
                "was used (through it, a view of its memory, or detach()), so the gradient "
                "would be wrong; change it out of place, or only after backward"
            )


def _saved(parent: Any, x: Any) -> Any:
    """A saved array as a Tensor for a recorded backward: the leaf itself, or a tensor
    standing for the parent node's output (so gradients of the backward flow on into that
    node). Integer and bool arrays (indices, masks), stand-ins and constants stay as they
    are: no gradient flows through them."""
    if parent is None or x is None or x.dtype.kind != "f":
        return x
    if isinstance(parent, Tensor):
        return parent if parent.data is x else wrap(x)  # (x: a converted copy, a constant)
    return wrap(x, parent)


def _as_tensor(g: Any) -> Any:
    return g if g is None or isinstance(g, Tensor) else wrap(np.asarray(g))


def _as_array(g: Any, create_graph: bool) -> Any:
    """What a hook returned, as the pass carries it (arrays, or Tensors when recording)."""
    if g is None or create_graph:
        return g
    return g.data if isinstance(g, Tensor) else np.asarray(g)


def _before_backward(node: Function, g: Any, create_graph: bool, wanted: dict[Any, int] | None,
                     captured: dict[Any, Any]) -> Any:  # fmt: skip
    """What happens to a node's gradient before its backward runs, in PyTorch's order: the
    output tensor's hooks, then ``retain_grad``; ``an.grad`` takes it here when it asked for
    this node; then the node's pre-hooks (see autonet.engine.hooks)."""
    hooks = node.hooks
    if hooks is not None:
        if hooks.tensor:
            g = _as_array(run_tensor_hooks(hooks.tensor, _as_tensor(g)), create_graph)
        if hooks.retained is not None:
            t = hooks.retained()
            if t is not None:
                _accumulate(t, g, False, create_graph)
    if wanted is not None and node in wanted:
        captured[node] = g
    if hooks is not None and hooks.pre:
        (g,) = run_grad_hooks(hooks.pre, (_as_tensor(g),))
        g = _as_array(g, create_graph)
    return g


def _post_hooks(node: Function, grads: Any, inputs: Any, g: Any, create_graph: bool) -> Any:
    """A node's hooks after its backward: they see each input's gradient in its input's shape,
    and may replace them."""
    grads = [gi.dense(getattr(x, "dtype", None)) if type(gi) is Scattered else gi
             for gi, x in zip(grads, inputs)]  # fmt: skip
    fitted = [
        None if not need or gi is None else gi if x is None else _fitted(gi, x)
        for gi, x, need in zip(grads, inputs, node.needs_input_grad)
    ]  # (None for an input that needs no gradient, as in PyTorch)
    wrapped = tuple(_as_tensor(gi) for gi in fitted)
    changed = run_grad_hooks(node.hooks.post, wrapped, (_as_tensor(g),))
    return tuple(_as_array(gi, create_graph) for gi in changed)


def _leaf_hooks(leaf: Tensor, g: Any, create_graph: bool) -> Any:
    return _as_array(run_tensor_hooks(hooks_of_leaf(leaf), _as_tensor(g)), create_graph)


def _accumulate(t: Tensor, g: Any, owned: bool, create_graph: bool) -> None:
    """Add the gradient ``g`` into ``t.grad`` (a leaf's, or a retained one's)."""
    # (the slot itself: the engine's gradients have the tensor's shape and dtype already)
    total = t._grad
    if create_graph:
        g = g if isinstance(g, Tensor) else wrap(np.asarray(g))
        t._grad = g if total is None else total + g
    elif total is None:
        t._grad = wrap(g if owned and type(g) is ndarray else np.array(g))
    elif total._requires_grad:
        t._grad = wrap(total.data + g)
    else:
        versions.mark_changed(total.data)  # a graph may have used the gradient so far
        np.add(total.data, g, out=total.data)
