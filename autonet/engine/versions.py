"""In-place changes, and the gradients they would corrupt.

A node keeps some arrays for its backward pass (``tanh`` its output, ``x * w`` both factors).
If one of them is changed in place before backward runs, the gradient computed from it is
wrong. So every in-place change made through autonet (``add_``, ``t[i] = v``, an optimizer's
step, ``load_state_dict``) is numbered on the same clock as the recorded nodes, and backward
refuses a node that saved an array whose memory changed after the node was recorded.

The unit of change is a block of memory, not a tensor: a slice, a transpose, a reshaped view,
``detach()`` and the tensor they came from all share one block (NumPy's ``base`` chain leads to
the array that owns it), so a change through any of them is seen by every node that saved any
of them; as in PyTorch, which shares one version counter among a tensor and its views.

Checking costs nothing while nothing changes in place: backward looks at a node only when it
was recorded before the latest change anywhere (``last_change``).
"""

from __future__ import annotations

import itertools
import weakref
from typing import Any

import numpy as np

# The clock: numbers every recorded node (its ``seq``) and every in-place change, in the order
# they happen. (``itertools.count`` is atomic under the GIL: threads share it safely.)
next_seq = itertools.count().__next__

# The time of the latest in-place change anywhere; a node recorded after it cannot have saved
# a value that changed since.
last_change = -1
# id(owner of a block of memory) -> [weak reference to the owner, time of its latest change]
_changes: dict[int, list[Any]] = {}
# id(tensor) -> weak reference to a view made under no_grad of a tensor that requires grad
_no_grad_views: dict[int, weakref.ref] = {}


def owner(array: Any) -> Any:
    """The array that owns ``array``'s memory: itself, or the end of its ``base`` chain.

    >>> a = np.zeros((2, 3))
    >>> owner(a[1:].T) is a
    True
    """
    found = array
    base = array.base
    while base is not None:
        if isinstance(base, np.ndarray):
            found = base
        base = getattr(base, "base", None)  # (a strided view's base may be a NumPy helper)
    return found


def mark_changed(array: np.ndarray) -> None:
    """Note that ``array``'s memory is being changed in place, now."""
    global last_change
    block = array if array.base is None else owner(array)
    key = id(block)
    entry = _changes.get(key)
    last_change = now = next_seq()
    if entry is not None and entry[0]() is block:
        entry[1] = now
    else:
        _changes[key] = [_weak(_changes, key, block), now]


def _weak(table: dict[int, Any], key: int, obj: Any) -> weakref.ref:
    """A weak reference to ``obj`` that removes ``table[key]`` when ``obj`` goes (unless the
    entry has been replaced meanwhile)."""

    def forget(ref: weakref.ref) -> None:
        entry = table.get(key)
        if entry is ref or (type(entry) is list and entry[0] is ref):
            del table[key]

    return weakref.ref(obj, forget)


def changed_after(array: Any, seq: int) -> bool:
    """True when ``array``'s memory was changed in place after time ``seq``."""
    if not isinstance(array, np.ndarray):
        return False
    block = owner(array)
    entry = _changes.get(id(block))
    return entry is not None and entry[0]() is block and entry[1] > seq


def note_view_made_without_grad(view: Any, of: Any) -> None:
    """Remember ``view``, a tensor made under ``no_grad`` from ``of`` (a tensor that requires
    grad), if its array is a view of ``of``'s memory: changing it in place while gradients are
    recorded would change ``of`` behind the graph's back, so it is refused (as in PyTorch).
    ``detach()`` is not such a view: it is how one asks for the memory without the graph."""
    if owner(view.data) is owner(of.data):
        key = id(view)
        _no_grad_views[key] = _weak(_no_grad_views, key, view)


def made_without_grad_from_a_grad_tensor(tensor: Any) -> bool:
    """True for a tensor that :func:`note_view_made_without_grad` remembered."""
    ref = _no_grad_views.get(id(tensor)) if _no_grad_views else None
    return ref is not None and ref() is tensor
