"""Saving and loading tensors and nested state in the safetensors format (never pickle).

A safetensors file is an 8-byte little-endian header size ``N``, then ``N`` bytes of JSON that
give each tensor's dtype, shape and byte range (``data_offsets``, counted from the end of the
header) plus an optional ``"__metadata__"`` object of strings, then the raw little-endian,
C-ordered bytes. Reading one runs no code: it is JSON and arrays.

Two kinds of objects are saved:

* A flat ``{str: Tensor or ndarray}`` mapping — a model's ``state_dict()`` — is written as it
  is, one entry per key, so the file is what PyTorch's ``safetensors.torch.load_file`` reads.
* Any other nesting of dicts (str or int keys), lists, tuples, tensors and plain values (int,
  float, bool, str, None) — an optimizer's state, a checkpoint — stores each tensor as an entry
  named by its dotted path (``"state.0.exp_avg"``), and the rest of the structure as JSON in the
  metadata under the reserved key ``"autonet.structure"``::

      {"version": 1, "root": NODE}
      NODE = null | true | false | 3 | 0.5 | "text"      plain values as themselves
           | {"float": "nan" | "inf" | "-inf"}          floats JSON cannot spell
           | {"tensor": "state.0.exp_avg"}             the entry holding that tensor
           | {"dict": [[KEY, NODE], ...]}              KEY a string or an integer, in order
           | {"list": [NODE, ...]} | {"tuple": [NODE, ...]}

Needs the optional ``safetensors`` package (``pip install 'autonet[io]'``).
"""

from __future__ import annotations

import contextlib
import errno
import json
import math
import os
import secrets
import stat
import sys
from collections.abc import Mapping
from typing import Any

import numpy as np

from autonet.engine.tensor import Tensor

__all__ = ["LoadError", "load", "read_metadata", "save"]

STRUCTURE_KEY = "autonet.structure"
STRUCTURE_VERSION = 1

# The dtypes both NumPy and autonet hold, by their safetensors names.
_DTYPES = {
    "BOOL": np.dtype(np.bool_),
    "U8": np.dtype(np.uint8),
    "I8": np.dtype(np.int8),
    "U16": np.dtype(np.uint16),
    "I16": np.dtype(np.int16),
    "U32": np.dtype(np.uint32),
    "I32": np.dtype(np.int32),
    "U64": np.dtype(np.uint64),
    "I64": np.dtype(np.int64),
    "F16": np.dtype(np.float16),
    "F32": np.dtype(np.float32),
    "F64": np.dtype(np.float64),
}
_SAVABLE = {d.newbyteorder("=") for d in _DTYPES.values()}
_TAGS = ("tensor", "dict", "list", "tuple", "float")
_PLAIN = (bool, int, float, str)


class LoadError(ValueError):
    """A file :func:`load` cannot read: not safetensors, truncated, corrupted, or holding a
    structure entry that does not describe its tensors."""


# ---- save ---------------------------------------------------------------------------------


def save(obj: Any, path: str | os.PathLike[str], metadata: Mapping[str, str] | None = None) -> None:
    """Write ``obj`` to ``path`` as a safetensors file, atomically.

    ``obj`` is a flat ``{str: Tensor or ndarray}`` mapping (a ``state_dict``), written entry by
    entry under its own keys, or a nesting of dicts, lists, tuples, tensors and plain values
    (int, float, bool, str, None), whose tensors are written under dotted paths and whose
    shape goes into the file's metadata. ``metadata`` holds the caller's own strings (a
    configuration as JSON, say); :func:`read_metadata` gives them back.

    The bytes go to a temporary file beside ``path``, which is flushed to disk and then renamed
    onto ``path``: a reader sees the old file or the new one, never part of one, and a failed
    save leaves any previous file as it was.

    >>> import os, tempfile
    >>> import autonet as an
    >>> from autonet.io import load, save
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = os.path.join(folder, "checkpoint.safetensors")
    ...     save({"model": {"0.bias": an.zeros(2)}, "epoch": 7}, path)
    ...     load(path)
    {'model': {'0.bias': tensor([0., 0.])}, 'epoch': 7}
    """
    target = _fspath(path, "save")
    st = _safetensors()
    header_metadata = _check_metadata(metadata)
    arrays: dict[str, np.ndarray] = {}
    if _is_flat(obj):
        for key, value in obj.items():
            arrays[key] = _as_array(value, f"obj[{key!r}]")
    else:
        root = _encode(obj, "", "obj", arrays, {})
        structure = {"version": STRUCTURE_VERSION, "root": root}
        header_metadata[STRUCTURE_KEY] = json.dumps(structure, allow_nan=False)
    if "__metadata__" in arrays:
        raise ValueError(
            "save: no tensor can be stored as '__metadata__', a name the safetensors format "
            "keeps for the header's metadata"
        )
    data = st.numpy.save(arrays, metadata=header_metadata or None)
    _write_atomically(target, data)


