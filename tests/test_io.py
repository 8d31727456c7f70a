"""autonet.io: save, load and read_metadata in the safetensors format.

What a file holds is checked independently of the code under test: with the safetensors
library's own reader (``safetensors.numpy.load_file``, what PyTorch's reader sees) and by
parsing the header by hand (8-byte little-endian size, then JSON). Round trips compare dtypes,
shapes and the raw bytes of every array.
"""

from __future__ import annotations

import errno
import json
import os
import pickle
import struct
import subprocess
import sys

import numpy as np
import pytest
import safetensors.numpy
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import autonet as an
from autonet import io
from autonet.io import LoadError, load, read_metadata, save

DTYPES = [np.float32, np.float64, np.int64, np.int32, np.uint8, np.bool_, np.float16, np.int8]
SHAPES = [(), (0,), (3,), (2, 3), (3, 0, 2), (1, 1, 1, 2)]


def sample(dtype, shape, seed=0):
    """An array of ``dtype`` and ``shape`` with varied values (NumPy's own generator)."""
    rng = np.random.default_rng(seed)
    if np.dtype(dtype) == np.bool_:
        values = rng.random(shape) < 0.5
    elif np.dtype(dtype).kind == "f":
        values = rng.standard_normal(shape) * 100
    else:
        info = np.iinfo(dtype)
        values = rng.integers(info.min, info.max, size=shape, dtype=dtype, endpoint=True)
    return np.asarray(values, dtype=dtype)  # 0-d arrays, not NumPy scalars


def assert_same_array(loaded, expected):
    """``loaded`` is a fresh, grad-free Tensor with exactly ``expected``'s dtype, shape, bytes."""
    expected = np.asarray(expected)
    assert isinstance(loaded, an.Tensor)
    assert loaded.dtype == expected.dtype
    assert loaded.shape == expected.shape
    assert loaded.data.tobytes() == np.ascontiguousarray(expected).tobytes()
    assert not loaded.requires_grad and loaded.grad_fn is None
    assert loaded.data.flags.owndata and loaded.data.flags.writeable


def assert_same_structure(loaded, expected, where="obj"):
    """Same nesting, same container and key types, same plain values, same tensors."""
    if isinstance(expected, (an.Tensor, np.ndarray)):
        assert_same_array(loaded, expected.data if isinstance(expected, an.Tensor) else expected)
        return
    assert type(loaded) is type(expected), f"{where}: {type(loaded)} != {type(expected)}"
    if isinstance(expected, dict):
        assert list(loaded) == list(expected), f"{where}: keys {list(loaded)} != {list(expected)}"
        assert [type(k) for k in loaded] == [type(k) for k in expected], where
        for k in expected:
            assert_same_structure(loaded[k], expected[k], f"{where}[{k!r}]")
    elif isinstance(expected, (list, tuple)):
        assert len(loaded) == len(expected), where
        for i, (a, b) in enumerate(zip(loaded, expected)):
            assert_same_structure(a, b, f"{where}[{i}]")
    elif isinstance(expected, float) and np.isnan(expected):
        assert np.isnan(loaded), where
    else:
        assert loaded == expected, f"{where}: {loaded!r} != {expected!r}"
        if isinstance(expected, float):
            assert np.copysign(1.0, loaded) == np.copysign(1.0, expected), where  # -0.0


def header_of(path):
    """The JSON header of a safetensors file, read by hand."""
    with open(path, "rb") as f:
        (size,) = struct.unpack("<Q", f.read(8))
        return json.loads(f.read(size))


def safetensors_bytes(header, data):
    """A file made by hand: the header's size, the header, the data."""
    raw = json.dumps(header).encode()
    return struct.pack("<Q", len(raw)) + raw + data


# ---- flat dicts ------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
def test_flat_round_trip_keeps_dtype_shape_and_bytes(tmp_path, dtype):
    state = {f"t{i}": sample(dtype, shape, seed=i) for i, shape in enumerate(SHAPES)}
    state["as_tensor"] = an.tensor(sample(dtype, (2, 2), seed=9), dtype=dtype)
    path = tmp_path / "flat.safetensors"
    save(state, path)
    loaded = load(path)
    assert sorted(loaded) == sorted(state)
    for key, value in state.items():
        assert_same_array(loaded[key], np.asarray(value))


ARRAYS = st.sampled_from(DTYPES).flatmap(
    lambda dt: hnp.arrays(dt, hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=4))
)


