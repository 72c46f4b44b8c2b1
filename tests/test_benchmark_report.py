"""Percentile ranks against the benchmark, and the Benchmark section of a report."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from benchmark_helpers import KEY, add_org, fictitious_responses
from scipy.stats import percentileofscore

from xmkit.analysis.score import score
from xmkit.benchmark.compare import compare, percentile_rank
from xmkit.benchmark.keys import client_key
from xmkit.benchmark.store import open_store
from xmkit.errors import XmkitError
from xmkit.report import sections as xr

LEVELS = [1.6, 2.1, 2.5, 2.9, 3.2, 3.6, 4.1]  # seven fictitious organizations


pytestmark = pytest.mark.usefixtures("firm_key")


@pytest.fixture
def filled(location, framework) -> str:
    """Five fictitious retailers, two fictitious banks, and the client's own earlier entry."""
    store = open_store(location)
    for i, level in enumerate(LEVELS):
        add_org(store, framework, f"Fictitious {i}", level, industry="Retail" if i < 5 else "Bank")
    add_org(store, framework, "Fictitious 0", 1.0, period="2025 Q1", industry="Retail")
    add_org(store, framework, "Fictitious Client", 5.0, period="2025 Q1", industry="Retail")
    return location


def test_percentile_rank_is_the_mean_definition_of_scipy():
    values = [2.0, 3.0, 3.0, 4.0, 5.0]
    for x in (1.0, 3.0, 3.5, 5.0, 6.0):
        below = sum(v < x for v in values)
        equal = sum(v == x for v in values)
        assert percentile_rank(below, equal, len(values)) == pytest.approx(
            percentileofscore(values, x, kind="mean")
        )


def client_scores(framework, level=3.0):
    data = fictitious_responses(framework, level, seed=99)
    return score(data, framework, n_boot=0)


def test_ranks_match_scipy_over_latest_entries_without_the_clients_own(filled, framework):
    store = open_store(filled)
    mine = client_scores(framework)
    view = compare(store, mine, framework, "Retail", client_key("Fictitious Client", KEY))
    table = store.table()
    latest = table[table["period"] == "2026 Q1"]  # Fictitious 0's 2025 entry is older
    latest = latest[latest["client_key"] != client_key("Fictitious Client", KEY)]
    for row in view.itertuples():
        pool = latest[(latest["level"] == row.level) & (latest["item_id"] == row.id)]
        if row.scope == "industry":
            pool = pool[pool["industry"] == "Retail"]
        assert row.organizations == len(pool) == (5 if row.scope == "industry" else 7)
        assert row.shown
        assert row.percentile == pytest.approx(percentileofscore(pool["score"], row.score, "mean"))
        assert (row.first_period, row.last_period) == ("2026 Q1", "2026 Q1")


def test_no_rank_below_five_organizations_and_the_floor_cannot_be_lowered(filled, framework):
    store = open_store(filled)
    mine = client_scores(framework)
    key = client_key("Fictitious Client", KEY)
    view = compare(store, mine, framework, "Bank", key)
    bank = view[view["scope"] == "industry"]
    assert (bank["organizations"] == 2).all() and not bank["shown"].any()
    assert bank["percentile"].isna().all()
    strict = compare(store, mine, framework, "Retail", key, min_organizations=6)
    assert not strict[strict["scope"] == "industry"]["shown"].any()
    assert strict[strict["scope"] == "all"]["shown"].all()
    with pytest.raises(XmkitError, match="too few"):
        compare(store, mine, framework, "Retail", key, min_organizations=4)


def test_the_section_states_size_and_periods_and_shows_no_stored_score(filled, framework):
    ctx = xr.prepare(fictitious_responses(framework, 3.0, seed=99), "Fictitious Client", n_boot=0)
    html = xr.benchmark(ctx, "Retail", filled, 5)
    text = re.sub(r"<img[^>]*>", "", html)
    assert "5 in Retail and 7 in all" in text
    assert "2026 Q1 to 2026 Q1" in text
    assert "Percentile, Retail (5)" in text and "<svg" not in text and "data:image/svg" in html
    stored = {f"{v:.2f}" for v in open_store(filled).table()["score"]}
    own = {f"{v:.2f}" for v in ctx.scores["score"].dropna()}
    cells = set(re.findall(r"<td>([^<]*)</td>", text))
    assert not (cells & stored) - own
    bank = xr.benchmark(ctx, "Bank", filled, 5)
    assert "fewer than 5" in bank
    assert xr.benchmark(ctx, "", filled, 5) == ""


