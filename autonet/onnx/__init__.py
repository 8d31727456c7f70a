"""ONNX export from the graph the engine records: ``an.onnx.export(model, example_inputs,
path)``.

The model runs once (twice with a dynamic axis) on the example inputs while the engine's
recording is watched; each recorded primitive becomes ONNX operators (opset 17 or newer), the
parameters and buffers become initializers under their state-dict names, and each node is
named after the module call it ran in (``/layers.0/Gemm_3``), so the file reads well in
Netron. Needs the ``onnx`` package (``pip install "autonet[onnx]"``), imported only when
:func:`export` runs; no PyTorch.

>>> import autonet as an
>>> an.onnx.MAPPED[:6]
('abs', 'add', 'astype', 'clip', 'clone', 'concatenate')
"""

from autonet.onnx.export import MAPPED, ExportError, export

__all__ = ["MAPPED", "ExportError", "export"]
