"""examples/handoff.py runs as a user runs it: trained in autonet, on in PyTorch, scored by ONNX
Runtime, the three accuracies side by side (needs the torch and onnx extras)."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("onnxruntime")

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "handoff.py"


def test_handoff_example(tmp_path: Path) -> None:
    path = tmp_path / "cnn.onnx"
    result = subprocess.run([sys.executable, str(EXAMPLE), "--fast", "--onnx", str(path)],
                            capture_output=True, text=True, timeout=300)  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    found = dict(re.findall(r"(autonet|PyTorch|ONNX Runtime) ([\d.]+)%", result.stdout))
    assert set(found) == {"autonet", "PyTorch", "ONNX Runtime"}
    assert all(float(v) > 80 for v in found.values()), result.stdout
    assert found["ONNX Runtime"] == found["PyTorch"]  # the same weights, run by another engine
    assert "Adam at step 135" in result.stdout  # 2 epochs of 45 batches, then one more epoch
    assert path.stat().st_size > 10_000