@given(st.dictionaries(st.text(max_size=6).filter(lambda k: k != "__metadata__"), ARRAYS))
def test_flat_round_trip_property(tmp_path_factory, state):
    path = tmp_path_factory.mktemp("flat") / "state.safetensors"
    save(state, str(path))
    loaded = load(str(path))
    assert sorted(loaded) == sorted(state)
    for key, value in state.items():
        assert_same_array(loaded[key], value)  # NaN payloads and -0.0 included: same bytes


def test_file_is_standard_safetensors(tmp_path):
    an.manual_seed(3)
    model = an.nn.Sequential(an.nn.Linear(3, 4), an.nn.Tanh(), an.nn.Linear(4, 2))
    path = tmp_path / "model.safetensors"
    save(model.state_dict(), path)

    standard = safetensors.numpy.load_file(path)  # what safetensors.torch.load_file reads
    assert sorted(standard) == ["0.bias", "0.weight", "2.bias", "2.weight"]
    assert standard["0.weight"].shape == (4, 3) and standard["2.bias"].shape == (2,)
    for key, value in model.state_dict().items():
        assert standard[key].dtype == np.float32
        np.testing.assert_array_equal(standard[key], value.data)
    header = header_of(path)
    assert "__metadata__" not in header  # nothing of autonet's own in a flat file
    assert header["0.weight"]["dtype"] == "F32" and header["0.weight"]["shape"] == [4, 3]

    fresh = an.nn.Sequential(an.nn.Linear(3, 4), an.nn.Tanh(), an.nn.Linear(4, 2))
    fresh.load_state_dict(load(path))
    x = an.randn(5, 3)
    np.testing.assert_array_equal(fresh(x).data, model(x).data)


def test_flat_load_gives_the_files_order(tmp_path):
    path = tmp_path / "order.safetensors"
    save({"b": np.ones(2, np.float32), "a": np.arange(3), "c": np.zeros((), np.uint8)}, path)
    header = header_of(path)
    names = [k for k in header if k != "__metadata__"]
    by_offset = sorted(names, key=lambda k: header[k]["data_offsets"][0])
    assert list(load(path)) == by_offset

    # A header may list its entries in any order; the data's order is the file's order.
    header = {
        "late": {"dtype": "U8", "shape": [1], "data_offsets": [1, 2]},
        "early": {"dtype": "U8", "shape": [1], "data_offsets": [0, 1]},
    }
    path.write_bytes(safetensors_bytes(header, b"\1\2"))
    loaded = load(path)
    assert list(loaded) == ["early", "late"]
    assert loaded["early"].item() == 1 and loaded["late"].item() == 2


def test_views_are_written_c_contiguous(tmp_path):
    a = np.arange(12, dtype=np.float64).reshape(3, 4)
    state = {"t": a.T, "s": a[:, ::2], "v": an.tensor(a).transpose(1, 0)}
    path = tmp_path / "views.safetensors"
    save(state, path)
    standard = safetensors.numpy.load_file(path)
    for key in state:
        np.testing.assert_array_equal(standard[key], np.asarray(state[key]))
        assert_same_array(load(path)[key], np.asarray(state[key]))


def test_big_endian_arrays_are_written_little_endian(tmp_path):
    a = np.arange(6, dtype=">f4").reshape(2, 3)
    path = tmp_path / "be.safetensors"
    save({"a": a}, path)
    assert path.read_bytes().endswith(np.arange(6, dtype="<f4").tobytes())
    assert_same_array(load(path)["a"], a.astype(np.float32))


def test_loaded_tensors_are_fresh_leaves(tmp_path):
    p = an.nn.Parameter(an.ones(3))
    path = tmp_path / "p.safetensors"
    save({"p": p, "q": p * 2}, path)
    loaded = load(path)
    assert_same_array(loaded["p"], np.ones(3, np.float32))
    assert_same_array(loaded["q"], np.full(3, 2, np.float32))
    loaded["p"].data[0] = 5.0  # writable, and not shared with the model or with "q"
    assert p.data[0] == 1.0 and loaded["q"].data[0] == 2.0


