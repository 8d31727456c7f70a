"""The results as a console table, as ``benchmarks/RESULTS.md`` and as a chart."""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from pathlib import Path

from benchmarks.harness import SIDES, Row

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "RESULTS.md"
CHART = HERE / "results.png"
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
            colour = GREY if against == "torch" else _colour(r)
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
        Patch(color=GREEN, label="autonet / floor, target met"),
        Patch(color=RED, label="autonet / floor, target missed"),
        Patch(color=BLUE, label="autonet / floor, no target"),
        Patch(color=GREY, label="autonet / PyTorch"),
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


def _colour(row: Row) -> str:
    """The autonet / floor bar: green when its target is met, red when missed, else blue."""
    judged = row.target is not None and row.target.against == "floor"
    return {True: GREEN, False: RED, None: BLUE}[row.met if judged else None]


def write(
    rows: Sequence[Row], facts: dict[str, str], command: str, profiles: dict[str, str]
) -> list[Path]:
    """Write the chart and RESULTS.md next to this file; return the paths written."""
    drawn = chart(rows, CHART)
    RESULTS.write_text(markdown(rows, facts, command, profiles, drawn), encoding="utf-8")
    return [RESULTS] + ([drawn] if drawn else [])
