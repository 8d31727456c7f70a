"""Run the benchmarks: ``python -m benchmarks`` (or ``python benchmarks/run.py``).

    python -m benchmarks                      # every workload (a few minutes)
    python -m benchmarks --quick              # a short version (under a minute)
    python -m benchmarks --only mlp_step moons
    python -m benchmarks --write              # also write RESULTS.md, results.png, growth.png
    python -m benchmarks --only moons --profile   # where autonet's time goes (cProfile)

The exit status is 1 when autonet's results disagree with the floor's anywhere, or a workload
fails to run.
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
import time
import traceback
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.machine import pin_threads, usable_cores  # these two import no NumPy
from benchmarks.workloads import NAMES, load


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="Time autonet against a hand-written NumPy floor and PyTorch on CPU.",
    )
    parser.add_argument("--quick", action="store_true", help="fewer repeats and steps")
    parser.add_argument(
        "--only", nargs="+", metavar="NAME", help=f"run only these workloads: {', '.join(NAMES)}"
    )
    parser.add_argument(
        "--write",
        action="store_true",
        help="write benchmarks/RESULTS.md, results.png and (with growth) growth.png",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=0,
        help="BLAS and PyTorch threads (default: the usable cores)",
    )
    parser.add_argument("--no-torch", action="store_true", help="leave PyTorch out")
    parser.add_argument(
        "--profile",
        action="store_true",
        help="also profile autonet's side of each timed case (cProfile)",
    )
    parser.add_argument("--top", type=int, default=15, help="functions shown per profile")
    args = parser.parse_args(argv)
    wanted = [n.replace("-", "_") for item in args.only or NAMES for n in item.split(",") if n]
    unknown = [n for n in wanted if n not in NAMES]
    if unknown:
        parser.error(f"unknown workload {', '.join(unknown)}; choose from {', '.join(NAMES)}")
    args.names = [n for n in NAMES if n in wanted]
    return args


def busy_warning() -> str:
    """A warning when other processes keep the machine busy as the run starts, else ""."""
    if not hasattr(os, "getloadavg"):
        return ""
    load = os.getloadavg()[0]
    if load < 0.5:
        return ""
    return (
        f"the machine is busy (load average {load:.2f} over the last minute): timings will be "
        "noisy, and BLAS or OpenMP threads competing with other processes for the cores can "
        "slow a side down many times over; run on a quiet machine, or try --threads 1"
    )


def import_torch(threads: int) -> Any:
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(threads)
    return torch


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    threads = args.threads or usable_cores()
    pinned = pin_threads(threads)  # before NumPy is imported, so that its BLAS reads them

    from benchmarks import report
    from benchmarks.harness import Bench, Config, Mismatch, Row
    from benchmarks.machine import facts, limit_loaded_blas

    torch = None if args.no_torch else import_torch(threads)
    pools = limit_loaded_blas(threads)  # NumPy's BLAS and, once imported, PyTorch's pools
    config = Config(
        quick=args.quick, torch=torch, threads=threads, profile=args.profile, profile_top=args.top
    )
    bench = Bench(config)
    about = facts(threads, pinned, pools, torch)
    print("\n".join(f"{k}: {v}" for k, v in about.items()), flush=True)
    busy = busy_warning()
    if busy:
        print(f"\nWARNING: {busy}", file=sys.stderr, flush=True)
        about["warning"] = busy

    rows: list[Row] = []
    failed = False
    started = time.perf_counter()
    for name in args.names:
        t0 = time.perf_counter()
        print(f"\n== {name}", flush=True)
        try:
            new = load(name).run(bench)
        except Mismatch as e:
            failed = True
            new = [Row(name, "results differ from the floor's", "", {}, check=f"FAILED: {e}")]
        except Exception as e:  # one broken workload should not lose the others' results
            failed = True
            where = traceback.format_exc(limit=-3)
            print(where, file=sys.stderr)
            new = [Row(name, "did not run", "", {}, check=f"FAILED: {type(e).__name__}: {e}")]
        for row in new:
            print(report.console_table([row]).splitlines()[-1], flush=True)
            if row.check.startswith("FAILED") or row.note:
                print(f"   {row.check or row.note}")
        print(f"   ({time.perf_counter() - t0:.1f} s)", flush=True)
        rows += new
    if hasattr(os, "getloadavg"):
        about["load average at end"] = " ".join(f"{v:.2f}" for v in os.getloadavg())
    print(f"\nAll in {time.perf_counter() - started:.0f} s\n")
    print(report.console_table(rows))
    for label, text in config.profiles.items():
        print(f"\n--- profile: {label}\n{text}")
    if args.write:
        command = "python -m benchmarks " + shlex.join(argv if argv is not None else sys.argv[1:])
        for path in report.write(rows, about, command.strip(), config.profiles, config.curves):
            print(f"wrote {path}")
    if failed:
        print(
            "\nsome workloads failed or disagree with the floor: see FAILED above", file=sys.stderr
        )
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
