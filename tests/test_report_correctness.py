"""The report says the right thing on every page: the stage marker, the roadmap, the cap."""

from __future__ import annotations

import html
import re
import subprocess
from pathlib import Path

import pandas as pd
import pytest
from batch_helpers import run_xmkit

import xmkit
from xmkit.analysis.recommend import assign_horizons
from xmkit.analysis.targets import apply_targets
from xmkit.report import markup, views
from xmkit.report.sections import prepare, questions, stage_track

ROOT = Path(__file__).resolve().parents[1]


def _threshold_scores(framework) -> list[tuple[float, int]]:
    """Scores just below and just above every stage threshold, with the stage each gives."""
    cases = []
    for s in framework.stages:
        if s.min_score > framework.scale.min:
            cases.append((s.min_score - 0.01, s.stage - 1))
        cases.append((s.min_score + 0.01, s.stage))
    cases.append((framework.scale.max, len(framework.stages)))
    return cases


@pytest.mark.parametrize("width", [1280, 375])
def test_stage_marker_lies_inside_the_reported_stage_segment(browser, width):
    framework = xmkit.load_framework()
    context = browser.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    try:
        for score, stage in [*_threshold_scores(framework), (3.47, 3)]:
            capped = stage == 3 and score >= 3.4
            body = markup.render(
                "sections/stage.html.j2",
                key="stage",
                title="Maturity stage",
                track=stage_track(score, stage, framework, capped),
                caption="",
                table=views.table(pd.DataFrame({"a": [1]})),
            )
            page.set_content(markup.page("Stage", str(body)))
            segment = page.locator(".stage-track .seg").nth(stage - 1).bounding_box()
            marker = page.locator(".stage-track .marker").bounding_box()
            pointer = page.locator(".stage-track .marker .pointer").bounding_box()
            assert page.locator(".stage-track .marker").count() == 1
            for box in (marker, pointer):
                assert segment["x"] - 0.5 <= box["x"], (score, stage, width)
                assert box["x"] + box["width"] <= segment["x"] + segment["width"] + 0.5, (
                    score,
                    stage,
                    width,
                )
            label = page.locator(".stage-track .marker").inner_text()
            assert f"{score:.2f}" in label
            assert ("capped" in label) == capped
    finally:
        context.close()


# ---- the roadmap -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def example_scores() -> pd.DataFrame:
    responses = xmkit.load_responses(ROOT / "assessments" / "example" / "responses.csv")
    return xmkit.score(responses, by="unit", n_boot=50)


@pytest.fixture(scope="module")
def org_html(browser, tmp_path_factory) -> tuple[Path, str]:
    """The example organization's report (HTML and PDF), rendered once by the CLI."""
    out = tmp_path_factory.mktemp("org") / "out"
    result = run_xmkit("report", ROOT / "assessments" / "example", "-o", out)
    folder = out / "northwind-retail-group" / "all-units"
    assert (folder / "report.html").is_file(), result.stderr
    return folder, (folder / "report.html").read_text(encoding="utf-8")


def test_roadmap_spreads_few_foundation_steps_over_the_earlier_horizons():
    framework = xmkit.load_framework()
    names = [h.name for h in framework.roadmap.horizons]
    assert assign_horizons([False] * 3 + [True] * 3, framework) == [
        names[0],
        names[0],
        names[1],
        *[names[2]] * 3,
    ]
    # enough foundation steps: each earlier horizon takes its full size
    sizes = [h.size for h in framework.roadmap.horizons[:-1]]
    many = assign_horizons([False] * (sum(sizes) + 2), framework)
    assert [many.count(n) for n in names] == [*sizes, 2]


def test_example_roadmap_fills_all_three_horizons(org_html):
    _, source = org_html
    roadmap = source[source.index('class="section-next_steps"') :]
    roadmap = roadmap[: roadmap.index("</section>")]
    headings = re.findall(r"<h3>(.*?)</h3>", roadmap)
    assert headings == ["Next 90 days", "Next 6 months", "Next 12 months"]
    # the deferral note only on the (deferred) Converge steps; the intro names what they wait for
    for item in re.findall(r"<li>(.*?)</li>", roadmap, flags=re.S):
        assert ("<em>(deferred" in item) == ("Converge," in item)
    assert "Still below level 3: Anchor on key EX and CX metrics" in html.unescape(roadmap)


