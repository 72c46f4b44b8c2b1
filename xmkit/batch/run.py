"""Batch reports: one report per business unit, plus a portfolio summary.

A batch plans one *job* per unit (its responses travel inside the job, so the same job runs on
a local process or a Dask worker on another machine), renders the jobs in parallel, records
each outcome in ``manifest.json`` (within a second of knowing it), and finally renders the
portfolio (``index.html``, ``portfolio.csv``, ``portfolio.xlsx``).

Guarantees: a unit that fails (bad data, kernel death, timeout) does not stop the others;
every file is written to a temporary name and renamed, so an interrupted run leaves no
half-written output; ``resume=True`` skips units whose input, template and outputs are
unchanged (outputs checked against the hashes in the manifest), and removes what an
interrupted run left behind. One run at a time writes to a folder (:mod:`xmkit.batch.lock`);
workers, kernels and browsers end with the run (:mod:`xmkit.batch.executors`); the portfolio
files are rendered beside each other in a staging folder and replace the earlier set together.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path

import pandas as pd

from xmkit.analysis.disclosure import PROTECTING, SMALL
from xmkit.analysis.ranks import rank_ranges
from xmkit.analysis.score import score
from xmkit.analysis.withholding import unit_withholding
from xmkit.batch.launch import run_batch
from xmkit.batch.lock import FolderLock, clean_leftovers
from xmkit.batch.manifest import PORTFOLIO, Manifest, hashes, intact, read_manifest
from xmkit.batch.results import DONE, FAILED, SKIPPED, UNCHANGED, BatchResult, UnitResult
from xmkit.batch.unit import UnitJob, render_unit
from xmkit.batch.uptodate import RESPONSE_SUFFIXES, RUN_ONLY, TEMPLATES, run_key, stamp
from xmkit.errors import Problem, UsageError, XmkitError
from xmkit.framework import Framework, load_framework
from xmkit.io.iorw import fsync_folder, named
from xmkit.io.logo import logo_data_uri
from xmkit.io.names import clean_name
from xmkit.io.paths import portfolio_title, slugify
from xmkit.io.portfolio_files import write_csv, write_xlsx
from xmkit.io.responses import read_responses
from xmkit.options import Options, resolve
from xmkit.render.execute import render_notebook, template_path

__all__ = [
    "LINKS",
    "ORGANIZATION",
    "BatchResult",
    "UnitJob",
    "UnitResult",
    "portfolio_names",
    "portfolio_table",
    "run_batch",
    "unique_slugs",
]

DEFAULT_RECYCLE_AFTER = 50  # as xmkit.render.engine, which is too heavy to import here


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
    """One client's responses, as units with their rows, plus units that already failed.

    ``options`` are resolved for this client (flags over its ``assessment.yaml``).
    """

    options: Options
    data: pd.DataFrame
    failed: dict[str, str]
    previous: pd.DataFrame | None = None  # an earlier wave's responses, for the portfolio trend
    inputs: dict[str, object] = field(default_factory=dict)
    """Stamps of the files read for this client, taken before reading them (and of the
    templates): recorded in the manifest so a no-op ``--resume`` is told without reading."""

    @property
    def client(self) -> str:
        return str(self.options.client)


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


def _read_source(
    path: Path, framework: Framework, reading: dict | None = None
) -> tuple[pd.DataFrame, dict[str, str]]:
    """Responses of one file; units with bad rows are reported as failed, not fatal."""
    loaded = read_responses(path, framework, **(reading or {}))
    failed, general = _unit_problems(loaded, str(path))
    if general:
        raise XmkitError(general)
    return loaded.data, failed


def plan_sources(source: str | Path, given: Mapping[str, object]) -> list[Source]:
    """What to render: one responses file, a folder of per-unit files, or assessment folders.

    ``given`` are the :class:`~xmkit.options.Options` values set by the caller; each
    assessment fills in the rest (a ``client`` given is ignored for several assessments).
    """
    source = Path(source)
    inputs = stamp([source, *(template_path(name) for name in TEMPLATES)])
    if source.suffix.lower() in {".yaml", ".yml"}:
        return [_assessment_source(source, given, inputs)]
    if source.is_dir():
        assessments = sorted(p.parent for p in source.glob("*/assessment.yaml"))
        if (source / "assessment.yaml").exists():
            assessments = [source]
        if assessments:
            several = len(assessments) > 1
            return [
                _assessment_source(a, {**given, "client": None} if several else given, inputs)
                for a in assessments
            ]
    opts = Options.checked(given)
    inputs |= stamp([opts.framework, opts.metrics, opts.previous, opts.logo])
    fw = load_framework(opts.framework)
    if source.is_dir():
        files = sorted(p for p in source.iterdir() if p.suffix.lower() in RESPONSE_SUFFIXES)
        inputs |= stamp(files)
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
            loaded = read_responses(file, fw, **(opts.reading or {}))
            if loaded.problems or loaded.data.empty:
                failed[clean_name(file.stem)] = "; ".join(str(p) for p in loaded.problems[:5])
            else:
                frames.append(loaded.data)
        data = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    else:
        data, failed = _read_source(source, fw, opts.reading)
    if not opts.client:
        raise UsageError(
            Problem(
                "--client",
                "a client name is needed for a responses file",
                expected="--client NAME, or an assessment folder",
            )
        )
    return [Source(_clean_client(opts), data, failed, _previous(opts, fw), inputs)]


def _previous(opts: Options, framework: Framework) -> pd.DataFrame | None:
    """The previous wave's responses, read once for the portfolio trend (None without one)."""
    if opts.previous is None:
        return None
    previous = read_responses(opts.previous, framework)
    if previous.problems:
        raise XmkitError(previous.problems)
    return previous.data


