"""The progress bar of ``fit``: tqdm when it is installed and the output is a terminal."""

from __future__ import annotations

import sys
from typing import Any


def should_show(verbose: bool | str) -> bool:
    """``verbose="auto"`` shows progress only when standard error is a terminal."""
    if verbose == "auto":
        return bool(getattr(sys.stderr, "isatty", lambda: False)())
    return bool(verbose)


class Progress:
    """One bar per epoch with the running loss and metrics; silent when not shown.

    Without tqdm a single line per epoch is printed instead.
    """

    def __init__(self, show: bool, total: int, epoch: int, epochs: int) -> None:
        self.bar = None
        self.show = show
        self.label = f"Epoch {epoch + 1}/{epochs}"
        if show:
            try:
                from tqdm.auto import tqdm
            except ImportError:
                return
            self.bar = tqdm(total=total, desc=self.label, unit="batch", leave=True,
                            dynamic_ncols=True)  # fmt: skip

    def update(self, logs: dict[str, float]) -> None:
        if self.bar is not None:
            self.bar.set_postfix({k: f"{v:.4f}" for k, v in logs.items()}, refresh=False)
            self.bar.update(1)

    def close(self, logs: dict[str, float]) -> None:
        shown = {k: f"{v:.4f}" for k, v in logs.items() if k != "lr"}
        if self.bar is not None:
            self.bar.set_postfix(shown)
            self.bar.close()
        elif self.show:
            print(self.label, " ".join(f"{k}={v}" for k, v in shown.items()), file=sys.stderr)

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.bar is not None and exc[0] is not None:
            self.bar.close()