def test_unit_capped_only_by_converge_starts_its_roadmap_with_converge(example_scores):
    framework = xmkit.load_framework()
    unit = example_scores[example_scores["unit"] == "E-commerce"].drop(columns="unit")
    overall = unit[unit["level"] == "overall"].iloc[0]
    assert overall["capped"] and overall["stage_uncapped"] > overall["stage"]
    # one foundation practice back at level 2: without the cap, Converge would wait for it
    low = (unit["level"] == "practice") & (unit["id"] == "anchor_metrics")
    unit.loc[low, "score"] = 2.9
    steps = xmkit.recommend(unit, framework)
    converge = len(framework.category("converge").practices)
    assert steps["category_id"].head(converge).eq("converge").all(), steps
    assert not steps["deferred"].any()
    # targets that put every foundation practice far from its target do not change that
    targeted = apply_targets(steps, unit, {"all": {"level": 5}}, framework)
    assert targeted["category_id"].head(converge).eq("converge").all(), targeted
    # and an uncapped unit keeps the foundations-first rule
    uncapped = unit.copy()
    uncapped.loc[uncapped["level"] == "overall", "capped"] = False
    assert xmkit.recommend(uncapped, framework)["deferred"].any()


def test_org_units_table_marks_the_capped_unit(org_html, example_scores):
    _, source = org_html
    units = source[source.index('class="section-units"') :]
    units = units[: units.index("</section>")]
    rows = {
        re.sub(r"<[^>]+>", "", cells[0]).strip(): re.sub(r"<[^>]+>", "", cells[-1]).strip()
        for cells in (
            re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row, flags=re.S)
            for row in re.findall(r"<tr>(.*?)</tr>", units, flags=re.S)
        )
        if cells
    }
    overall = example_scores[example_scores["level"] == "overall"]
    capped = set(overall.loc[overall["capped"].fillna(False).astype(bool), "unit"])
    assert "E-commerce" in capped
    for unit in overall["unit"]:
        assert rows[unit].endswith("(capped)") == (unit in capped), (unit, rows[unit])


# ---- the PDF -------------------------------------------------------------------------------


def test_pdf_has_bookmarks_tags_and_a_confidential_running_header(org_html):
    folder, _ = org_html
    pdf = (folder / "report.pdf").read_bytes()
    assert b"/Outlines" in pdf  # bookmarks: the headings as an outline
    assert b"/StructTreeRoot" in pdf  # tagged PDF
    page_two = subprocess.run(
        ["pdftotext", "-f", "2", "-l", "2", "-enc", "UTF-8", str(folder / "report.pdf"), "-"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    assert "Confidential" in page_two
    assert "Northwind Retail Group" in page_two


# ---- the question appendix -----------------------------------------------------------------


def test_every_question_text_appears_in_the_org_report_appendix(org_html):
    _, source = org_html
    appendix = source[source.index('class="section-questions"') :]
    appendix = html.unescape(appendix[: appendix.index("</section>")])
    framework = xmkit.load_framework()
    texts = [q.text for c in framework.categories for p in c.practices for q in p.questions]
    assert len(texts) == 36
    for text in texts:
        assert text in appendix, text


def test_question_appendix_is_withheld_for_a_unit_below_the_minimum():
    ctx = prepare(
        ROOT / "assessments" / "example" / "responses.csv",
        "Northwind Retail Group",
        unit="Pop-up Stores",
        n_boot=20,
    )
    assert ctx.suppressed
    fragment = str(questions(ctx))
    framework = xmkit.load_framework()
    first = framework.categories[0].practices[0].questions[0].text
    assert html.escape(first) not in fragment and first not in fragment
    assert 'class="withheld"' in fragment
