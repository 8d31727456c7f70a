"""Saving and loading never lose or corrupt data: names that would collide in a state dict are
refused, a save replaces only a regular file (through a link, keeping its mode), and a load
checks everything before it changes or builds anything."""

from __future__ import annotations

import json
import os
import stat
import struct

import numpy as np
import pytest

import autonet as an
from autonet.io import LoadError

pytest.importorskip("safetensors")


# ---- names that would collide in a state dict --------------------------------------------


@pytest.mark.parametrize("name", ["a.b", ""])
@pytest.mark.parametrize(
    "register",
    [
        lambda m, name: setattr(m, name, an.nn.Linear(1, 1)),
        lambda m, name: setattr(m, name, an.nn.Parameter(an.zeros(1))),
        lambda m, name: m.add_module(name, an.nn.Linear(1, 1)),
        lambda m, name: m.register_parameter(name, an.nn.Parameter(an.zeros(1))),
        lambda m, name: m.register_buffer(name, an.zeros(1)),
    ],
    ids=["setattr module", "setattr parameter", "add_module", "register_parameter",
         "register_buffer"],
)  # fmt: skip
def test_names_with_a_dot_or_empty_are_refused(register, name):
    m = an.nn.Module()
    with pytest.raises(ValueError, match=r"name cannot (contain \"\.\"|be empty)"):
        register(m, name)
    assert not m._modules and not m._parameters and not m._buffers


def test_a_dotted_name_beside_a_module_cannot_hide_weights():
    """The issue's case: "a.b" beside a module "a" holding "b" gave four parameters and two
    state_dict entries."""
    outer = an.nn.Module()
    outer.a = an.nn.Module()
    outer.a.b = an.nn.Linear(1, 1)
    with pytest.raises(ValueError, match=r"module name cannot contain \"\.\", got 'a\.b'"):
        outer.add_module("a.b", an.nn.Linear(1, 1))
    assert len(list(outer.parameters())) == len(outer.state_dict()) == 2
    with pytest.raises(ValueError, match="cannot contain"):
        an.nn.ModuleDict({"x.y": an.nn.Linear(1, 1)})


def test_a_name_must_be_a_string():
    with pytest.raises(TypeError, match="module name must be a string, not int"):
        an.nn.Module().add_module(3, an.nn.Linear(1, 1))


# ---- an.save replaces only a regular file ------------------------------------------------


def test_save_through_a_symlink_writes_the_target_and_keeps_the_link(tmp_path):
    target = tmp_path / "real.safetensors"
    an.save({"w": an.zeros(2)}, target)
    link = tmp_path / "link.safetensors"
    link.symlink_to(target)
    an.save({"w": an.ones(2)}, link)
    assert link.is_symlink() and os.readlink(link) == str(target)
    np.testing.assert_array_equal(an.load(target)["w"].numpy(), [1.0, 1.0])
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


def test_save_through_a_dangling_symlink_creates_its_target(tmp_path):
    link = tmp_path / "link.safetensors"
    link.symlink_to(tmp_path / "new.safetensors")
    an.save({"w": an.ones(1)}, link)
    assert link.is_symlink() and (tmp_path / "new.safetensors").is_file()


def test_save_keeps_the_mode_of_the_file_it_replaces(tmp_path):
    path = tmp_path / "private.safetensors"
    an.save({"w": an.zeros(2)}, path)
    os.chmod(path, 0o600)
    an.save({"w": an.ones(2)}, path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    np.testing.assert_array_equal(an.load(path)["w"].numpy(), [1.0, 1.0])


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes (POSIX)")
def test_save_refuses_to_replace_a_named_pipe(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(FileExistsError, match="is a named pipe, not a regular file"):
        an.save({"w": an.zeros(1)}, fifo)
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pipe"]  # no temporary left


def test_save_refuses_to_replace_a_device_through_a_link(tmp_path):
    link = tmp_path / "null.safetensors"
    link.symlink_to("/dev/null")
    if not os.path.exists("/dev/null") or not stat.S_ISCHR(os.stat("/dev/null").st_mode):
        pytest.skip("needs /dev/null")
    with pytest.raises(FileExistsError, match="is a character device, not a regular file"):
        an.save({"w": an.zeros(1)}, link)
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)


def test_save_refuses_a_directory_behind_a_link(tmp_path):
    (tmp_path / "folder").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "folder")
    with pytest.raises(IsADirectoryError, match="is a directory"):
        an.save({"w": an.zeros(1)}, tmp_path / "link")


# ---- MLP.load checks the configuration before it builds anything --------------------------


def crafted_mlp(path, config, state):
    an.save(state, path, metadata={"autonet.model": "MLP", "autonet.config": json.dumps(config)})


