"""``einsum``: sums of products named by letters, ``einsum("ij,jk->ik", a, b)`` = a @ b.

Each letter names an axis; letters that appear in the inputs but not in the output are summed
over. An einsum is linear in each operand, and its VJP with respect to one operand is the same
kind of contraction: put g where that operand was and ask for that operand's letters,

    y = einsum("ij,jk->ik", a, b):   dL/da = einsum("ik,jk->ij", g, b),
                                     dL/db = einsum("ij,ik->jk", a, g).

Two cases need one more step. A letter only the operand itself has (``"ij->i"``: j is summed
away and nothing else knows it) does not reach the result, so the gradient is computed without
it and broadcast along it. A letter repeated in the operand (``"ii->i"``, a diagonal) cannot
be asked for twice, so the gradient is computed once per distinct letter and put back on the
diagonal by a product with an identity matrix. Both steps are einsums or broadcasts, so every
order of derivative is available.
"""

from __future__ import annotations

import string
from typing import Any

import numpy as np

from autonet.engine.function import Function, apply, sum_to_shape
from autonet.engine.registry import operation
from autonet.engine.tensor import Tensor, as_tensor

__all__ = ["einsum"]

Shapes = tuple[tuple[int, ...], ...]


class Einsum(Function):
    """y = einsum(terms -> output)(x₀, x₁, ...);  dL/dxₖ = einsum(output, the other terms ->
    termₖ)(g, the other operands): the same contraction with g in xₖ's place."""

    __slots__ = ("output", "shapes", "terms")
    name = "einsum"
    saves_inputs = "for others"  # an operand's gradient reads only the other operands

    def __init__(self, terms: tuple[str, ...], output: str, shapes: Shapes) -> None:
        self.terms = terms  # one string of letters per operand, no "..." left
        self.output = output
        self.shapes = shapes  # the operands' shapes (an operand is kept only for the others)

    def label(self) -> str:
        return f"einsum({','.join(self.terms)}->{self.output})"

    def forward(self, *xs):
        # NOTE: optimize=True finds a good order of pairwise products and uses BLAS for them;
        # finding it costs more than it saves on small operands.
        big = len(xs) > 2 or max((np.size(x) for x in xs), default=0) >= 4096
        return np.einsum(f"{','.join(self.terms)}->{self.output}", *xs, optimize=big)

    def error(self, *xs):
        shapes = ", ".join(str(np.shape(x)) for x in xs)
        return ValueError(f"{self.label()}: operands of shapes {shapes} do not fit the letters")

    def backward(self, g, y, *xs):
        grads = []
        for k, need in enumerate(self.needs_input_grad):
            grads.append(self.operand_gradient(k, g, xs) if need else None)
        return tuple(grads)

    def operand_gradient(self, k: int, g: Any, xs: tuple[Any, ...]) -> Any:
        """dL/dxₖ: the contraction of g with every operand but xₖ, over xₖ's letters."""
        term, shape = self.terms[k], self.shapes[k]
        size = dict(zip(term, shape))
        others = [i for i in range(len(self.terms)) if i != k]
        known = set(self.output).union(*[self.terms[i] for i in others])
        distinct = "".join(dict.fromkeys(term))  # each letter once, in order
        asked = "".join(c for c in distinct if c in known)
        terms = (self.output, *[self.terms[i] for i in others])
        shapes = (g.shape, *[self.shapes[i] for i in others])
        grad = Einsum.apply(g, *[xs[i] for i in others], terms=terms, output=asked, shapes=shapes)
        if asked != distinct:  # letters only xₖ has: the gradient is the same along them
            grad = grad.reshape(tuple(size[c] if c in asked else 1 for c in distinct))
            grad = np.broadcast_to(grad, tuple(size[c] for c in distinct))
        if distinct != term:  # repeated letters: put the gradient on their diagonal
            grad = _on_diagonal(grad, term, distinct, size)
        # NOTE: a letter of size 1 in xₖ and larger elsewhere was broadcast: sum it back
        return sum_to_shape(grad, shape)


