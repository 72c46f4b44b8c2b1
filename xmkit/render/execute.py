"""Rendering a report: execute the parameterized notebook, then export HTML (and PDF).

Papermill runs ``templates/report.ipynb`` on a real kernel. The HTML page is assembled from
the notebook's HTML outputs only (never its code, prompts or stderr), with the stylesheet
inlined and charts embedded, so the file stands alone. Everything is written to a temporary
folder first and moved into place only when every format succeeded, so a failed run never
replaces an earlier report.
"""

from __future__ import annotations

import html
import json
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Mapping, Sequence
from importlib import resources
from pathlib import Path

from xmkit.errors import Problem, XmkitError
from xmkit.framework import load_framework
from xmkit.io.paths import slugify

logger = logging.getLogger("xmkit")
FORMATS = ("html", "pdf", "ipynb")
DEFAULT_FORMATS = ("html", "pdf")
ALL_UNITS = "all-units"


def template_path(name: str = "report.ipynb") -> Path:
    """A notebook template: ``XMKIT_TEMPLATES``, else the installed or checked-out copy."""
    candidates = [
        Path(os.environ["XMKIT_TEMPLATES"]) / name if os.environ.get("XMKIT_TEMPLATES") else None,
        Path(str(resources.files("xmkit.notebooks") / name)),
    ]
    for candidate in candidates:
        if candidate and candidate.exists():
            return candidate
    raise XmkitError(
        Problem(
            name,
            "report template not found",
            expected="a notebook in xmkit/notebooks/ (reinstall xmkit)",
        )
    )


def report_folder(output_dir: str | Path, client: str, unit: str | None) -> Path:
    """``<output>/<client-slug>/<unit-slug>``: names from untrusted text made safe."""
    unit_slug = slugify(unit) if unit else ALL_UNITS
    if unit and unit_slug == ALL_UNITS:  # a unit literally named "All units" keeps its own folder
        unit_slug = slugify(f"unit {unit}")
    return Path(output_dir) / slugify(client) / unit_slug


def notebook_to_html(notebook, title: str) -> str:
    """A standalone page from the HTML outputs of the executed notebook's code cells."""
    parts = []
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        for output in cell.get("outputs", []):
            if output.get("output_type") in {"display_data", "execute_result"}:
                parts.append(output.get("data", {}).get("text/html", ""))
    css = (resources.files("xmkit.report") / "static" / "report.css").read_text(encoding="utf-8")
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)}</title><style>{css}</style></head>"
        f"<body><main>{''.join(parts)}<footer>Made with xmkit.</footer></main></body></html>\n"
    )


def parse_formats(formats: str | Sequence[str]) -> tuple[str, ...]:
    items = [
        f.strip().lower() for f in (formats.split(",") if isinstance(formats, str) else formats)
    ]
    unknown = [f for f in items if f not in FORMATS]
    if unknown or not items:
        raise XmkitError(
            Problem(
                "--format",
                f"unknown report format(s): {', '.join(unknown)}",
                expected=f"a comma-separated list of {', '.join(FORMATS)}",
            )
        )
    return tuple(dict.fromkeys(items))


def execute(
    parameters: dict, template: Path | None = None, timeout: int = 600, engine: str | None = "xmkit"
):
    """Run a notebook with papermill and return it executed.

    ``engine="xmkit"`` runs it on a warm kernel (:mod:`xmkit.render.engine`); ``None`` is
    papermill's
    own engine, a fresh kernel per notebook. A failing cell becomes an :class:`XmkitError`; a
    kernel that dies or hangs is replaced and the notebook retried once.
    """
    import papermill
    from nbclient.exceptions import CellTimeoutError, DeadKernelError
    from traitlets.config import Config

    template = template or template_path()
    for attempt in (1, 2):
        sockets = Path(tempfile.mkdtemp(prefix="xmkit-k"))  # short: socket paths are limited
        # papermill's own engine: IPC sockets in a private folder, not unencrypted TCP ports
        config = Config({"KernelManager": {"transport": "ipc", "ip": str(sockets / "k")}})
        try:
            return papermill.execute_notebook(
                str(template),
                None,
                parameters=parameters,
                engine_name=engine,
                kernel_name="python3",
                progress_bar=False,
                log_output=False,
                execution_timeout=timeout,
                config=config,
            )
        except papermill.PapermillExecutionError as exc:
            raise XmkitError(
                Problem(
                    str(parameters.get("responses", "")),
                    f"the report failed: {exc.ename}: {exc.evalue}",
                )
            ) from None
        except (DeadKernelError, CellTimeoutError, RuntimeError) as exc:
            if attempt == 2:
                raise XmkitError(
                    Problem(
                        str(parameters.get("responses", "")),
                        f"the kernel failed twice: {type(exc).__name__}: {str(exc).strip()[:200]}",
                    )
                ) from None
            logger.warning("kernel failed (%s); retrying on a fresh kernel", type(exc).__name__)
        finally:
            shutil.rmtree(sockets, ignore_errors=True)
    raise AssertionError("unreachable")


STALE_AFTER_S = 600


def _remove_stale_work(folder: Path) -> None:
    """Remove the temporary folders of renders that were killed (older than 10 minutes)."""
    for stale in folder.glob(".render-*"):
        if stale.is_dir() and time.time() - stale.stat().st_mtime > STALE_AFTER_S:
            logger.warning("removing %s, left by an interrupted render", stale)
            shutil.rmtree(stale, ignore_errors=True)