def _assessment_source(
    folder: Path, given: Mapping[str, object], inputs: dict[str, object]
) -> Source:
    inputs = {**inputs, **stamp([folder if folder.is_file() else folder / "assessment.yaml"])}
    responses, opts = resolve(folder, given)
    inputs |= stamp([responses, opts.framework, opts.metrics, opts.previous, opts.logo])
    fw = load_framework(opts.framework)
    data, failed = _read_source(responses, fw, opts.reading)
    return Source(_clean_client(opts), data, failed, _previous(opts, fw), inputs)


def _clean_client(opts: Options) -> Options:
    """The client name as shown everywhere: control characters removed (xmkit.io.names)."""
    return opts.model_copy(update={"client": clean_name(opts.client)}) if opts.client else opts


def unique_slugs(names: Iterable[str]) -> dict[str, str]:
    """A distinct folder name per unit, whatever the names.

    The first of names that slug alike (in sorted order) keeps the plain slug; the others get
    one with a hash of the name, lengthened until it is no other name's plain slug either, so
    a crafted name cannot take the folder of another unit, whichever comes first.
    """
    names = sorted(set(names), key=str)
    plain = {name: slugify(name) for name in names}
    reserved = set(plain.values())
    slugs: dict[str, str] = {}
    used: set[str] = set()
    for name in names:
        slug = plain[name]
        if slug in used or slug == "index":
            digest = hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()
            size = 6
            slug = slugify(f"{name} {digest[:size]}")
            while slug in used or slug in reserved:
                size += 1
                slug = slugify(f"{name} {digest[:size]}" if size <= 64 else f"{name} {size}")
        used.add(slug)
        slugs[name] = slug
    return slugs


def _lost(job: UnitJob, reason: str) -> UnitResult:
    return UnitResult(job.unit, job.slug, FAILED, input_hash=job.input_hash, error=reason)


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


def _evidence_digest(opts: Options) -> str:
    """Changes when the metrics or previous-wave file a unit report reads changes."""
    return _digest(*(Path(f).read_bytes() for f in (opts.metrics, opts.previous) if f))


def _benchmark(opts: Options) -> dict:
    """The portfolio's benchmark settings (empty without an industry)."""
    if not opts.industry:
        return {}
    return {
        "industry": opts.industry,
        "benchmark": opts.benchmark,
        "benchmark_min": opts.benchmark_min,
    }