@pytest.mark.parametrize(
    ("config", "state", "match"),
    [
        # the 284-byte file: a huge network described, no weights stored
        ({"in_features": 2, "hidden": [50_000, 50_000], "out_features": 1}, {"x": an.zeros(1)},
         r"for 'layers\.0\.weight' it gives the shape \(50000, 2\), the file holds no such"),
        ({"in_features": 2, "hidden": 3, "out_features": 1},
         {"layers.0.weight": an.zeros(3, 2), "layers.0.bias": an.zeros(3),
          "layers.2.weight": an.zeros(1, 3), "layers.2.bias": an.zeros(2)},
         r"for 'layers\.2\.bias' it gives the shape \(1,\), the file holds the shape \(2,\)"),
        ({"in_features": 2, "hidden": [-3], "out_features": 1}, {},
         r"layer sizes \[2, -3, 1\], not all whole numbers >= 1"),
        ({"in_features": 2, "hidden": [3.5], "out_features": 1}, {}, "not all whole numbers"),
        ({"in_features": True, "hidden": [3], "out_features": 1}, {}, "not all whole numbers"),
        ({"in_features": 2, "hidden": [3], "out_features": 1, "activation": "swish"}, {},
         "unknown activation 'swish'"),
        ({"in_features": 2, "hidden": [3], "out_features": 1, "activation": 7}, {},
         "activation 7, not a name"),
        ({"in_features": 2, "hidden": [3], "out_features": 1, "dropout": 1.5}, {},
         r"dropout 1\.5, not a number in \[0, 1\)"),
        ({"in_features": 2, "hidden": [3], "out_features": 1, "bias": False}, {},
         "has settings MLP does not take: bias"),
        ({"in_features": 2, "out_features": 1}, {}, "lacks hidden"),
        ([2, [3], 1], {}, "is a JSON list, not an object"),
    ],
)  # fmt: skip
def test_mlp_load_refuses_a_configuration_that_does_not_match(tmp_path, config, state, match):
    path = tmp_path / "crafted.safetensors"
    crafted_mlp(path, config, state or {"x": an.zeros(1)})
    with pytest.raises(LoadError, match=match):
        an.nn.MLP.load(path)


def test_mlp_load_of_a_huge_configuration_fails_before_building(tmp_path, monkeypatch):
    path = tmp_path / "crafted.safetensors"
    config = {"in_features": 2, "hidden": [50_000, 50_000], "out_features": 1}
    crafted_mlp(path, config, {"x": an.zeros(1)})
    built = []
    monkeypatch.setattr(an.nn.MLP, "__init__", lambda self, *a, **k: built.append(a or k))
    with pytest.raises(LoadError):
        an.nn.MLP.load(path)
    assert built == []  # nothing was built


def test_mlp_load_of_configuration_that_is_not_json(tmp_path):
    path = tmp_path / "crafted.safetensors"
    an.save({"x": an.zeros(1)}, path, metadata={"autonet.model": "MLP", "autonet.config": "{"})
    with pytest.raises(LoadError, match="the stored configuration is not JSON"):
        an.nn.MLP.load(path)


@pytest.mark.parametrize("dropout", [0.0, 0.25])
def test_mlp_save_and_load_still_round_trip(tmp_path, dropout):
    net = an.nn.MLP(3, [4, 2], 2, activation="tanh", output_activation="sigmoid", dropout=dropout)
    net.save(tmp_path / "net.safetensors")
    again = an.nn.MLP.load(tmp_path / "net.safetensors")
    for (k, a), (k2, b) in zip(net.state_dict().items(), again.state_dict().items(), strict=True):
        assert k == k2
        np.testing.assert_array_equal(a.numpy(), b.numpy())


# ---- load_state_dict checks and converts everything, then copies ---------------------------


def test_load_state_dict_that_fails_midway_changes_nothing():
    net = an.nn.Sequential(an.nn.Linear(2, 2), an.nn.Linear(2, 1))
    before = {k: v.numpy().copy() for k, v in net.state_dict().items()}
    state = {k: np.full(v.shape, 7.0) for k, v in before.items()}
    state["1.bias"] = np.array([None], dtype=object)  # the last value fails to convert
    with pytest.raises(RuntimeError, match=r"'1\.bias' holds object values, not numbers"):
        net.load_state_dict(state)
    for k, v in net.state_dict().items():
        np.testing.assert_array_equal(v.numpy(), before[k])


@pytest.mark.parametrize(
    ("value", "match"),
    [
        (np.array([[None, None]], dtype=object), "holds object values"),  # not read as NaN
        (np.array([["1.5", "2"]]), "holds <U3 values"),  # not parsed as numbers
        ([["1", "2"]], "holds <U1 values"),
        (np.array([[1 + 2j, 3j]]), "holds complex128 values"),
    ],
)
def test_load_state_dict_refuses_values_that_are_not_numbers(value, match):
    layer = an.nn.Linear(2, 1, bias=False)
    before = layer.weight.numpy().copy()
    with pytest.raises(RuntimeError, match=match):
        layer.load_state_dict({"weight": value})
    np.testing.assert_array_equal(layer.weight.numpy(), before)


def test_load_state_dict_still_converts_numbers():
    layer = an.nn.Linear(2, 1)
    layer.load_state_dict({"weight": [[1, 2]], "bias": np.array([0.5], np.float64)})
    assert layer.weight.dtype == np.float32 and layer.weight.tolist() == [[1.0, 2.0]]
    layer.load_state_dict(layer.state_dict())  # its own tensors, sharing memory
    assert layer.bias.tolist() == [0.5]


# ---- an.load of absurd shapes --------------------------------------------------------------


def raw_safetensors(path, header):
    text = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(text)) + text)


@pytest.mark.parametrize("shape", [[0, 2**62], [2**62, 0, 2**62], [0, 2**61]])
def test_load_of_a_shape_no_array_can_have_is_a_load_error(tmp_path, shape):
    path = tmp_path / "absurd.safetensors"
    raw_safetensors(path, {"w": {"dtype": "F32", "shape": shape, "data_offsets": [0, 0]}})
    with pytest.raises(LoadError, match=r"the tensor 'w' has the impossible shape"):
        an.load(path)


def test_load_of_a_large_but_empty_shape_still_works(tmp_path):
    path = tmp_path / "empty.safetensors"
    raw_safetensors(path, {"w": {"dtype": "F32", "shape": [2**31, 0], "data_offsets": [0, 0]}})
    assert an.load(path)["w"].shape == (2**31, 0)
