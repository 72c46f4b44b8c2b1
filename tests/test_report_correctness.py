"""The report says the right thing on every page: the stage marker, the roadmap, the cap."""

from __future__ import annotations

import base64
import html
import re
import subprocess
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest
from batch_helpers import run_xmkit

import xmkit
from xmkit.analysis.recommend import assign_horizons
from xmkit.analysis.targets import apply_targets
from xmkit.framework import load_framework
from xmkit.report import markup, views
from xmkit.report.sections import prepare, questions, stage_track, summary_sentences

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
    horizons = [h.name for h in load_framework().roadmap.horizons]
    assert horizons == ["Next 90 days", "Next 6 months", "Next 12 months"]
    assert headings[:3] == horizons  # then the roadmap table's heading
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


# ---- the executive summary -----------------------------------------------------------------


def _section(source: str, key: str) -> str:
    part = source[source.index(f'class="section-{key}"') :]
    return part[: part.index("</section>")]


def _text(fragment: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", fragment)).split())


def _tables(fragment: str) -> list[list[list[str]]]:
    """Every table of an HTML fragment as rows of cell texts, the header row first."""
    return [
        [
            [_text(c) for c in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row, flags=re.S)]
            for row in re.findall(r"<tr>(.*?)</tr>", table, flags=re.S)
        ]
        for table in re.findall(r"<table[^>]*>(.*?)</table>", fragment, flags=re.S)
    ]


SPLIT_UNIT = "Split Team"


@pytest.fixture(scope="module")
def split_unit(tmp_path_factory) -> tuple[Path, pd.DataFrame]:
    """A unit report, rendered by the CLI, of a team whose answers split between 1s and 5s,
    with a role of two respondents."""
    framework = xmkit.load_framework()
    rows = []
    for i in range(12):
        low = i % 2 == 0
        answers = [(1 if low else 5) if (i + j) % 7 else (2 if low else 4) for j in range(36)]
        role = "Manager" if i < 2 else "Frontline"
        rows.append([f"S{i:02d}", SPLIT_UNIT, role, *answers])
    data = pd.DataFrame(rows, columns=["respondent_id", "unit", "role", *framework.question_ids])
    folder = tmp_path_factory.mktemp("split")
    data.to_csv(folder / "responses.csv", index=False)
    result = run_xmkit(
        "report", folder / "responses.csv", "--client", "Split Co", "--unit", SPLIT_UNIT,
        "--format", "html", "-o", folder / "out",
    )  # fmt: skip
    page = next((folder / "out").rglob("report.html"), None)
    assert page is not None, result.stderr
    return page, data


def test_a_unit_split_between_1s_and_5s_gets_a_sentence_on_disagreement(browser, split_unit):
    report, data = split_unit
    practices = xmkit.score(data, n_boot=0).query("level == 'practice'")
    low = practices[practices["rwg"] < xmkit.load_framework().thresholds.rwg_low]
    assert 2 * len(low) > len(practices)  # the premise: most practices have no shared view
    lo, hi = f"{low['rwg'].min():.2f}", f"{low['rwg'].max():.2f}"
    spread = lo if lo == hi else f"{lo}-{hi}"
    page = browser.new_page()
    try:
        page.goto(report.as_uri())
        summary = " ".join(page.locator(".section-summary").inner_text().split())
    finally:
        page.close()
    assert (
        f"Respondents do not share a view on {len(low)} of {len(practices)} practices "
        f"(r_wg {spread}, below 0.7): read the scores as an average of differing views"
    ) in summary


def test_a_hidden_role_is_one_line_with_its_reason_once(browser, split_unit):
    page = browser.new_page()
    try:
        page.goto(split_unit[0].as_uri())
        table = page.locator(".section-roles table")
        columns = table.locator("th").count()
        rows = table.locator("tbody tr")
        hidden = 0
        for i in range(rows.count()):
            cells = rows.nth(i).locator("td")
            texts = [cells.nth(j).inner_text().strip() for j in range(cells.count())]
            if not any("fewer than" in t or "hidden to protect" in t for t in texts):
                continue
            hidden += 1
            assert len(texts) == 2, texts  # the role, then the reason once
            assert cells.nth(1).get_attribute("colspan") == str(columns - 1)
            reason = cells.nth(1).bounding_box()
            box = table.bounding_box()
            assert abs(reason["x"] + reason["width"] - (box["x"] + box["width"])) < 1.5
        assert hidden >= 1  # the Manager role, two respondents
    finally:
        page.close()


def test_org_summary_names_the_weakest_practice_progress_targets_and_evidence(org_html):
    _, source = org_html
    summary = _text(_section(source, "summary"))
    framework = xmkit.load_framework()
    scores = xmkit.score(
        xmkit.load_responses(ROOT / "assessments" / "example" / "responses.csv"), n_boot=0
    )
    practices = scores[scores["level"] == "practice"]
    weakest = practices.loc[practices["score"].idxmin()]
    assert f"weakest: {weakest['name']} ({weakest['score']:.2f})" in summary
    overall = scores[scores["level"] == "overall"].iloc[0]
    assert f"stage {overall['stage']} of {len(framework.stages)}" in summary
    assert "Since 2025 Q4 the overall score has moved from " in summary
    assert "Against the targets: " in summary
    assert "Evidence: " in summary
    # the stage's description only as what the stage typically means, with the practices
    # below the stage's level named right after it
    stage = framework.stages[int(overall["stage"]) - 1]
    for other in framework.stages:
        for found in re.finditer(re.escape(other.description), summary):
            assert summary[: found.start()].endswith('typically means: "'), other.stage
    framed = summary.index(f'typically means: "{stage.description}"')
    below = practices[practices["score"] < stage.stage]
    assert len(below)
    for name in below["name"]:
        assert name in summary[framed:], name


