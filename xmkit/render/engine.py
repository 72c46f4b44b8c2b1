"""Warm kernels: run report notebooks without paying for a kernel start and imports each time.

:class:`XmkitEngine` is a papermill engine (entry point ``xmkit``: ``papermill --engine xmkit``
works too). Papermill parameterizes the notebook exactly as it always does; the engine then
runs the cells on a kernel from a per-process :class:`KernelPool` that has already imported
xmkit, pandas, seaborn and matplotlib. Before each notebook the kernel is cleaned: figures
closed, matplotlib rc params and warning filters restored to their state after warm-up, the
working folder set, and the user namespace wiped (``%reset -f``), so nothing of one report
reaches the next. A kernel that dies or times out is discarded (the caller retries on a fresh
one), and kernels are recycled after ``recycle_after`` notebooks to keep memory bounded.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from queue import Empty

from jupyter_core.utils import run_sync

from xmkit.options import Options
from xmkit.startup import prepare_die_with_parent

__all__ = [
    "DEFAULT_RECYCLE_AFTER",
    "KERNEL_ARGS",
    "RESET",
    "WARMUP",
    "KernelPool",
    "WarmKernel",
    "pool",
]

WARMUP = (
    "from xmkit.render.kernel import import_without\n"
    "import_without('seaborn', ('scipy',))\n"
    "import xmkit.options, xmkit.report.sections, xmkit.report.portfolio\n"
    "import numpy, pandas, seaborn, matplotlib.pyplot\n"
    "xmkit.report.markup.compile_templates()\n"
    "from xmkit.render.kernel import kernel_snapshot\n"
    "kernel_snapshot()\n"
    "%reset -f"
)
RESET = "from xmkit.render.kernel import kernel_reset\nkernel_reset({cwd!r})"
KERNEL_ARGS = ["--HistoryManager.enabled=False"]
"""Warm kernels keep no input history: IPython would otherwise write every cell (the
injected parameters: file paths, client and unit names) to the user's ``history.sqlite``, a
database write per cell of every report."""
DEFAULT_RECYCLE_AFTER: int = Options.model_fields["recycle_after"].default


class WarmKernel:
    """One running kernel with its client, talking over IPC sockets in a private folder.

    The warm-up (imports) is sent as soon as the kernel answers; ``wait=False`` returns then,
    so the caller can do other work while the kernel imports, and call :meth:`ready`.
    """

    def __init__(
        self, kernel_name: str = "python3", startup_timeout: int = 60, wait: bool = True
    ) -> None:
        from jupyter_client.manager import AsyncKernelManager  # heavy: only when rendering

        self.folder = Path(tempfile.mkdtemp(prefix="xmkit-k"))  # short: socket paths are limited
        self.km = AsyncKernelManager(
            kernel_name=kernel_name, transport="ipc", ip=str(self.folder / "k")
        )
        self.used = 0
        try:
            # The kernel ends with this process even if it is SIGKILLed; only when started
            # by the main thread, since a kernel ends with the thread that started it.
            main = threading.current_thread() is threading.main_thread()
            extra = {"preexec_fn": prepare_die_with_parent()} if main else {}
            run_sync(self.km.start_kernel)(cwd=os.getcwd(), extra_arguments=KERNEL_ARGS, **extra)
            self.kc = self.km.client()
            self.kc.start_channels()
            run_sync(self.kc.wait_for_ready)(timeout=startup_timeout)
            self._warming: str | None = self.kc.execute(WARMUP, store_history=False)
            if wait:
                self.ready()
        except BaseException:
            self.shutdown()
            raise

    def ready(self, timeout: int = 120) -> None:
        """Wait until the warm-up has run; raise (``RuntimeError``) if it failed or hung."""
        if self._warming:
            self._wait(self._warming, timeout, "warm-up")
            self._warming = None

    def run(self, code: str, timeout: int = 120) -> None:
        """Run code that belongs to no report (the reset before each); raise
        (``RuntimeError``) if it fails, nbclient's errors if the kernel dies or hangs.

        Through a notebook client of its own, which notices a dead kernel within a second.
        A bare execute request awaited on the shell channel (7 ms a report cheaper) once
        waited out its whole timeout in CI for a reply that never came.
        """
        from nbclient import NotebookClient
        from nbclient.exceptions import CellExecutionError
        from nbformat.v4 import new_code_cell, new_notebook

        client = NotebookClient(
            new_notebook(cells=[new_code_cell(code)]),
            km=self.km,
            timeout=timeout,
            allow_errors=False,
        )
        client.kc = self.kc
        try:
            client.execute()
        except CellExecutionError as exc:
            raise RuntimeError(f"the kernel's reset failed: {exc.ename}: {exc.evalue}") from None

    def _wait(self, msg_id: str, timeout: int, what: str) -> None:
        """Wait for the reply to ``msg_id``; its output messages are left to be skipped by the
        next notebook client, which reads only those of its own requests."""
        while True:
            try:
                reply = run_sync(self.kc.get_shell_msg)(timeout=timeout)
            except Empty:
                raise RuntimeError(f"the kernel's {what} took over {timeout} s") from None
            if reply["parent_header"].get("msg_id") == msg_id:
                break
        content = reply["content"]
        if content["status"] != "ok":
            raise RuntimeError(
                f"the kernel's {what} failed: {content.get('ename')}: {content.get('evalue')}"
            )

    def alive(self) -> bool:
        try:
            return bool(run_sync(self.km.is_alive)())
        except Exception:
            return False

    def shutdown(self) -> None:
        kc = getattr(self, "kc", None)
        if kc is not None:
            kc.stop_channels()
        try:
            if self.km.has_kernel:
                run_sync(self.km.shutdown_kernel)(now=True)
        except Exception:  # already dead: nothing left to stop
            pass
        shutil.rmtree(self.folder, ignore_errors=True)


class KernelPool:
    """Idle warm kernels of this process, handed out one notebook at a time."""

    def __init__(self, recycle_after: int = DEFAULT_RECYCLE_AFTER) -> None:
        self.recycle_after = recycle_after
        self._idle: list[WarmKernel] = []
        self._lock = threading.Lock()

    def acquire(self, kernel_name: str = "python3") -> WarmKernel:
        with self._lock:
            while self._idle:
                kernel = self._idle.pop()
                if kernel.alive():
                    return kernel
                kernel.shutdown()
        return WarmKernel(kernel_name)

    def prestart(self, meanwhile: Callable[[], object] | None = None) -> None:
        """Start a kernel into the pool now; ``meanwhile`` runs while the kernel imports."""
        kernel = WarmKernel(wait=False)
        try:
            if meanwhile is not None:
                meanwhile()
            kernel.ready()
        except BaseException:
            kernel.shutdown()
            raise
        self.release(kernel, healthy=True)

    def release(self, kernel: WarmKernel, healthy: bool) -> None:
        """Return a kernel after a notebook; unhealthy or worn-out kernels are shut down."""
        kernel.used += 1
        if healthy and kernel.used < self.recycle_after and kernel.alive():
            with self._lock:
                self._idle.append(kernel)
        else:
            kernel.shutdown()

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for kernel in idle:
            kernel.shutdown()


_POOL: KernelPool | None = None


def pool(recycle_after: int | None = None) -> KernelPool:
    """This process's kernel pool, created on first use and closed at exit."""
    global _POOL
    if _POOL is None:
        _POOL = KernelPool(recycle_after or DEFAULT_RECYCLE_AFTER)
        atexit.register(_POOL.close)
    elif recycle_after:
        _POOL.recycle_after = recycle_after
    return _POOL


