"""Batch reports: one report per business unit, plus a portfolio summary.

A batch plans one *job* per unit (its responses travel inside the job, so the same job runs on
a local process or a Dask worker on another machine), renders the jobs in parallel, records
each outcome in ``manifest.json`` (within a second of knowing it), and finally renders the
portfolio (``index.html``, ``portfolio.csv``, ``portfolio.xlsx``).

Guarantees: a unit that fails (bad data, kernel death, timeout) does not stop the others;
every file is written to a temporary name and renamed, so an interrupted run leaves no
half-written output; ``resume=True`` skips units whose input, template and outputs are
unchanged, and removes what an interrupted run left behind.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import multiprocessing
import os
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import asdict, dataclass, field
from importlib.metadata import version
from pathlib import Path

import pandas as pd

from xmkit.analysis.score import score
from xmkit.errors import Problem, XmkitError
from xmkit.framework import Framework, load_framework
from xmkit.io.assessment import load_assessment
from xmkit.io.iorw import atomic_write_bytes, write_table
from xmkit.io.paths import slugify
from xmkit.io.responses import read_responses
from xmkit.render.engine import DEFAULT_RECYCLE_AFTER, pool
from xmkit.render.execute import (
    parse_formats,
    render_notebook,
    report_parameters,
    template_path,
)
from xmkit.startup import skip_slow_imports

MANIFEST = "manifest.json"
DONE, UNCHANGED, SKIPPED, FAILED = "done", "unchanged", "skipped", "failed"
RESPONSE_SUFFIXES = {".csv", ".txt", ".tsv", ".xlsx", ".xlsm"}


@dataclass
class UnitJob:
    """Everything one worker needs to render one unit's report."""

    unit: str
    slug: str
    client: str
    folder: str
    csv: str
    formats: tuple[str, ...]
    period: str = ""
    framework: str | None = None
    min_group_size: int | None = None
    seed: int = 0
    timeout: int = 600
    input_hash: str = ""
    include_comments: bool = False


@dataclass
class UnitResult:
    """What happened to one unit; one entry of ``manifest.json``."""

    unit: str
    slug: str
    status: str
    n: int = 0
    input_hash: str = ""
    template_hash: str = ""
    outputs: list[str] = field(default_factory=list)
    error: str | None = None
    seconds: float = 0.0


@dataclass
class BatchResult:
    client: str
    folder: Path
    units: list[UnitResult]
    elapsed: float
    portfolio: dict[str, Path]

    def count(self, *statuses: str) -> int:
        return sum(u.status in statuses for u in self.units)

    @property
    def failed(self) -> list[UnitResult]:
        return [u for u in self.units if u.status == FAILED]

    def summary(self) -> str:
        text = (
            f"{self.client}: {self.count(DONE)} rendered, {self.count(UNCHANGED)} unchanged, "
            f"{self.count(SKIPPED)} skipped (below the minimum group size), "
            f"{self.count(FAILED)} failed, in {self.elapsed:.1f} s -> {self.folder}"
        )
        for unit in self.failed:
            text += f"\n  failed: {unit.unit}: {unit.error}"
        return text


# ---- hashing ------------------------------------------------------------------------------


def _digest(*parts: bytes | str) -> str:
    sha = hashlib.sha256()
    for part in parts:
        sha.update(part.encode("utf-8") if isinstance(part, str) else part)
        sha.update(b"\0")
    return sha.hexdigest()


def template_hash(framework: str | Path | None) -> str:
    """Changes when the report template, the framework or xmkit itself changes."""
    parts = [template_path().read_bytes(), version("xmkit")]
    parts.append(Path(framework).read_bytes() if framework else b"bundled")
    return _digest(*parts)


# ---- planning -----------------------------------------------------------------------------


@dataclass
class Source:
    """One client's responses, as units with their rows, plus units that already failed."""

    client: str
    period: str
    data: pd.DataFrame
    failed: dict[str, str]
    framework: str | None = None
    min_group_size: int | None = None
    previous: pd.DataFrame | None = None  # an earlier wave's responses, for the portfolio trend
    previous_period: str = ""


