"""Neural-network building blocks: Module and Parameter, layers, activations, losses,
initializers, the MLP, convolutional layers, recurrent layers, attention and Transformer
blocks."""

from autonet.nn import functional, init, utils
from autonet.nn.activation import (
    ELU,
    GELU,
    Activation,
    LeakyReLU,
    LogSoftmax,
    ReLU,
    Sigmoid,
    SiLU,
    Softmax,
    Softplus,
    Tanh,
    get_activation,
)
from autonet.nn.attention import MultiheadAttention
from autonet.nn.containers import ModuleDict, ModuleList, Sequential
from autonet.nn.conv import (
    AdaptiveAvgPool2d,
    AvgPool1d,
    AvgPool2d,
    Conv1d,
    Conv2d,
    Dropout2d,
    Embedding,
    MaxPool1d,
    MaxPool2d,
)
from autonet.nn.hooks import register_module_forward_hook, register_module_forward_pre_hook
from autonet.nn.layers import (
    BatchNorm1d,
    BatchNorm2d,
    Dropout,
    Flatten,
    Identity,
    LayerNorm,
    Linear,
)
from autonet.nn.loss import (
    BCELoss,
    BCEWithLogitsLoss,
    CrossEntropyLoss,
    HuberLoss,
    L1Loss,
    MSELoss,
    NLLLoss,
)
from autonet.nn.mlp import MLP
from autonet.nn.module import Module
from autonet.nn.normalization import GroupNorm, RMSNorm
from autonet.nn.parameter import Parameter
from autonet.nn.rnn import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNCell
from autonet.nn.transformer import (
    TransformerDecoder,
    TransformerDecoderLayer,
    TransformerEncoder,
    TransformerEncoderLayer,
)
