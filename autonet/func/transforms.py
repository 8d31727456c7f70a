"""Function transforms over the engine: ``vjp``, ``jvp``, ``jacobian``, ``hessian``, ``hvp``,
``grad`` and ``value_and_grad``, with the meaning they have in ``torch.func`` and JAX.

Each transform calls ``f`` on fresh tensors standing for its inputs and asks the engine for
vector-Jacobian products (``an.grad``). Transforms compose: a transform called inside another
one's ``f`` records its backward pass (``create_graph=True``), so the outer one can
differentiate it: ``hessian(f) = jacobian(grad(f))``, ``grad(grad(f))`` is a second
derivative. A result stays differentiable (for ``backward()`` or another transform) when an
input requires grad or ``f`` uses tensors that do (a model's parameters); otherwise it is a
plain tensor.

Forward mode (``jvp``, ``jacobian(mode="fwd")``) is the double-VJP identity, not a separate
forward pass: the VJP u ↦ Jᵀu is linear in u, so J v = ∂⟨Jᵀu, v⟩/∂u. It costs two backward
passes (one recorded), and needs no forward-mode rule for any primitive.
"""

from __future__ import annotations

import contextlib
import functools
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np

from autonet.engine.autograd import grad as engine_grad
from autonet.engine.grad_mode import enable_grad, grad_enabled
from autonet.engine.ops import clone, reshape, stack
from autonet.engine.tensor import Tensor, as_tensor, wrap

__all__ = ["grad", "hessian", "hvp", "jacobian", "jvp", "value_and_grad", "vjp"]

Argnums = int | tuple[int, ...]


# ---- the machinery ---------------------------------------------------------------------------

_depth = threading.local()  # how many transforms are calling their f in this thread


@contextlib.contextmanager
def _calling_f() -> Iterator[None]:
    """While a transform calls ``f``: grad mode on, and transforms inside ``f`` record."""
    _depth.n = getattr(_depth, "n", 0) + 1
    try:
        with enable_grad():
            yield
    finally:
        _depth.n -= 1


def _inside_a_transform() -> bool:
    return getattr(_depth, "n", 0) > 0


def _stand_ins(op: str, primals: Sequence[Any], argnums: Sequence[int]) -> list[Any]:
    """The arguments to call ``f`` with: each differentiated one a fresh tensor that requires
    grad. A primal that itself requires grad (with recording on) gets a recorded copy, so
    that the results stay connected to it."""
    args = list(primals)
    for i in argnums:
        if not -len(args) <= i < len(args):
            raise ValueError(f"{op}: argnums {i} is out of range for {len(args)} arguments")
        x = args[i]
        x = wrap(x) if isinstance(x, np.ndarray) else as_tensor(x)
        if x.dtype.kind != "f":
            raise TypeError(f"{op}: argument {i} must be floating to differentiate, not {x.dtype}")
        if x.requires_grad and grad_enabled():
            args[i] = clone(x)
        else:
            args[i] = wrap(x.data)
            args[i].requires_grad = True
    return args


def _caller() -> tuple[bool, bool]:
    """What a transform notes before it calls ``f``: whether grad mode is on, and whether it
    runs inside another transform's ``f``."""
    return grad_enabled(), _inside_a_transform()


def _records(
    outputs: Sequence[Any], stand_ins: Sequence[Tensor], caller: tuple[bool, bool]
) -> bool:
    """Whether results must stay differentiable: the caller had recording on, and someone
    may differentiate them (an enclosing transform, a primal that requires grad, or a tensor
    ``f`` used that requires grad: its graph reaches a leaf other than the stand-ins)."""
    enabled, nested = caller
    if not enabled:
        return False
    if nested or any(t.grad_fn is not None for t in stand_ins):
        return True
    mine = {id(t) for t in stand_ins}
    seen: set[int] = set()
    todo = [o.grad_fn for o in outputs if isinstance(o, Tensor) and o.grad_fn is not None]
    while todo:  # (a loop over the graph, no recursion)
        node = todo.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        for p in node.parents:
            if isinstance(p, Tensor):
                if p.requires_grad and id(p) not in mine:
                    return True
            elif p is not None:
                todo.append(p)
    return False


def _outputs(op: str, out: Any) -> tuple[list[Tensor], bool]:
    """``f``'s result as a list of tensors, and whether it was a single tensor."""
    single = not isinstance(out, (tuple, list))
    outs = [out] if single else list(out)
    for k, o in enumerate(outs):
        if not isinstance(o, Tensor):
            raise TypeError(f"{op}: f must return tensors, but output {k} is {type(o).__name__}")
    return outs, single


def _zeros(t: Tensor) -> Tensor:
    return wrap(np.zeros_like(t.data))


