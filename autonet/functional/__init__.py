"""Composite operations: activations, losses, and the computations behind layers, written as
forward code over the engine's primitives (also reachable as ``an.nn.functional``, the name
PyTorch users know as ``F``)."""

from autonet.functional.activation import (
    elu,
    gelu,
    identity,
    leaky_relu,
    log_softmax,
    relu,
    sigmoid,
    silu,
    softmax,
    softplus,
    tanh,
)
from autonet.functional.attention import scaled_dot_product_attention
from autonet.functional.conv import (
    adaptive_avg_pool2d,
    avg_pool1d,
    avg_pool2d,
    conv1d,
    conv2d,
    dropout2d,
    embedding,
    max_pool1d,
    max_pool2d,
)
from autonet.functional.layers import batch_norm, dropout, layer_norm, linear, one_hot
from autonet.functional.loss import (
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    cross_entropy,
    huber_loss,
    l1_loss,
    mse_loss,
    nll_loss,
)
from autonet.functional.normalization import group_norm, rms_norm
from autonet.functional.rnn import gru_cell, lstm_cell, rnn_relu_cell, rnn_tanh_cell

__all__ = [
    "adaptive_avg_pool2d", "avg_pool1d", "avg_pool2d", "batch_norm", "binary_cross_entropy",
    "binary_cross_entropy_with_logits", "conv1d", "conv2d", "cross_entropy", "dropout",
    "dropout2d", "elu", "embedding", "gelu", "group_norm", "gru_cell", "huber_loss", "identity",
    "l1_loss", "layer_norm", "leaky_relu", "linear", "log_softmax", "lstm_cell", "max_pool1d",
    "max_pool2d", "mse_loss", "nll_loss", "one_hot", "relu", "rms_norm", "rnn_relu_cell",
    "rnn_tanh_cell", "scaled_dot_product_attention", "sigmoid", "silu", "softmax", "softplus",
    "tanh",
]  # fmt: skip
