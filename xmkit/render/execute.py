"""Rendering a report: execute the parameterized notebook, then export HTML (and PDF).

Papermill runs ``templates/report.ipynb`` on a real kernel. The HTML page is assembled from
the notebook's HTML outputs only (never its code, prompts or stderr), with the stylesheet
inlined and charts embedded, so the file stands alone. Everything is written to a temporary
folder first and moved into place only when every format succeeded, so a failed run never
replaces an earlier report.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from xmkit.errors import InputError, Problem, RenderError, UsageError, XmkitError
from xmkit.framework import load_framework
from xmkit.io.logo import logo_data_uri
from xmkit.io.paths import download_name, report_title, slugify
from xmkit.options import Options, resolve
from xmkit.render.templates import template_path
from xmkit.report.markup import page

__all__ = [
    "execute",
    "notebook_to_html",
    "render_notebook",
    "render_options",
    "render_report",
    "report_folder",
    "report_parameters",
    "template_path",
]

logger = logging.getLogger("xmkit")
ALL_UNITS = "all-units"
IN_KERNEL_INPUT_ERRORS = {"XmkitError", "InputError", "UsageError"}
"""Errors a report cell raises about its inputs (a unit with no responses ...)."""


def report_folder(output_dir: str | Path, client: str, unit: str | None) -> Path:
    """``<output>/<client-slug>/<unit-slug>``: names from untrusted text made safe."""
    unit_slug = slugify(unit) if unit else ALL_UNITS
    if unit and unit_slug == ALL_UNITS:  # a unit literally named "All units" keeps its own folder
        unit_slug = slugify(f"unit {unit}")
    return Path(output_dir) / slugify(client) / unit_slug


def notebook_to_html(notebook, title: str, downloads: Sequence[tuple[str, str, str]] = ()) -> str:
    """A standalone page from the HTML outputs of the executed notebook's code cells.

    The outputs are the HTML our section templates made (already escaped); the page is the
    shared skeleton (``templates/page.html.j2``) with the stylesheet inlined. ``downloads``
    are ``(href, download name, label)`` links shown above the report (not in print).
    """
    parts = []
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        for output in cell.get("outputs", []):
            if output.get("output_type") in {"display_data", "execute_result"}:
                parts.append(output.get("data", {}).get("text/html", ""))
    return page(title, "".join(parts), downloads=downloads)


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
            if exc.ename in IN_KERNEL_INPUT_ERRORS:  # the cell says what is wrong with an input
                raise InputError(
                    Problem(
                        str(parameters.get("responses", "")), f"the report failed: {exc.evalue}"
                    )
                ) from None
            raise RenderError(
                Problem(str(template), f"a report cell failed: {exc.ename}: {exc.evalue}")
            ) from None
        except (DeadKernelError, CellTimeoutError, RuntimeError) as exc:
            if attempt == 2:
                raise RenderError(
                    Problem(
                        "kernel",
                        f"the kernel failed twice: {type(exc).__name__}: {str(exc).strip()[:200]}",
                        expected="more memory or a longer --timeout; the input is not at fault",
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


def _print_pdf(page: Path, pdf: Path, printer) -> None:
    """Print the page; a browser failure is a :class:`RenderError`, not an input problem."""
    try:
        if printer is not None:
            printer.print(page, pdf)
        else:
            from xmkit.render.pdf import html_to_pdf

            html_to_pdf(page, pdf)
    except XmkitError:
        raise
    except Exception as exc:  # Playwright or Chromium failed
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        raise RenderError(
            Problem("chromium", f"printing the PDF failed: {type(exc).__name__}: {first[:200]}")
        ) from None


def render_notebook(
    template: Path,
    parameters: dict,
    folder: Path,
    title: str,
    formats: Sequence[str] = Options().formats,
    name: str = "report",
    printer=None,
    timeout: int = 600,
    engine: str | None = "xmkit",
    pdf_name: str | None = None,
) -> dict[str, Path]:
    """Execute ``template`` and write ``<folder>/<name>.<format>`` for each format, atomically.

    ``pdf_name`` names the PDF when it differs from the page (the portfolio's ``index.html``
    beside ``portfolio.pdf``), so the page's download link points at it.
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
        files = {
            fmt: f"{pdf_name or name}.pdf" if fmt == "pdf" else f"{name}.{fmt}" for fmt in formats
        }
        # The files keep their stable names; a link offers the PDF under the report's title.
        downloads = (
            [(files["pdf"], download_name(title, "pdf"), "Download the PDF")]
            if "pdf" in formats
            else []
        )
        page.write_text(notebook_to_html(notebook, title, downloads), encoding="utf-8")
        if "pdf" in formats:
            _print_pdf(page, work / files["pdf"], printer)
        written = {}
        for fmt in formats:
            target = folder / files[fmt]
            os.replace(work / files[fmt], target)
            written[fmt] = target
        succeeded = True
        return written
    finally:
        shutil.rmtree(work, ignore_errors=True)
        if created and not succeeded and not any(folder.iterdir()):
            folder.rmdir()  # a failed first render leaves no empty folder behind


def report_parameters(responses: str | Path, options: Options) -> dict:
    """The report notebook's papermill parameters: the responses file and ``options``.

    Evidence inputs not given stay None, so the report has no Evidence, Progress or Targets
    section (the notebook receives every parameter, whatever its defaults).
    """
    return {"responses": str(Path(responses).resolve()), **options.notebook_parameters()}


def render_options(
    responses: str | Path, options: Options, output_dir: str | Path = "reports", printer=None
) -> dict[str, Path]:
    """Render one report from a responses file and resolved :class:`Options`."""
    if options.client is None:
        raise UsageError(
            Problem("client", "a client name is needed", expected="client=, or an assessment")
        )
    if options.framework:
        load_framework(options.framework)  # fail now, clearly, before starting a kernel
    if options.logo:
        logo_data_uri(options.logo)  # the same for a --logo that is missing or not an image
    client, unit = options.client, options.unit
    title = report_title(client, unit, options.period)
    return render_notebook(
        template_path(),
        report_parameters(responses, options),
        report_folder(output_dir, client, unit),
        title,
        options.formats,
        printer=printer,
        timeout=options.timeout,
    )


def render_report(
    responses: str | Path,
    client: str | None = None,
    unit: str | None = None,
    output_dir: str | Path = "reports",
    printer=None,
    **options,
) -> dict[str, Path]:
    """Render one report to ``<output_dir>/<client>/<unit>/report.{html,pdf,ipynb}``.

    ``responses`` is a responses file or an assessment folder (whose ``assessment.yaml``
    fills in what is not given). ``options`` are fields of :class:`xmkit.options.Options`
    (``formats``, ``period``, ``min_group_size``, ``metrics`` ...); a bad value raises
    :class:`~xmkit.errors.UsageError` (a ``ValueError``). Returns the written paths by format.
    The executed ``.ipynb`` holds intermediate data and is for internal use; it is written
    only when asked for. ``printer`` is an open :class:`xmkit.render.pdf.PdfPrinter` to reuse.
    """
    source, resolved = resolve(responses, {"client": client, "unit": unit, **options})
    return render_options(source, resolved, output_dir, printer)