def _batch_one(
    src: Source, folder: Path, quiet: bool, executor, locked: set, resume_key: str | None
) -> BatchResult:
    with contextlib.ExitStack() as stack:
        if folder.resolve() not in locked:  # one run per folder, released however it ends
            stack.enter_context(FolderLock(folder, wait=src.options.wait))
        return _locked_batch(src, folder, quiet, executor, resume_key)


def _portfolio_key(src: Source, template: str, min_size: int, results: list) -> str:
    """Changes when anything the portfolio shows changes: data, template, units' outcomes."""
    previous = src.previous.to_csv(index=False) if src.previous is not None else ""
    rendered = {UNCHANGED: DONE}  # a report rendered earlier is the same report
    outcomes = [(r.unit, r.slug, rendered.get(r.status, r.status), r.n, r.outputs) for r in results]
    return _digest(
        pd.util.hash_pandas_object(src.data, index=False).to_numpy().tobytes(),
        previous,
        template,
        json.dumps(
            [src.client, src.options.period, min_size, outcomes, portfolio_names(src.options)],
            default=str,
        ),
    )


def _remove_departed(folder: Path, earlier: dict, slugs: dict[str, str]) -> list[str]:
    """Remove the reports of units of the earlier run that are no longer in the data (only
    the folders that run recorded, and never one a current unit uses)."""
    removed = []
    used = set(slugs.values())
    for unit, entry in earlier.items():
        if unit in slugs or not isinstance(entry, dict):
            continue
        slug = entry.get("slug")
        if not entry.get("outputs"):
            continue  # skipped or failed: it had no report
        if isinstance(slug, str) and slug not in used and slug == slugify(slug):
            shutil.rmtree(folder / slug, ignore_errors=True)
        removed.append(unit)
    return sorted(removed, key=str)