def _is_flat(obj: Any) -> bool:
    return isinstance(obj, dict) and all(
        type(k) is str and isinstance(v, (Tensor, np.ndarray)) for k, v in obj.items()
    )


def _check_metadata(metadata: Any) -> dict[str, str]:
    if metadata is None:
        return {}
    if not isinstance(metadata, Mapping):
        raise TypeError(
            f"save: metadata must be a dict of str to str, not {type(metadata).__name__}"
        )
    for key, value in metadata.items():
        if not isinstance(key, str):
            raise TypeError(f"save: metadata key {key!r} is a {type(key).__name__}, not a str")
        if not isinstance(value, str):
            raise TypeError(
                f"save: metadata[{key!r}] is a {type(value).__name__}, not a str "
                "(encode it first, e.g. with json.dumps)"
            )
    if STRUCTURE_KEY in metadata:
        raise ValueError(f"save: metadata key {STRUCTURE_KEY!r} is reserved for autonet")
    return dict(metadata)


def _as_array(value: Tensor | np.ndarray, where: str) -> np.ndarray:
    """The array to write for ``value``: its own dtype, C-ordered."""
    a = value.data if isinstance(value, Tensor) else value
    if a.dtype.newbyteorder("=") not in _SAVABLE:
        names = ", ".join(str(d) for d in _DTYPES.values())
        raise TypeError(f"save: {where} has dtype {a.dtype}; savable dtypes are {names}")
    # NOTE: safetensors copies the raw buffer from the array's data pointer, so a transposed or
    # sliced view must be made C-contiguous first (np.ascontiguousarray would turn 0-d into 1-d).
    return a if a.flags.c_contiguous else np.array(a, order="C")


def _encode(
    value: Any, name: str, where: str, arrays: dict[str, np.ndarray], origin: dict[str, str]
) -> Any:
    """The structure node of ``value``; its tensors go into ``arrays`` under dotted names.

    ``name`` is the dotted entry name (``"state.0.exp_avg"``); ``where`` the same path as Python
    spells it (``obj['state'][0]['exp_avg']``), for error messages; ``origin`` remembers which
    ``where`` took each name, to report collisions.
    """
    if isinstance(value, (Tensor, np.ndarray)):
        if name in arrays:
            raise ValueError(
                f"save: {origin[name]} and {where} would both be stored as the entry {name!r}; "
                "rename one of the keys"
            )
        arrays[name] = _as_array(value, where)
        origin[name] = where
        return {"tensor": name}
    if value is None or type(value) in _PLAIN:
        if type(value) is float and not math.isfinite(value):
            return {"float": repr(value)}  # 'nan', 'inf', '-inf'
        return value
    if isinstance(value, dict):
        pairs = []
        for key, item in value.items():
            if type(key) not in (str, int):
                raise TypeError(
                    f"save: {where} has the key {key!r} of type {type(key).__name__}; "
                    "keys of a saved dict must be str or int"
                )
            node = _encode(item, _join(name, key), f"{where}[{key!r}]", arrays, origin)
            pairs.append([key, node])
        return {"dict": pairs}
    if isinstance(value, (list, tuple)):
        items = [
            _encode(item, _join(name, i), f"{where}[{i}]", arrays, origin)
            for i, item in enumerate(value)
        ]
        return {"tuple" if isinstance(value, tuple) else "list": items}
    module, kind = type(value).__module__, type(value).__qualname__
    kind = kind if module == "builtins" else f"{module}.{kind}"
    hint = (
        " (convert it with .item(), or make it a tensor)" if isinstance(value, np.generic) else ""
    )
    raise TypeError(
        f"save: cannot save {where}, a {kind}{hint}; a saved structure holds dicts, lists, "
        "tuples, tensors, arrays, int, float, bool, str and None"
    )


def _join(name: str, key: str | int) -> str:
    return f"{name}.{key}" if name else str(key)


