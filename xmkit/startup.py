"""Start-up of the processes xmkit owns: the ``xmkit`` command and its batch workers.

nbformat (read by papermill) imports jsonschema, whose format checkers import rfc3987-syntax
when it is installed, as JupyterLab's dependencies install it. rfc3987-syntax 1.1 builds about
35 Earley parsers at import: about a second of CPU in every process that touches a notebook
(python-jsonschema/jsonschema#1428). No notebook schema uses the ``iri`` formats it checks, so
xmkit's own processes go without it; a program that imports xmkit as a library is left as is.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable
from functools import lru_cache

__all__ = ["die_with_parent", "prepare_die_with_parent", "skip_slow_imports"]

SLOW_UNUSED = ("rfc3987_syntax",)


def skip_slow_imports() -> None:
    """Make the unused slow modules unimportable in this process (jsonschema then skips them).

    Only effective before jsonschema is imported; never unloads anything already imported.
    """
    if "jsonschema" in sys.modules:
        return
    for name in SLOW_UNUSED:
        sys.modules.setdefault(name, None)


PR_SET_PDEATHSIG = 1  # linux/prctl.h


@lru_cache(maxsize=1)
def _prctl() -> Callable[..., int] | None:
    import ctypes

    try:
        return ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):  # not Linux: the parent's clean-up has to do
        return None


def die_with_parent(parent: int) -> None:
    """Have the kernel SIGKILL this process when its parent ``parent`` ends, however it ends.

    A process killed with SIGKILL runs no clean-up, so its children would live on (workers,
    kernels, and the reports they keep writing); ``PR_SET_PDEATHSIG`` lets the kernel end them.
    It fires when the *thread* that started this process ends, so xmkit starts its processes
    from long-lived threads only (a pool's main thread). If the parent is already gone, this
    process exits at once. Safe between fork and exec (``preexec_fn``): the libc function is
    looked up beforehand by :func:`prepare_die_with_parent`.
    """
    prctl = _prctl()
    if prctl is not None:
        prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:
        os._exit(1)


def prepare_die_with_parent() -> Callable[[], None]:
    """A ``preexec_fn`` for a child of this process that must end with it."""
    _prctl()
    parent = os.getpid()
    return lambda: die_with_parent(parent)
