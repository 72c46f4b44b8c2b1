"""The portfolio at scale: 40 units with an earlier wave, rendered for real and opened in
Chromium (every unit visible in the trend view, no legend of units), and 200 units' views."""

import base64
import html
import re
from pathlib import Path

import pytest
from batch_helpers import make_responses

import xmkit
from xmkit.batch.run import DONE, Source, UnitResult, portfolio_table, unique_slugs, write_portfolio
from xmkit.options import Options
from xmkit.report import portfolio as xp

LONG = "Regional Distribution & Returns Centre <North-East>, night shift"


def names(count: int) -> list[str]:
    """Unit names of varied length, one long and with markup characters."""
    base = ["Store", "Depot", "Contact Team", "Online Shop", "Warehouse"]
    return [LONG] + [f"{base[i % len(base)]} {i:03d}" for i in range(1, count)]


def source(tmp: Path, framework, count: int) -> Source:
    """Real files, read as a batch reads them: 5-7 respondents a unit, two waves."""
    units = {name: 5 + i % 3 for i, name in enumerate(names(count))}
    for wave, seed in (("now", 1), ("before", 2)):
        make_responses(units, framework, seed).to_csv(tmp / f"{wave}.csv", index=False)
    options = Options.checked(
        {"client": "Scale Co", "period": "2026 Q4", "previous_period": "2025 Q4"}
    )
    data = xmkit.load_responses(tmp / "now.csv")
    return Source(options, data, {}, xmkit.load_responses(tmp / "before.csv"))


def done(src: Source) -> list[UnitResult]:
    sizes = src.data.groupby("unit").size()
    slugs = unique_slugs(sizes.index)
    return [UnitResult(u, slugs[u], DONE, int(n)) for u, n in sizes.items()]


@pytest.fixture(scope="module")
def forty(tmp_path_factory, framework) -> Path:
    tmp = tmp_path_factory.mktemp("forty")
    src = source(tmp, framework, 40)
    write_portfolio(src, tmp, done(src), framework, 5)
    return tmp / "index.html"


def chart_svg(section_html: str) -> str:
    data = re.search(r'src="data:image/svg\+xml;base64,([^"]+)"', section_html).group(1)
    return base64.b64decode(data).decode("utf-8")


@pytest.mark.parametrize("width", [1280, 375])
def test_every_one_of_40_units_is_visible_in_the_trend_view(forty, browser, width):
    context = browser.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    page.goto(forty.as_uri(), wait_until="load")
    trend = page.locator("section.section-trend")
    assert trend.locator("h2").inner_text() == "Trend since 2025 Q4"
    for unit in names(40):
        cell = trend.locator("td", has_text=re.compile(f"^{re.escape(unit)}$"))
        assert cell.count() == 1, unit
        box = cell.bounding_box()
        assert cell.is_visible() and box["width"] > 0, unit
        assert box["x"] >= 0 and box["x"] + box["width"] <= width + 1, (unit, box)
    chart = trend.locator("img").bounding_box()
    rows = 2 * xp.MOVERS_EDGE
    assert chart["height"] / rows >= (8 if width == 375 else 14), "each unit keeps its row"
    context.close()


def test_the_trend_chart_of_40_units_shows_the_largest_moves_labelled_without_a_legend(forty):
    page = forty.read_text(encoding="utf-8")
    section = page[page.index("Trend since 2025 Q4") : page.index(">Ranking<")]
    svg = chart_svg(section)
    labels = [html.unescape(t) for t in re.findall(r"<text[^>]*>([^<]*)</text>", svg)]
    shown = [u for u in names(40) if any(label.startswith(u[:20]) for label in labels)]
    assert len(shown) == 2 * xp.MOVERS_EDGE, shown
    assert "2025 Q4" in labels and "2026 Q4" in labels  # the key names waves, not units
    assert f"{xp.MOVERS_EDGE} largest rises" in section


def test_200_units_keep_one_table_row_each_and_a_chart_of_the_largest_moves(tmp_path, framework):
    src = source(tmp_path, framework, 200)
    table = portfolio_table(src, done(src), framework, 5)
    ctx = xp.PortfolioContext("Scale Co", "2026 Q4", framework, 5, table)
    view = xp.trend.view(ctx)
    rows = view["table"]["rows"]
    assert rows[0][0] == "All units" and len(rows) == 201
    assert sorted(r[0] for r in rows[1:]) == sorted(names(200))
    svg = base64.b64decode(view["chart"]["src"].split(",", 1)[1]).decode("utf-8")
    height = float(re.search(r'height="([0-9.]+)pt"', svg).group(1))
    assert height < 12 * 72, "the chart holds the largest moves, not 200 rows"
    ranking = xp.ranking.view(ctx)
    assert len(ranking["rows"]) == 201 and ranking["rows"][0]["unit"] == "All units"
    assert sum(r["tie"] for r in ranking["rows"]) > 100, "5-7 respondents: most units tie"
