"""autonet.data: datasets, the DataLoader, splits and the built-in datasets.

Expected values come from plain Python and NumPy computed here (batch boundaries by a loop,
curves by their equations), never from the code under test.
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import autonet as an
from autonet.data import (
    DataLoader,
    Dataset,
    Subset,
    TensorDataset,
    default_collate,
    identity,
    load_digits,
    moons,
    random_split,
    spirals,
    train_test_split,
    xor,
)


def ids_of(loader: DataLoader) -> list[list[int]]:
    """The item ids in each batch of a loader over TensorDataset(ids, ...)."""
    return [batch[-1].tolist() for batch in loader]


class Pairs(Dataset):
    """A dataset the DataLoader must read item by item: (ndarray, int) pairs."""

    def __init__(self, n: int) -> None:
        self.n = n

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i):
        assert isinstance(i, int), "item-by-item datasets are indexed with ints"
        return np.array([i, 10.0 * i, -i]), i


class Records(Dataset):
    """Items that are dicts, with a string field and a nested tuple."""

    def __len__(self) -> int:
        return 5

    def __getitem__(self, i):
        return {"x": an.full((2,), float(i)), "name": f"r{i}", "pair": (i, i / 2)}


# ---- DataLoader: order, batches, length -------------------------------------------------


@given(
    n=st.integers(0, 40), batch_size=st.integers(1, 12), drop_last=st.booleans()
)  # fmt: skip
def test_loader_batches_in_order(n, batch_size, drop_last):
    expected = [list(range(i, min(i + batch_size, n))) for i in range(0, n, batch_size)]
    if drop_last:
        expected = [b for b in expected if len(b) == batch_size]
    loader = DataLoader(
        TensorDataset(an.arange(n)), batch_size=batch_size, drop_last=drop_last
    )  # fmt: skip
    assert ids_of(loader) == expected
    assert len(loader) == len(expected)


def test_last_partial_batch_and_drop_last():
    ds = TensorDataset(np.zeros((10, 3)), np.arange(10))
    assert [x.shape for x, _ in DataLoader(ds, batch_size=4)] == [(4, 3), (4, 3), (2, 3)]
    assert [x.shape for x, _ in DataLoader(ds, batch_size=4, drop_last=True)] == [(4, 3)] * 2
    assert len(DataLoader(ds, batch_size=4)) == 3
    assert len(DataLoader(ds, batch_size=4, drop_last=True)) == 2
    assert len(DataLoader(ds, batch_size=20, drop_last=True)) == 0
    assert list(DataLoader(ds, batch_size=20, drop_last=True)) == []


@given(n=st.integers(1, 40), batch_size=st.integers(1, 12))
def test_shuffled_epoch_visits_every_item_once(n, batch_size):
    loader = DataLoader(TensorDataset(an.arange(n)), batch_size=batch_size, shuffle=True)
    for _ in range(2):
        batches = ids_of(loader)
        assert sorted(i for b in batches for i in b) == list(range(n))
        assert [len(b) for b in batches[:-1]] == [batch_size] * (len(batches) - 1)


def test_shuffle_differs_between_epochs_and_repeats_after_manual_seed():
    loader = DataLoader(TensorDataset(an.arange(50)), batch_size=8, shuffle=True)
    an.manual_seed(3)
    first, second = ids_of(loader), ids_of(loader)
    assert first != second
    assert first != [list(range(i, min(i + 8, 50))) for i in range(0, 50, 8)]
    np.random.seed(123)  # NumPy's global state plays no part
    an.manual_seed(3)
    assert ids_of(loader) == first
    assert ids_of(loader) == second


def test_shuffle_with_own_generator():
    ds = TensorDataset(an.arange(30))
    a = DataLoader(ds, batch_size=7, shuffle=True, generator=np.random.default_rng(5))
    b = DataLoader(ds, batch_size=7, shuffle=True, generator=np.random.default_rng(5))
    c = DataLoader(ds, batch_size=7, shuffle=True, generator=5)  # a seed works as well
    epochs_a = [ids_of(a) for _ in range(3)]
    assert epochs_a == [ids_of(b) for _ in range(3)] == [ids_of(c) for _ in range(3)]
    assert epochs_a[0] != epochs_a[1]
    an.manual_seed(0)  # autonet's generator is not consulted
    assert ids_of(DataLoader(ds, 7, True, generator=np.random.default_rng(5))) == epochs_a[0]


def test_tensor_dataset_batches_are_the_rows():
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(23, 3)), np.arange(23)
    for x_batch, y_batch in DataLoader(TensorDataset(X, y), batch_size=5, shuffle=True):
        assert x_batch.dtype == np.float32 and y_batch.dtype == np.int64
        np.testing.assert_array_equal(x_batch.numpy(), X[y_batch.numpy()].astype(np.float32))


def test_tensor_dataset_is_fetched_in_one_indexing_per_batch():
    calls = []

    class Spy(TensorDataset):
        def __getitem__(self, index):
            calls.append(index)
            return super().__getitem__(index)

    batches = list(DataLoader(Spy(an.zeros(10, 2), an.arange(10)), batch_size=4, shuffle=True))
    assert len(calls) == len(batches) == 3
    assert all(isinstance(c, np.ndarray) for c in calls)


def test_batches_carry_no_gradient_history():
    X = an.randn(6, 2, requires_grad=True)
    h = X * 2  # a tensor with history
    for x, hh in DataLoader(TensorDataset(X, h), batch_size=4):
        assert not x.requires_grad and x.grad_fn is None
        assert not hh.requires_grad and hh.grad_fn is None
    x, hh = TensorDataset(X, h)[np.array([0, 1])]
    assert x.grad_fn is None and hh.grad_fn is None


# ---- collating item by item --------------------------------------------------------------


def test_custom_dataset_of_array_int_pairs():
    batches = list(DataLoader(Pairs(7), batch_size=3))
    assert len(batches) == 3
    x, y = batches[1]
    assert isinstance(batches[1], tuple)
    assert x.dtype == np.float32 and y.dtype == np.int64
    np.testing.assert_array_equal(x.numpy(), [[3, 30, -3], [4, 40, -4], [5, 50, -5]])
    np.testing.assert_array_equal(y.numpy(), [3, 4, 5])
    assert batches[2][0].shape == (1, 3)


def test_custom_dataset_of_dicts():
    batches = list(DataLoader(Records(), batch_size=2))
    assert [b["name"] for b in batches] == [["r0", "r1"], ["r2", "r3"], ["r4"]]
    first = batches[0]
    assert set(first) == {"x", "name", "pair"}
    np.testing.assert_array_equal(first["x"].numpy(), [[0.0, 0.0], [1.0, 1.0]])
    ints, halves = first["pair"]
    assert ints.tolist() == [0, 1] and halves.tolist() == [0.0, 0.5]
    assert ints.dtype == np.int64 and halves.dtype == np.float32


def test_dataset_of_single_tensors_gives_batched_tensors():
    items = [an.tensor([float(i), -float(i)]) for i in range(5)]
    batches = list(DataLoader(items, batch_size=2))  # any sequence is a dataset
    assert all(isinstance(b, an.Tensor) for b in batches)
    np.testing.assert_array_equal(batches[1].numpy(), [[2.0, -2.0], [3.0, -3.0]])


def test_collate_keeps_namedtuples_and_lists():
    from collections import namedtuple

    Point = namedtuple("Point", "x y")
    batch = default_collate([Point(1.0, 2), Point(3.0, 4)])
    assert isinstance(batch, Point) and batch.x.tolist() == [1.0, 3.0]
    assert batch.y.tolist() == [2, 4]
    lists = default_collate([[1, 2.5], [3, 4.5]])
    assert isinstance(lists, list) and lists[0].tolist() == [1, 3]


def test_collate_errors_name_the_items():
    with pytest.raises(ValueError, match=r"item 0 has shape \(2,\), item 1 has shape \(3,\)"):
        default_collate([np.zeros(2), np.zeros(3)])
    with pytest.raises(ValueError, match=r"item 1 .* keys"):
        default_collate([{"a": 1}, {"b": 1}])
    with pytest.raises(ValueError, match="item 1 of the batch has 3 parts"):
        default_collate([(1, 2), (1, 2, 3)])
    with pytest.raises(TypeError, match="cannot batch items of type object"):
        default_collate([object(), object()])


# ---- TensorDataset and Subset ------------------------------------------------------------


def test_tensor_dataset_indexing():
    X = np.arange(12, dtype=np.float64).reshape(4, 3)
    ds = TensorDataset(X, [5, 6, 7, 8])
    assert len(ds) == 4 and ds.tensors[0].dtype == np.float32
    x, y = ds[2]
    assert x.tolist() == [6.0, 7.0, 8.0] and y.shape == () and y.item() == 7
    x, y = ds[np.array([3, 0, 3])]
    np.testing.assert_array_equal(x.numpy(), X[[3, 0, 3]])
    assert y.tolist() == [8, 5, 8]
    x, y = ds[1:3]
    np.testing.assert_array_equal(x.numpy(), X[1:3])
    assert ds[an.tensor([1])][1].tolist() == [6]
    assert ds[[]][0].shape == (0, 3)
    assert ds[-1][1].item() == 8


def test_subset_reads_through_its_indices():
    X = np.arange(20.0).reshape(10, 2)
    sub = Subset(TensorDataset(X), [9, 0, 4])
    assert len(sub) == 3 and sub.batch_indexing
    np.testing.assert_array_equal(sub[0][0].numpy(), X[9])
    (rows,) = next(iter(DataLoader(sub, batch_size=3)))
    np.testing.assert_array_equal(rows.numpy(), X[[9, 0, 4]])
    items = Subset(Pairs(6), [5, 1])
    assert not items.batch_indexing
    _, ids = next(iter(DataLoader(items, batch_size=2)))
    assert ids.tolist() == [5, 1]
    with pytest.raises(IndexError, match=r"Subset: index 10 is out of range .* 10 items"):
        Subset(TensorDataset(X), [1, 10])


# ---- random_split ------------------------------------------------------------------------


@given(st.lists(st.integers(0, 15), min_size=1, max_size=5))
def test_random_split_counts(lengths):
    n = sum(lengths)
    parts = random_split(TensorDataset(an.arange(n)), lengths)
    assert [len(p) for p in parts] == lengths
    ids = [i for p in parts for i in (p[np.arange(len(p))][0].tolist())]
    assert sorted(ids) == list(range(n))  # disjoint and covering


@pytest.mark.parametrize(
    ("n", "fractions", "sizes"),
    [
        (10, [0.3, 0.3, 0.4], [3, 3, 4]),
        (11, [1 / 3, 1 / 3, 1 / 3], [4, 4, 3]),  # floor 3 each; remainder 2 to the first two
        (7, [0.5, 0.5], [4, 3]),
        (10, [0.8, 0.2], [8, 2]),
        (13, [0.1, 0.1, 0.8], [2, 1, 10]),  # floors 1, 1, 10; the remainder 1 to the first
    ],
)
def test_random_split_fractions(n, fractions, sizes):
    parts = random_split(TensorDataset(an.arange(n)), fractions)
    assert [len(p) for p in parts] == sizes
    ids = np.concatenate([p.indices for p in parts])
    assert sorted(ids.tolist()) == list(range(n))


def test_random_split_is_repeatable():
    ds = TensorDataset(an.arange(20))
    an.manual_seed(1)
    a = [p.indices.tolist() for p in random_split(ds, [5, 15])]
    an.manual_seed(1)
    b = [p.indices.tolist() for p in random_split(ds, [5, 15])]
    c = [p.indices.tolist() for p in random_split(ds, [5, 15], generator=7)]
    d = [p.indices.tolist() for p in random_split(ds, [5, 15], np.random.default_rng(7))]
    assert a == b and c == d and a != c


def test_random_split_errors():
    ds = TensorDataset(an.arange(10))
    with pytest.raises(ValueError, match=r"lengths \[3, 4\] add up to 7, but the dataset has 10"):
        random_split(ds, [3, 4])
    with pytest.raises(ValueError, match=r"fractions .* add up to 1.1"):
        random_split(ds, [0.5, 0.6])
    with pytest.raises(ValueError, match="must not be negative"):
        random_split(ds, [12, -2])
    with pytest.raises(ValueError, match=r"fractions must lie in \[0, 1\]"):
        random_split(ds, [1.5, -0.5])
    with pytest.raises(ValueError, match="lengths is empty"):
        random_split(ds, [])
    with pytest.raises(TypeError, match=r"random_split: expected a numpy.random.Generator"):
        random_split(ds, [5, 5], generator="seed")
    with pytest.warns(UserWarning, match=r"the subsets \[1, 2\] are empty"):
        random_split(TensorDataset(an.arange(2)), [0.9, 0.05, 0.05])


# ---- train_test_split --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("n", "test_size", "n_test"),
    [(10, 0.2, 2), (10, 0.25, 3), (25, 0.28, 7), (7, 0.5, 4), (10, 3, 3), (100, 0.01, 1)],
)
def test_train_test_split_sizes(n, test_size, n_test):
    X, y = np.arange(2 * n).reshape(n, 2), np.arange(n)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=test_size, seed=0)
    assert (len(X_train), len(X_test), len(y_train), len(y_test)) == (
        n - n_test, n_test, n - n_test, n_test
    )  # fmt: skip
    np.testing.assert_array_equal(X_train.numpy()[:, 0], 2 * y_train.numpy())
    np.testing.assert_array_equal(X_test.numpy()[:, 1], 2 * y_test.numpy() + 1)
    assert sorted(y_train.tolist() + y_test.tolist()) == list(range(n))


def test_train_test_split_randomness_and_order():
    X = np.arange(40.0).reshape(20, 2)
    a = train_test_split(X, test_size=5, seed=3)
    b = train_test_split(X, test_size=5, seed=3)
    assert all(np.array_equal(p.numpy(), q.numpy()) for p, q in zip(a, b))
    an.manual_seed(2)
    c = train_test_split(X, test_size=5)
    an.manual_seed(2)
    d = train_test_split(X, test_size=5)
    assert all(np.array_equal(p.numpy(), q.numpy()) for p, q in zip(c, d))
    assert a[0].dtype == np.float32
    train, test = train_test_split(X, test_size=5, shuffle=False)
    np.testing.assert_array_equal(train.numpy(), X[:15])
    np.testing.assert_array_equal(test.numpy(), X[15:])
    parts = train_test_split(X, np.arange(20), np.arange(20) * 3, test_size=0.5, seed=1)
    assert len(parts) == 6
    np.testing.assert_array_equal(parts[5].numpy(), 3 * parts[3].numpy())


def test_train_test_split_errors():
    with pytest.raises(ValueError, match="tensor 0 has 4 rows and tensor 1 has 3"):
        train_test_split(np.zeros((4, 2)), np.zeros(3))
    for bad in (0, 10, 12, 0.0, 1.0, -0.1):
        with pytest.raises(ValueError, match=r"train_test_split: .*test_size"):
            train_test_split(np.zeros((10, 2)), test_size=bad)
    with pytest.raises(TypeError, match="test_size"):
        train_test_split(np.zeros((10, 2)), test_size=True)
    with pytest.raises(ValueError, match="leaves no training rows"):
        train_test_split(np.zeros((1, 2)), test_size=0.5)
    with pytest.raises(ValueError, match="at least one tensor"):
        train_test_split()


# ---- errors of datasets and loaders ------------------------------------------------------


def test_dataset_and_loader_errors():
    with pytest.raises(ValueError, match=r"tensor 0 has 4 rows and tensor 1 has 3 .*\(4, 2\)"):
        TensorDataset(an.zeros(4, 2), an.zeros(3))
    with pytest.raises(ValueError, match="tensor 1 is 0-d"):
        TensorDataset(an.zeros(4), an.tensor(1.0))
    with pytest.raises(ValueError, match="at least one tensor"):
        TensorDataset()
    ds = TensorDataset(an.zeros(4))
    for bad in (0, -1, 2.5, True, None):
        with pytest.raises(ValueError, match="DataLoader: batch_size must be a positive int"):
            DataLoader(ds, batch_size=bad)
    with pytest.raises(TypeError, match="DataLoader: a dataset needs __getitem__ and __len__"):
        DataLoader(42)
    with pytest.raises(NotImplementedError, match="Empty must define __len__"):

        class Empty(Dataset):
            pass

        len(Empty())


# ---- built-in datasets -------------------------------------------------------------------


def test_xor_and_identity_values():
    X, y = xor()
    np.testing.assert_array_equal(X.numpy(), [[0, 0], [0, 1], [1, 0], [1, 1]])
    np.testing.assert_array_equal(y.numpy(), [[0], [1], [1], [0]])
    assert X.dtype == y.dtype == np.float32 and y.shape == (4, 1)
    X3, y3 = xor(with_product=True)
    np.testing.assert_array_equal(X3.numpy(), [[0, 0, 0], [0, 1, 0], [1, 0, 0], [1, 1, 1]])
    np.testing.assert_array_equal(y3.numpy(), y.numpy())
    X, y = identity(5)
    np.testing.assert_array_equal(X.numpy(), np.eye(5))
    assert X.dtype == np.float32 and y.dtype == np.int64 and y.tolist() == [0, 1, 2, 3, 4]
    assert identity()[0].shape == (4, 4)
    with pytest.raises(ValueError, match="identity: n must be a positive int"):
        identity(0)


@pytest.mark.parametrize("n", [1, 2, 7, 100, 101])
def test_moons_shapes_and_balance(n):
    X, y = moons(n, seed=0)
    assert X.shape == (n, 2) and X.dtype == np.float32
    assert y.shape == (n,) and y.dtype == np.int64
    counts = np.bincount(y.numpy(), minlength=2)
    assert counts.tolist() == [n // 2, n - n // 2]


def test_moons_without_noise_lie_on_the_half_circles():
    X, y = moons(60, noise=0.0, seed=0)
    x = X.numpy().astype(np.float64)
    outer, inner = x[y.numpy() == 0], x[y.numpy() == 1]
    np.testing.assert_allclose(np.hypot(outer[:, 0], outer[:, 1]), 1.0, atol=1e-6)
    assert (outer[:, 1] >= -1e-6).all()
    np.testing.assert_allclose(np.hypot(inner[:, 0] - 1.0, inner[:, 1] - 0.5), 1.0, atol=1e-6)
    assert (inner[:, 1] <= 0.5 + 1e-6).all()
    # t runs from 0 to π: the ends of each half circle are there
    for end in ([1.0, 0.0], [-1.0, 0.0]):
        assert np.abs(outer - end).sum(axis=1).min() < 1e-6
    for end in ([0.0, 0.5], [2.0, 0.5]):
        assert np.abs(inner - end).sum(axis=1).min() < 1e-6


def test_moons_noise_and_seeds():
    X, y = moons(4000, noise=0.1, seed=1)
    outer = X.numpy()[y.numpy() == 0].astype(np.float64)
    residual = np.hypot(outer[:, 0], outer[:, 1]) - 1.0  # ≈ the radial part of the noise
    assert 0.08 < residual.std() < 0.12
    same, other = moons(50, seed=4), moons(50, seed=5)
    again = moons(50, seed=4)
    assert np.array_equal(same[0].numpy(), again[0].numpy())
    assert np.array_equal(same[1].numpy(), again[1].numpy())
    assert not np.array_equal(same[0].numpy(), other[0].numpy())
    an.manual_seed(9)
    a = moons(30)
    an.manual_seed(9)
    assert np.array_equal(a[0].numpy(), moons(30)[0].numpy())
    with pytest.raises(ValueError, match="moons: noise must be a number >= 0"):
        moons(10, noise=-1.0)
    with pytest.raises(ValueError, match="moons: n_samples must be a positive int"):
        moons(0)


@pytest.mark.parametrize(("n", "k"), [(1, 1), (10, 2), (40, 3), (25, 5)])
def test_spirals_shapes_and_balance(n, k):
    X, y = spirals(n, n_classes=k, seed=0)
    assert X.shape == (n * k, 2) and X.dtype == np.float32 and y.dtype == np.int64
    assert np.bincount(y.numpy(), minlength=k).tolist() == [n] * k


def test_spirals_without_noise_lie_on_the_arms():
    k, n = 3, 50
    X, y = spirals(n, n_classes=k, noise=0.0, seed=0)
    x, labels = X.numpy().astype(np.float64), y.numpy()
    r = np.hypot(x[:, 0], x[:, 1])
    assert r.max() == pytest.approx(1.0, abs=1e-6)
    for c in range(k):  # radii evenly spaced from 0 to 1 along each arm
        np.testing.assert_allclose(np.sort(r[labels == c]), np.linspace(0, 1, n), atol=1e-6)
    away = r > 1e-3  # the angle of the centre point is undefined
    angle = np.arctan2(x[away, 1], x[away, 0])
    expected = 2 * np.pi * labels[away] / k + 4 * r[away]
    gap = np.angle(np.exp(1j * (angle - expected)))  # difference wrapped to (-π, π]
    np.testing.assert_allclose(gap, 0.0, atol=1e-4)


def test_spirals_seeds():
    a, b, c = spirals(20, seed=1), spirals(20, seed=1), spirals(20, seed=2)
    assert np.array_equal(a[0].numpy(), b[0].numpy()) and np.array_equal(a[1], b[1])
    assert not np.array_equal(a[0].numpy(), c[0].numpy())
    an.manual_seed(4)
    d = spirals(20)
    an.manual_seed(4)
    assert np.array_equal(d[0].numpy(), spirals(20)[0].numpy())


def test_load_digits():
    pytest.importorskip("sklearn", reason="load_digits needs scikit-learn, which is not installed")
    X, y = load_digits()
    assert X.shape == (1797, 64) and X.dtype == np.float32
    assert y.shape == (1797,) and y.dtype == np.int64
    x = X.numpy()
    assert x.min() == 0.0 and x.max() == 1.0
    np.testing.assert_array_equal(x * 16, np.round(x * 16))  # pixel values 0..16, over 16
    assert sorted(set(y.tolist())) == list(range(10))


def test_load_digits_without_scikit_learn(monkeypatch):
    monkeypatch.setitem(sys.modules, "sklearn", None)
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)
    with pytest.raises(
        ImportError, match=r"load_digits needs scikit-learn: pip install 'autonet\[data\]'"
    ):
        load_digits()


def test_import_does_not_need_scikit_learn():
    code = "import sys; sys.modules['sklearn'] = None; import autonet.data; print('ok')"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "ok"


def test_datasets_feed_the_loader():
    X, y = moons(50, seed=0)
    total = sum(len(yb) for _, yb in DataLoader(TensorDataset(X, y), batch_size=16, shuffle=True))
    assert total == 50
    assert np.isfinite(X.numpy()).all()