def _vjp(outs: Sequence[Tensor], wrt: Sequence[Tensor], cotangents: Sequence[Any],
         record: bool) -> list[Tensor]:  # fmt: skip
    """Σₖ cotangentₖ · ∂outₖ/∂w for each w in ``wrt`` (zeros where no output depends on w)."""
    live = [(o, c) for o, c in zip(outs, cotangents) if o.requires_grad]
    if not live:
        return [_zeros(w) for w in wrt]
    grads = engine_grad([o for o, _ in live], list(wrt), [c for _, c in live],
                        retain_graph=True, create_graph=record, allow_unused=True)  # fmt: skip
    return [_zeros(w) if g is None else g for w, g in zip(wrt, grads)]


def _inner(op: str, what: str, gs: Sequence[Tensor], vs: Sequence[Any],
           primals: Sequence[Tensor]) -> Tensor | None:  # fmt: skip
    """Σᵢ ⟨gᵢ, vᵢ⟩ over the gradients that depend on what is differentiated (None if none
    does), each vᵢ of its primal's shape: a vector of another shape would broadcast into a
    wrong answer, so it is an error."""
    terms = []
    for i, (g, v, p) in enumerate(zip(gs, vs, primals)):
        v = as_tensor(v)
        if v.shape != p.shape:
            raise ValueError(
                f"{op}: {what} {i} has shape {v.shape}, but its argument has shape {p.shape}"
            )
        if g.requires_grad:
            terms.append((g * v).sum())
    return sum(terms[1:], terms[0]) if terms else None


def _result(t: Any, record: bool) -> Any:
    """A result as the caller gets it: connected to the graph, or a plain tensor."""
    if isinstance(t, Tensor):
        return t if record else t.detach()
    if isinstance(t, (tuple, list)):
        return type(t)(_result(v, record) for v in t)
    return t


def _scalar(op: str, value: Any) -> Tensor:
    if not isinstance(value, Tensor) or value.size != 1:
        shape = value.shape if isinstance(value, Tensor) else type(value).__name__
        raise ValueError(f"{op}: f must return a tensor with one element, got {shape}")
    return value


def _numbers(argnums: Argnums) -> tuple[int, ...]:
    return (argnums,) if isinstance(argnums, int) else tuple(argnums)


def _primals(x: Any) -> tuple[Any, ...]:
    """``x`` as ``f``'s positional arguments: a tuple is several, anything else one."""
    return x if isinstance(x, tuple) else (x,)


# ---- the transforms --------------------------------------------------------------------------


def vjp(f: Callable[..., Any], *primals: Any, has_aux: bool = False) -> tuple[Any, ...]:
    """``(output, vjp_fn)``: ``f(*primals)`` and the function that takes a cotangent u (shaped
    like the output; a tuple for a tuple of outputs) and returns uᵀJ, one gradient per primal.
    With ``has_aux``, ``f`` returns ``(output, aux)`` and vjp returns ``(output, vjp_fn, aux)``.

    >>> import autonet as an
    >>> y, vjp_fn = an.func.vjp(lambda x: x ** 2, an.tensor([1.0, 3.0]))
    >>> vjp_fn(an.tensor([1.0, 10.0]))           # uᵀJ = u · 2x
    (tensor([ 2., 60.]),)
    """
    caller = _caller()
    args = _stand_ins("vjp", primals, range(len(primals)))
    with _calling_f():
        result = f(*args)
    out, aux = result if has_aux else (result, None)
    outs, single = _outputs("vjp", out)
    record = _records(outs, args, caller)

    def vjp_fn(cotangent: Any) -> tuple[Tensor, ...]:
        cotangents = [cotangent] if single else list(cotangent)
        if len(cotangents) != len(outs):
            raise ValueError(f"vjp: {len(outs)} outputs but {len(cotangents)} cotangents")
        with enable_grad():
            return tuple(_vjp(outs, args, cotangents, record))

    head = (_result(out, record), vjp_fn)
    return head + (_result(aux, record),) if has_aux else head


