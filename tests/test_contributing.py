"""CONTRIBUTING.md's walkthrough (adding an operation) runs as written and prints what it shows.

It runs in a separate process: registering its operation changes the Tensor class and the
registry, which the rest of the test session must not see.
"""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
from pathlib import Path

CONTRIBUTING = Path(__file__).resolve().parent.parent / "CONTRIBUTING.md"

RUNNER = textwrap.dedent(
    """
    import contextlib, doctest, io, json, sys
    blocks = json.loads(sys.stdin.read())
    namespace = {"__name__": "walkthrough"}
    printed = []
    for code in blocks:
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            exec(compile(code, "CONTRIBUTING.md", "exec"), namespace)
        printed.append(out.getvalue())
    finder = doctest.DocTestFinder()
    runner = doctest.DocTestRunner()
    for test in finder.find(namespace["log1p"], "log1p", globs=dict(namespace)):
        runner.run(test)
    print(json.dumps({"printed": printed, "doctest_failures": runner.failures,
                      "doctests": runner.tries}))
    """
)


def blocks() -> list[tuple[str, str]]:
    return re.findall(r"```(\w+)\n(.*?)```", CONTRIBUTING.read_text(), flags=re.S)


def test_the_walkthrough_runs_and_prints_what_it_shows():
    import json

    found = blocks()
    code = [body for lang, body in found if lang == "python"]
    expected = [
        found[i + 1][1] if i + 1 < len(found) and found[i + 1][0] == "text" else None
        for i, (lang, _) in enumerate(found)
        if lang == "python"
    ]
    assert len(code) >= 3
    result = subprocess.run(
        [sys.executable, "-c", RUNNER], input=json.dumps(code), capture_output=True, text=True,
        timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    for i, (want, got) in enumerate(zip(expected, report["printed"])):
        if want is not None:
            assert got == want, f"block {i} printed:\n{got}"
    assert report["doctests"] >= 1 and report["doctest_failures"] == 0


def test_the_walkthrough_names_the_real_commands():
    text = CONTRIBUTING.read_text()
    assert "python -m autonet.engine.stubgen" in text
    assert (Path(__file__).resolve().parent / "test_registry.py").exists()