def test_metadata_round_trip_with_str_and_path(tmp_path):
    config = json.dumps({"hidden": [3, 3], "activation": "sigmoid"})
    metadata = {"config": config, "note": "héllo ✓", "empty": ""}
    save({"w": an.ones(2)}, str(tmp_path / "a.safetensors"), metadata=metadata)
    assert read_metadata(tmp_path / "a.safetensors") == metadata
    assert read_metadata(str(tmp_path / "a.safetensors")) == metadata
    assert header_of(tmp_path / "a.safetensors")["__metadata__"] == metadata

    save({"w": an.ones(2), "epoch": 1}, tmp_path / "b.safetensors", metadata=metadata)
    assert read_metadata(tmp_path / "b.safetensors") == metadata  # without autonet's own key
    save({"w": an.ones(2)}, tmp_path / "c.safetensors")
    assert read_metadata(tmp_path / "c.safetensors") == {}


def test_overwriting_replaces_the_file(tmp_path):
    path = tmp_path / "m.safetensors"
    save({"a": an.ones(2)}, path)
    save({"b": an.zeros(3)}, path)
    assert list(load(path)) == ["b"]
    assert os.listdir(tmp_path) == ["m.safetensors"]


# ---- nested structures -----------------------------------------------------------------------


def optimizer_state():
    return {
        "state": {
            0: {"step": 3, "exp_avg": an.randn(4, 3), "exp_avg_sq": an.rand(4, 3)},
            1: {"step": 3, "exp_avg": an.randn(4), "exp_avg_sq": an.rand(4)},
        },
        "param_groups": [
            {"lr": 0.001, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 0.0,
             "amsgrad": False, "maximize": False, "foreach": None, "params": [0, 1]},
        ],
    }  # fmt: skip


def test_optimizer_state_round_trips_exactly(tmp_path):
    state = optimizer_state()
    save(state, tmp_path / "opt.safetensors")
    assert_same_structure(load(tmp_path / "opt.safetensors"), state)


def test_checkpoint_round_trips_and_is_standard(tmp_path):
    model = an.nn.Sequential(an.nn.Linear(3, 4), an.nn.Tanh(), an.nn.Linear(4, 2))
    checkpoint = {"model": model.state_dict(), "optimizer": optimizer_state(), "epoch": 7}
    path = tmp_path / "ckpt.safetensors"
    save(checkpoint, path, metadata={"run": "xor"})
    assert_same_structure(load(path), checkpoint)
    assert read_metadata(path) == {"run": "xor"}

    standard = safetensors.numpy.load_file(path)
    expected_keys = {f"model.{k}" for k in model.state_dict()} | {
        f"optimizer.state.{i}.{name}" for i in (0, 1) for name in ("exp_avg", "exp_avg_sq")
    }
    assert set(standard) == expected_keys
    np.testing.assert_array_equal(standard["model.0.weight"], model[0].weight.data)
    np.testing.assert_array_equal(
        standard["optimizer.state.1.exp_avg"], checkpoint["optimizer"]["state"][1]["exp_avg"].data
    )


@pytest.mark.parametrize(
    "obj",
    [
        {"a": 1, "b": 2.5, "c": "text ✓", "d": None, "e": True, "f": False},
        {0: "int key", "0": "str key", 1: {2: (3, [4, (5,)])}},
        {"nan": float("nan"), "inf": float("inf"), "ninf": float("-inf"), "nz": -0.0},
        {"big": 2**70, "neg": -(2**63), "one": 1, "true": True, "float_one": 1.0},
        {"empty": {}, "nothing": [], "unit": (), "nested": [[], [[]], {"x": ()}]},
        [an.ones(2), (an.zeros((), dtype=an.int64), None), {"k": np.arange(3)}],
        (an.tensor([True, False]), "a tuple at the top"),
        an.tensor([[1.0, 2.0]]),
        7,
        None,
        "just a string",
    ],
    ids=lambda o: type(o).__name__,
)
def test_nested_structures_round_trip_exactly(tmp_path, obj):
    save(obj, tmp_path / "s.safetensors")
    assert_same_structure(load(tmp_path / "s.safetensors"), obj)


def test_nested_tensor_entries_are_named_by_dotted_paths(tmp_path):
    obj = {"state": {0: {"exp_avg": np.ones(2)}}, "list": [np.zeros(1), {"x": np.ones(())}]}
    path = tmp_path / "n.safetensors"
    save(obj, path)
    assert set(safetensors.numpy.load_file(path)) == {"state.0.exp_avg", "list.0", "list.1.x"}
    assert "autonet.structure" in header_of(path)["__metadata__"]


LEAVES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=5),
    ARRAYS,
)
KEYS = st.one_of(st.integers(-3, 30), st.text("abcxyz_", min_size=1, max_size=4))
STRUCTURES = st.recursive(
    LEAVES,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.lists(inner, max_size=3).map(tuple),
        st.dictionaries(KEYS, inner, max_size=3),
    ),
    max_leaves=10,
)