def _locked_batch(
    src: Source, folder: Path, quiet: bool, executor, resume_key: str | None
) -> BatchResult:
    start = time.perf_counter()
    opts = src.options
    framework = load_framework(opts.framework)
    if opts.logo:
        logo_data_uri(opts.logo)  # a bad --logo fails once, not in every unit's report
    min_size = opts.min_size(framework.thresholds.min_group_size)
    if (removed := clean_leftovers(folder)) and not quiet:
        print(
            f"removed {removed} temporary file(s) left by an interrupted run in {folder}",
            file=sys.stderr,
        )
    try:
        previous_manifest = read_manifest(folder)
    except XmkitError:
        if opts.resume:
            raise
        previous_manifest = {}  # a fresh run replaces a corrupt manifest
    earlier = previous_manifest.get("units", {}) if opts.resume else {}
    template = template_hash(opts.framework)
    units = (
        sorted(set(src.data["unit"]) | set(src.failed), key=str)
        if len(src.data)
        else sorted(src.failed)
    )
    slugs = unique_slugs(units)
    sizes = src.data.groupby("unit").size() if len(src.data) else pd.Series(dtype=int)
    manifest = Manifest(folder, src.client, template, {})
    results: list[UnitResult] = []
    jobs: list[UnitJob] = []
    by_unit = dict(iter(src.data.groupby("unit", sort=False))) if len(src.data) else {}
    shown = opts.model_dump_json(exclude=RUN_ONLY | {"unit"})
    evidence = _evidence_digest(opts)
    withheld = unit_withholding(src.data, framework, min_size) if len(src.data) else {}
    for unit in units:
        n = int(sizes.get(unit, 0))
        if unit in src.failed:
            results.append(UnitResult(unit, slugs[unit], FAILED, n, error=src.failed[unit]))
            continue
        plan = withheld.get(str(unit), {})
        if n < min_size or ["overall", "overall"] in [r[:2] for r in plan.get("unit", [])]:
            # below the minimum, or hidden so that a smaller unit cannot be derived
            results.append(UnitResult(unit, slugs[unit], SKIPPED, n, error=None))
            continue
        rows = by_unit[unit]
        if not opts.include_comments:  # comments travel only when the report shows them
            rows = rows.drop(columns=["comment"], errors="ignore")
        csv = rows.to_csv(index=False, lineterminator="\r\n")  # a lone CR in a cell is quoted
        input_hash = _digest(csv, shown, evidence, str(unit), json.dumps(plan, default=str))
        before = earlier.get(unit, {})
        if (
            opts.resume
            and before.get("status") in {DONE, UNCHANGED}
            and before.get("slug") == slugs[unit]
            and before.get("input_hash") == input_hash
            and before.get("template_hash") == template
            and intact(folder, before.get("hashes"))
        ):
            results.append(
                UnitResult(
                    unit,
                    slugs[unit],
                    UNCHANGED,
                    n,
                    input_hash,
                    template,
                    before["outputs"],
                    hashes=before["hashes"],
                )
            )
            continue
        # an empty plan is passed as such: the report then need not work it out again
        unit_options = opts.model_copy(
            update={
                "unit": unit,
                "min_group_size": min_size,
                "withhold": plan or {"unit": [], "roles": []},
            }
        )
        jobs.append(UnitJob(slugs[unit], str(folder / slugs[unit]), csv, unit_options, input_hash))
    departed = _remove_departed(folder, previous_manifest.get("units", {}), slugs)
    for result in results:
        manifest.record(result)
    if not quiet:
        counts = {s: sum(r.status == s for r in results) for s in (UNCHANGED, SKIPPED, FAILED)}
        print(
            f"{src.client}: rendering {len(jobs)} unit report(s) into {folder} "
            f"({counts[UNCHANGED]} unchanged, {counts[SKIPPED]} below the minimum group size, "
            f"{counts[FAILED]} not loadable)",
            file=sys.stderr,
            flush=True,
        )
    tick = _progress(len(jobs), quiet)
    sizes_by_unit = {job.unit: int(sizes.get(job.unit, 0)) for job in jobs}
    try:
        manifest.save()
        for result, retried in executor.results(render_unit, jobs, _lost):
            result.n = sizes_by_unit.get(result.unit, 0)
            result.template_hash = template
            result.retried = retried or result.retried
            manifest.record(result)
            results.append(result)
            tick(result)
        results.sort(key=lambda r: str(r.unit))
        key = _portfolio_key(src, template, min_size, results)
        before = previous_manifest.get("portfolio") or {}
        if (
            opts.resume
            and not jobs
            and before.get("key") == key
            and intact(folder, before.get("hashes"))
        ):
            names = portfolio_names(opts)
            portfolio = {Path(name).suffix.lstrip("."): folder / name for name in names}
            manifest.data["portfolio"] = before  # nothing changed: the earlier set stands
        else:
            portfolio = write_portfolio(
                src, folder, results, framework, min_size, executor.call, _benchmark(opts)
            )
            written = portfolio_names(opts)
            manifest.data["portfolio"] = {"key": key, "hashes": hashes(folder, written)}
    except BaseException as exc:  # interrupted: what finished goes in the manifest; drop the rest
        clean_leftovers(folder)
        manifest.save()
        if isinstance(exc, KeyboardInterrupt) and not quiet:
            done = sum(r.status == DONE for r in results)
            print(
                f"interrupted: {done} of {len(jobs)} unit report(s) finished, "
                f"{len(jobs) - done} not rendered (recorded in {manifest.path})",
                file=sys.stderr,
                flush=True,
            )
        raise
    if resume_key is not None:  # what a later --resume compares (xmkit.batch.uptodate)
        manifest.data["resume"] = {"key": resume_key, "inputs": src.inputs}
    manifest.save(finished=True)
    elapsed = time.perf_counter() - start
    return BatchResult(src.client, folder, results, elapsed, portfolio, departed)


ORGANIZATION = "organization"
"""The ``status`` of the portfolio table's last row: all units together."""
LINKS = {"report": ".html", "report_pdf": ".pdf", "report_ipynb": ".ipynb"}
"""The portfolio table's columns holding a unit's report files, relative to the portfolio."""


