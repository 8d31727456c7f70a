"""A Griffe extension for the API reference (mkdocs.yml: mkdocstrings' ``extensions``): autonet's
docstrings are plain text with doctests and reStructuredText's inline markup; this turns them
into the Markdown the reference pages render.

- a doctest (``>>>`` lines and the output under them) becomes a ``pycon`` code block, which
  Markdown would otherwise read as nested quotes;
- ``:mod:`x```, ``:func:`x``` and the like become ``x`` in code type; ````x```` stays code;
- brackets outside code are escaped: the docstrings mean ``[i][j]`` as indices, not as a link.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

ROLE = re.compile(r":(?:mod|func|class|meth|attr|data|obj|exc):`~?([^`]+)`")
CODE = re.compile(r"(`+)(.+?)\1")


def _prose(line: str) -> str:
    line = ROLE.sub(r"`\1`", line)
    pieces, start = [], 0
    for m in CODE.finditer(line):
        pieces += [line[start : m.start()].replace("[", "\\["), m.group(0)]
        start = m.end()
    return "".join(pieces) + line[start:].replace("[", "\\[")


def markdown(docstring: str) -> str:
    """The docstring with its doctests fenced and its roles made code."""
    lines = docstring.splitlines()
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.lstrip().startswith(">>>"):
            indent = line[: len(line) - len(line.lstrip())]
            block = []
            while i < len(lines) and lines[i].strip() and lines[i].startswith(indent):
                block.append(lines[i][len(indent) :])
                i += 1
            if out and out[-1].strip():
                out.append("")
            out += [f"{indent}```pycon", *(indent + b for b in block), f"{indent}```"]
            if i < len(lines) and lines[i].strip():
                out.append("")
            continue
        out.append(_prose(line))
        i += 1
    return "\n".join(out)


class Doctests(griffe.Extension):
    """Fence every docstring's doctests as it is loaded."""

    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = markdown(obj.docstring.value)
