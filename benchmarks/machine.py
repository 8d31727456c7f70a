"""Thread pinning and the facts about the machine that a reader of the results needs."""

from __future__ import annotations

import datetime
import os
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any

# The variables the BLAS libraries NumPy and PyTorch ship with read when they start.
THREAD_VARIABLES = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "BLIS_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS",
)


def usable_cores() -> int:
    """The cores this process may run on (its affinity mask where the OS has one)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def pin_threads(threads: int) -> dict[str, str]:
    """Set every BLAS/OpenMP thread variable to ``threads``.

    They only take effect if NumPy (and PyTorch) are imported afterwards, so ``run.main``
    calls this first; :func:`limit_loaded_blas` covers the case where NumPy came earlier.
    Returns what was set, and notes when NumPy was already loaded.
    """
    numpy_loaded = "numpy" in sys.modules
    for name in THREAD_VARIABLES:
        os.environ[name] = str(threads)
    pinned = {name: str(threads) for name in THREAD_VARIABLES}
    if numpy_loaded:
        pinned["note"] = "numpy was imported before the variables were set"
    return pinned


def limit_loaded_blas(threads: int) -> list[dict[str, Any]]:
    """Limit the BLAS pools already loaded (through threadpoolctl, when installed) and
    return what threadpoolctl sees: one dict per library (api, version, threads, ...)."""
    try:
        from threadpoolctl import threadpool_info, threadpool_limits
    except ImportError:
        return []
    threadpool_limits(threads)
    return threadpool_info()


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def git_revision(root: Path) -> str:
    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, timeout=10)
        return done.stdout.strip() if done.returncode == 0 else ""

    try:
        commit = git("rev-parse", "--short", "HEAD")
        dirty = git("status", "--porcelain", "--untracked-files=no", "--", "autonet")
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    if not commit:
        return "unknown"
    return commit + (" + uncommitted changes in autonet/" if dirty else "")


def blas_of_numpy() -> str:
    import numpy as np

    try:
        blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
    except Exception:  # older NumPy: no dict mode
        return "unknown"
    config = blas.get("openblas configuration", "")
    return f"{blas.get('name', '?')} {blas.get('version', '')} {config}".strip()


def facts(threads: int, pinned: dict[str, str], pools: list[dict[str, Any]], torch: Any) -> dict:
    """Everything about this machine and run that the numbers depend on, as label → text."""
    import numpy as np

    import autonet

    root = Path(__file__).resolve().parents[1]
    out = {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "CPU": cpu_model(),
        "cores": f"{os.cpu_count()} logical, {usable_cores()} usable by this process",
        "OS": platform.platform(),
        "Python": f"{platform.python_implementation()} {platform.python_version()}",
        "autonet": f"{autonet.__version__} (git {git_revision(root)})",
        "numpy": np.__version__,
        "numpy's BLAS": blas_of_numpy(),
        "threads": f"{threads}; set {', '.join(f'{k}={v}' for k, v in pinned.items())}",
    }
    for pool in pools:
        name = f"{pool.get('internal_api', '?')} pool ({Path(pool.get('filepath', '')).name})"
        parts = [f"{pool.get('num_threads')} threads"]
        if pool.get("version"):
            parts.append(f"version {pool['version']}")
        parts += [str(pool[k]) for k in ("threading_layer", "architecture") if pool.get(k)]
        out[name] = ", ".join(parts)
    if torch is not None:
        out["torch"] = (
            f"{torch.__version__}, {torch.get_num_threads()} intra-op threads "
            f"(torch.set_num_threads), {torch.get_num_interop_threads()} inter-op"
        )
    else:
        out["torch"] = "not installed (or --no-torch): PyTorch columns are empty"
    try:
        import sklearn

        out["scikit-learn"] = sklearn.__version__
    except ImportError:
        pass
    if hasattr(os, "getloadavg"):
        out["load average at start"] = " ".join(f"{v:.2f}" for v in os.getloadavg())
    return out
