"""What a batch hands each unit report, and the charts a report draws, stay what they were
when computed a quicker way (docs/reports.md, "Speed in a batch")."""

from __future__ import annotations

from pathlib import Path

import matplotlib.colors
import pandas as pd
import pytest
import seaborn as sns

import xmkit
from xmkit.analysis.withholding import unit_withholding
from xmkit.report import charts
from xmkit.report import sections as xr

EXAMPLE = Path(__file__).resolve().parents[1] / "assessments" / "example" / "responses.csv"


@pytest.fixture(scope="module")
def example(framework) -> pd.DataFrame:
    return xmkit.load_responses(EXAMPLE, framework)


def test_an_empty_disclosure_plan_given_by_the_batch_shows_what_the_report_would_work_out(
    make_wide, framework, tmp_path
):
    """A batch passes {"unit": [], "roles": []} for a unit whose plan hides nothing, so the
    report skips working the plan out from its own rows; both must show the same numbers."""
    path = tmp_path / "responses.csv"
    make_wide(n=90, seed=3).to_csv(path, index=False)
    data = xmkit.load_responses(path, framework)
    plans = unit_withholding(data, framework, framework.thresholds.min_group_size)
    plain = [u for u in sorted(set(data["unit"])) if str(u) not in plans]
    assert plain, "the data has a unit whose plan hides nothing"
    for unit in plain:
        rows = data[data["unit"] == unit]
        given = xr.prepare(rows, "Client", unit=unit, withhold={"unit": [], "roles": []})
        worked = xr.prepare(rows, "Client", unit=unit, withhold=None)
        pd.testing.assert_frame_equal(given.scores, worked.scores)
        pd.testing.assert_frame_equal(given.role_scores, worked.role_scores)
        pd.testing.assert_frame_equal(given.gaps, worked.gaps)


def test_category_chart_draws_a_bar_per_category_top_down_in_seaborns_colours(example, framework):
    scores = xmkit.score(example, framework, n_boot=0)
    fig = charts.category_chart(scores, framework)
    (ax,) = fig.axes
    bars = sorted(ax.patches, key=lambda bar: bar.get_y())
    names = [c.name for c in framework.categories]
    assert [t.get_text() for t in ax.get_yticklabels()] == names
    assert ax.get_ylim()[0] > ax.get_ylim()[1]  # the first category on top
    cats = scores[scores["level"] == "category"].set_index("name")["score"]
    for bar, name in zip(bars, names, strict=True):
        assert bar.get_width() == pytest.approx(cats[name])
        expected = sns.desaturate(framework.palette[name], 0.75)  # seaborn's bar colour
        assert matplotlib.colors.to_hex(bar.get_facecolor()) == matplotlib.colors.to_hex(expected)


def test_role_chart_draws_each_roles_categories_as_dots_with_a_legend_of_every_category(
    example, framework
):
    roles = xmkit.score(example, framework, by="role", n_boot=0)
    cats = roles[(roles["level"] == "category") & ~roles["suppressed"]]
    fig = charts.role_chart(cats, framework)
    (ax,) = fig.axes
    order = list(dict.fromkeys(cats["role"]))  # seaborn's order: first appearance, top down
    assert [t.get_text() for t in ax.get_yticklabels()] == order
    assert ax.get_ylim()[0] > ax.get_ylim()[1]
    for i, (points, role) in enumerate(zip(ax.collections, order, strict=True)):
        dots = cats[cats["role"] == role]
        assert points.get_offsets()[:, 0].tolist() == pytest.approx(dots["score"].tolist())
        assert set(points.get_offsets()[:, 1]) == {i}
        colours = [matplotlib.colors.to_hex(c) for c in points.get_facecolors()]
        assert colours == [matplotlib.colors.to_hex(framework.palette[n]) for n in dots["name"]]
    (legend,) = fig.legends
    assert [t.get_text() for t in legend.get_texts()] == [c.name for c in framework.categories]
