"""The documentation: the notebooks say what the pages say, outputs stripped; every page is on
the site; the page-to-notebook and output-to-page machinery of tools/docs.py does what it says.

The tutorials' code itself runs in CI, once, as notebooks (.ci/run: ``tools/docs.py --check
--execute``, then ``mkdocs build --strict``, which reuses those runs); here nothing starts a
kernel, so these tests take a fraction of a second.
"""

from __future__ import annotations

import base64
import importlib.util
import json
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location("autonet_docs_tool", ROOT / "tools" / "docs.py")
docs = sys.modules.setdefault(spec.name, importlib.util.module_from_spec(spec))
spec.loader.exec_module(docs)


def test_every_tutorial_has_its_notebook_and_they_agree():
    assert len(docs.tutorial_pages()) == 8
    assert docs.out_of_sync() == [], "run: python tools/docs.py"


@pytest.mark.parametrize("path", sorted((ROOT / "examples" / "notebooks").glob("*.ipynb")))
def test_notebooks_are_stored_without_outputs(path):
    nb = json.loads(path.read_text(encoding="utf-8"))
    assert nb["nbformat"] == 4
    code = [cell for cell in nb["cells"] if cell["cell_type"] == "code"]
    assert len(code) >= 5
    for cell in code:
        assert cell["outputs"] == [] and cell["execution_count"] is None
    if importlib.util.find_spec("nbformat"):  # the docs extra: the schema too
        import nbformat

        nbformat.validate(nbformat.from_dict(nb))
        assert nbformat.writes(nbformat.from_dict(nb)) + "\n" == path.read_text(encoding="utf-8")


def pages() -> list[Path]:
    return sorted((ROOT / "docs").rglob("*.md"))


@pytest.mark.parametrize("page", pages(), ids=lambda p: p.relative_to(ROOT / "docs").as_posix())
def test_every_page_is_on_the_site_and_its_code_compiles(page):
    nav = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    assert page.relative_to(ROOT / "docs").as_posix() in nav
    for i, code in enumerate(docs.code_blocks(page.read_text(encoding="utf-8"))):
        compile(code, f"{page.name} block {i + 1}", "exec")


def test_readme_and_ci_name_the_commands():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "mkdocs serve" in readme and '".[docs]"' in readme
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "tools/docs.py --check --execute" in ci and "mkdocs build --strict" in ci
    assert ci.index("tools/docs.py --check --execute") < ci.index("mkdocs build --strict")


PAGE = """# A page

Some prose with a [link](../pytorch.md#axis-and-dim).

```python
print("hello")
```

!!! tip "Try it"
    `python examples/xor.py`

<!-- site -->
<iframe src="page.html"></iframe>
<!-- /site -->

```bash
not run
```

```python
figure()
```
"""


def test_a_page_becomes_markdown_and_code_cells(tmp_path):
    page = docs.TUTORIALS / "99-example.md"  # (a path under docs/tutorials; not written)
    pieces = docs.split(PAGE)
    assert [kind for kind, _ in pieces] == ["markdown", "code", "markdown", "code", "markdown"]
    assert docs.code_blocks(PAGE) == ['print("hello")\n', "figure()\n"]
    prose = docs._notebook_markdown(pieces[2][1], page)
    assert "> **Try it**\n>\n> `python examples/xor.py`" in prose
    assert "iframe" not in prose and "```bash\nnot run\n```" in prose
    link = docs._notebook_markdown(pieces[0][1], page)
    assert "[link](../../docs/pytorch.md#axis-and-dim)" in link


def test_outputs_go_under_their_blocks():
    png = base64.b64encode(b"\x89PNG fake").decode()
    wide = '<svg width="2000pt" height="10pt"></svg>'
    run = docs.Run(
        outputs=[
            [
                {"output_type": "stream", "name": "stdout", "text": "hello\n"},
                {"output_type": "stream", "name": "stderr", "text": "a warning\n"},
            ],
            [
                {"output_type": "display_data", "data": {"image/png": png, "text/plain": "F"}},
                {"output_type": "execute_result", "data": {"image/svg+xml": wide}},
            ],
        ]
    )
    shown, figures = docs.with_outputs(PAGE, run, "figures/page")
    assert shown.index('print("hello")') < shown.index("```text\nhello\n```") < shown.index("Try")
    assert "a warning" not in shown  # warnings and progress bars stay out of the page
    assert figures["figures/page-2-1.png"] == b"\x89PNG fake"
    assert "[![A figure the code above made](figures/page-2-1.png)](figures/page-2-1.png)" in shown
    assert re.search(r"page-2-2\.svg\)\{ style=\"width: \d+px; max-width: none\" \}", shown)


def test_a_section_of_another_file_is_included():
    text, images = docs.included("<!-- include benchmarks/RESULTS.md#Results -->\n")
    assert text.startswith("### Results\n") and "| workload |" in text
    assert all(path.exists() for path in images.values())
    with pytest.raises(ValueError, match="no section '## Nowhere'"):
        docs.included("<!-- include benchmarks/RESULTS.md#Nowhere -->\n")


def test_doctests_in_docstrings_become_code_blocks_for_the_reference():
    pytest.importorskip("griffe")
    spec = importlib.util.spec_from_file_location("docs_api", ROOT / "tools" / "docs_api.py")
    api = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(api)
    text = "Block [i][j], see :func:`~a.b`.\n\n>>> 1 + 1\n2\n\nAfter."
    assert api.markdown(text) == (
        "Block \\[i]\\[j], see `a.b`.\n\n```pycon\n>>> 1 + 1\n2\n```\n\nAfter."
    )