def _on_diagonal(grad: Any, term: str, distinct: str, size: dict[str, int]) -> Any:
    """``grad`` over the ``distinct`` letters, spread over ``term``'s axes where every repeat
    of a letter has the same index, 0 elsewhere: a product with one identity matrix per
    repeat. For ``term="ii"``: einsum("i,ij->ij", grad, I)."""
    fresh = iter(c for c in string.ascii_letters if c not in term)
    spread, eyes, seen = [], [], set()
    for c in term:
        if c in seen:
            new = next(fresh)
            eyes.append(c + new)
            spread.append(new)
        else:
            seen.add(c)
            spread.append(c)
    dtype = grad.dtype
    identities = [np.eye(size[e[0]], dtype=dtype) for e in eyes]
    shapes = (grad.shape, *[i.shape for i in identities])
    return Einsum.apply(grad, *identities, terms=(distinct, *eyes), output="".join(spread),
                        shapes=shapes)  # fmt: skip


def parse(subscripts: str, shapes: Shapes) -> tuple[tuple[str, ...], str]:
    """The terms and the output of ``subscripts`` with ``...`` written out as letters, and
    the output made explicit (NumPy's implicit output: the letters that appear once, in
    alphabetical order, after the ``...`` axes).

    >>> parse("...ij,jk", ((5, 2, 3), (3, 4)))
    (('Aij', 'jk'), 'Aik')
    """
    text = subscripts.replace(" ", "")
    inputs, arrow, output = text.partition("->")
    terms = inputs.split(",")
    if len(terms) != len(shapes):
        raise ValueError(
            f"einsum: {subscripts!r} names {len(terms)} operands but {len(shapes)} were given"
        )
    used = set(text) - set(".,->")
    for c in used:
        if c not in string.ascii_letters:
            raise ValueError(f"einsum: {c!r} in {subscripts!r} is not a letter")
    # the axes that "..." stands for get letters nobody used, right-aligned across operands
    spare = [c for c in string.ascii_uppercase + string.ascii_lowercase if c not in used]
    widths = []
    for term, shape in zip(terms, shapes):
        named = len(term.replace("...", ""))
        width = len(shape) - named if "..." in term else 0
        if width < 0 or ("..." not in term and named != len(shape)):
            raise ValueError(
                f"einsum: term {term!r} names {named} axes but its operand has shape {shape}"
            )
        widths.append(width)
    ellipsis = "".join(spare[: max(widths, default=0)])
    written = tuple(
        t.replace("...", ellipsis[len(ellipsis) - w :]) if "..." in t else t
        for t, w in zip(terms, widths)
    )
    if arrow:
        out = output.replace("...", ellipsis)
    else:
        letters = "".join(written)
        out = ellipsis + "".join(
            sorted(c for c in set(letters) if letters.count(c) == 1 and c not in ellipsis)
        )
    for c in out:
        if out.count(c) > 1 or c not in "".join(written):
            raise ValueError(
                f"einsum: output letter {c!r} of {subscripts!r} is repeated or names no axis"
            )
    return written, out


@operation(False, numpy=np.einsum)
def einsum(subscripts: str, *operands: Any, optimize: Any = None) -> Tensor:
    """Sums of products over named axes, NumPy's ``einsum`` (including ``...`` and the
    implicit output): ``"ij,jk->ik"`` is a matrix product, ``"ii->"`` a trace, ``"bi,bi->b"``
    row-wise dot products, ``"i,j->ij"`` an outer product. (``optimize`` is accepted for
    NumPy's sake; autonet chooses.)

    >>> import autonet as an
    >>> a = an.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    >>> an.einsum("ij,ij->i", a, a)            # the squared length of each row
    tensor([ 5., 25.], grad_fn=<einsum(ij,ij->i)>)
    """
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])  # PyTorch also takes the operands as one list
    if not isinstance(subscripts, str):
        raise TypeError("einsum: give the subscripts as a string first, e.g. 'ij,jk->ik'")
    if not operands:
        raise ValueError("einsum: no operands")
    tensors = [as_tensor(x) for x in operands]
    shapes = tuple(t.shape for t in tensors)
    terms, output = parse(subscripts, shapes)
    sizes: dict[str, int] = {}
    for term, shape in zip(terms, shapes):
        for c, n in zip(term, shape):
            seen = sizes.setdefault(c, n)
            if seen != n and 1 not in (seen, n):
                raise ValueError(
                    f"einsum: letter {c!r} of {subscripts!r} stands for sizes {seen} and {n} "
                    f"(shapes {', '.join(map(str, shapes))})"
                )
            sizes[c] = max(seen, n)
    return apply(Einsum(terms, output, shapes), *tensors)
