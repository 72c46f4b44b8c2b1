"""The Evidence, Progress and Targets sections of the report, end to end (issue 9, phase 2).

The example organization's report is rendered once (HTML only) from its assessment folder,
which names the metrics, the previous wave and the targets; one unit report checks the
per-unit filtering. Each render takes a few seconds.
"""

from __future__ import annotations

import html
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import xmkit
from xmkit.analysis.waves import compare_waves
from xmkit.io.assessment import load_assessment
from xmkit.render.execute import render_report

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "assessments" / "example"
EVIDENCE = "Evidence: does EX lead CX here?"
PROGRESS = "Progress since 2025 Q4"
TARGETS = "Targets"
NEXT_STEPS = "Recommended next steps and roadmap"


def _render(out: Path, unit: str | None = None) -> str:
    a = load_assessment(EXAMPLE)
    written = render_report(
        a.responses_path,
        a.client,
        unit=unit,
        output_dir=out,
        formats="html",
        period=a.period,
        min_group_size=a.min_group_size,
        metrics=a.metrics_path,
        ex=a.metrics.ex,
        cx=a.metrics.cx,
        max_lag=a.metrics.max_lag,
        period_name=a.metrics.period_name,
        previous=a.previous_path,
        previous_period=a.previous.period,
        targets=a.targets,
    )
    return written["html"].read_text(encoding="utf-8")


def h2_titles(source: str) -> list[str]:
    return [html.unescape(t) for t in re.findall(r"<h2[^>]*>(.*?)</h2>", source, flags=re.S)]


def section(source: str, key: str) -> str:
    found = re.search(rf'<section class="section-{key}">(.*?)</section>', source, flags=re.S)
    assert found, key
    return html.unescape(re.sub(r"<[^>]+>", " ", found.group(1)))


@pytest.fixture(scope="module")
def org_html(tmp_path_factory) -> str:
    return _render(tmp_path_factory.mktemp("evidence"))


def test_sections_appear_in_order_before_next_steps(org_html: str):
    titles = h2_titles(org_html)
    for title in (EVIDENCE, PROGRESS, TARGETS, NEXT_STEPS):
        assert title in titles, title
    positions = [titles.index(t) for t in (EVIDENCE, PROGRESS, TARGETS, NEXT_STEPS)]
    assert positions == sorted(positions)
    assert titles.index("Agreement") < titles.index(EVIDENCE)


def test_evidence_headline_peaks_at_two_quarters_without_claiming_a_link(org_html: str):
    """The example's 7 units are too few for the lag-adjusted interval to exclude 0: the
    headline gives the strongest lag and says there is no clear evidence."""
    text = " ".join(section(org_html, "evidence").split())
    headline = text.split("Read with care")[0]
    assert "engagement is most strongly linked with NPS 2 quarters later: r = 0.46" in headline
    assert "allowing for the 4 lags tested" in headline
    assert "no clear evidence either way" in headline and "tends to be" not in headline
    assert "Raw reading, with changes common to all units kept" in text
    assert "Correlation is not causation" in text
    assert org_html.count('<figure class="chart"><img src="data:image/svg+xml') >= 3


def test_progress_shows_the_overall_change_of_compare_waves(org_html: str):
    framework = xmkit.load_framework()
    change = compare_waves(
        xmkit.load_responses(EXAMPLE / "responses.csv"),
        xmkit.load_responses(EXAMPLE / "previous" / "responses.csv"),
        framework,
        min_group_size=5,
        n_boot=0,
    )
    overall = change[change["level"] == "overall"].iloc[0]
    text = " ".join(section(org_html, "progress").split())
    assert f"a change of {overall['change']:+.2f}" in text
    assert "a clear change." in text and "treated as different samples" in text
    assert "Pop-up Stores" in text  # new this year: listed as not compared


def test_targets_table_lists_anchor_metrics_target(org_html: str):
    found = re.search(
        r"<tr><td>Anchor on key EX and CX metrics</td><td>Visualize</td><td>[\d.]+</td>"
        r"<td>(.*?)</td>",
        org_html,
    )
    assert found and found.group(1) == "level 4"
    assert re.search(
        r"\d+ of 12 practices at target, \d+ below", " ".join(section(org_html, "targets").split())
    )
    assert "furthest below their targets" in section(org_html, "next_steps")


def test_unit_report_renders_with_the_units_own_figures(tmp_path: Path):
    source = _render(tmp_path, unit="E-commerce")  # Head Office is hidden beside Pop-up Stores
    titles = h2_titles(source)
    assert titles.index(EVIDENCE) < titles.index(PROGRESS) < titles.index(TARGETS)
    evidence = " ".join(section(source, "evidence").split())
    assert "too few for a meaningful correlation" in evidence
    assert "Stores North" not in source.split("section-evidence")[1].split("</section>")[0]
    assert "The overall score of E-commerce went from" in section(source, "progress")


def test_sections_escape_input_text_and_are_empty_without_inputs():
    from xmkit.io.metrics import load_metrics
    from xmkit.report import sections as xr

    metrics = load_metrics(EXAMPLE / "metrics.csv")
    metrics["metric"] = metrics["metric"].replace("engagement", "<i>engagement</i>")
    ctx = xr.prepare(
        EXAMPLE / "responses.csv",
        "<script>client</script>",
        n_boot=50,
        metrics=metrics,
        ex="<i>engagement</i>",
        cx="NPS",
        period_name="<b>quarter</b>",
        previous=EXAMPLE / "previous" / "responses.csv",
        previous_period="<script>p</script>",
        targets='{"all": {"level": 3}}',
    )
    for fragment in (xr.evidence(ctx), xr.progress(ctx), xr.targets(ctx)):
        assert fragment.startswith("<section")
        assert "<script" not in fragment and "<i>" not in fragment and "<b>" not in fragment
    bare = xr.prepare(EXAMPLE / "responses.csv", "Client", n_boot=0)
    assert xr.evidence(bare) == xr.progress(bare) == xr.targets(bare) == ""


def test_answer_based_metrics_carry_a_reliability_note_and_nps_intervals():
    from xmkit.io.metrics import metrics_from_answers
    from xmkit.report import sections as xr

    rng = np.random.default_rng(0)
    units = sorted(set(xmkit.load_responses(EXAMPLE / "responses.csv")["unit"]))
    rows = [
        (unit, f"2025-Q{q}", int(rng.integers(0, 11)), int(rng.integers(0, 11)))
        for unit in units
        for q in range(1, 5)
        for _ in range(12)
    ]
    metrics = metrics_from_answers(pd.DataFrame(rows, columns=["unit", "period", "eNPS", "NPS"]))
    org = xr.prepare(EXAMPLE / "responses.csv", "C", n_boot=0, metrics=metrics, ex="eNPS")
    text = " ".join(section(xr.evidence(org), "evidence").split())
    assert "eNPS rests on a median of 12 answers per unit and period" in text
    unit = xr.prepare(EXAMPLE / "responses.csv", "C", "Logistics", n_boot=0, metrics=metrics,
                      ex="eNPS")  # fmt: skip
    assert "(95% interval " in section(xr.evidence(unit), "evidence")