@pytest.mark.slow
def test_report_cli_renders_percentiles_from_industry_in_the_assessment(tmp_path, framework):
    store = tmp_path / "store.duckdb"
    opened = open_store(store)
    for i, level in enumerate(LEVELS[:5]):
        add_org(opened, framework, f"Fictitious {i}", level, industry="Retail")
    folder = tmp_path / "fictitious-client"
    folder.mkdir()
    fictitious_responses(framework, 3.0, seed=99).to_csv(folder / "responses.csv", index=False)
    (folder / "assessment.yaml").write_text(
        "client: Fictitious Client\nperiod: 2026 Q2\nindustry: Retail\n", encoding="utf-8"
    )
    exe = Path(sys.executable).parent / "xmkit"
    out = subprocess.run(
        [exe, "report", folder, "-o", tmp_path / "out", "--format", "html", "--benchmark", store],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert out.returncode == 0, out.stderr
    page = (tmp_path / "out" / "fictitious-client" / "all-units" / "report.html").read_text()
    assert "Benchmark</h2>" in page and "5 in Retail and 5 in all" in page
    ranks = re.findall(r"<tr><td>Overall</td><td>[0-9.]+</td><td>(\d+)</td><td>(\d+)</td>", page)
    assert ranks and all(0 <= int(r) <= 100 for r in ranks[0])
    too_few = subprocess.run(
        [exe, "report", folder, "--benchmark-min", "4", "--benchmark", store],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert too_few.returncode == 2 and "--benchmark-min" in too_few.stderr
    assert "greater than or equal to 5" in too_few.stderr


def test_speed_of_one_lookup_is_well_under_the_budget(tmp_path, framework):
    """A small-scale guard of bench/bench_benchmark.py: 200 organizations, one lookup."""
    import time

    store = open_store(tmp_path / "store.duckdb")
    for i in range(25):
        add_org(store, framework, f"Fictitious {i}", float(np.linspace(1.5, 4.5, 25)[i]))
    mine = client_scores(framework)
    start = time.perf_counter()
    view = compare(store, mine, framework, "Retail", "nobody")
    assert time.perf_counter() - start < 2.0
    assert view["shown"].all()


def test_the_portfolio_ranks_each_unit_against_the_benchmark(filled, framework):
    from xmkit.report import portfolio as xp

    by_unit = score(
        fictitious_responses(framework, 3.0, n=24, seed=5).assign(
            unit=["North"] * 12 + ["South"] * 12
        ),
        framework,
        by="unit",
        n_boot=0,
    )
    wide = by_unit[by_unit["level"].isin(["overall", "category"])].pivot_table(
        index="unit", columns="id", values="score"
    )
    table = wide.reset_index().assign(status="done", respondents=12, report="")
    ctx = xp.PortfolioContext("Fictitious Client", "2026 Q2", framework, 5, table)
    html = xp.benchmark(ctx, "Retail", filled, 5)
    assert "Units against the benchmark" in html and "5 in Retail and 7 in all" in html
    view = compare(
        open_store(filled),
        by_unit,
        framework,
        "Retail",
        client_key("Fictitious Client", KEY),
        by="unit",
    )
    for unit in ("North", "South"):
        row = view[(view["unit"] == unit) & (view["level"] == "overall")].set_index("scope")
        cells = re.search(rf"<td>{unit}</td><td>[0-9.]+</td><td>(\d+)</td><td>(\d+)</td>", html)
        assert cells, html
        assert int(cells.group(1)) == round(row.loc["industry", "percentile"])
        assert int(cells.group(2)) == round(row.loc["all", "percentile"])
    assert xp.benchmark(ctx, "", filled, 5) == ""


@pytest.mark.slow
def test_batch_with_an_industry_puts_units_against_the_benchmark_in_the_portfolio(
    tmp_path, framework
):
    store = tmp_path / "store.duckdb"
    opened = open_store(store)
    for i, level in enumerate(LEVELS[:5]):
        add_org(opened, framework, f"Fictitious {i}", level, industry="Retail")
    answers = fictitious_responses(framework, 3.0, n=24, seed=5)
    answers.assign(unit=["North"] * 12 + ["South"] * 12).to_csv(tmp_path / "r.csv", index=False)
    exe = Path(sys.executable).parent / "xmkit"
    args = ["--client", "Fictitious Client", "--format", "html", "-o", tmp_path / "out"]
    out = subprocess.run(
        [exe, "batch", tmp_path / "r.csv", *args, "--industry", "Retail", "--benchmark", store],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert out.returncode == 0, out.stderr
    page = (tmp_path / "out" / "index.html").read_text(encoding="utf-8")
    assert "Units against the benchmark</h2>" in page and "5 in Retail and 5 in all" in page
    for unit in ("North", "South"):
        assert re.search(rf"<td>{unit}</td><td>[0-9.]+</td><td>\d+</td><td>\d+</td>", page)