@given(STRUCTURES)
def test_nested_round_trip_property(tmp_path_factory, obj):
    path = tmp_path_factory.mktemp("nested") / "obj.safetensors"
    save(obj, path)
    assert_same_structure(load(path), obj)


def test_key_collisions_are_refused(tmp_path):
    path = tmp_path / "c.safetensors"
    with pytest.raises(ValueError, match=r"'a\.b'"):
        save({"a.b": an.ones(1), "a": {"b": an.ones(1)}, "epoch": 1}, path)
    with pytest.raises(ValueError, match="'0'"):
        save({0: an.ones(1), "0": an.ones(1)}, path)
    with pytest.raises(ValueError, match="__metadata__"):
        save({"__metadata__": an.ones(1)}, path)
    assert not path.exists()


# ---- atomic writes -------------------------------------------------------------------------


@pytest.fixture
def previous_file(tmp_path):
    path = tmp_path / "model.safetensors"
    save({"w": an.arange(5.0)}, path)
    return path, path.read_bytes()


def assert_left_as_it_was(path, before):
    assert path.read_bytes() == before
    assert os.listdir(path.parent) == [path.name]  # no temporary file left behind


def test_failed_rename_leaves_the_previous_file(previous_file, monkeypatch):
    path, before = previous_file

    def failing_replace(src, dst):
        raise OSError(errno.EXDEV, "simulated failure", src)

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(OSError, match="simulated"):
        save({"w": an.zeros(1000)}, path)
    monkeypatch.undo()
    assert_left_as_it_was(path, before)
    assert_same_array(load(path)["w"], np.arange(5.0, dtype=np.float32))


