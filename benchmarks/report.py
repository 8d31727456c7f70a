"""The results as a console table, as ``benchmarks/RESULTS.md`` and as a chart."""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from pathlib import Path

from benchmarks.harness import SIDES, Row

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "RESULTS.md"
CHART = HERE / "results.png"
GROWTH = HERE / "growth.png"
GREEN, RED, BLUE, GREY = "#2a9d4b", "#d1495b", "#4a7fb5", "#8c8c8c"


def number(v: float | None) -> str:
    """Three significant digits, without exponent notation for the usual sizes."""
    if v is None:
        return "–"
    if v == 0:
        return "0"
    if abs(v) >= 100:
        return f"{v:.0f}"
    return f"{v:.3g}"


def ratio(v: float | None) -> str:
    return "–" if v is None else f"{v:.2f}×"


def verdict(row: Row) -> str:
    return {True: "yes", False: "**no**", None: ""}[row.met]


def columns(row: Row) -> list[str]:
    return [
        row.workload,
        row.case,
        row.unit,
        *(number(row.values.get(s)) for s in SIDES),
        ratio(row.ratio("floor")),
        ratio(row.ratio("torch")),
        row.goal_text,
        verdict(row),
        f"±{row.noise / 2:.0%}" if row.values and row.noise else "",
    ]


HEADER = [
    "workload",
    "case",
    "unit",
    *SIDES,
    "autonet/floor",
    "autonet/torch",
    "target",
    "met",
    "noise",
]


def console_table(rows: Sequence[Row]) -> str:
    """A plain-text table of every row, for the terminal."""
    table = [HEADER] + [[c.replace("**", "") for c in columns(r)] for r in rows]
    widths = [max(len(line[k]) for line in table) for k in range(len(HEADER))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(line, widths)).rstrip() for line in table]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def markdown(
    rows: Sequence[Row],
    facts: dict[str, str],
    command: str,
    profiles: dict[str, str],
    chart: Path | None,
    growth: Path | None = None,
    curves: dict | None = None,
) -> str:
    out = [
        "# autonet benchmarks",
        "",
        f"Written by `{command}`. Each workload is run by autonet, by a hand-written NumPy "
        "floor (same kernels, dtype, data and initial parameters) and by PyTorch on CPU; "
        "results are checked against the floor's before timing. Times are medians of "
        "alternating repeats in one process; *noise* is half the interquartile range relative "
        "to the median, the larger of autonet's and that of the side it is judged against. "
        "See `benchmarks/README.md`.",
        "",
        "## Machine",
        "",
        "| | |",
        "|---|---|",
        *(f"| {k} | {v} |" for k, v in facts.items()),
        "",
        "## Results",
        "",
        "| " + " | ".join(HEADER) + " |",
        "|" + "|".join("---:" if 3 <= k <= 7 else "---" for k in range(len(HEADER))) + "|",
        *("| " + " | ".join(columns(r)) + " |" for r in rows),
        "",
    ]
    met = [r.met for r in rows if r.met is not None]
    out += [f"Targets met: {sum(met)} of {len(met)}.", ""]
    if chart is not None:
        out += [f"![autonet's time and memory relative to the floor and PyTorch]({chart.name})", ""]
    if growth is not None:
        out += [*growth_text(curves), f"![how cost grows with size]({growth.name})", ""]
    out += ["## Checks and notes", ""]
    seen = set()
    for r in rows:
        text = "; ".join(t for t in (r.check, r.note) if t and (r.workload, t) not in seen)
        seen.update((r.workload, t) for t in (r.check, r.note))
        if text:
            out.append(f"- **{r.workload}**, {r.case}: {text}")
    out.append("")
    if profiles:
        out += ["## Profiles of autonet's side (cProfile, top functions by own time)", ""]
        for label, text in profiles.items():
            out += [f"### {label}", "", "```text", text, "```", ""]
    return "\n".join(out)


