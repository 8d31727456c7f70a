"""The tutorials as pages and as notebooks, from one source, and every line of their code run.

A tutorial is a Markdown page in ``docs/tutorials/``. Its ```` ```python ```` blocks are code to
run, in order, in one session; every other block is shown only (```` ```py ```` for code that
needs something the site does not install, ```` ```bash ```` for commands). The same page becomes
a notebook in ``examples/notebooks/``: prose into Markdown cells, each ``python`` block into a
code cell, outputs stripped.

    python tools/docs.py              # write examples/notebooks/*.ipynb from the pages
    python tools/docs.py --check      # fail when a notebook differs from its page
    python tools/docs.py --execute    # run every notebook in a Jupyter kernel (nbclient)

As a MkDocs hook (``hooks:`` in mkdocs.yml) it runs each page's notebook while the site builds
and puts what each code block printed or displayed under the block: text as text, figures
(graphviz drawings, matplotlib plots) as SVG and PNG files published with the page. Files the
code writes into its working folder (an HTML page, a GIF) are published next to the page, so a
page can link or embed them. A block that raises fails the build. Runs are kept in a cache
keyed by the notebook and autonet's source, so ``--execute`` followed by ``mkdocs build`` runs
each notebook once, and ``mkdocs serve`` reruns only the pages that changed.

``<!-- include benchmarks/RESULTS.md#Results -->`` on a page puts there that file's section of
that heading (a level below the page's sections), and publishes the images it shows, so a page
can show numbers that another tool writes.

Markup for the two readers of a page: ``<!-- site -->`` ... ``<!-- /site -->`` is left out of
the notebook (an embedded page, say); an admonition (``!!! note "Title"``) becomes a quote;
relative links are rewritten to point from the notebook's folder to the same files.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import posixpath
import re
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
TUTORIALS = DOCS / "tutorials"
NOTEBOOKS = ROOT / "examples" / "notebooks"
PUBLISHED = {".svg", ".png", ".gif", ".html"}  # files a page's code writes that go on the site
CELL_TIMEOUT = 300  # seconds

FENCE = re.compile(r"^```([\w+-]*)[^\n]*\n(.*?)^```[ \t]*$\n?", re.S | re.M)
SITE_ONLY = re.compile(r"<!-- site -->.*?<!-- /site -->\n?", re.S)
LINK = re.compile(r"(!?\[[^\]]*\]\()([^)\s]+)(\))")
ADMONITION = re.compile(r'^(!!!|\?\?\?\+?) (\w+)(?: "([^"]*)")?\n((?:(?:    .*)?\n)*)', re.M)


# --- pages into notebooks ---------------------------------------------------------------------


def split(markdown: str) -> list[tuple[str, str]]:
    """The page as ("markdown", text) and ("code", source) pieces, in order: each ``python``
    fenced block is code; everything else, other fenced blocks included, is Markdown."""
    pieces: list[tuple[str, str]] = []
    start = 0
    for m in FENCE.finditer(markdown):
        if m.group(1) != "python":
            continue
        pieces.append(("markdown", markdown[start : m.start()]))
        pieces.append(("code", m.group(2)))
        start = m.end()
    pieces.append(("markdown", markdown[start:]))
    return pieces


def code_blocks(markdown: str) -> list[str]:
    """The sources of the page's ``python`` blocks, in order."""
    return [text for kind, text in split(markdown) if kind == "code"]


def _notebook_markdown(text: str, page: Path) -> str:
    """A page's prose as a notebook shows it: site-only parts left out, admonitions as quotes,
    relative links pointing from the notebooks' folder."""
    text = SITE_ONLY.sub("", text)

    def quote(m: re.Match[str]) -> str:
        title = m.group(3) if m.group(3) is not None else m.group(2).capitalize()
        body = [line[4:] for line in m.group(4).splitlines()]
        lines = ([f"**{title}**", ""] if title else []) + body
        while lines and not lines[-1].strip():
            lines.pop()
        return "\n".join(f"> {line}".rstrip() for line in lines) + "\n\n"

    def relink(m: re.Match[str]) -> str:
        target = m.group(2)
        if re.match(r"^[a-z]+:|^#|^/", target):
            return m.group(0)
        path, _, anchor = target.partition("#")
        moved = os.path.relpath(page.parent / path, NOTEBOOKS).replace(os.sep, "/")
        return f"{m.group(1)}{moved}{'#' + anchor if anchor else ''}{m.group(3)}"

    text = ADMONITION.sub(quote, text)
    return LINK.sub(relink, text)


def _lines(text: str) -> list[str]:
    return text.splitlines(keepends=True)


