"""Optimizers (``SGD``, ``Adam``, ``AdamW``, ``RMSprop``, ``Adagrad``), gradient clipping, and
learning-rate schedules in :mod:`autonet.optim.lr_scheduler`.

>>> import autonet as an
>>> w = an.tensor([1.0, -2.0], requires_grad=True)
>>> opt = an.optim.SGD([w], lr=0.1)
>>> (w * w).sum().backward()    # gradient 2w
>>> opt.step()
>>> w
tensor([ 0.8, -1.6], requires_grad=True)
"""

from autonet.optim import lr_scheduler
from autonet.optim.adagrad import Adagrad
from autonet.optim.adam import Adam, AdamW
from autonet.optim.clip import clip_grad_norm_, clip_grad_value_
from autonet.optim.optimizer import Optimizer
from autonet.optim.rmsprop import RMSprop
from autonet.optim.sgd import SGD

__all__ = [
    "SGD", "Adagrad", "Adam", "AdamW", "Optimizer", "RMSprop", "clip_grad_norm_",
    "clip_grad_value_", "lr_scheduler",
]  # fmt: skip
