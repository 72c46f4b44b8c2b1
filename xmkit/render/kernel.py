"""Helpers that run inside a warm kernel (see :mod:`xmkit.render.engine`); light to import."""

from __future__ import annotations

import gc
import os
import re
import warnings

__all__ = [
    "clear_namespace",
    "kernel_reset",
    "kernel_snapshot",
]

_SNAPSHOT: dict = {}


def kernel_snapshot() -> None:
    """Run inside a kernel after warm-up: remember the state each report must start from.

    The objects of the warm-up (about 240,000: the imported modules) live as long as the
    kernel, so they are frozen out of the garbage collector's generations (``gc.freeze``):
    the collections a report triggers then skip them.
    """
    import matplotlib

    _SNAPSHOT["rc"] = matplotlib.rcParams.copy()
    _SNAPSHOT["warnings"] = list(warnings.filters)
    gc.collect()
    gc.freeze()


def clear_namespace() -> None:
    """Remove every user variable and cached output, like ``%reset -f`` without its full
    garbage collection (which costs ~0.2 s per report; normal collection frees the rest)."""
    from IPython import get_ipython

    shell = get_ipython()
    namespace, hidden = shell.user_ns, shell.user_ns_hidden
    for name in list(namespace):
        if name not in hidden or re.fullmatch(r"_i?\d+", name):
            del namespace[name]
    namespace.get("_oh", {}).clear()
    shell.displayhook._, shell.displayhook.__, shell.displayhook.___ = "", "", ""
    namespace.update({"_": "", "__": "", "___": ""})


def kernel_reset(cwd: str) -> None:
    """Run inside a kernel before a report: close figures, restore rc params and warnings,
    clear the namespace."""
    import matplotlib
    import matplotlib.pyplot as plt

    plt.close("all")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        matplotlib.rcParams.update(_SNAPSHOT.get("rc", matplotlib.rcParamsDefault))
    warnings.filters[:] = _SNAPSHOT.get("warnings", warnings.filters)
    os.chdir(cwd)
    clear_namespace()