def jvp(f: Callable[..., Any], primals: Any, tangents: Any) -> tuple[Any, Any]:
    """``(output, J v)``: ``f(*primals)`` and its directional derivative along the
    ``tangents`` v (one per primal; a tensor alone stands for one primal).

    NOTE: this is not a separate forward-mode pass: it is the double-VJP identity built on
    ``create_graph``. u ↦ Jᵀu is linear in u, so J v = ∂⟨Jᵀu, v⟩/∂u: one recorded backward
    pass with a placeholder u, then one backward pass through it.

    >>> import autonet as an
    >>> x = an.tensor([1.0, 2.0])
    >>> an.func.jvp(lambda x: x.sin() * x, (x,), (an.tensor([1.0, 0.0]),))
    (tensor([0.8415, 1.8186]), tensor([1.3818, 0.    ]))
    """
    primals, tangents = _primals(primals), _primals(tangents)
    if len(primals) != len(tangents):
        raise ValueError(f"jvp: {len(primals)} primals but {len(tangents)} tangents")
    caller = _caller()
    args = _stand_ins("jvp", primals, range(len(primals)))
    with _calling_f():
        out = f(*args)
        outs, single = _outputs("jvp", out)
        record = _records(outs, args, caller)
        us = [wrap(np.zeros(o.shape, o.dtype)) for o in outs]  # the placeholder u
        for u in us:
            u.requires_grad = True
        jt_u = _vjp(outs, args, us, record=True)  # Jᵀu, recorded: linear in u
        inner = _inner("jvp", "tangent", jt_u, tangents, args)  # ⟨Jᵀu, v⟩
        if inner is not None:
            jv = _vjp([inner], us, [None], record)
        else:  # Jᵀu does not depend on u: J = 0
            jv = [_zeros(o) for o in outs]
    jv = jv[0] if single else tuple(jv)
    return _result(out, record), _result(jv, record)


def jacobian(f: Callable[..., Any], x: Any, argnums: Argnums = 0, *, mode: str = "rev") -> Any:
    """The Jacobian of ``f`` at ``x`` (a tensor, or a tuple of ``f``'s arguments), with
    respect to the arguments ``argnums``: for an output of shape O and an input of shape I,
    a tensor of shape O + I. A tuple of ``argnums`` gives a tuple (one per argument); a tuple
    of outputs, a tuple over outputs (of those).

    ``mode="rev"`` builds it row by row, one VJP per output element; ``mode="fwd"`` column
    by column, one JVP per input element (cheaper for few inputs and many outputs). Forward
    mode here is the double-VJP identity (see :func:`jvp`).

    >>> import autonet as an
    >>> an.func.jacobian(lambda x: x ** 2, an.tensor([1.0, 3.0]))
    tensor([[2., 0.],
            [0., 6.]])
    """
    if mode not in ("rev", "fwd"):
        raise ValueError(f"jacobian: mode must be 'rev' or 'fwd', not {mode!r}")
    nums = _numbers(argnums)
    caller = _caller()
    args = _stand_ins("jacobian", _primals(x), nums)
    wrt = [args[i] for i in nums]
    with _calling_f():
        out = f(*args)
        outs, single = _outputs("jacobian", out)
        record = _records(outs, wrt, caller)
        build = _jacobian_rev if mode == "rev" else _jacobian_fwd
        blocks = [build(o, wrt, record) for o in outs]  # [output][argument]
    per_output = [b[0] if isinstance(argnums, int) else tuple(b) for b in blocks]
    return _result(per_output[0] if single else tuple(per_output), record)


def _jacobian_rev(out: Tensor, wrt: list[Tensor], record: bool) -> list[Tensor]:
    """Row k of each block: the VJP of the k-th unit vector of the output."""
    m = out.size
    rows: list[list[Tensor]] = [[] for _ in wrt]
    for k in range(m):
        unit = np.zeros(m, out.dtype)
        unit[k] = 1
        for i, g in enumerate(_vjp([out], wrt, [unit.reshape(out.shape)], record)):
            rows[i].append(g)
    return [_assemble(rows[i], out.shape, w.shape, record, w.dtype) for i, w in enumerate(wrt)]


def _jacobian_fwd(out: Tensor, wrt: list[Tensor], record: bool) -> list[Tensor]:
    """Column j of each block: ∂(Jᵀu)ⱼ/∂u, the JVP of the j-th unit vector of the input."""
    u = wrap(np.zeros(out.shape, out.dtype))
    u.requires_grad = True
    blocks = []
    for w, jt_u in zip(wrt, _vjp([out], wrt, [u], record=True)):
        columns = []
        flat = reshape(jt_u, -1) if jt_u.requires_grad else None
        for j in range(w.size):
            columns.append(_zeros(out) if flat is None else _vjp([flat[j]], [u], [None], record)[0])
        block = _assemble(columns, w.shape, out.shape, record, out.dtype)  # (I..., O...)
        n_in = len(w.shape)
        order = tuple(range(n_in, n_in + out.ndim)) + tuple(range(n_in))
        blocks.append(block.transpose(order) if block.ndim else block)  # (O..., I...)
    return blocks


def _assemble(rows: list[Tensor], lead: tuple[int, ...], each: tuple[int, ...], record: bool,
              dtype: np.dtype) -> Tensor:  # fmt: skip
    """Rows (one per element of a tensor of shape ``lead``, each of shape ``each``) as one
    tensor of shape lead + each."""
    shape = tuple(lead) + tuple(each)
    if not rows:
        return wrap(np.zeros(shape, dtype))
    if record:
        return reshape(stack(rows), shape)
    return wrap(np.stack([r.data for r in rows]).reshape(shape))


