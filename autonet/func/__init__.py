"""Function transforms, ``an.func``: ``vjp``, ``jvp``, ``jacobian``, ``hessian``, ``hvp``,
``grad`` and ``value_and_grad``, with the meaning of ``torch.func`` and JAX, built on the
engine's reverse mode (see :mod:`autonet.func.transforms`).

>>> import autonet as an
>>> f = lambda x: (x.sin() * x).sum()
>>> an.func.grad(f)(an.tensor([0.0, 1.0]))                     # sin x + x cos x
tensor([0.    , 1.3818])
"""

from autonet.func.transforms import grad, hessian, hvp, jacobian, jvp, value_and_grad, vjp

__all__ = ["grad", "hessian", "hvp", "jacobian", "jvp", "value_and_grad", "vjp"]
