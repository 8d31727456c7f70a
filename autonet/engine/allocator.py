"""Keeping freed memory for the next array instead of handing it back to the system.

Training allocates and frees the same large arrays at every step: activations, their
gradients, a convolution's columns. With glibc's default settings, ``free`` returns memory at
the top of the heap to the system as soon as a few megabytes lie free there (and arrays above
128 KiB to 32 MiB may go through ``mmap`` of their own), so the next step's arrays come from
fresh pages, and the kernel zeroes and maps each 4 KiB page on first touch: a page fault.
Measured on a 2-core virtual machine, one training step of ``examples/digits_cnn.py``'s model
took some 950 page faults and 4.4 ms; with the settings below, under one fault and 3.2 ms.

So, on Linux with glibc, importing autonet asks ``malloc`` (through ``mallopt``) to

- serve arrays of up to ``MMAP_THRESHOLD`` (32 MiB, the largest glibc's own adaptive
  threshold reaches) from its heap, and
- give the heap's top back to the system only once ``TRIM_THRESHOLD`` (64 MiB) lie free there.

The price: a process may hold up to 64 MiB it no longer uses (PyTorch's guide for CPU
performance suggests swapping the allocator for jemalloc or tcmalloc for the same reason).
Nothing changes when the user already set glibc's ``MALLOC_*_`` environment variables, on
other systems, or with ``AUTONET_MALLOC=default`` in the environment.
"""

from __future__ import annotations

import ctypes
import os
import sys

__all__ = ["keep_freed_memory"]

MMAP_THRESHOLD = 32 << 20  # bytes: larger arrays get pages of their own (mmap)
TRIM_THRESHOLD = 64 << 20  # bytes free at the heap's top before it is given back

_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # mallopt's parameter numbers (malloc.h)
_USER_SETTINGS = ("MALLOC_TRIM_THRESHOLD_", "MALLOC_MMAP_THRESHOLD_", "MALLOC_TOP_PAD_")


def keep_freed_memory(trim: int = TRIM_THRESHOLD, mmap: int = MMAP_THRESHOLD) -> bool:
    """Ask glibc's malloc to keep up to ``trim`` bytes of freed memory, and to serve arrays
    below ``mmap`` bytes from its heap; True when it did.

    Called once when autonet is imported; calling it again sets other values. Does nothing
    (False) off glibc, when the user set glibc's ``MALLOC_*_`` variables, or under
    ``AUTONET_MALLOC=default``.

    >>> from autonet.engine.allocator import keep_freed_memory
    >>> keep_freed_memory() in (True, False)
    True
    """
    if os.environ.get("AUTONET_MALLOC", "").lower() == "default":
        return False
    if any(name in os.environ for name in _USER_SETTINGS):
        return False
    if not sys.platform.startswith("linux") or not _glibc():
        return False
    try:
        libc = ctypes.CDLL(None)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    return bool(mallopt(_M_MMAP_THRESHOLD, int(mmap)) and mallopt(_M_TRIM_THRESHOLD, int(trim)))


def _glibc() -> bool:
    try:
        return os.confstr("CS_GNU_LIBC_VERSION").startswith("glibc")
    except (AttributeError, ValueError, OSError):
        return False