def check_save_target(
    target: str | os.PathLike, op: str = "save"
) -> tuple[str, os.stat_result | None]:
    """Where a save to ``target`` writes (a symbolic link followed), and what is there now
    (None: nothing); or the error the save would meet: its folder is missing, or the path is
    a directory or another file that is not a regular one (``op`` names the caller)."""
    real = os.path.realpath(target)
    folder = os.path.dirname(real)
    if not os.path.isdir(folder):
        raise FileNotFoundError(errno.ENOENT, f"{op}: no such directory", folder)
    try:
        existing: os.stat_result | None = os.stat(real)
    except FileNotFoundError:
        existing = None
    if existing is not None and not stat.S_ISREG(existing.st_mode):
        if stat.S_ISDIR(existing.st_mode):
            raise IsADirectoryError(errno.EISDIR, f"{op}: the path is a directory", str(target))
        raise FileExistsError(
            errno.EEXIST,
            f"{op}: the path is {_kind_of_file(existing.st_mode)}, not a regular file; "
            "refusing to replace it",
            str(target),
        )
    return real, existing


def _write_atomically(target: str, data: bytes) -> None:
    """Write ``data`` to a new file beside ``target``, fsync it, and rename it onto ``target``.
    On any failure the new file is removed and ``target`` is untouched.

    A symbolic link is followed: the file it points to is replaced (the link stays). A file
    that is replaced keeps its permissions (a private checkpoint stays private) and, where
    the system allows, its owner. Anything at ``target`` that is not a regular file (a
    directory, a device, a pipe) is refused, never replaced."""
    real, existing = check_save_target(target)
    folder = os.path.dirname(real)
    temporary = os.path.join(folder, f".{os.path.basename(real)}.{secrets.token_hex(6)}.tmp")
    # NOTE: os.open with mode 0o666 lets the umask decide the permissions of a new file, as
    # for open(); tempfile.mkstemp would make the saved file readable by its owner only.
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    fd = os.open(temporary, flags, 0o666)
    try:
        try:
            if existing is not None:
                _keep_owner_and_mode(fd, existing)
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(temporary, real)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
    _sync_directory(folder)


