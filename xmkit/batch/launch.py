"""Starting a batch: options checked, the output folder locked, workers started, and only
then the planning code imported.

The planning and portfolio code (:mod:`xmkit.batch.run`) imports pandas and the scoring: about
0.6 s of one core. Importing it after the workers are started lets that run beside their
start-up (a process, a kernel and its imports each) instead of before it, while the other core
would wait.
"""

from __future__ import annotations

import contextlib
import signal
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

from xmkit.batch.executors import Dask, Processes
from xmkit.batch.lock import FolderLock
from xmkit.batch.results import BatchResult
from xmkit.options import Options

__all__ = ["run_batch"]


def _executor(opts: Options):
    if opts.executor == "dask":
        return Dask(opts.scheduler, opts.jobs)
    # --resume starts workers only if a unit needs rendering: nothing to do takes no time
    return Processes(opts.jobs, opts.recycle_after, "pdf" in opts.formats, start=not opts.resume)


@contextlib.contextmanager
def _workers_skip_main_script() -> Iterator[None]:
    """Start workers without running the caller's script again.

    A spawned worker re-imports ``__main__`` (from its file, or by module name under
    ``python -m``), so a plain script that calls :func:`run_batch` without an
    ``if __name__ == "__main__":`` guard would call it again in every worker and fail with
    multiprocessing's bootstrapping error. Workers need nothing from that script: while the
    batch runs, ``__main__`` shows neither its file nor its spec, so workers import xmkit only.
    """
    main = sys.modules.get("__main__")
    hidden = {k: main.__dict__.pop(k) for k in ("__file__",) if main and k in main.__dict__}
    spec = getattr(main, "__spec__", None)
    if main is not None:
        main.__spec__ = None
    try:
        yield
    finally:
        if main is not None:
            main.__dict__.update(hidden)
            main.__spec__ = spec


def _skipped_folders(source: Path) -> list[str]:
    """Sub-folders of a folder of assessments that are not assessments, with the reason."""
    if not source.is_dir() or (source / "assessment.yaml").exists():
        return []
    if not any(source.glob("*/assessment.yaml")):
        return []
    return [
        f"skipped {folder}: no assessment.yaml in it"
        for folder in sorted(p for p in source.iterdir() if p.is_dir())
        if not (folder / "assessment.yaml").exists()
    ]


def _terminate_on_sigterm() -> Callable[[], None]:
    """Turn SIGTERM into KeyboardInterrupt so clean-up runs; returns the restorer."""
    try:
        previous = signal.signal(signal.SIGTERM, signal.default_int_handler)
    except ValueError:  # not the main thread
        return lambda: None
    return lambda: signal.signal(signal.SIGTERM, previous)


def run_batch(
    source: str | Path,
    output_dir: str | Path | None = None,
    quiet: bool = False,
    **options: object,
) -> list[BatchResult]:
    """Render a report per unit and a portfolio per client; see :mod:`xmkit.batch.run`.

    ``options`` are fields of :class:`xmkit.options.Options` (``client``, ``formats``,
    ``jobs``, ``min_group_size``, ``metrics`` ...): they override each assessment's
    ``assessment.yaml``, whose values override the defaults; a bad value raises
    :class:`~xmkit.errors.UsageError` (a ``ValueError``). ``output_dir`` is the client's
    folder (default ``reports/<client-slug>/``); for several assessments it is the parent of
    one folder per client. If another batch is writing to a folder, this one stops at once
    with an error naming it, or waits for it (``wait``).
    """
    given = {k: v for k, v in options.items() if v is not None}
    run = Options.checked(given)  # how to run; also fails fast on a bad value
    restore = _terminate_on_sigterm()
    if not quiet:
        print(
            f"xmkit batch: starting {run.jobs} worker(s) ({', '.join(run.formats)}); "
            f"reading {source}",
            file=sys.stderr,
            flush=True,
        )
        for line in _skipped_folders(Path(source)):
            print(line, file=sys.stderr)
    try:
        with contextlib.ExitStack() as stack:
            locked = set()
            if output_dir is not None:  # a second run stops before starting any worker
                stack.enter_context(FolderLock(Path(output_dir), wait=run.wait))
                locked.add(Path(output_dir).resolve())
            stack.enter_context(_workers_skip_main_script())
            executor = stack.enter_context(_executor(run))  # starts while sources are read
            from xmkit.batch.run import batch_sources  # pandas, scoring: once workers start

            return batch_sources(source, output_dir, quiet, given, executor, locked)
    finally:
        restore()
