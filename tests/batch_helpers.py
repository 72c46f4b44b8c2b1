"""Helpers for ``test_batch.py``: synthetic responses, running the CLI, reading the output tree.

Nothing here renders anything by itself; the tests run the real ``xmkit`` console script (or
``xmkit.batch.run.run_batch``) on real kernels and inspect the files it leaves behind.
"""

from __future__ import annotations

import html
import json
import os
import re
import stat
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from xmkit.framework import Framework, load_framework
from xmkit.io.portfolio_files import headers

BIN = Path(sys.executable).parent
XMKIT = BIN / "xmkit"
ROLES = ("Executive", "Manager", "Frontline")
ISO_DATE = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")


# ---- data ----------------------------------------------------------------------------------


def make_responses(units: Mapping[str, int], framework: Framework, seed: int = 0) -> pd.DataFrame:
    """A valid wide table: ``units`` maps each unit name to its number of respondents.

    Roles cycle through the three roles inside each unit, answers are whole numbers 1..5 from
    a seeded generator, respondent ids are unique ("r0001", ...). Object dtype throughout, so a
    test may put any text into any cell.
    """
    rng = np.random.default_rng(seed)
    rows = []
    for unit, n in units.items():
        answers = rng.integers(1, 6, size=(n, len(framework.question_ids)))
        for i in range(n):
            rows.append(
                {
                    "respondent_id": f"r{len(rows) + 1:04d}",
                    "unit": unit,
                    "role": ROLES[i % len(ROLES)],
                    **dict(zip(framework.question_ids, answers[i].tolist(), strict=True)),
                }
            )
    return pd.DataFrame(rows).astype(object)


def file_row(data: pd.DataFrame, index: int) -> int:
    """The file row (header = row 1) of ``data.loc[index]`` once written by ``write_csv``."""
    return list(data.index).index(index) + 2


def write_csv(data: pd.DataFrame, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    data.to_csv(path, index=False)
    return path


# ---- running the CLI -----------------------------------------------------------------------


def xmkit_cmd(*args: object) -> list[str]:
    assert XMKIT.exists(), f"console script not installed at {XMKIT}"
    return [str(XMKIT), *map(str, args)]


def run_xmkit(
    *args: object, cwd: Path | None = None, env: Mapping[str, str] | None = None, timeout=600
) -> subprocess.CompletedProcess:
    return subprocess.run(
        xmkit_cmd(*args),
        capture_output=True,
        text=True,
        cwd=cwd,
        env=dict(env) if env is not None else None,
        timeout=timeout,
    )


def explain(result: subprocess.CompletedProcess) -> str:
    """Exit code and output of a CLI run, for assertion messages."""
    return (
        f"exit {result.returncode}\n--- stdout ---\n{result.stdout[-4000:]}"
        f"\n--- stderr ---\n{result.stderr[-4000:]}"
    )


# ---- reading the output --------------------------------------------------------------------


def read_manifest(out: Path) -> dict:
    return json.loads((out / "manifest.json").read_text(encoding="utf-8"))


def statuses(manifest: Mapping) -> dict[str, str]:
    return {name: entry["status"] for name, entry in manifest["units"].items()}


def report_mtimes(out: Path) -> dict[str, int]:
    """``st_mtime_ns`` of every unit report below ``out``, by path relative to ``out``."""
    return {str(p.relative_to(out)): p.stat().st_mtime_ns for p in sorted(out.rglob("report.html"))}


def relative_files(out: Path) -> set[str]:
    return {str(p.relative_to(out)) for p in out.rglob("*") if p.is_file()}


def leftovers(out: Path) -> list[str]:
    """Names a finished run must not leave: hidden or ``.tmp`` entries, sockets, kernel files."""
    found = []
    for path in out.rglob("*"):
        name = path.name
        if (
            name.startswith(".")
            or name.endswith(".tmp")
            or name.startswith("kernel")
            or name.endswith((".sock", ".ipc"))
            or stat.S_ISSOCK(path.lstat().st_mode)
        ):
            found.append(str(path.relative_to(out)))
    return sorted(found)


def processes_mentioning(marker: str) -> list[str]:
    """Live processes whose command line or environment mentions ``marker``.

    Give a run a private ``TMPDIR`` and this finds everything it started: worker processes
    inherit the variable, kernels get their connection file below it.
    """
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            environ = (proc / "environ").read_bytes().decode(errors="replace")
        except OSError:  # gone, or not ours
            continue
        if marker in cmdline or marker in environ:
            found.append(f"{proc.name}: {cmdline.strip()}")
    return found


def wait_until_gone(marker: str, timeout: float = 30.0) -> list[str]:
    """Wait for processes mentioning ``marker`` to exit; returns those still alive."""
    deadline = time.monotonic() + timeout
    alive = processes_mentioning(marker)
    while alive and time.monotonic() < deadline:
        time.sleep(0.5)
        alive = processes_mentioning(marker)
    return alive


# ---- reading HTML --------------------------------------------------------------------------


def squash(text: str) -> str:
    """All runs of whitespace as one space (pdftotext and HTML wrap lines differently)."""
    return " ".join(text.split())


def pdf_text(pdf: Path) -> str:
    """The text of a PDF (poppler's pdftotext), whitespace squashed."""
    done = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", str(pdf), "-"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return squash(done.stdout)


def hrefs(source: str) -> list[str]:
    return [html.unescape(h) for h in re.findall(r'<a\s[^>]*href="([^"]*)"', source)]


def table_rows(source: str) -> list[list[str]]:
    """Every body row of every table of a page, as its cells' text."""
    rows = []
    for row in re.findall(r"<tr>(.*?)</tr>", source, flags=re.S):
        cells = re.findall(r"<td[^>]*>(.*?)</td>", row, flags=re.S)
        if cells:
            rows.append([squash(html.unescape(re.sub(r"<[^>]+>", " ", c))) for c in cells])
    return rows


def report_numbers(path: Path) -> list[str]:
    """Every number shown as text in a report, in page order; dates and images left out.

    Charts are PNGs whose bytes may carry run-specific metadata, so they are compared through
    the numbers the page states next to them, not byte for byte.
    """
    source = path.read_text(encoding="utf-8")
    source = re.sub(r"<style.*?</style>", " ", source, flags=re.S)
    source = re.sub(r"<img[^>]*>", " ", source)
    text = html.unescape(re.sub(r"<[^>]+>", " ", source))
    text = ISO_DATE.sub(" DATE ", text)
    return re.findall(r"-?\d+(?:\.\d+)?", text)


def portfolio(out: Path, framework: Framework | None = None) -> pd.DataFrame:
    """The unit rows of ``portfolio.csv``, its readable headers turned back into ids."""
    ids = {name: item for item, name in headers(framework or load_framework()).items()}
    table = pd.read_csv(out / "portfolio.csv", dtype={"Unit": str, "Report (HTML)": str})
    table = table.rename(columns=ids)
    return table[table["status"] != "organization"].reset_index(drop=True)


def score_columns(framework: Framework) -> list[str]:
    """Overall, category and practice scores plus the stage: what a unit without scores lacks."""
    return [
        "overall",
        *[c.id for c in framework.categories],
        *[p.id for _, p in framework.practices],
        "stage",
        "stage_name",
    ]
