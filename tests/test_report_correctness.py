"""The report says the right thing on every page: the stage marker, the roadmap, the cap."""

from __future__ import annotations

import pandas as pd
import pytest

import xmkit
from xmkit.report import markup, views
from xmkit.report.sections import stage_track


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
