"""Handing a model to PyTorch and back: :func:`to_torch` and :func:`from_torch`.

``to_torch(model)`` gives the equivalent ``torch.nn.Module`` (the same weights, buffers and
train/eval mode); ``to_torch(optimizer)`` gives the PyTorch optimizer with the same
hyperparameters and state (Adam's moments, step counts), so training resumes there exactly
where it stopped. ``from_torch`` does the reverse. PyTorch is an optional extra
(``pip install "autonet[torch]"``): it is imported when these functions are called, never when
autonet is.

>>> import autonet as an
>>> from autonet.interop import to_torch
>>> callable(to_torch)
True
"""

from autonet.interop.pytorch import ConversionError, from_torch, to_torch

__all__ = ["ConversionError", "from_torch", "to_torch"]
