"""One unit's job and its rendering: what a batch worker imports.

Apart from :mod:`xmkit.batch.run` (which plans the jobs with pandas) so that a worker process,
which unpickles jobs and calls :func:`render_unit`, imports neither pandas nor the planning
code: half a second of CPU per worker while the batch starts, when every core is busy.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from xmkit.batch.executors import UNIT_SCRATCH, worker_printer
from xmkit.batch.manifest import hashes
from xmkit.batch.results import DONE, FAILED, UnitResult
from xmkit.errors import XmkitError
from xmkit.io.paths import report_title
from xmkit.options import Options
from xmkit.render.execute import render_notebook, report_parameters, template_path

__all__ = ["UnitJob", "render_unit"]


@dataclass
class UnitJob:
    """Everything one worker needs to render one unit's report (its options name the unit)."""

    slug: str
    folder: str
    csv: str
    options: Options
    input_hash: str = ""

    @property
    def unit(self) -> str:
        return str(self.options.unit)


def render_unit(job: UnitJob) -> UnitResult:
    """Render one unit's report; never raises: a failure becomes the result's ``error``."""
    start = time.perf_counter()
    result = UnitResult(job.unit, job.slug, FAILED, input_hash=job.input_hash)
    scratch = Path(tempfile.mkdtemp(prefix=f"{UNIT_SCRATCH}{job.slug}."))
    formats = job.options.formats
    try:
        printer = worker_printer() if "pdf" in formats else None
        restarts = printer.restarts if printer is not None else 0
        responses = scratch / "responses.csv"
        responses.write_text(job.csv, encoding="utf-8")
        written = render_notebook(
            template_path(),
            report_parameters(responses, job.options),
            Path(job.folder),
            report_title(job.options.client, job.unit, job.options.period),
            formats,
            printer=printer,
            timeout=job.options.timeout,
        )
        result.status = DONE
        result.outputs = [str(Path(job.slug) / p.name) for p in written.values()]
        result.hashes = hashes(Path(job.folder).parent, result.outputs)
        if printer is not None and printer.restarts > restarts:
            result.retried = "Chromium died; the PDF was printed on a new one"
    except XmkitError as exc:
        result.error = str(exc)
    except OSError as exc:  # a full disk, a read-only folder: name the file
        result.error = f"{exc.strerror or exc}: {exc.filename or job.folder}"
    except Exception as exc:  # kernel death, timeout, browser crash: isolate the unit
        result.error = (
            f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc) else ''}"
        )
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
        result.seconds = round(time.perf_counter() - start, 2)
    return result
