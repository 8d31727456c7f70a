"""Data: datasets, batching and splits (``Dataset``, ``TensorDataset``, ``Subset``,
``DataLoader``, ``random_split``, ``train_test_split``) and small built-in datasets
(``xor``, ``identity``, ``moons``, ``spirals``, ``load_digits``).

>>> import autonet as an
>>> from autonet.data import DataLoader, TensorDataset, moons, train_test_split
>>> X, y = moons(100, seed=0)
>>> X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, seed=0)
>>> batches = DataLoader(TensorDataset(X_train, y_train), batch_size=32, shuffle=True)
>>> [x.shape[0] for x, _ in batches]
[32, 32, 16]
"""

from autonet.data.dataset import Dataset, Subset, TensorDataset, random_split, train_test_split
from autonet.data.datasets import identity, load_digits, moons, spirals, xor
from autonet.data.loader import DataLoader, default_collate

__all__ = [
    "DataLoader", "Dataset", "Subset", "TensorDataset", "default_collate", "identity",
    "load_digits", "moons", "random_split", "spirals", "train_test_split", "xor",
]  # fmt: skip