def test_summary_names_the_cap_only_when_the_stage_is_capped():
    responses = ROOT / "assessments" / "example" / "responses.csv"
    client = "Northwind Retail Group"
    capped = " ".join(summary_sentences(prepare(responses, client, unit="E-commerce", n_boot=20)))
    assert "would reach stage 4, but Converge scores 2.50, below 3.0" in capped
    assert "Here, A unified EX/CX vision, A shared centre of excellence" in capped
    free = " ".join(summary_sentences(prepare(responses, client, unit="Stores North", n_boot=20)))
    assert "would reach stage" not in free
    # not capped, but Converge (2.22) is below 3.0: the cap lies ahead
    assert "The stage is not capped, but Converge scores 2.22, below 3.0" in free


def _shown(text: str) -> Decimal:
    return Decimal(text.removeprefix("level ")) if text.startswith("level ") else Decimal(text)


def test_every_shown_difference_is_the_difference_of_the_shown_values(org_html):
    _, source = org_html
    checked = 0
    # progress: Now - before = Change, in the overall/category/practice and the units tables
    for table in _tables(_section(source, "progress")):
        head = table[0]
        now, before, change = head.index("Now"), head.index("Now") - 1, head.index("Change")
        for row in table[1:]:
            assert _shown(row[now]) - _shown(row[before]) == _shown(row[change]), row
            checked += 1
    # targets: Target - Score = Gap
    [targets] = _tables(_section(source, "targets"))
    head = targets[0]
    for row in targets[1:]:
        gap = row[head.index("Gap")]
        target, score = row[head.index("Target")], row[head.index("Score")]
        assert _shown(target) - _shown(score) == _shown(gap), row
        checked += 1
    # perception gaps: the points named between two roles = the difference in the roles table
    roles_html = _section(source, "roles")
    [roles] = _tables(roles_html)
    by_role = {row[0]: dict(zip(roles[0], row, strict=True)) for row in roles[1:]}
    sentences = _text(roles_html) + " " + _text(_section(source, "summary"))
    found = re.findall(
        r"respondents in the (.+?) role rate (\w+) (\d\.\d\d) points higher than (.+?) \(",
        sentences,
    )
    assert found
    for higher, category, points, lower in found:
        shown = _shown(by_role[higher][category]) - _shown(by_role[lower][category])
        assert shown == Decimal(points), (higher, category, points, lower)
        checked += 1
    # the sentences on progress: from a to b (+c)
    for a, b, c in re.findall(
        r"from (\d\.\d\d) (?:in .+? )?to (\d\.\d\d)[:,]? (?:a change of |\()([+-]\d\.\d\d)",
        _text(source),
    ):
        assert Decimal(b) - Decimal(a) == Decimal(c), (a, b, c)
        checked += 1
    assert checked > 30


def _heatmap_units(fragment: str) -> list[str]:
    """The unit labels of the heatmap (an SVG image), from top to bottom.

    They are the right-aligned labels set level; the column names are turned 45 degrees.
    """
    src = re.search(r'src="data:image/svg\+xml;base64,([^"]+)"', fragment).group(1)
    svg = base64.b64decode(src).decode("utf-8")
    labels = re.findall(
        r'<text style="[^"]*text-anchor: end[^"]*" x="[^"]+" y="([^"]+)" '
        r'transform="rotate\(-?0 [^>]*>([^<]+)</text>',
        svg,
    )
    return [html.unescape(name) for _, name in sorted(labels, key=lambda t: float(t[0]))]


def test_units_categories_and_practices_keep_one_order_in_every_table_and_chart(org_html):
    _, source = org_html
    units_html = _section(source, "units")
    [table] = _tables(units_html)
    listed = [row[0] for row in table[1:]]
    shown = [row[0] for row in table[1:] if len(row) == len(table[0])]
    assert _heatmap_units(units_html) == shown
    assert set(listed) - set(shown) == {"Pop-up Stores", "Head Office"}
    assert listed[: len(shown)] == shown  # the hidden units last
    # the progress table's units follow the same order
    progress = [t for t in _tables(_section(source, "progress")) if t[0][0] == "Business unit"]
    assert [row[0] for row in progress[0][1:]] == [
        u for u in listed if u in {r[0] for r in progress[0][1:]}
    ]
    # categories and practices in framework order
    framework = xmkit.load_framework()
    [categories] = _tables(_section(source, "categories"))
    assert [row[0] for row in categories[2:]] == [c.name for c in framework.categories]
    [targets] = _tables(_section(source, "targets"))
    assert [row[0] for row in targets[1:]] == [
        p.name for c in framework.categories for p in c.practices
    ]
