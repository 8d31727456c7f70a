"""Memory: the MLP step at batch 1024, run 2000 times in a fresh process per side.

Each side runs in its own subprocess (``python -m benchmarks.workloads.memory SIDE STEPS``),
so one side's arrays or allocator state cannot show up in another's numbers. Every child
imports numpy and autonet and builds the same model and batch (the floor and PyTorch copy
autonet's parameters), so their baselines match; only the loop differs. Measured:

- **peak RSS**: the whole process's peak resident memory (interpreter, libraries and data
  included): VmHWM of ``/proc/self/status`` on Linux (see :func:`peak_rss_bytes`),
  ``resource.getrusage(RUSAGE_SELF).ru_maxrss`` elsewhere;
- **RSS above the set-up baseline**: that peak minus the resident memory (VmRSS) just before
  the first step, the memory the steps themselves needed;
- **traced peak in a step**: with ``tracemalloc`` on (it sees NumPy's array allocations, not
  PyTorch's), the most memory held at any moment of one step beyond what was held before it;
- **growth**: resident memory after the last step minus after the first tenth of the steps
  (the allocator has settled by then), and the number of live objects the garbage collector
  tracks (``len(gc.get_objects())`` after a collection) at those two moments. A leaked graph
  node or tensor shows in the count even when it is too small to move the RSS.

NOTE: tracemalloc is not used for growth: Python's free lists (tuples, zip objects) fill up
over the first few hundred steps and hold on to their blocks, which looks like a leak of a
few hundred bytes per step that stops by itself.
"""

from __future__ import annotations

import gc
import json
import os
import resource
import subprocess
import sys
import tracemalloc
from pathlib import Path

from benchmarks.harness import Bench, Row, Target

NAME = "memory"
BATCH = 1024


def _status(field: str) -> int | None:
    """A memory figure of /proc/self/status in bytes (Linux), or None."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) * 1024  # given in kB
    except OSError:
        pass
    return None


def rss_bytes() -> int:
    """The current resident set size (VmRSS), or 0 where /proc is missing."""
    return _status("VmRSS") or 0


def peak_rss_bytes() -> int:
    """The process's peak resident set size.

    NOTE: Linux carries ``ru_maxrss`` over a fork and exec, so a child of a large parent
    (one that imported torch) reports the parent's peak; VmHWM belongs to the new process
    alone. ``ru_maxrss`` serves where /proc is missing (it is in bytes on macOS).
    """
    hwm = _status("VmHWM")
    if hwm is not None:
        return hwm
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024


def live_objects() -> int:
    gc.collect()
    return len(gc.get_objects())


def child(side: str, steps: int, threads: int) -> dict[str, float]:
    """Run in the subprocess: set up, step ``steps`` times, report what memory did."""
    torch = None
    if side == "torch":
        import torch

        torch.set_num_threads(threads)
    from benchmarks.workloads.mlp_step import Sides, batch

    sides = Sides(*batch(BATCH), torch)
    step = {"autonet": sides.autonet, "floor": sides.numpy, "torch": sides.pytorch}[side]
    baseline = rss_bytes()
    settle = max(steps // 10, 1)
    for k in range(steps):
        step()
        if k + 1 == settle:
            settled = rss_bytes()
            objects_settled = live_objects()
    end = rss_bytes()
    objects_end = live_objects()
    peak = peak_rss_bytes()

    tracemalloc.start()
    for _ in range(3):
        step()
    before = tracemalloc.get_traced_memory()[0]
    tracemalloc.reset_peak()
    step()
    step_peak = tracemalloc.get_traced_memory()[1] - before
    tracemalloc.stop()
    mb = 1 / 2**20
    return {
        "peak": peak * mb,
        "baseline": baseline * mb,
        "settled": settled * mb,
        "end": end * mb,
        "step_peak": step_peak * mb,
        "objects": objects_end - objects_settled,
    }


def measure(side: str, steps: int, threads: int) -> dict[str, float]:
    root = Path(__file__).resolve().parents[2]
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(root), env.get("PYTHONPATH")]))
    cmd = [sys.executable, "-m", "benchmarks.workloads.memory", side, str(steps), str(threads)]
    done = subprocess.run(cmd, cwd=root, env=env, capture_output=True, text=True, timeout=1800)
    if done.returncode != 0:
        raise RuntimeError(f"memory ({side}): the child process failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def run(bench: Bench) -> list[Row]:
    steps = bench.config.pick(2000, 200)
    sides = ["autonet", "floor"] + (["torch"] if bench.config.torch else [])
    got = {side: measure(side, steps, bench.config.threads) for side in sides}

    def values(key: str) -> dict[str, float]:
        return {side: got[side][key] for side in sides}

    growth = {side: got[side]["end"] - got[side]["settled"] for side in sides}
    objects = {side: got[side]["objects"] for side in sides}
    limit_mb, limit_objects = 2.0, 10
    passed = growth["autonet"] <= limit_mb and objects["autonet"] <= limit_objects
    note = (
        f"from step {max(steps // 10, 1)} to {steps}, RSS grew by "
        + ", ".join(f"{s} {g:+.2f} MB" for s, g in growth.items())
        + "; live objects: "
        + ", ".join(f"{s} {n:+d}" for s, n in objects.items())
    )
    traced = {side: got[side]["step_peak"] for side in ["autonet", "floor"]}
    above = {side: got[side]["peak"] - got[side]["baseline"] for side in sides}
    return [
        Row(NAME, f"peak RSS, whole process ({steps} steps)", "MB", values("peak"), Target(1.3)),
        Row(NAME, "peak RSS above the set-up baseline", "MB", above, Target(1.3)),
        Row(
            NAME,
            "traced peak within one step (tracemalloc)",
            "MB",
            traced,
            note="NumPy allocations only; PyTorch's are invisible to tracemalloc",
        ),
        Row(
            NAME,
            f"RSS growth over {steps} steps",
            "MB",
            growth,
            note=note,
            goal=f"≤ {limit_mb:g} MB, ≤ {limit_objects} objects",
            passed=passed,
            ratios=False,
        ),
    ]


if __name__ == "__main__":
    side, steps, threads = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    print(json.dumps(child(side, steps, threads)))