def _kind_of_file(mode: int) -> str:
    for test, kind in ((stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                       (stat.S_ISFIFO, "a named pipe"), (stat.S_ISSOCK, "a socket")):  # fmt: skip
        if test(mode):
            return kind
    return "a special file"


def _keep_owner_and_mode(fd: int, existing: os.stat_result) -> None:
    """Give the new file (open as ``fd``) the owner and permissions of the file it replaces."""
    owner = (existing.st_uid, existing.st_gid)
    if hasattr(os, "fchown") and owner != (os.geteuid(), os.getegid()):
        with contextlib.suppress(OSError):  # (only root may give a file away)
            os.fchown(fd, existing.st_uid, existing.st_gid)
    if hasattr(os, "fchmod"):
        os.fchmod(fd, stat.S_IMODE(existing.st_mode))


def _sync_directory(folder: str) -> None:
    """Make the rename itself durable where the system allows it (POSIX; not Windows)."""
    if not hasattr(os, "O_DIRECTORY"):
        return
    try:
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        with contextlib.suppress(OSError):
            os.fsync(fd)
    finally:
        os.close(fd)


# ---- load ---------------------------------------------------------------------------------


def load(path: str | os.PathLike[str]) -> Any:
    """Read back what :func:`save` wrote to ``path``.

    A flat file (any safetensors file without autonet's structure entry, such as one written
    by PyTorch) gives ``{name: Tensor}`` in the file's order; a saved structure comes back as
    it was: int keys as ints, tuples as tuples, arrays as Tensors. Every Tensor has the saved
    dtype, owns its memory and does not require grad. The file is checked whole before
    anything is returned; a file that is not valid raises :class:`LoadError`.

    >>> import os, tempfile
    >>> import autonet as an
    >>> from autonet.io import load, save
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = os.path.join(folder, "model.safetensors")
    ...     save({"weight": an.tensor([1.5, 2.0]), "steps": an.tensor([3, 4])}, path)
    ...     load(path)
    {'steps': tensor([3, 4]), 'weight': tensor([1.5, 2. ])}
    """
    target = _fspath(path, "load")
    st = _safetensors()
    try:
        with open(target, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        raise FileNotFoundError(errno.ENOENT, "load: no such file", target) from None
    header = _parse_header(data, target)
    _check_sizes(header, target)
    try:
        arrays = st.numpy.load(data)
    except st.SafetensorError as e:
        raise _invalid(target, _reason(e)) from None
    except (ValueError, MemoryError) as e:  # an array NumPy cannot make
        raise _invalid(target, f"a tensor cannot be made ({e})") from None
    except KeyError:
        # NOTE: safetensors checks the whole file first and only then maps its dtype names to
        # NumPy's, so a KeyError means a valid file with a dtype NumPy lacks (BF16, F8_*).
        arrays = None
    del data
    names = [k for k in header if k != "__metadata__"]
    names.sort(key=lambda k: header[k]["data_offsets"][0])
    unreadable = [
        f"{k!r} ({header[k]['dtype']})" for k in names if header[k]["dtype"] not in _DTYPES
    ]
    if unreadable or arrays is None:
        raise LoadError(
            f"load: {target}: autonet cannot hold the dtype of the tensors {', '.join(unreadable)}"
            f"; it reads {', '.join(_DTYPES)}"
        )
    tensors = {}
    for name in names:  # in the file's order, releasing each read buffer as it is copied
        array = arrays.pop(name)
        if array.dtype == np.bool_ and array.view(np.uint8).max(initial=0) > 1:
            raise _invalid(target, f"the bool tensor {name!r} holds bytes other than 0 and 1")
        tensors[name] = Tensor(array, dtype=array.dtype)  # a copy that owns its memory
    structure = (header.get("__metadata__") or {}).get(STRUCTURE_KEY)
    if structure is None:
        return tensors
    return _rebuild(structure, tensors, target)


def read_metadata(path: str | os.PathLike[str]) -> dict[str, str]:
    """The ``metadata`` strings given to :func:`save` (``{}`` if none), read from the header
    alone, without the tensor data.

    >>> import os, tempfile
    >>> import autonet as an
    >>> from autonet.io import read_metadata, save
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = os.path.join(folder, "model.safetensors")
    ...     save({"w": an.ones(2)}, path, metadata={"config": '{"hidden": [3, 3]}'})
    ...     read_metadata(path)
    {'config': '{"hidden": [3, 3]}'}
    """
    target = _fspath(path, "read_metadata")
    st = _safetensors()
    if not os.path.exists(target):
        raise FileNotFoundError(errno.ENOENT, "read_metadata: no such file", target)
    if os.path.isdir(target):
        raise IsADirectoryError(errno.EISDIR, "read_metadata: the path is a directory", target)
    try:
        with st.safe_open(target, framework="numpy") as f:
            metadata = f.metadata() or {}
    except st.SafetensorError as e:
        raise _invalid(target, _reason(e), "read_metadata") from None
    return {k: v for k, v in metadata.items() if k != STRUCTURE_KEY}


def _parse_header(data: bytes, path: str) -> dict[str, Any]:
    """The JSON header of ``data``, checked as far as reading it needs; the safetensors
    library then checks its entries against the data."""
    if len(data) < 8:
        raise _invalid(path, f"it is {len(data)} bytes long, shorter than the 8-byte header size")
    size = int.from_bytes(data[:8], "little")
    if size > len(data) - 8:
        raise _invalid(
            path,
            f"its first 8 bytes give a header size of {size} bytes, but only {len(data) - 8} "
            f"bytes follow{_looks_like(data)}",
        )
    try:
        header = json.loads(data[8 : 8 + size].decode("utf-8"), object_pairs_hook=_unique)
    except (UnicodeDecodeError, ValueError, RecursionError) as e:
        raise _invalid(path, f"its header is not JSON ({e})") from None
    if not isinstance(header, dict):
        raise _invalid(path, f"its header is a JSON {type(header).__name__}, not an object")
    return header


def _check_sizes(header: dict[str, Any], path: str) -> None:
    """Refuse a shape whose axes other than those of size 0 multiply to more bytes than an
    array can hold (``[0, 2**62]``): its data is empty, so the file is consistent, but NumPy
    cannot make the array. Other faults of an entry are the safetensors library's to report."""
    for name, entry in header.items():
        if name == "__metadata__" or not isinstance(entry, dict):
            continue
        shape, dtype = entry.get("shape"), _DTYPES.get(entry.get("dtype"))
        if dtype is None or not isinstance(shape, list):
            continue
        if not all(type(n) is int and n >= 0 for n in shape):
            continue
        if math.prod([n for n in shape if n]) * dtype.itemsize > sys.maxsize:
            raise _invalid(path, f"the tensor {name!r} has the impossible shape {shape}")


def _unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object's pairs as a dict, refusing a key that appears twice (``json`` would keep
    the last one silently)."""
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"the key {key!r} appears twice")
        out[key] = value
    return out


def _looks_like(data: bytes) -> str:
    """A hint at what a file that is not safetensors may be."""
    if data.startswith(b"PK\x03\x04"):
        return " (it looks like a zip archive, which is what torch.save writes around a pickle)"
    if data.startswith(b"\x80"):
        return " (it looks like a pickle; autonet never loads pickles, which can run code)"
    if data.lstrip()[:1] in (b"{", b"["):
        return " (it looks like a JSON text file)"
    return ""


def _rebuild(structure: str, tensors: dict[str, Tensor], path: str) -> Any:
    """The saved object, from the structure entry and the file's tensors."""
    try:
        document = json.loads(structure, parse_constant=_no_constant)
    except (ValueError, RecursionError) as e:
        raise _invalid(path, f"its {STRUCTURE_KEY!r} entry is not JSON ({e})") from None
    if not isinstance(document, dict) or set(document) != {"version", "root"}:
        raise _invalid(path, f"its {STRUCTURE_KEY!r} entry is not {{'version', 'root'}}")
    if type(document["version"]) is not int or document["version"] != STRUCTURE_VERSION:
        raise _invalid(
            path,
            f"its structure has version {document['version']!r}; this autonet reads version "
            f"{STRUCTURE_VERSION}",
        )
    used: set[str] = set()
    try:
        obj = _decode(document["root"], tensors, used)
    except (_BadNode, RecursionError) as e:
        raise _invalid(path, f"its {STRUCTURE_KEY!r} entry is broken: {e}") from None
    unused = [name for name in tensors if name not in used]
    if unused:
        raise _invalid(path, f"its structure does not place the tensors {unused}")
    return obj


class _BadNode(Exception):
    pass


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _decode(node: Any, tensors: dict[str, Tensor], used: set[str]) -> Any:
    if node is None or type(node) in _PLAIN:
        return node
    if not (isinstance(node, dict) and len(node) == 1 and next(iter(node)) in _TAGS):
        raise _BadNode(f"{node!r:.80} is not a node (a plain value or one of {_TAGS})")
    tag, body = next(iter(node.items()))
    if tag == "tensor":
        if not isinstance(body, str) or body not in tensors:
            raise _BadNode(f"it places the tensor {body!r:.80}, which the file does not hold")
        if body in used:
            raise _BadNode(f"it places the tensor {body!r} twice")
        used.add(body)
        return tensors[body]
    if tag == "float":
        if body not in ("nan", "inf", "-inf"):
            raise _BadNode(f"{body!r:.80} is not 'nan', 'inf' or '-inf'")
        return float(body)
    if not isinstance(body, list):
        raise _BadNode(f"the body of a {tag!r} node is a {type(body).__name__}, not a list")
    if tag == "dict":
        out = {}
        for pair in body:
            if not (isinstance(pair, list) and len(pair) == 2 and type(pair[0]) in (str, int)):
                raise _BadNode(f"{pair!r:.80} is not a [str or int key, node] pair")
            if pair[0] in out:
                raise _BadNode(f"the key {pair[0]!r} appears twice in a dict")
            out[pair[0]] = _decode(pair[1], tensors, used)
        return out
    items = [_decode(item, tensors, used) for item in body]
    return tuple(items) if tag == "tuple" else items


# ---- shared -------------------------------------------------------------------------------


def _safetensors() -> Any:
    """The safetensors package, imported only when needed (it is an optional dependency)."""
    try:
        import safetensors
        import safetensors.numpy
    except ImportError as e:
        raise ImportError("saving and loading need safetensors: pip install 'autonet[io]'") from e
    return safetensors


def _fspath(path: Any, op: str) -> str:
    try:
        target = os.fspath(path)
    except TypeError:
        target = None
    if not isinstance(target, str):
        raise TypeError(f"{op}: path must be a str or a pathlib.Path, not {type(path).__name__}")
    return target


def _invalid(path: str, reason: str, op: str = "load") -> LoadError:
    return LoadError(f"{op}: {path} is not a valid safetensors file: {reason}")


def _reason(error: Exception) -> str:
    """The safetensors library's message without its 'Error while deserializing ...:' prefix."""
    message = str(error)
    message = message.split(": ", 1)[1] if message.startswith("Error while") else message
    if "not fully covered" in message:
        message += " (the data is shorter or longer than the header says: a truncated file?)"
    return message
