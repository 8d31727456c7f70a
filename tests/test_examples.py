"""Every example runs as a user runs it (a subprocess) and reaches what it promises."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def run(name: str, *args: str, stdin: str = "", timeout: float = 120) -> str:
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / name), *args],
        input=stdin, capture_output=True, text=True, timeout=timeout,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def numbers_after(pattern: str, text: str) -> list[float]:
    return [float(v) for v in re.findall(pattern, text)]


def test_xor_learns_both_variants_and_the_product_input_is_faster():
    out = run("xor.py", "--no-prompt")
    outputs = numbers_after(r"xor \d -> ([\d.]+)", out)
    assert len(outputs) == 8
    for false, true in [(outputs[0], outputs[1]), (outputs[3], outputs[2])] * 2:
        assert false < 0.05 and true > 0.95
    epochs = [int(e) for e in re.findall(r"learned in (\d+) epochs", out)]
    assert epochs[1] < epochs[0]


@pytest.mark.parametrize(
    ("stdin", "answers"),
    [
        ("0\n1\nabc\n1\n1\nq\n", 2),  # a non-number is told and asked again; q quits
        ("1\n0\n", 1),  # end of input quits cleanly
        ("Q\n", 0),
    ],
)
def test_xor_prompt(stdin, answers):
    out = run("xor.py", stdin=stdin)
    asked = out.split("Type two inputs")[1]
    predictions = numbers_after(r"\d xor \d -> ([\d.]+)", asked)
    assert len(predictions) == answers
    if stdin.startswith("0\n1"):
        assert "'abc' is not a number" in asked
        assert predictions[0] > 0.9 and predictions[1] < 0.1


def test_xor_prompt_survives_ctrl_c():
    sys.path.insert(0, str(EXAMPLES))
    try:
        import xor
    finally:
        sys.path.pop(0)
    replies = iter(["0"])

    def read(prompt):
        reply = next(replies, None)
        if reply is None:
            raise KeyboardInterrupt
        return reply

    xor.ask(lambda x, y: 0.5, read)  # returns instead of raising


def test_identity_mapping_is_learned():
    out = run("identity.py")
    assert "all right: True" in out
    assert numbers_after(r"lowest winning probability ([\d.]+)", out)[0] > 0.9


def test_regression_fits_sine():
    out = run("regression.py")
    assert numbers_after(r"final mean squared error: ([\d.e+-]+)", out)[0] < 1e-3


def test_digits_reaches_97_percent_and_reloads_the_same(tmp_path):
    path = tmp_path / "digits.safetensors"
    out = run("digits.py", "--out", str(path))
    accuracy, reloaded = numbers_after(r"accuracy ([\d.]+)%", out)
    assert accuracy >= 97.0 and reloaded == accuracy
    assert path.stat().st_size > 0


def test_digits_cnn_reaches_98_percent_and_draws_its_layers(tmp_path):
    if shutil.which("dot") is None:
        pytest.skip("Graphviz's dot is not installed")
    out = run("digits_cnn.py", "--graph", str(tmp_path / "cnn.svg"))
    assert numbers_after(r"test accuracy ([\d.]+)%", out)[0] >= 98.0
    assert "Conv2d" in out  # the summary lists the layers
    drawing = (tmp_path / "cnn.svg").read_text()
    for cluster in ("0: Conv2d(1, 16, 3)", "3: Conv2d(16, 32, 3)", "6: MaxPool2d"):
        assert cluster in drawing
    width = float(re.search(r'<svg width="([\d.]+)pt"', drawing).group(1))
    assert width * 96 / 72 <= 2000  # one box per layer, top to bottom


def test_backprop_traces_the_neuron_and_the_mlp_and_writes_the_drawings(tmp_path):
    if shutil.which("dot") is None:
        pytest.skip("Graphviz's dot is not installed")
    out = run("backprop.py", "--out", str(tmp_path))
    assert "dL/dx1, dL/dw1, dL/dx2, dL/dw2, dL/db = [-1.5, 1.0, 0.5, 0.0, 0.5]" in out
    assert re.findall(r"step (\d): (\w+)", out) == [
        ("0", "tanh"), ("1", "add"), ("2", "add"), ("3", "mul"), ("4", "mul"),
    ]  # fmt: skip
    from PIL import Image

    with Image.open(tmp_path / "neuron_backprop.gif") as gif:
        assert gif.n_frames == 6  # the start and one frame per step
    for name in ("neuron.svg", "neuron.html", "mlp.svg", "mlp_layers.svg", "mlp.html"):
        assert (tmp_path / name).stat().st_size > 1000, name
    assert "grad &#45;1.5" in (tmp_path / "neuron.svg").read_text()  # (SVG writes - as &#45;)