def _wide_scores(scores: pd.DataFrame, framework: Framework, min_size: int) -> pd.DataFrame:
    """One row per ``unit`` of ``scores``: overall (with its 95% interval), category and
    practice scores, stage, and why a unit has no scores."""
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
    wide.insert(1, "overall_low", overall["ci_low"])
    wide.insert(2, "overall_high", overall["ci_high"])
    for column in ("stage", "stage_name", "capped", "suppressed"):
        wide[column] = overall[column]
    wide["withheld"] = (
        overall["suppressed_reason"]
        .map({SMALL: f"fewer than {min_size} responses", "": ""})
        .fillna(PROTECTING)
    )
    return wide.reset_index()


def _output(result: UnitResult, suffix: str) -> str:
    """The unit's report file with ``suffix``, relative to the portfolio ("" without one)."""
    if result.status not in {DONE, UNCHANGED}:
        return ""
    return next((Path(o).as_posix() for o in result.outputs if o.endswith(suffix)), "")


def portfolio_table(
    src: Source, results: list[UnitResult], framework: Framework, min_size: int
) -> pd.DataFrame:
    """One row per unit, then one for all units together (``status`` ``organization``).

    Columns: status, respondents, overall score with its 95% interval (``overall_low``,
    ``overall_high``) and rank range (``rank_best``, ``rank_worst``, :mod:`xmkit.analysis.ranks`,
    among the units with scores), category and practice scores, stage, the unit's report files
    (:data:`LINKS`) and, with a previous wave, the change of the overall score.
    """

    status = {r.unit: r for r in results}
    base = pd.DataFrame({"unit": [r.unit for r in results]})
    if len(src.data):
        scores = score(src.data, framework, by="unit", min_group_size=min_size)
        base = base.merge(_wide_scores(scores, framework, min_size), on="unit", how="left")
    base.insert(1, "status", [status[u].status for u in base["unit"]])
    base.insert(2, "respondents", [status[u].n for u in base["unit"]])
    for column, suffix in LINKS.items():
        base[column] = [_output(status[u], suffix) for u in base["unit"]]
    fixed = {"unit", "status", "respondents", *LINKS}
    scored = [c for c in base.columns if c not in fixed]
    base[scored] = base[scored].astype(object)
    base.loc[base["status"] == FAILED, scored] = None  # numbers of data that failed validation
    # all units together: the units that loaded (a failed unit's rows are not scored)
    loaded = src.data[~src.data["unit"].isin(src.failed)] if len(src.data) else src.data
    if len(loaded):
        whole = score(loaded, framework, min_group_size=min_size).assign(unit="All units")
        org = _wide_scores(whole, framework, min_size).astype(object)
        org.insert(1, "status", ORGANIZATION)
        org.insert(2, "respondents", len(loaded))
        base = pd.concat([base, org.assign(**dict.fromkeys(LINKS, ""))], ignore_index=True)
    units = base["status"] != ORGANIZATION
    if src.previous is not None and len(base):
        before = score(src.previous, framework, by="unit", min_group_size=min_size, n_boot=0)
        before = before[before["level"] == "overall"].set_index("unit")["score"]
        whole = score(src.previous, framework, min_group_size=min_size, n_boot=0)
        base["previous_wave"] = src.options.previous_period or "previous"
        org_before = whole.loc[whole["level"] == "overall", "score"].iloc[0]
        base["previous_overall"] = base["unit"].map(before).where(units, org_before)
        base.loc[base["status"] == FAILED, "previous_overall"] = None
        base["change"] = base["overall"] - base["previous_overall"]
    shown = units & base["status"].isin([DONE, UNCHANGED])
    if "overall" in base:
        shown &= base["overall"].notna()
        ranks = rank_ranges(
            *(base.loc[shown, c].astype(float) for c in ("overall", "overall_low", "overall_high"))
        )
        for column in ranks:
            base[column] = ranks[column].astype("Int64")
    return base


