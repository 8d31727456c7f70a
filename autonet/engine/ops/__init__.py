"""Every operation on tensors, each a function here (``an.exp(t)``) and, where registered
(:mod:`autonet.engine.registry`), a Tensor method (``t.exp()``) or operator (``a + b``).

The primitives (a forward and its VJP side by side) are classes in the modules below, beside
the functions that apply them; each module's ``__all__`` lists its functions.
"""

from importlib import import_module

from autonet.engine.ops.arithmetic import *  # noqa: F403
from autonet.engine.ops.compare import *  # noqa: F403
from autonet.engine.ops.conv import *  # noqa: F403
from autonet.engine.ops.einsum import *  # noqa: F403
from autonet.engine.ops.elementwise import *  # noqa: F403
from autonet.engine.ops.gather import *  # noqa: F403
from autonet.engine.ops.indexing import *  # noqa: F403
from autonet.engine.ops.linalg import *  # noqa: F403
from autonet.engine.ops.matrix import *  # noqa: F403
from autonet.engine.ops.rearrange import *  # noqa: F403
from autonet.engine.ops.reduction import *  # noqa: F403
from autonet.engine.ops.scan import *  # noqa: F403
from autonet.engine.ops.shape import *  # noqa: F403
from autonet.engine.ops.softmax import *  # noqa: F403
from autonet.engine.ops.sorting import *  # noqa: F403

MODULES = ("arithmetic", "compare", "conv", "einsum", "elementwise", "gather", "indexing",
           "linalg", "matrix", "rearrange", "reduction", "scan", "shape", "softmax",
           "sorting")  # fmt: skip
# (some functions share their module's name, so the modules are looked up by name)
__all__ = [name for module in MODULES for name in import_module(f"{__name__}.{module}").__all__]
