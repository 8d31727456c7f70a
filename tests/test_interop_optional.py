"""PyTorch and ONNX stay optional: importing autonet (and its interop and onnx modules) imports
neither, so autonet works without them installed."""

import subprocess
import sys


def test_importing_autonet_imports_neither_torch_nor_onnx() -> None:
    code = (
        "import sys, autonet as an\n"
        "import autonet.interop\n"
        "assert callable(an.onnx.export) and callable(an.interop.to_torch)\n"
        "print(sorted(m for m in ('torch', 'onnx', 'onnxruntime') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
