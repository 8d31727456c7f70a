"""Saving and loading state in the safetensors format, never pickle: ``save``, ``load``,
``read_metadata``. Needs the optional ``safetensors`` package (``pip install 'autonet[io]'``)."""

from autonet.io.serialization import LoadError, load, read_metadata, save

__all__ = ["LoadError", "load", "read_metadata", "save"]