def chart(rows: Sequence[Row], path: Path) -> Path | None:
    """Horizontal bars of autonet / floor and autonet / PyTorch per case (log scale), with
    each target marked; None when matplotlib is missing."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from matplotlib.lines import Line2D
        from matplotlib.patches import Patch
    except ImportError:
        return None
    shown = [r for r in rows if r.ratio("floor") is not None or r.ratio("torch") is not None]
    if not shown:
        return None
    fig, ax = plt.subplots(figsize=(10, 0.5 * len(shown) + 1.5))
    height = 0.38
    for k, r in enumerate(shown):
        y = len(shown) - 1 - k
        for offset, against in [(height / 2, "floor"), (-height / 2, "torch")]:
            v = r.ratio(against)
            if v is None:
                continue
            colour = _colour(r, against)
            ax.barh(y + offset, v, height, color=colour)
            ax.text(v * 1.03, y + offset, f"{v:.2f}×", va="center", fontsize=7)
        if r.target is not None:
            ty = y + (height / 2 if r.target.against == "floor" else -height / 2)
            ax.plot([r.target.limit] * 2, [ty - height / 2, ty + height / 2], color="black", lw=2)
    ax.axvline(1.0, color="black", lw=0.8, ls="--")
    ax.set_yticks(range(len(shown)))
    labels = [textwrap.fill(f"{r.workload}: {r.case}", 42) for r in reversed(shown)]
    ax.set_yticklabels(labels, fontsize=7)
    ax.set_xscale("log")
    ax.set_xlabel(
        "autonet / floor and autonet / PyTorch (log scale; below 1 autonet is faster or smaller)",
        fontsize=8,
    )
    legend = [
        Patch(color=GREEN, label="target met"),
        Patch(color=RED, label="target missed"),
        Patch(color=BLUE, label="autonet / floor (upper bar), no target"),
        Patch(color=GREY, label="autonet / PyTorch (lower bar), no target"),
        Line2D([], [], color="black", lw=2, label="target"),
    ]
    ax.legend(handles=legend, fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1))
    drawn = [v for r in shown for v in (r.ratio("floor"), r.ratio("torch")) if v is not None]
    ax.set_xlim(right=max(drawn) * 2)  # room for the labels of the longest bars
    ax.set_title("autonet relative to the NumPy floor and PyTorch", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(fig)
    return path


SIDE_NAMES = {"autonet": "autonet", "floor": "the floor", "torch": "PyTorch"}


def growth_text(curves: dict | None) -> list[str]:
    """The section on the growth chart; what it says of the largest tensors is read from the
    run's own curves (which side is fastest there differs between machines)."""
    largest = ""
    if curves:
        op = curves["op"]
        last = {side: values[-1] for side, values in op["values"].items()}
        fastest = min(last, key=last.get)
        times = ", ".join(f"{SIDE_NAMES[s]} {number(t)}" for s, t in last.items())
        largest = (
            f" At {op['points'][-1]:,} elements {SIDE_NAMES[fastest]} is the fastest in this run "
            f"(µs per operation: {times})."
        )
    return [line + largest if line.startswith("- Left") else line for line in GROWTH_TEXT]


GROWTH_TEXT = [
    "## How cost grows",
    "",
    "The `growth` workload times each side as the data grows (log-log axes; each point a "
    "median, as above; the table's `growth` rows are some of its points).",
    "",
    "- Left: one elementwise operation, forward + backward, in a chain of 30, on tensors of "
    "1 to 10⁶ elements. On small tensors each side pays a fixed cost per operation: NumPy's "
    "call for the floor, that plus recording the node and the backward bookkeeping for "
    "autonet, more for PyTorch. Once a tensor holds some 10⁴–10⁵ elements the arithmetic "
    "dominates and the sides converge.",
    "- Middle: one training step of the 784-256-128-10 MLP against the batch size, 1 to "
    "4096: nearly flat while the cost per operation dominates (up to a batch of about 64), "
    "then growing with the matrix products, which cost the same on every side.",
    "- Right: conv2d forward + backward (batch 16, 16→32 channels, 3×3, padding 1) against "
    "the image's side, 8 to 64: the NumPy sides (im2col and BLAS) grow with the number of "
    "pixels; PyTorch's direct convolution (oneDNN) grows more slowly, so the gap to it widens "
    "as images grow.",
    "",
]


def growth_chart(curves: dict, path: Path) -> Path | None:
    """Three log-log panels of time against size (the ``growth`` workload's curves), one line
    per side; None when matplotlib is missing."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    panels = [
        ("op", "tensor size (elements)", "µs per operation", "per-op cost, forward + backward"),
        ("mlp", "batch size", "ms per step", "MLP 784-256-128-10 training step"),
        ("conv", "image side (pixels)", "ms per step", "conv2d 16→32, batch 16, fwd + bwd"),
    ]
    colours = {"autonet": GREEN, "floor": GREY, "torch": BLUE}
    fig, axes = plt.subplots(1, 3, figsize=(11, 3.3))
    for ax, (key, xlabel, ylabel, title) in zip(axes, panels):
        data = curves[key]
        for side, values in data["values"].items():
            ax.plot(data["points"], values, "o-", ms=3, lw=1.4, color=colours[side], label=side)
        ax.set_xscale("log", base=2 if key == "conv" else 10)
        ax.set_yscale("log")
        ax.set_xlabel(xlabel, fontsize=8)
        ax.set_ylabel(ylabel, fontsize=8)
        ax.set_title(title, fontsize=9)
        ax.tick_params(labelsize=7)
        ax.grid(True, which="major", lw=0.3)
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def _colour(row: Row, against: str) -> str:
    """A bar: green when the row's target is against this side and met, red when missed;
    else blue (against the floor) or grey (against PyTorch)."""
    if row.target is not None and row.target.against == against:
        return {True: GREEN, False: RED, None: BLUE}[row.met]
    return BLUE if against == "floor" else GREY


def write(
    rows: Sequence[Row],
    facts: dict[str, str],
    command: str,
    profiles: dict[str, str],
    curves: dict | None = None,
) -> list[Path]:
    """Write the charts and RESULTS.md next to this file; return the paths written. The
    growth chart is drawn when the ``growth`` workload ran."""
    drawn = chart(rows, CHART)
    growth = curves.get("growth") if curves else None
    grown = growth_chart(growth, GROWTH) if growth else None
    text = markdown(rows, facts, command, profiles, drawn, grown, growth)
    RESULTS.write_text(text, encoding="utf-8")
    return [RESULTS] + [p for p in (drawn, grown) if p]
