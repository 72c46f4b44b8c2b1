"""Helpers that run inside a warm kernel (see :mod:`xmkit.engine`); light to import."""

from __future__ import annotations

import os
import warnings

_SNAPSHOT: dict = {}


def kernel_snapshot() -> None:
    """Run inside a kernel after warm-up: remember the state each report must start from."""
    import matplotlib

    _SNAPSHOT["rc"] = matplotlib.rcParams.copy()
    _SNAPSHOT["warnings"] = list(warnings.filters)


def kernel_reset(cwd: str) -> None:
    """Run inside a kernel before a report: close figures, restore rc params and warnings."""
    import matplotlib
    import matplotlib.pyplot as plt

    plt.close("all")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        matplotlib.rcParams.update(_SNAPSHOT.get("rc", matplotlib.rcParamsDefault))
    warnings.filters[:] = _SNAPSHOT.get("warnings", warnings.filters)
    os.chdir(cwd)