def render_notebook(
    template: Path,
    parameters: dict,
    folder: Path,
    title: str,
    formats: Sequence[str] = DEFAULT_FORMATS,
    name: str = "report",
    printer=None,
    timeout: int = 600,
    engine: str | None = "xmkit",
) -> dict[str, Path]:
    """Execute ``template`` and write ``<folder>/<name>.<format>`` for each format, atomically.

    Everything is made in a temporary folder inside ``folder`` and moved into place only when
    every format succeeded. ``printer`` is an open :class:`xmkit.render.pdf.PdfPrinter` to reuse.
    """
    import nbformat  # slow to import (JSON schemas): only when rendering

    created = not folder.exists()
    folder.mkdir(parents=True, exist_ok=True)
    _remove_stale_work(folder)
    work = Path(tempfile.mkdtemp(prefix=".render-", dir=folder))
    succeeded = False
    try:
        notebook = execute(parameters, template=template, timeout=timeout, engine=engine)
        if "ipynb" in formats:
            nbformat.write(notebook, work / f"{name}.ipynb")
        page = work / f"{name}.html"
        page.write_text(notebook_to_html(notebook, title), encoding="utf-8")
        if "pdf" in formats:
            if printer is not None:
                printer.print(page, work / f"{name}.pdf")
            else:
                from xmkit.render.pdf import html_to_pdf

                html_to_pdf(page, work / f"{name}.pdf")
        written = {}
        for fmt in formats:
            target = folder / f"{name}.{fmt}"
            os.replace(work / f"{name}.{fmt}", target)
            written[fmt] = target
        succeeded = True
        return written
    finally:
        shutil.rmtree(work, ignore_errors=True)
        if created and not succeeded and not any(folder.iterdir()):
            folder.rmdir()  # a failed first render leaves no empty folder behind


def report_parameters(
    responses: str | Path,
    client: str,
    unit: str | None = None,
    period: str = "",
    framework: str | Path | None = None,
    min_group_size: int | None = None,
    seed: int = 0,
    include_comments: bool = False,
    *,
    metrics: str | Path | None = None,
    ex: str | Sequence[str] = "",
    cx: str | Sequence[str] = "",
    max_lag: int = 3,
    period_name: str = "",
    previous: str | Path | None = None,
    previous_period: str = "",
    targets: Mapping | None = None,
    industry: str = "",
    benchmark: str = "",
    benchmark_min: int = 5,
) -> dict:
    """The report notebook's papermill parameters (paths made absolute).

    The evidence inputs are off unless given: no ``metrics``, ``previous`` or ``targets`` means
    the report has no Evidence, Progress or Targets section (whatever the template's defaults).
    """
    return {
        "responses": str(Path(responses).resolve()),
        "client": client,
        "unit": unit or "",
        "period": period,
        "framework": str(Path(framework).resolve()) if framework else "",
        "min_group_size": int(min_group_size or 0),
        "seed": int(seed),
        "include_comments": bool(include_comments),
        "metrics": str(Path(metrics).resolve()) if metrics else "",
        "ex": ex if isinstance(ex, str) else ",".join(ex),
        "cx": cx if isinstance(cx, str) else ",".join(cx),
        "max_lag": int(max_lag),
        "period_name": period_name or "period",
        "previous": str(Path(previous).resolve()) if previous else "",
        "previous_period": previous_period,
        "targets": json.dumps(dict(targets)) if targets else "",
        "industry": industry,
        "benchmark": benchmark
        if "://" in benchmark or not benchmark
        else str(Path(benchmark).resolve()),
        "benchmark_min": int(benchmark_min),
    }


def render_report(
    responses: str | Path,
    client: str,
    unit: str | None = None,
    output_dir: str | Path = "reports",
    formats: str | Sequence[str] = DEFAULT_FORMATS,
    printer=None,
    **options,
) -> dict[str, Path]:
    """Render one report to ``<output_dir>/<client>/<unit>/report.{html,pdf,ipynb}``.

    Returns the written paths by format. The executed ``.ipynb`` holds intermediate data and is
    for internal use; it is written only when asked for. ``printer`` is an open
    :class:`xmkit.render.pdf.PdfPrinter` to reuse across reports. ``options`` are those of
    :func:`report_parameters`: ``period``, ``framework``, ``min_group_size``, ``seed``,
    ``include_comments`` (comments of groups at the minimum size), and ``metrics`` (with
    ``ex``, ``cx``, ``max_lag``, ``period_name``), ``previous`` (with ``previous_period``) and
    ``targets``, which add the Evidence, Progress and Targets sections, and ``industry``
    (with ``benchmark``, the store, and ``benchmark_min``), which adds the Benchmark section.
    """
    formats = parse_formats(formats)
    if options.get("framework"):
        load_framework(options["framework"])  # fail now, clearly, before starting a kernel
    parameters = report_parameters(responses, client, unit, **options)
    title = f"EX/CX alignment: {client} - {unit}" if unit else f"EX/CX alignment: {client}"
    return render_notebook(
        template_path(),
        parameters,
        report_folder(output_dir, client, unit),
        title,
        formats,
        printer=printer,
    )
