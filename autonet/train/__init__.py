"""Training: ``fit`` (with validation, metrics, callbacks, a schedule and a progress bar),
``evaluate``, ``predict``, the ``History`` they record, and metrics."""

from autonet.train.callbacks import (
    Callback,
    EarlyStopping,
    LambdaCallback,
    ModelCheckpoint,
    TerminateOnNaN,
)
from autonet.train.history import History
from autonet.train.loop import TrainingState, evaluate, fit, predict
from autonet.train.metrics import accuracy, mean_absolute_error, mean_squared_error