def _unit_problems(loaded, name: str) -> tuple[dict[str, str], list[Problem]]:
    """Split problems into those of one unit (by row) and those of the whole file."""
    by_unit: dict[str, list[str]] = {}
    general = []
    row_unit = dict(zip(loaded.rows.tolist(), loaded.data.get("unit", []), strict=False))
    for problem in loaded.problems:
        unit = row_unit.get(problem.row) if problem.row and problem.row > 1 else None
        if unit:
            by_unit.setdefault(unit, []).append(str(problem))
        else:
            general.append(problem)
    return {
        u: "; ".join(msgs[:5]) + (f" (+{len(msgs) - 5} more)" if len(msgs) > 5 else "")
        for u, msgs in by_unit.items()
    }, general


def _read_source(path: Path, framework: Framework) -> tuple[pd.DataFrame, dict[str, str]]:
    """Responses of one file; units with bad rows are reported as failed, not fatal."""
    loaded = read_responses(path, framework)
    failed, general = _unit_problems(loaded, str(path))
    if general:
        raise XmkitError(general)
    return loaded.data, failed


def plan_sources(
    source: str | Path,
    client: str | None,
    framework: str | Path | None,
    period: str = "",
    min_group_size: int | None = None,
) -> list[Source]:
    """What to render: one responses file, a folder of per-unit files, or assessment folders."""
    source = Path(source)
    fw = load_framework(framework)
    if source.is_dir():
        assessments = sorted(p.parent for p in source.glob("*/assessment.yaml"))
        if (source / "assessment.yaml").exists():
            assessments = [source]
        if assessments:
            return [
                _assessment_source(a, client if len(assessments) == 1 else None)
                for a in assessments
            ]
        files = sorted(p for p in source.iterdir() if p.suffix.lower() in RESPONSE_SUFFIXES)
        if not files:
            raise XmkitError(
                Problem(
                    str(source),
                    "no responses files in this folder",
                    expected="CSV or XLSX files, one per unit",
                )
            )
        frames, failed = [], {}
        for file in files:
            loaded = read_responses(file, fw)
            if loaded.problems or loaded.data.empty:
                failed[file.stem] = "; ".join(str(p) for p in loaded.problems[:5])
            else:
                frames.append(loaded.data)
        data = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    else:
        data, failed = _read_source(source, fw)
    if not client:
        raise XmkitError(
            Problem(
                "--client",
                "a client name is needed for a responses file",
                expected="--client NAME, or an assessment folder",
            )
        )
    return [
        Source(client, period, data, failed, str(framework) if framework else None, min_group_size)
    ]


def _assessment_source(folder: Path, client: str | None) -> Source:
    assessment = load_assessment(folder)
    framework = assessment.framework_path
    fw = load_framework(framework)
    data, failed = _read_source(assessment.responses_path, fw)
    previous = None
    if assessment.previous_path:
        previous = read_responses(assessment.previous_path, fw)
        if previous.problems:
            raise XmkitError(previous.problems)
    return Source(
        client or assessment.client,
        assessment.period,
        data,
        failed,
        str(framework) if framework else None,
        assessment.min_group_size,
        previous.data if previous else None,
        (assessment.previous.period or "previous") if previous else "",
    )


def unique_slugs(names: Iterable[str]) -> dict[str, str]:
    """A distinct folder name per unit, even when two names slug alike."""
    slugs: dict[str, str] = {}
    used: set[str] = set()
    for name in sorted(set(names), key=str):
        slug = slugify(name)
        if slug in used or slug == "index":
            slug = slugify(f"{name} {hashlib.sha256(name.encode()).hexdigest()[:6]}")
        used.add(slug)
        slugs[name] = slug
    return slugs


# ---- rendering one unit (runs in a worker) ------------------------------------------------


