"""Where the units of a batch are rendered: local worker processes, or a Dask cluster.

Local workers end with the batch however it ends: each asks the kernel to SIGKILL it when the
batch process dies (``PR_SET_PDEATHSIG``, see :func:`xmkit.startup.die_with_parent`), their
kernels do the same with them, and each worker's Chromium goes with its Playwright driver,
which exits when the worker's end of its pipe closes. A worker that dies mid-run (killed, out
of memory) breaks the pool: it is rebuilt, and the units that were being rendered are
rendered once more on a new worker; a unit that is running every time a worker dies twice is
given up as failed, and the others go on.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import multiprocessing
import os
import shutil
import signal
import tempfile
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

from xmkit.batch.lock import remove_dead_scratch, scratch_folder
from xmkit.errors import Problem, XmkitError
from xmkit.startup import die_with_parent, skip_slow_imports

__all__ = ["UNIT_SCRATCH", "Dask", "Processes", "worker_printer"]

UNIT_SCRATCH = "xmkit-unit-"
"""Prefix of a unit's scratch folder in a worker: ``xmkit-unit-<slug>.<random>``, so the
parent can tell which units a dead worker was rendering."""
RETRIED = "its worker process died; rendered again on a new worker"
LOST = "its worker process died twice while rendering it"
IDLE = "worker processes died three times before rendering anything"

_PRINTER = None


def _at_worker_exit(callback: Callable[[], None]) -> None:
    """Run ``callback`` once when this process ends: multiprocessing workers skip ``atexit``,
    so register it both ways (a pool worker runs multiprocessing's finalizers instead)."""
    import atexit
    from multiprocessing.util import Finalize

    done = []

    def once() -> None:
        if not done:
            done.append(True)
            callback()

    atexit.register(once)
    Finalize(None, once, exitpriority=10)


def worker_printer():
    """One Chromium per worker process, reused for every PDF it prints."""
    global _PRINTER
    if _PRINTER is None:
        from xmkit.render.pdf import PdfPrinter

        _PRINTER = PdfPrinter().__enter__()
        _at_worker_exit(lambda: _PRINTER.__exit__(None, None, None))
    return _PRINTER


def _start_printer() -> None:
    """Start this worker's Chromium early. If it cannot start, nothing is lost: each unit's
    PDF asks for it again and reports why in that unit's error."""
    with contextlib.suppress(Exception):
        worker_printer()


def _meanwhile(pdf: bool) -> None:
    """What a worker does while its kernel imports: import the notebook runner (papermill,
    nbclient, nbformat and xmkit's renderer, ~0.5 s, else paid by its first unit) and start
    Chromium for PDFs."""
    for module in ("papermill", "xmkit.render.execute"):
        importlib.import_module(module)
    if pdf:
        _start_printer()


def _worker_init(parent: int, recycle_after: int, scratch: str, pdf: bool) -> None:
    """Prepare a worker: it dies with the batch process; Ctrl-C is the parent's to handle;
    every temporary file (unit data, kernel sockets and connection files) goes under the run's
    scratch folder, which the parent removes however the run ends; the warm kernel starts
    straight away, and the notebook runner and Chromium (for PDF) while the kernel imports."""
    die_with_parent(parent)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    os.environ["TMPDIR"] = scratch
    os.environ["JUPYTER_RUNTIME_DIR"] = str(Path(scratch) / "runtime")
    tempfile.tempdir = scratch
    skip_slow_imports()
    from xmkit.render.engine import pool

    kernels = pool(recycle_after)
    _at_worker_exit(kernels.close)
    kernels.prestart(functools.partial(_meanwhile, pdf))


def _ready() -> None:
    """A task that does nothing: submitting it makes the pool start a worker."""


class Processes:
    """Local worker processes, each with its own warm kernel and Chromium.

    The parent never runs a kernel itself, so its SIGTERM/Ctrl-C handling stays reliable
    (nbclient replaces signal handlers while it executes). On interruption the parent kills
    the workers (their kernels exit with them) and removes the run's scratch folder.
    ``start=False`` starts no worker until there is something to render (a ``--resume`` with
    nothing to do starts none).
    """

    def __init__(self, n: int, recycle_after: int, pdf: bool, start: bool = True) -> None:
        remove_dead_scratch()  # what killed runs left in the temporary folder
        scratch, self._owner = scratch_folder()
        self.scratch = str(scratch)
        self.n, self.recycle_after, self.pdf = n, recycle_after, pdf
        self.pool: ProcessPoolExecutor | None = None
        if start:
            self._start()

    def _start(self) -> ProcessPoolExecutor:
        if self.pool is None:
            context = multiprocessing.get_context("spawn")  # no inherited threads, locks
            self.pool = ProcessPoolExecutor(
                max_workers=self.n,
                mp_context=context,
                initializer=_worker_init,
                initargs=(os.getpid(), self.recycle_after, self.scratch, self.pdf),
            )
            for _ in range(self.n):  # each start-up runs while the parent plans
                self.pool.submit(_ready)
        return self.pool

    def __enter__(self) -> Processes:
        return self

    def _running_when_broken(self) -> set[str]:
        """Slugs of the units whose scratch folder a dead pool left (they were rendering);
        the folders go, so the next break is read afresh."""
        running = set()
        for folder in Path(self.scratch).glob(f"{UNIT_SCRATCH}*"):
            running.add(folder.name[len(UNIT_SCRATCH) :].rpartition(".")[0])
            shutil.rmtree(folder, ignore_errors=True)
        return running

    def _rebuild(self) -> None:
        """Replace a broken pool (its workers are already gone or being killed)."""
        broken, self.pool = self.pool, None
        if broken is not None:
            broken.shutdown(wait=True, cancel_futures=True)
        self._start()

    def results(
        self, fn: Callable, items: list, lost: Callable[[object, str], object]
    ) -> Iterator[tuple[object, str | None]]:
        """``(fn(item), retried)`` for every item, in the order they finish. ``retried`` says
        why an item was rendered twice; an item lost twice becomes ``lost(item, reason)``.
        Items are matched to their unit scratch folders by their ``slug``."""
        deaths: dict[int, int] = {}
        todo = list(range(len(items)))
        idle_breaks = 0  # pools that broke before rendering anything (a worker that cannot start)
        while todo:
            pool = self._start()
            pending: dict[Future, int] = {pool.submit(fn, items[i]): i for i in todo}
            todo = []
            while pending:
                finished, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in finished:
                    i = pending.pop(future)
                    try:
                        result = future.result()
                    except BrokenProcessPool:
                        todo.append(i)
                        continue
                    yield result, (RETRIED if deaths.get(i) else None)
            if not todo:
                break
            running = self._running_when_broken()
            charged = [i for i in todo if items[i].slug in running]
            idle_breaks = 0 if charged else idle_breaks + 1
            for i in charged:
                deaths[i] = deaths.get(i, 0) + 1
            for i in [i for i in todo if deaths.get(i, 0) >= 2 or idle_breaks >= 3]:
                todo.remove(i)
                yield lost(items[i], LOST if deaths.get(i, 0) >= 2 else IDLE), None
            self._rebuild()

    def call(self, fn: Callable, *args: object):
        try:
            return self._start().submit(fn, *args).result()
        except BrokenProcessPool:  # a worker died: once more on a new one
            self._rebuild()
            return self._start().submit(fn, *args).result()

    def __exit__(self, exc_type: type | None, *exc: object) -> None:
        try:
            if self.pool is None:
                return
            if exc_type is None:
                self.pool.shutdown(wait=True)
                return
            workers = list((self.pool._processes or {}).values())
            self.pool.shutdown(wait=False, cancel_futures=True)
            for process in workers:
                if process.is_alive():
                    process.kill()
            for process in workers:
                process.join(timeout=10)
        finally:
            shutil.rmtree(self.scratch, ignore_errors=True)
            os.close(self._owner)


class Dask:
    """A Dask cluster: the given scheduler, or a local cluster of ``n`` workers."""

    def __init__(self, scheduler: str | None, n: int) -> None:
        try:
            from distributed import Client, LocalCluster
        except ImportError:
            raise XmkitError(
                Problem(
                    "--executor dask", "Dask is not installed", expected="pip install 'xmkit[dask]'"
                )
            ) from None
        self.cluster = None
        if scheduler:
            self.client = Client(scheduler)
        else:
            self.cluster = LocalCluster(
                n_workers=max(n, 1), threads_per_worker=1, processes=True, dashboard_address=None
            )
            self.client = Client(self.cluster)

    def __enter__(self) -> Dask:
        return self

    def results(
        self, fn: Callable, items: list, lost: Callable[[object, str], object]
    ) -> Iterator[tuple[object, str | None]]:
        """``(fn(item), None)`` per item; Dask itself reschedules the work of a lost worker."""
        from distributed import as_completed

        for future in as_completed(self.client.map(fn, items, pure=False)):
            yield future.result(), None

    def call(self, fn: Callable, *args: object):
        return self.client.submit(fn, *args, pure=False).result()

    def __exit__(self, *exc: object) -> None:
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()