def test_disk_full_half_way_leaves_the_previous_file(previous_file, monkeypatch):
    path, before = previous_file
    real_write = os.write
    calls = []

    def half_then_fail(fd, data):
        calls.append(len(data))
        if len(calls) > 1:
            raise OSError(errno.ENOSPC, "No space left on device (simulated)")
        return real_write(fd, bytes(data)[: len(data) // 2])

    monkeypatch.setattr(os, "write", half_then_fail)
    with pytest.raises(OSError, match="simulated"):
        save({"w": an.zeros(1000), "b": an.ones(10)}, path)
    monkeypatch.undo()
    assert len(calls) == 2  # half of the bytes were written before the failure
    assert_left_as_it_was(path, before)


def test_failed_fsync_and_interrupt_leave_no_trace(previous_file, monkeypatch):
    path, before = previous_file

    def interrupted(fd):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "fsync", interrupted)
    with pytest.raises(KeyboardInterrupt):
        save({"w": an.zeros(3)}, path)
    monkeypatch.undo()
    assert_left_as_it_was(path, before)


def test_failed_first_save_leaves_nothing(tmp_path, monkeypatch):
    def failing_replace(src, dst):
        raise OSError("simulated failure")

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(OSError):
        save({"w": an.zeros(3)}, tmp_path / "new.safetensors")
    assert os.listdir(tmp_path) == []


# ---- bad files -----------------------------------------------------------------------------


def assert_load_error(path):
    with pytest.raises(LoadError) as info:
        load(path)
    assert str(info.value).startswith(f"load: {path} is not a valid safetensors file: ")
    return info.value


def test_load_error_is_a_value_error():
    assert issubclass(LoadError, ValueError)


def test_missing_file(tmp_path):
    path = tmp_path / "nowhere.safetensors"
    with pytest.raises(FileNotFoundError, match=r"nowhere\.safetensors"):
        load(path)
    with pytest.raises(FileNotFoundError, match=r"nowhere\.safetensors"):
        read_metadata(path)


def test_truncated_files(tmp_path):
    good = tmp_path / "good.safetensors"
    save({"w": an.randn(3, 4), "b": an.zeros(4, dtype=an.int64), "epoch": 3}, good)
    data = good.read_bytes()
    (size,) = struct.unpack("<Q", data[:8])
    cuts = [0, 1, 7, 8, 9, 8 + size // 2, 8 + size - 1, 8 + size, 8 + size + 5, len(data) - 1]
    for cut in cuts:
        bad = tmp_path / f"cut{cut}.safetensors"
        bad.write_bytes(data[:cut])
        assert_load_error(bad)
        with pytest.raises(LoadError, match=str(bad)):
            read_metadata(bad)
    longer = tmp_path / "longer.safetensors"
    longer.write_bytes(data + b"\0")
    assert_load_error(longer)


def test_foreign_files(tmp_path):
    files = {
        "empty": b"",
        "random": np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes(),
        "json": json.dumps({"w": [1.0, 2.0]}).encode(),
        "text": b"weights: 1 2 3\n" * 10,
        "pickle": pickle.dumps({"w": np.ones(3)}),
    }
    for name, content in files.items():
        path = tmp_path / f"{name}.bin"
        path.write_bytes(content)
        assert_load_error(path)
        with pytest.raises(LoadError):
            read_metadata(path)


class _Marker:
    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (open, (self.path, "w"))  # unpickling would create the file


def test_loading_a_pickle_runs_no_code(tmp_path):
    marker = tmp_path / "marker"
    path = tmp_path / "evil.safetensors"
    path.write_bytes(pickle.dumps({"w": _Marker(str(marker))}))
    assert "pickle" in str(assert_load_error(path))
    assert not marker.exists()


@pytest.mark.parametrize(
    "header, data",
    [
        ({"w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 32]}}, bytes(16)),  # past end
        ({"w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 12]}}, bytes(12)),  # too short
        ({"w": {"dtype": "F32", "shape": [2], "data_offsets": [8, 16]}}, bytes(16)),  # gap
        (
            {
                "a": {"dtype": "F64", "shape": [2], "data_offsets": [0, 16]},
                "b": {"dtype": "F64", "shape": [2], "data_offsets": [0, 16]},  # overlap
            },
            bytes(16),
        ),
        ({"w": {"dtype": "F32", "shape": [2], "data_offsets": [16, 8]}}, bytes(16)),  # reversed
        ({"w": {"dtype": "X9", "shape": [2], "data_offsets": [0, 8]}}, bytes(8)),  # no dtype
        ({"w": {"dtype": "F32", "shape": [-2], "data_offsets": [0, 8]}}, bytes(8)),
        ({"w": [1, 2]}, b""),
        ({"__metadata__": {"n": 1}}, b""),  # metadata must be strings
        ([], b""),
    ],
)
def test_headers_that_lie(tmp_path, header, data):
    path = tmp_path / "lie.safetensors"
    path.write_bytes(safetensors_bytes(header, data))
    assert_load_error(path)


def test_header_size_larger_than_the_file(tmp_path):
    path = tmp_path / "big.safetensors"
    path.write_bytes(struct.pack("<Q", 10**12) + b"{}")
    assert "header size" in str(assert_load_error(path))


def test_duplicate_header_keys(tmp_path):
    raw = b'{"w":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},'
    raw += b'"w":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}'
    path = tmp_path / "dup.safetensors"
    path.write_bytes(struct.pack("<Q", len(raw)) + raw + b"\1")
    assert "'w'" in str(assert_load_error(path))


def test_bool_bytes_other_than_0_and_1(tmp_path):
    path = tmp_path / "bool.safetensors"
    header = {"m": {"dtype": "BOOL", "shape": [3], "data_offsets": [0, 3]}}
    path.write_bytes(safetensors_bytes(header, b"\0\1\7"))
    assert "'m'" in str(assert_load_error(path))


def test_valid_file_with_a_dtype_numpy_cannot_hold(tmp_path):
    path = tmp_path / "bf16.safetensors"
    path.write_bytes(
        safetensors_bytes({"w": {"dtype": "BF16", "shape": [2], "data_offsets": [0, 4]}}, bytes(4))
    )
    with pytest.raises(LoadError, match=r"'w'.*BF16"):
        load(path)
    assert read_metadata(path) == {}  # the header itself is fine


@pytest.mark.parametrize(
    "structure",
    [
        "not json",
        json.dumps({"version": 1}),
        json.dumps({"version": 99, "root": None}),
        json.dumps({"version": True, "root": None}),
        json.dumps({"version": 1, "root": {"tensor": "missing"}}),
        json.dumps({"version": 1, "root": {"list": [{"tensor": "w"}, {"tensor": "w"}]}}),
        json.dumps({"version": 1, "root": {"list": []}}),  # "w" is placed nowhere
        json.dumps({"version": 1, "root": {"tensor": ["w"]}}),
        json.dumps({"version": 1, "root": {"dict": [["k"]]}, "x": 0}),
        json.dumps({"version": 1, "root": {"dict": [[1.5, {"tensor": "w"}]]}}),
        json.dumps({"version": 1, "root": {"dict": [["k", 1], ["k", {"tensor": "w"}]]}}),
        json.dumps({"version": 1, "root": {"list": {"tensor": "w"}}}),
        json.dumps({"version": 1, "root": {"float": "1e999"}}),
        json.dumps({"version": 1, "root": {"set": [{"tensor": "w"}]}}),
        json.dumps({"version": 1, "root": [{"tensor": "w"}]}),
        '{"version": 1, "root": {"list": [{"tensor": "w"}, NaN]}}',
        '{"version": 1, "root": ' + "[" * 100_000 + "]" * 100_000 + "}",
    ],
)
def test_broken_structure_entries(tmp_path, structure):
    path = tmp_path / "broken.safetensors"
    path.write_bytes(
        safetensors.numpy.save({"w": np.ones(2)}, metadata={"autonet.structure": structure})
    )
    assert "structure" in str(assert_load_error(path))


# ---- bad inputs to save ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "metadata, pattern",
    [
        ({"epochs": 7}, r"metadata\['epochs'\] is a int"),
        ({"config": {"hidden": 3}}, r"metadata\['config'\] is a dict"),
        ({1: "one"}, r"metadata key 1 is a int"),
        (["a", "b"], r"metadata must be a dict"),
    ],
)
def test_bad_metadata(tmp_path, metadata, pattern):
    with pytest.raises(TypeError, match=pattern):
        save({"w": an.ones(1)}, tmp_path / "m.safetensors", metadata=metadata)
    assert os.listdir(tmp_path) == []


def test_reserved_metadata_key(tmp_path):
    with pytest.raises(ValueError, match="reserved"):
        save({"w": an.ones(1)}, tmp_path / "m.safetensors", metadata={"autonet.structure": "x"})


@pytest.mark.parametrize(
    "obj, pattern",
    [
        ({"optimizer": {"hooks": [print]}}, r"obj\['optimizer'\]\['hooks'\]\[0\].*builtin"),
        ({"state": {0: {"obj": object()}}}, r"obj\['state'\]\[0\]\['obj'\].*object"),
        ({"step": np.int64(3)}, r"obj\['step'\].*numpy.int64.*\.item\(\)"),
        ({"seen": {1, 2}}, r"obj\['seen'\].*set"),
        ([lambda x: x], r"obj\[0\].*function"),
        ({"w": {1.5: an.ones(1)}}, r"obj\['w'\] has the key 1.5 of type float"),
        ({"w": {(0, 1): an.ones(1)}}, r"obj\['w'\] has the key \(0, 1\) of type tuple"),
        ({"w": np.ones(2, np.complex128)}, r"obj\['w'\] has dtype complex128"),
        ({"w": np.array(["a"])}, r"obj\['w'\] has dtype <U1"),
    ],
)
def test_unsupported_objects_are_named_by_path(tmp_path, obj, pattern):
    with pytest.raises(TypeError, match=pattern):
        save(obj, tmp_path / "x.safetensors")
    assert os.listdir(tmp_path) == []


def test_bad_paths(tmp_path):
    with pytest.raises(TypeError, match="save: path"):
        save({"w": an.ones(1)}, 42)
    with pytest.raises(TypeError, match="load: path"):
        load(None)
    with pytest.raises(FileNotFoundError, match="no such directory"):
        save({"w": an.ones(1)}, tmp_path / "missing" / "x.safetensors")
    with pytest.raises(IsADirectoryError):
        save({"w": an.ones(1)}, tmp_path)
    assert os.listdir(tmp_path) == []


# ---- the optional dependency ---------------------------------------------------------------


def test_missing_safetensors_gives_an_install_hint(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "safetensors", None)
    monkeypatch.setitem(sys.modules, "safetensors.numpy", None)
    for call in (
        lambda: io.save({"w": an.ones(1)}, tmp_path / "x.safetensors"),
        lambda: io.load(tmp_path / "x.safetensors"),
        lambda: io.read_metadata(tmp_path / "x.safetensors"),
    ):
        with pytest.raises(ImportError, match=r"pip install 'autonet\[io\]'"):
            call()


def test_import_works_without_safetensors(tmp_path):
    code = (
        "import sys; sys.modules['safetensors'] = None\n"
        "import autonet.io\n"
        "try:\n"
        "    autonet.io.save({}, 'x.safetensors')\n"
        "except ImportError as e:\n"
        "    print(e)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=tmp_path
    )
    assert out.stdout.strip() == "saving and loading need safetensors: pip install 'autonet[io]'"
