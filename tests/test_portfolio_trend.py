"""The portfolio shows each unit's trend when the assessment has an earlier wave."""

from pathlib import Path

import pandas as pd
import pytest

import xmkit
from xmkit.batch.run import run_batch

EXAMPLE = Path(__file__).resolve().parents[1] / "assessments" / "example"


@pytest.fixture(scope="module")
def portfolio(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("trend")
    results = run_batch(EXAMPLE, output_dir=out, formats="html", jobs=2, quiet=True)
    assert not results[0].failed
    return out


def test_portfolio_csv_has_each_units_previous_overall_score_and_change(portfolio: Path):
    table = pd.read_csv(portfolio / "portfolio.csv", dtype={"unit": str})
    before = xmkit.score(
        xmkit.load_responses(EXAMPLE / "previous" / "responses.csv"), by="unit", n_boot=0
    )
    before = before[before["level"] == "overall"].set_index("unit")["score"]
    centre = table.set_index("unit").loc["Contact Centre"]
    assert centre["previous_wave"] == "2025 Q4"
    assert centre["previous_overall"] == pytest.approx(before["Contact Centre"])
    assert centre["change"] == pytest.approx(centre["overall"] - before["Contact Centre"])
    assert pd.isna(table.set_index("unit").loc["Pop-up Stores", "previous_overall"])
    # Head Office is hidden this wave (beside Pop-up Stores, docs/hardening.md): no change
    head_office = table.set_index("unit").loc["Head Office"]
    assert pd.isna(head_office["overall"]) and pd.isna(head_office["change"])


def test_portfolio_page_shows_the_trend_over_waves(portfolio: Path):
    page = (portfolio / "index.html").read_text(encoding="utf-8")
    assert "Trend since 2025 Q4" in page
    assert page.index("Trend since 2025 Q4") < page.index(">Ranking<")