def _execute_managed_notebook(
    cls,
    nb_man,
    kernel_name,
    log_output=False,
    stdout_file=None,
    stderr_file=None,
    start_timeout=60,
    execution_timeout=None,
    **kwargs,
):
    """Run the parameterized notebook held by papermill's ``nb_man`` on a warm kernel."""
    from papermill.clientwrap import PapermillNotebookClient
    from papermill.log import logger

    kernels = pool()
    kernel = kernels.acquire(kernel_name or "python3")
    healthy = False
    try:
        kernel.run(RESET.format(cwd=os.getcwd()))
        client = PapermillNotebookClient(
            nb_man,
            km=kernel.km,
            timeout=execution_timeout,
            startup_timeout=start_timeout,
            kernel_name=kernel_name,
            log=logger,
            log_output=log_output,
            stdout_file=stdout_file,
            stderr_file=stderr_file,
        )
        client.kc = kernel.kc
        client.execute()  # an error in a cell is recorded by papermill, not raised here
        healthy = True
    finally:
        kernels.release(kernel, healthy)


_ENGINE: type | None = None


def __getattr__(name: str):
    """``XmkitEngine``, built on first access.

    Papermill loads its engines' entry points while it is itself being imported, so this
    module must not import papermill at import time (that would be circular); the class is
    made from papermill's ``Engine`` when papermill (or a user) first asks for it.
    """
    global _ENGINE
    if name != "XmkitEngine":
        raise AttributeError(name)
    if _ENGINE is None:
        from papermill.engines import Engine

        _ENGINE = type(
            "XmkitEngine",
            (Engine,),
            {
                "__doc__": "Papermill engine on warm kernels (papermill --engine xmkit).",
                "__module__": __name__,
                "execute_managed_notebook": classmethod(_execute_managed_notebook),
            },
        )
    return _ENGINE