def hessian(f: Callable[..., Any], x: Any, argnums: Argnums = 0) -> Any:
    """The matrix of second derivatives of a function with one output element: the Jacobian
    of its gradient, ``jacobian(grad(f, argnums), x, argnums)`` (reverse over reverse). For
    an input of shape I, shape I + I; for a tuple of ``argnums``, a tuple of tuples (block
    [i][j] differentiates with respect to arguments i and j).

    >>> import autonet as an
    >>> an.func.hessian(lambda x: (x ** 3).sum(), an.tensor([1.0, 2.0]))    # diag(6x)
    tensor([[ 6.,  0.],
            [ 0., 12.]])
    """
    return jacobian(grad(f, argnums), x, argnums)


def hvp(f: Callable[..., Any], x: Any, v: Any) -> tuple[Tensor, Any]:
    """``(f(x), H v)``: the value of a function with one output element and its Hessian
    applied to ``v`` (shaped like ``x``; tuples for several arguments), without forming H:
    the gradient of ⟨∇f, v⟩.

    >>> import autonet as an
    >>> cubes = lambda x: (x ** 3).sum()
    >>> value, hv = an.func.hvp(cubes, an.tensor([1.0, 2.0]), an.tensor([1.0, 1.0]))
    >>> value, hv
    (tensor(9.), tensor([ 6., 12.]))
    """
    primals, vs = _primals(x), _primals(v)
    if len(primals) != len(vs):
        raise ValueError(f"hvp: {len(primals)} arguments but {len(vs)} vectors")
    caller = _caller()
    args = _stand_ins("hvp", primals, range(len(primals)))
    with _calling_f():
        value = _scalar("hvp", f(*args))
        record = _records([value], args, caller)
        gs = _vjp([value], args, [None], record=True)
        inner = _inner("hvp", "vector", gs, vs, args)  # ⟨∇f, v⟩
        hv = [_zeros(a) for a in args] if inner is None else _vjp([inner], args, [None], record)
    hv = tuple(hv) if isinstance(x, tuple) else hv[0]
    return _result(value, record), _result(hv, record)


def value_and_grad(
    f: Callable[..., Any], argnums: Argnums = 0, has_aux: bool = False
) -> Callable[..., Any]:
    """The function that returns ``(f(*args), gradient)`` for a function with one output
    element: the gradient with respect to argument ``argnums`` (a tuple of them for a tuple
    of gradients). With ``has_aux``, ``f`` returns ``(value, aux)`` and the transform
    ``((value, aux), gradient)``.

    >>> import autonet as an
    >>> loss_and_grad = an.func.value_and_grad(lambda w, x: ((x @ w) ** 2).sum())
    >>> loss_and_grad(an.tensor([1.0, -1.0]), an.tensor([[1.0, 2.0]]))
    (tensor(1.), tensor([-2., -4.]))
    """
    nums = _numbers(argnums)

    @functools.wraps(f)
    def transformed(*primals: Any) -> tuple[Any, Any]:
        caller = _caller()
        args = _stand_ins("grad", primals, nums)
        wrt = [args[i] for i in nums]
        with _calling_f():
            result = f(*args)
            value, aux = result if has_aux else (result, None)
            value = _scalar("grad", value)
            record = _records([value], wrt, caller)
            grads = _vjp([value], wrt, [None], record)
        gradient = grads[0] if isinstance(argnums, int) else tuple(grads)
        value = _result(value, record)
        head = (value, _result(aux, record)) if has_aux else value
        return head, _result(gradient, record)

    return transformed


def grad(f: Callable[..., Any], argnums: Argnums = 0, has_aux: bool = False) -> Callable[..., Any]:
    """The function that returns the gradient of ``f`` (a function with one output element)
    with respect to argument ``argnums`` (a tuple of them for a tuple of gradients); with
    ``has_aux``, ``(gradient, aux)``. Transforms compose: ``grad(grad(f))`` is the second
    derivative. (The engine's ``an.grad(outputs, inputs)`` is the other, direct form.)

    >>> import autonet as an
    >>> d2sin = an.func.grad(an.func.grad(an.sin))
    >>> d2sin(an.tensor(1.0))                         # -sin(1)
    tensor(-0.8415)
    """
    with_value = value_and_grad(f, argnums, has_aux)

    @functools.wraps(f)
    def transformed(*primals: Any) -> Any:
        head, gradient = with_value(*primals)
        return (gradient, head[1]) if has_aux else gradient

    return transformed
