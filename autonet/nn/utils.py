"""Utilities under PyTorch's names: gradient clipping (``torch.nn.utils.clip_grad_norm_``)."""

from autonet.optim.clip import clip_grad_norm_, clip_grad_value_

__all__ = ["clip_grad_norm_", "clip_grad_value_"]