def portfolio_names(options: Options) -> tuple[str, ...]:
    """The portfolio's files: :data:`PORTFOLIO`, and ``portfolio.pdf`` when PDFs are asked for."""
    return (*PORTFOLIO, "portfolio.pdf") if "pdf" in options.formats else PORTFOLIO


def write_portfolio(
    src: Source,
    folder: Path,
    results: list[UnitResult],
    framework: Framework,
    min_size: int,
    call: Callable = lambda fn, *args: fn(*args),
    benchmark: dict | None = None,
) -> dict[str, Path]:
    """portfolio.csv, portfolio.xlsx and index.html (the portfolio notebook) for one client,
    and portfolio.pdf when the batch makes PDFs.

    All are written into a staging folder first and renamed into ``folder`` only when all
    exist, so a failure (a full disk, a notebook error) leaves the earlier set whole.
    """
    table = portfolio_table(src, results, framework, min_size)
    names = portfolio_names(src.options)
    staging = Path(tempfile.mkdtemp(prefix=".portfolio-", dir=folder))
    try:
        _render_portfolio(src, table, framework, staging, min_size, call, benchmark)
        for name in names:
            os.replace(staging / name, folder / name)
        fsync_folder(folder)
    except OSError as exc:  # name the file as the user knows it, not its staging copy
        if exc.filename and str(exc.filename).startswith(str(staging)):
            raise named(exc, folder / Path(exc.filename).name, Path(exc.filename)) from None
        raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return {Path(name).suffix.lstrip("."): folder / name for name in names}


def _render_portfolio(
    src: Source,
    table: pd.DataFrame,
    framework: Framework,
    staging: Path,
    min_size: int,
    call: Callable,
    benchmark: dict | None = None,
) -> None:
    """The portfolio files, in ``staging``; the spreadsheet is written while a worker renders
    the page (it took a third of a second at the end of a batch, when the other core is idle)."""
    write_csv(table, framework, staging / "portfolio.csv")
    # The page shows names as they are (escaped in HTML); portfolio.csv is neutralized for
    # spreadsheets and rounded, so the notebook reads a plain, full-precision copy.
    plain = staging / "portfolio-input.csv"
    try:
        table.to_csv(plain, index=False)
    except OSError as exc:
        raise named(exc, plain) from None
    pdf = "pdf" in src.options.formats
    parameters = {
        "portfolio": str(plain.resolve()),
        "downloads": ",".join(["portfolio.xlsx", "portfolio.csv", *(["portfolio.pdf"] * pdf)]),
        "client": src.client,
        "period": src.options.period,
        "framework": str(src.options.framework.resolve()) if src.options.framework else None,
        "min_group_size": min_size,
        **(benchmark or {}),
    }
    with ThreadPoolExecutor(max_workers=1) as spreadsheet:
        xlsx = spreadsheet.submit(write_xlsx, table, framework, staging / "portfolio.xlsx")
        call(
            functools.partial(render_notebook, pdf_name="portfolio"),  # beside index.html
            template_path("portfolio.ipynb"),
            parameters,
            staging,
            portfolio_title(src.client, src.options.period),
            ("html", "pdf") if pdf else ("html",),
            "index",
        )
        xlsx.result()


def batch_sources(
    source: str | Path,
    output_dir: str | Path | None,
    quiet: bool,
    given: Mapping[str, object],
    executor,
    locked: set,
) -> list[BatchResult]:
    """Read ``source`` and render its clients' batches on a started ``executor``: the part of
    :func:`xmkit.batch.launch.run_batch` after the workers started (``locked``: the folders
    whose lock the run already holds)."""
    sources = plan_sources(source, given)
    resume_key = run_key(source, output_dir, given) if len(sources) == 1 else None
    results = []
    for src in sources:
        if output_dir is None:
            folder = Path("reports") / slugify(src.client)
        elif len(sources) > 1:
            folder = Path(output_dir) / slugify(src.client)
        else:
            folder = Path(output_dir)
        results.append(_batch_one(src, folder, quiet, executor, locked, resume_key))
    return results
