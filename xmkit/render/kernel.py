"""Helpers that run inside a warm kernel (see :mod:`xmkit.render.engine`); light to import."""

from __future__ import annotations

import gc
import importlib
import os
import re
import sys
import warnings
from collections.abc import Sequence

__all__ = [
    "clear_namespace",
    "import_without",
    "kernel_reset",
    "kernel_snapshot",
]

_SNAPSHOT: dict = {}


def import_without(module: str, hidden: Sequence[str]) -> None:
    """Import ``module`` as if the ``hidden`` packages were not installed; afterwards they
    import normally again.

    The warm-up imports seaborn this way without scipy: seaborn imports scipy.stats and
    scipy.cluster at import time (about a second of CPU per kernel, two of them while a batch
    starts its workers) only for its KDE and clustermap, which no report draws; without scipy
    it keeps its own copy of the same KDE. A notebook that imports scipy itself still gets it.
    """
    blocked = [name for name in hidden if name not in sys.modules]
    for name in blocked:
        sys.modules[name] = None  # type: ignore[assignment]  # "not installed", for import
    try:
        importlib.import_module(module)
    finally:
        for name in blocked:
            if name in sys.modules and sys.modules[name] is None:
                del sys.modules[name]


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