def render_unit(job: UnitJob) -> UnitResult:
    """Render one unit's report; never raises: a failure becomes the result's ``error``."""
    start = time.perf_counter()
    result = UnitResult(job.unit, job.slug, FAILED, input_hash=job.input_hash)
    scratch = Path(tempfile.mkdtemp(prefix="xmkit-unit-"))
    try:
        responses = scratch / "responses.csv"
        responses.write_text(job.csv, encoding="utf-8")
        parameters = report_parameters(
            responses,
            job.client,
            job.unit,
            job.period,
            job.framework,
            job.min_group_size,
            job.seed,
            job.include_comments,
        )
        written = render_notebook(
            template_path(),
            parameters,
            Path(job.folder),
            f"EX/CX alignment: {job.client} - {job.unit}",
            job.formats,
            printer=_worker_printer() if "pdf" in job.formats else None,
            timeout=job.timeout,
        )
        result.status = DONE
        result.outputs = [str(Path(job.slug) / p.name) for p in written.values()]
    except XmkitError as exc:
        result.error = str(exc)
    except Exception as exc:  # kernel death, timeout, browser crash: isolate the unit
        result.error = (
            f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc) else ''}"
        )
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
        result.seconds = round(time.perf_counter() - start, 2)
    return result


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


def _worker_printer():
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
        _worker_printer()


# ---- executors ----------------------------------------------------------------------------