def notebook(page: Path) -> dict:
    """The notebook of a tutorial page (nbformat 4 as plain JSON, outputs empty)."""
    source = page.read_text(encoding="utf-8")
    origin = page.relative_to(ROOT).as_posix()
    cells = [
        {
            "cell_type": "markdown",
            "id": "origin",
            "metadata": {},
            "source": _lines(
                f"*This notebook is made from [{origin}](../../{origin}), a page of autonet's "
                "documentation (`python tools/docs.py` writes it again). Run the cells in "
                "order; the drawings need Graphviz's `dot` program.*"
            ),
        },
        {  # autonet's plots are matplotlib Figures: this shows them under their cell
            "cell_type": "code",
            "execution_count": None,
            "id": "setup",
            "metadata": {},
            "outputs": [],
            "source": ["%matplotlib inline"],
        },
    ]
    for kind, text in split(source):
        if kind == "code":
            cells.append(
                {
                    "cell_type": "code",
                    "execution_count": None,
                    "id": f"cell-{len(cells)}",
                    "metadata": {},
                    "outputs": [],
                    "source": _lines(text.rstrip("\n")),
                }
            )
        else:
            text = _notebook_markdown(text, page).strip("\n")
            if text.strip():
                cells.append(
                    {
                        "cell_type": "markdown",
                        "id": f"cell-{len(cells)}",
                        "metadata": {},
                        "source": _lines(text),
                    }
                )
    return {
        "cells": cells,
        "metadata": {
            "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
            "language_info": {"name": "python"},
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }


def dumps(nb: dict) -> str:
    """A notebook as nbformat writes it (so that Jupyter saving it changes nothing)."""
    return json.dumps(nb, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def tutorial_pages() -> list[Path]:
    return sorted(TUTORIALS.glob("[0-9][0-9]-*.md"))


def notebook_path(page: Path) -> Path:
    return NOTEBOOKS / f"{page.stem}.ipynb"


def write_notebooks() -> list[Path]:
    NOTEBOOKS.mkdir(parents=True, exist_ok=True)
    written = []
    for page in tutorial_pages():
        path = notebook_path(page)
        path.write_text(dumps(notebook(page)), encoding="utf-8")
        written.append(path)
    wanted = {notebook_path(page) for page in tutorial_pages()}
    for stale in NOTEBOOKS.glob("*.ipynb"):
        if stale not in wanted:
            stale.unlink()
    return written


def out_of_sync() -> list[str]:
    """What differs between the pages and the notebooks (nothing when they agree)."""
    problems = []
    wanted = {notebook_path(page): page for page in tutorial_pages()}
    for path, page in wanted.items():
        if not path.exists():
            problems.append(f"{path.relative_to(ROOT)} is missing")
        elif path.read_text(encoding="utf-8") != dumps(notebook(page)):
            problems.append(f"{path.relative_to(ROOT)} differs from {page.relative_to(ROOT)}")
    for path in sorted(NOTEBOOKS.glob("*.ipynb")):
        if path not in wanted:
            problems.append(f"{path.relative_to(ROOT)} has no page")
    return problems


# --- running notebooks ------------------------------------------------------------------------


@dataclass
class Run:
    """What a page's code did: the outputs of each code cell and the files it wrote."""

    outputs: list[list[dict]]  # per code cell, Jupyter's output dicts
    files: dict[str, bytes] = field(default_factory=dict)  # name -> content
    seconds: float = 0.0


def _source_digest() -> str:
    digest = hashlib.sha256()
    for path in sorted((ROOT / "autonet").rglob("*.py")) + [Path(__file__)]:
        digest.update(path.relative_to(ROOT).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _cache_dir(nb_text: str, source_digest: str) -> Path:
    key = hashlib.sha256((source_digest + nb_text).encode()).hexdigest()[:24]
    return Path(tempfile.gettempdir()) / "autonet-docs" / key


class ExecutionError(RuntimeError):
    pass


def execute(nb: dict, name: str, source_digest: str | None = None, fresh: bool = False) -> Run:
    """Run a notebook in a fresh kernel, in an empty working folder, and keep the run in the
    cache; unless ``fresh``, take a run of the same notebook and autonet from the cache.
    Raise ExecutionError naming the cell when one fails."""
    nb_text = dumps(nb)
    cache = _cache_dir(nb_text, source_digest or _source_digest())
    if not fresh and (cache / "run.json").exists():
        return _load_run(cache)

    import nbformat
    from jupyter_client.manager import KernelManager
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    work = Path(tempfile.mkdtemp(prefix="autonet-docs-"))
    node = nbformat.reads(nb_text, as_version=4)
    # the kernel talks over local sockets in the working folder, not over TCP
    kernel = KernelManager(kernel_name="python3", transport="ipc", ip=str(work / ".kernel"))
    client = NotebookClient(
        node, km=kernel, timeout=CELL_TIMEOUT, resources={"metadata": {"path": str(work)}}
    )
    # NOTE: one BLAS thread. The tutorials' matrices are small, and on a busy machine (CI,
    # other jobs) threads that wait for a core made the sequence tutorial's training 9x slower.
    env = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    env = {**env, **os.environ, "MPLBACKEND": "module://matplotlib_inline.backend_inline"}
    start = time.perf_counter()
    try:
        client.execute(env=env)
    except CellExecutionError as e:
        raise ExecutionError(f"{name}: a code block failed\n{_strip_ansi(str(e))}") from None
    finally:
        if kernel.has_kernel:
            kernel.shutdown_kernel(now=True)
    seconds = time.perf_counter() - start
    outputs = [
        list(cell.get("outputs", []))
        for cell in node.cells
        if cell.cell_type == "code" and cell.get("id", "").startswith("cell-")
    ]
    files = {
        p.name: p.read_bytes()
        for p in sorted(work.iterdir())
        if p.is_file() and p.suffix in PUBLISHED and not p.name.startswith(".")
    }
    shutil.rmtree(work, ignore_errors=True)
    run = Run(json.loads(json.dumps(outputs)), files, seconds)
    _save_run(cache, run)
    return run


def _save_run(cache: Path, run: Run) -> None:
    partial = cache.with_name(cache.name + f".{os.getpid()}")
    shutil.rmtree(partial, ignore_errors=True)
    (partial / "files").mkdir(parents=True)
    for name, content in run.files.items():
        (partial / "files" / name).write_bytes(content)
    (partial / "run.json").write_text(json.dumps({"outputs": run.outputs, "seconds": run.seconds}))
    shutil.rmtree(cache, ignore_errors=True)
    partial.rename(cache)


def _load_run(cache: Path) -> Run:
    data = json.loads((cache / "run.json").read_text())
    files = {p.name: p.read_bytes() for p in sorted((cache / "files").iterdir())}
    return Run(data["outputs"], files, data["seconds"])


def _strip_ansi(text: str) -> str:
    return re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", text)


# --- outputs onto the page --------------------------------------------------------------------


def _text(value: str | list[str]) -> str:
    return value if isinstance(value, str) else "".join(value)


PAGE_WIDTH = 730  # px: the width of a page's text column, which figures are fitted to
MOST_SHRINK = 1.6  # a drawing shrinks at most this much (its labels stay readable) ...


def _svg_style(svg: str) -> str:
    """An attribute list for a Graphviz drawing too wide for the page: shown at 1/MOST_SHRINK
    of its size, scrolling sideways (... and a wider one scrolls)."""
    m = re.search(r'<svg[^>]*\swidth="([\d.]+)pt"', svg)
    if m is None:
        return ""
    width = float(m.group(1)) * 4 / 3  # px
    if width <= PAGE_WIDTH * MOST_SHRINK:
        return ""
    return f'{{ style="width: {width / MOST_SHRINK:.0f}px; max-width: none" }}'


def rendered(outputs: list[dict], figure: str) -> tuple[str, dict[str, bytes]]:
    """Markdown showing one code cell's outputs, and the figure files it refers to (named
    ``figure`` plus a number and the extension)."""
    parts: list[str] = []
    files: dict[str, bytes] = {}
    text = ""

    def flush() -> None:
        nonlocal text
        if text.strip():
            body = _strip_ansi(text).rstrip("\n")
            fence = "````" if "```" in body else "```"
            parts.append(f"{fence}text\n{body}\n{fence}")
        text = ""

    for out in outputs:
        kind = out["output_type"]
        if kind == "stream" and out.get("name") == "stdout":  # not warnings, not progress bars
            text += _text(out["text"])
        elif kind in ("display_data", "execute_result"):
            data = out.get("data", {})
            if "image/svg+xml" in data or "image/png" in data:
                flush()
                n = len(files) + 1
                style = ""
                if "image/svg+xml" in data:
                    name = f"{figure}-{n}.svg"
                    svg = _text(data["image/svg+xml"])
                    files[name] = svg.encode()
                    style = _svg_style(svg)
                else:
                    name = f"{figure}-{n}.png"
                    files[name] = base64.b64decode(_text(data["image/png"]))
                # a click opens the figure alone, at its own size
                parts.append(f"[![A figure the code above made]({name}){style}]({name})")
            elif "text/plain" in data:
                text += _text(data["text/plain"]) + "\n"
    flush()
    if not parts:
        return "", files
    body = "\n\n".join(parts)
    return f'\n<div class="output" markdown>\n\n{body}\n\n</div>\n', files


def with_outputs(markdown: str, run: Run, figure_prefix: str) -> tuple[str, dict[str, bytes]]:
    """The page with each ``python`` block followed by what it printed and displayed."""
    pieces = split(markdown)
    result: list[str] = []
    figures: dict[str, bytes] = {}
    k = 0
    for kind, text in pieces:
        if kind == "markdown":
            result.append(text)
            continue
        result.append(f"```python\n{text}```\n")
        shown, files = rendered(run.outputs[k], f"{figure_prefix}-{k + 1}")
        result.append(shown)
        figures.update(files)
        k += 1
    return "".join(result), figures


# --- sections of other files ---------------------------------------------------------------

INCLUDE = re.compile(r"^<!-- include (\S+)#(.+?) -->$", re.M)
IMAGE = re.compile(r"(!\[[^\]]*\]\()([^)\s:]+)(\))")


def section(path: Path, heading: str) -> str:
    """The text under ``## heading`` in a Markdown file, up to the next heading of that level,
    as a ``###`` section."""
    text = path.read_text(encoding="utf-8")
    m = re.search(rf"^## {re.escape(heading)}\n(.*?)(?=^## |\Z)", text, re.S | re.M)
    if m is None:
        raise ValueError(f"{path.relative_to(ROOT)} has no section '## {heading}'")
    return f"### {heading}\n{m.group(1).rstrip()}\n"


def included(markdown: str) -> tuple[str, dict[str, Path]]:
    """The page with its include markers replaced, and the images they show (name -> file)."""
    images: dict[str, Path] = {}

    def include(m: re.Match[str]) -> str:
        path = ROOT / m.group(1)
        text = section(path, m.group(2))

        def image(i: re.Match[str]) -> str:
            source = path.parent / i.group(2)
            images[source.name] = source
            return f"{i.group(1)}{source.name}{i.group(3)}"

        return IMAGE.sub(image, text)

    return INCLUDE.sub(include, markdown), images


# --- the MkDocs hook --------------------------------------------------------------------------

_runs: dict[str, Run] = {}  # page src_uri -> its run, for this build


def on_files(files, config):
    from mkdocs.structure.files import File

    digest = _source_digest()
    docs_dir = Path(config["docs_dir"])
    _runs.clear()
    for f in list(files.documentation_pages()):
        page = docs_dir / f.src_uri
        markdown = page.read_text(encoding="utf-8")
        folder = posixpath.dirname(f.src_uri)
        for name, source in included(markdown)[1].items():
            files.append(File.generated(config, posixpath.join(folder, name),
                                        content=source.read_bytes()))  # fmt: skip
        if not code_blocks(markdown):
            continue
        run = execute(notebook(page), f.src_uri, digest)
        _runs[f.src_uri] = run
        for name, content in run.files.items():
            files.append(File.generated(config, posixpath.join(folder, name), content=content))
        stem = posixpath.splitext(posixpath.basename(f.src_uri))[0]
        _, figures = with_outputs(markdown, run, f"figures/{stem}")
        for name, content in figures.items():
            files.append(File.generated(config, posixpath.join(folder, name), content=content))
    return files


def on_page_markdown(markdown, page, config, files):
    markdown = included(markdown)[0]
    run = _runs.get(page.file.src_uri)
    if run is None:
        return markdown
    stem = posixpath.splitext(posixpath.basename(page.file.src_uri))[0]
    shown, _ = with_outputs(markdown, run, f"figures/{stem}")
    return shown


# --- the command line -------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail when a notebook is stale")
    parser.add_argument(
        "--execute", action="store_true",
        help="run every notebook (a site build that follows reuses these runs)",
    )  # fmt: skip
    args = parser.parse_args(argv)
    if args.check:
        problems = out_of_sync()
        for problem in problems:
            print(problem, file=sys.stderr)
        if problems:
            print("run: python tools/docs.py", file=sys.stderr)
            return 1
        print(f"{len(tutorial_pages())} notebooks agree with their pages")
    elif not args.execute:
        for path in write_notebooks():
            print("wrote", path.relative_to(ROOT))
    if args.execute:
        digest = _source_digest()
        total = time.perf_counter()
        for page in tutorial_pages():
            path = notebook_path(page)
            nb = json.loads(path.read_text(encoding="utf-8"))
            run = execute(nb, path.name, digest, fresh=True)
            print(f"{path.relative_to(ROOT)}: ran in {run.seconds:.1f} s")
        print(f"all notebooks: {time.perf_counter() - total:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