def _worker_init(recycle_after: int, scratch: str, pdf: bool) -> None:
    """Prepare a worker: Ctrl-C is the parent's to handle; every temporary file (unit data,
    kernel sockets and connection files) goes under the run's scratch folder, which the parent
    removes however the run ends; the warm kernel starts straight away, and Chromium (for PDF)
    while the kernel imports."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    os.environ["TMPDIR"] = scratch
    os.environ["JUPYTER_RUNTIME_DIR"] = str(Path(scratch) / "runtime")
    tempfile.tempdir = scratch
    skip_slow_imports()
    kernels = pool(recycle_after)
    _at_worker_exit(kernels.close)
    kernels.prestart(_start_printer if pdf else None)


def _ready() -> None:
    """A task that does nothing: submitting it makes the pool start a worker."""


class _Processes:
    """Local worker processes, each with its own warm kernel and Chromium.

    The parent never runs a kernel itself, so its SIGTERM/Ctrl-C handling stays reliable
    (nbclient replaces signal handlers while it executes). On interruption the parent kills
    the workers (their kernels exit with them) and removes the run's scratch folder.
    """

    def __init__(self, n: int, recycle_after: int, pdf: bool) -> None:
        self.scratch = tempfile.mkdtemp(prefix="xmkit-run-")
        context = multiprocessing.get_context("spawn")  # no inherited threads, locks, handlers
        self.pool = ProcessPoolExecutor(
            max_workers=n,
            mp_context=context,
            initializer=_worker_init,
            initargs=(recycle_after, self.scratch, pdf),
        )
        for _ in range(n):  # each start-up (process, kernel, imports) runs while the parent plans
            self.pool.submit(_ready)

    def __enter__(self) -> _Processes:
        return self

    def results(self, fn: Callable, items: list) -> Iterator:
        pending: set[Future] = {self.pool.submit(fn, item) for item in items}
        while pending:
            finished, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in finished:
                yield future.result()

    def call(self, fn: Callable, *args: object):
        return self.pool.submit(fn, *args).result()

    def __exit__(self, exc_type: type | None, *exc: object) -> None:
        try:
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


class _Dask:
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

    def __enter__(self) -> _Dask:
        return self

    def results(self, fn: Callable, items: list) -> Iterator:
        from distributed import as_completed

        for future in as_completed(self.client.map(fn, items, pure=False)):
            yield future.result()

    def call(self, fn: Callable, *args: object):
        return self.client.submit(fn, *args, pure=False).result()

    def __exit__(self, *exc: object) -> None:
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()


def _executor(opts: _Options):
    if opts.executor == "dask":
        return _Dask(opts.scheduler, opts.jobs)
    return _Processes(opts.jobs, opts.recycle_after, "pdf" in opts.formats)


def _clean_leftovers(folder: Path) -> int:
    """Remove temporary files and folders an interrupted run left behind."""
    removed = 0
    if not folder.exists():
        return 0
    for path in sorted(folder.rglob(".*"), key=lambda p: len(p.parts), reverse=True):
        if path.name.startswith(".render-") and path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
            removed += 1
        elif path.name.endswith(".tmp") and path.is_file():
            path.unlink(missing_ok=True)
            removed += 1
    return removed


def read_manifest(folder: Path) -> dict:
    """The manifest of an earlier run (empty if none); a corrupt one is an error, not ignored."""
    path = folder / MANIFEST
    if not path.exists():
        return {}
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(manifest, dict) or not isinstance(manifest.get("units"), dict):
            raise ValueError("no 'units' mapping")
        return manifest
    except (ValueError, UnicodeDecodeError) as exc:
        raise XmkitError(
            Problem(
                str(path),
                f"the manifest of the earlier run is corrupt ({exc})",
                expected="a manifest.json written by xmkit batch; delete it to "
                "render every unit again",
            )
        ) from None


class _Manifest:
    """``manifest.json``, rewritten atomically as units finish.

    Rewriting it after every unit made a 1,000-unit batch quadratic (the whole file each
    time), so it is rewritten at most every ``every`` seconds, and whenever the run ends or is
    interrupted. A process killed outright loses at most that second of outcomes: those units
    are rendered again by ``--resume``.
    """

    every = 1.0

    def __init__(self, folder: Path, client: str, template: str, units: dict) -> None:
        self.path = folder / MANIFEST
        self.data = {
            "xmkit": version("xmkit"),
            "client": client,
            "template_hash": template,
            "started": dt.datetime.now().isoformat(timespec="seconds"),
            "finished": None,
            "units": units,
        }
        self.saved = 0.0

    def record(self, result: UnitResult) -> None:
        self.data["units"][result.unit] = asdict(result)
        if time.monotonic() - self.saved >= self.every:
            self.save()

    def save(self, finished: bool = False) -> None:
        if finished:
            self.data["finished"] = dt.datetime.now().isoformat(timespec="seconds")
        text = json.dumps(self.data, indent=2, ensure_ascii=False, default=str)
        atomic_write_bytes(self.path, text.encode("utf-8"))
        self.saved = time.monotonic()


def _progress(total: int, quiet: bool) -> Callable[[UnitResult], None]:
    """A tqdm bar on a terminal; one plain line per unit otherwise."""
    if quiet:
        return lambda result: None
    if sys.stderr.isatty():
        from tqdm import tqdm

        bar = tqdm(total=total, unit="unit", file=sys.stderr)

        def tick(result: UnitResult) -> None:
            bar.set_postfix_str(f"{result.status}: {result.unit}"[:40])
            bar.update(1)
            if bar.n >= total:
                bar.close()

        return tick
    count = [0]

    def line(result: UnitResult) -> None:
        count[0] += 1
        note = f" ({result.error})" if result.error else f" ({result.seconds:.1f} s)"
        print(
            f"[{count[0]}/{total}] {result.status:<9} {result.unit}{note}",
            file=sys.stderr,
            flush=True,
        )

    return line


@dataclass
class _Options:
    formats: tuple[str, ...]
    jobs: int
    resume: bool
    executor: str
    scheduler: str | None
    seed: int
    timeout: int
    quiet: bool
    recycle_after: int = DEFAULT_RECYCLE_AFTER
    include_comments: bool = False
    benchmark: dict = field(default_factory=dict)  # industry, benchmark, benchmark_min


def _batch_one(src: Source, folder: Path, opts: _Options, executor) -> BatchResult:
    start = time.perf_counter()
    framework = load_framework(src.framework)
    min_size = src.min_group_size or framework.thresholds.min_group_size
    folder.mkdir(parents=True, exist_ok=True)
    if (removed := _clean_leftovers(folder)) and not opts.quiet:
        print(
            f"removed {removed} temporary file(s) left by an interrupted run in {folder}",
            file=sys.stderr,
        )
    earlier = read_manifest(folder).get("units", {}) if opts.resume else {}
    template = template_hash(src.framework)
    units = (
        sorted(set(src.data["unit"]) | set(src.failed), key=str)
        if len(src.data)
        else sorted(src.failed)
    )
    slugs = unique_slugs(units)
    sizes = src.data.groupby("unit").size() if len(src.data) else pd.Series(dtype=int)
    manifest = _Manifest(folder, src.client, template, {})
    results: list[UnitResult] = []
    jobs: list[UnitJob] = []
    by_unit = dict(iter(src.data.groupby("unit", sort=False))) if len(src.data) else {}
    for unit in units:
        n = int(sizes.get(unit, 0))
        if unit in src.failed:
            results.append(UnitResult(unit, slugs[unit], FAILED, n, error=src.failed[unit]))
            continue
        if n < min_size:
            results.append(UnitResult(unit, slugs[unit], SKIPPED, n, error=None))
            continue
        rows = by_unit[unit]
        if not opts.include_comments:  # comments travel only when the report shows them
            rows = rows.drop(columns=["comment"], errors="ignore")
        csv = rows.to_csv(index=False, lineterminator="\r\n")  # a lone CR in a cell is quoted
        params = json.dumps([src.client, unit, src.period, opts.formats, min_size, opts.seed])
        input_hash = _digest(csv, params)
        before = earlier.get(unit, {})
        if (
            opts.resume
            and before.get("status") in {DONE, UNCHANGED}
            and before.get("input_hash") == input_hash
            and before.get("template_hash") == template
            and before.get("outputs")
            and all((folder / o).exists() for o in before["outputs"])
        ):
            results.append(
                UnitResult(unit, slugs[unit], UNCHANGED, n, input_hash, template, before["outputs"])
            )
            continue
        jobs.append(
            UnitJob(
                unit,
                slugs[unit],
                src.client,
                str(folder / slugs[unit]),
                csv,
                opts.formats,
                src.period,
                src.framework,
                min_size,
                opts.seed,
                opts.timeout,
                input_hash,
                opts.include_comments,
            )
        )
    for result in results:
        manifest.record(result)
    manifest.save()
    tick = _progress(len(jobs), opts.quiet)
    sizes_by_unit = {job.unit: int(sizes.get(job.unit, 0)) for job in jobs}
    try:
        for result in executor.results(render_unit, jobs):
            result.n = sizes_by_unit.get(result.unit, 0)
            result.template_hash = template
            manifest.record(result)
            results.append(result)
            tick(result)
        results.sort(key=lambda r: str(r.unit))
        portfolio = write_portfolio(
            src, folder, results, framework, min_size, executor.call, opts.benchmark
        )
    except BaseException:  # interrupted: what finished goes in the manifest; drop the rest
        manifest.save()
        _clean_leftovers(folder)
        raise
    manifest.save(finished=True)
    return BatchResult(src.client, folder, results, time.perf_counter() - start, portfolio)


def portfolio_table(
    src: Source, results: list[UnitResult], framework: Framework, min_size: int
) -> pd.DataFrame:
    """One row per unit: status, respondents, overall/category/practice scores, stage, report."""
    status = {r.unit: r for r in results}
    base = pd.DataFrame({"unit": [r.unit for r in results]})
    if len(src.data):
        scores = score(src.data, framework, by="unit", min_group_size=min_size, n_boot=0)
        scores = scores[scores["level"].isin(["overall", "category", "practice"])]
        wide = scores.pivot_table(
            index="unit", columns="id", values="score", aggfunc="first", dropna=False
        )
        order = [
            "overall",
            *[c.id for c in framework.categories],
            *[p.id for _, p in framework.practices],
        ]
        wide = wide.reindex(columns=order)
        overall = scores[scores["level"] == "overall"].set_index("unit")
        wide["stage"] = overall["stage"]
        wide["stage_name"] = overall["stage_name"]
        wide["capped"] = overall["capped"]
        wide["suppressed"] = overall["suppressed"]
        base = base.merge(wide.reset_index(), on="unit", how="left")
    base.insert(1, "status", [status[u].status for u in base["unit"]])
    base.insert(2, "respondents", [status[u].n for u in base["unit"]])
    base["report"] = [
        str(Path(status[u].slug) / "report.html")
        if status[u].status in {DONE, UNCHANGED}
        and any(o.endswith("report.html") for o in status[u].outputs)
        else ""
        for u in base["unit"]
    ]
    failed = base["status"] == FAILED
    if src.previous is not None and len(base):
        before = score(src.previous, framework, by="unit", min_group_size=min_size, n_boot=0)
        before = before[before["level"] == "overall"].set_index("unit")["score"]
        base["previous_wave"] = src.previous_period
        base["previous_overall"] = base["unit"].map(before)
        base["change"] = base["overall"] - base["previous_overall"]
    scored = [c for c in base.columns if c not in {"unit", "status", "respondents", "report"}]
    base[scored] = base[scored].astype(object)
    base.loc[failed, scored] = None  # numbers from data that failed validation are not shown
    return base


def write_portfolio(
    src: Source,
    folder: Path,
    results: list[UnitResult],
    framework: Framework,
    min_size: int,
    call: Callable = lambda fn, *args: fn(*args),
    benchmark: dict | None = None,
) -> dict[str, Path]:
    """portfolio.csv, portfolio.xlsx and index.html (the portfolio notebook) for one client."""
    table = portfolio_table(src, results, framework, min_size)
    written = {
        "csv": write_table(table, folder / "portfolio.csv"),
        "xlsx": write_table(table, folder / "portfolio.xlsx"),
    }
    # The page shows names as they are (escaped in HTML); portfolio.csv is neutralized for
    # spreadsheets, so the notebook reads a plain copy that exists only while it renders.
    plain = folder / ".portfolio-input.csv.tmp"
    table.to_csv(plain, index=False)
    parameters = {
        "portfolio": str(plain.resolve()),
        "client": src.client,
        "period": src.period,
        "framework": str(Path(src.framework).resolve()) if src.framework else "",
        "min_group_size": min_size,
        **(benchmark or {}),
    }
    try:
        written.update(
            call(
                render_notebook,
                template_path("portfolio.ipynb"),
                parameters,
                folder,
                f"EX/CX alignment portfolio: {src.client}",
                ("html",),
                "index",
            )
        )
    finally:
        plain.unlink(missing_ok=True)
    return written


def _terminate_on_sigterm() -> Callable[[], None]:
    """Turn SIGTERM into KeyboardInterrupt so clean-up runs; returns the restorer."""
    try:
        previous = signal.signal(signal.SIGTERM, signal.default_int_handler)
    except ValueError:  # not the main thread
        return lambda: None
    return lambda: signal.signal(signal.SIGTERM, previous)


def run_batch(
    source: str | Path,
    client: str | None = None,
    output_dir: str | Path | None = None,
    formats: str | Sequence[str] = ("html", "pdf"),
    jobs: int = 1,
    resume: bool = False,
    framework: str | Path | None = None,
    period: str = "",
    min_group_size: int | None = None,
    executor: str = "local",
    scheduler: str | None = None,
    seed: int = 0,
    timeout: int = 600,
    quiet: bool = False,
    recycle_after: int = DEFAULT_RECYCLE_AFTER,
    include_comments: bool = False,
    industry: str = "",
    benchmark: str = "",
    benchmark_min: int = 5,
) -> list[BatchResult]:
    """Render a report per unit and a portfolio per client; see the module docstring.

    ``output_dir`` is the client's folder (default ``reports/<client-slug>/``); for several
    assessments it is the parent of one folder per client. ``industry`` adds the units'
    percentile ranks against the benchmark store ``benchmark`` to the portfolio.
    """
    opts = _Options(
        parse_formats(formats),
        max(1, jobs),
        resume,
        executor,
        scheduler,
        seed,
        timeout,
        quiet,
        recycle_after,
        include_comments,
        {"industry": industry, "benchmark": benchmark, "benchmark_min": int(benchmark_min)}
        if industry
        else {},
    )
    restore = _terminate_on_sigterm()
    try:
        with _executor(opts) as executor:  # workers start up while the sources are read
            sources = plan_sources(source, client, framework, period, min_group_size)
            results = []
            for src in sources:
                if output_dir is None:
                    folder = Path("reports") / slugify(src.client)
                elif len(sources) > 1:
                    folder = Path(output_dir) / slugify(src.client)
                else:
                    folder = Path(output_dir)
                results.append(_batch_one(src, folder, opts, executor))
            return results
    finally:
        restore()
