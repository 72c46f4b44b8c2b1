"""EX-CX linkage: a planted 2-period lead is found, no link gives intervals around 0, and both
readings match their definitions and reference implementations."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pingouin
import pytest
from matplotlib.figure import Figure

from xmkit.analysis.linkage import fisher_ci, linkage, linkage_pairs, strongest_lag, t_quantile
from xmkit.errors import XmkitError
from xmkit.io.metrics import load_metrics
from xmkit.report.evidence_charts import lag_chart, linkage_scatter

ROOT = Path(__file__).resolve().parents[1]


def _ar1(rng: np.random.Generator, n: int, steps: int, phi: float) -> np.ndarray:
    """Unit-variance AR(1) series, one row per unit."""
    out = np.empty((n, steps))
    out[:, 0] = rng.normal(0.0, 1.0, n)
    for t in range(1, steps):
        out[:, t] = phi * out[:, t - 1] + rng.normal(0.0, np.sqrt(1 - phi**2), n)
    return out


def panel(
    seed: int,
    lead: int = 2,
    beta: float = 0.8,
    unit_link: float = 0.5,
    trend: float = 0.0,
    n_units: int = 40,
    n_periods: int = 12,
) -> pd.DataFrame:
    """A tidy panel: EX = unit level + AR(1) (persistence 0.6); CX = its own unit level
    (``unit_link`` times EX's, plus noise) + ``beta`` * EX's time-varying part ``lead``
    periods earlier + persistent noise; ``trend`` adds a rise shared by every unit to both."""
    rng = np.random.default_rng(seed)
    steps = n_periods + lead
    level = rng.normal(0.0, 1.0, n_units)
    ex_part = _ar1(rng, n_units, steps, 0.6)
    cx_level = unit_link * level + rng.normal(0.0, 1.0, n_units)
    cx_part = beta * ex_part[:, :n_periods] + 0.6 * _ar1(rng, n_units, n_periods, 0.6)
    common = trend * np.arange(n_periods)
    ex = level[:, None] + ex_part[:, lead:] + common
    cx = cx_level[:, None] + cx_part + common
    units = np.repeat([f"U{u:02d}" for u in range(n_units)], n_periods)
    periods = np.tile(np.arange(1, n_periods + 1), n_units)
    return pd.concat(
        [
            pd.DataFrame({"unit": units, "period": periods, "metric": "EX", "value": ex.ravel()}),
            pd.DataFrame({"unit": units, "period": periods, "metric": "CX", "value": cx.ravel()}),
        ],
        ignore_index=True,
    )


def _row(result: pd.DataFrame, kind: str, lag: int) -> pd.Series:
    return result[(result["kind"] == kind) & (result["lag"] == lag)].iloc[0]


def test_planted_two_period_lead_is_the_strongest_lag_and_its_ci_excludes_zero():
    result = linkage(panel(seed=7, unit_link=1.0), "EX", "CX", max_lag=3, n_boot=2000, seed=1)
    assert sorted(result["lag"].unique()) == [0, 1, 2, 3]
    best = strongest_lag(result, "within")
    assert best["lag"] == 2
    assert best["ci_low"] > 0
    # the lead is sharp: lag 2's interval lies above every other lag's estimate
    others = result[(result["kind"] == "within") & (result["lag"] != 2)]
    assert (others["r"] < best["ci_low"]).all()
    # between units the link shows too (units with higher EX have higher CX), but unit
    # averages over many periods hardly change with the lag, so they cannot date it
    between = _row(result, "between", 2)
    assert between["ci_low"] > 0
    assert _row(result, "within", 2)["n_pairs"] == 40 * (12 - 2)
    assert _row(result, "within", 2)["n_units"] == 40


def test_no_link_gives_intervals_that_include_zero_at_every_lag():
    # Independent EX and CX (no lead, no shared unit level), both persistent over time. Each
    # interval is 95%, so in about one null panel in five at least one of the eight misses 0
    # by chance (seed 11, for one, gives 0.02 to 0.27 within units at lag 3): this is one
    # fixed, seeded panel, and the next test checks the rate over many.
    result = linkage(
        panel(seed=12, beta=0.0, unit_link=0.0), "EX", "CX", max_lag=3, n_boot=2000, seed=1
    )
    assert len(result) == 8
    assert (result["ci_low"] <= 0).all() and (result["ci_high"] >= 0).all(), result


def test_intervals_include_zero_about_95_percent_of_the_time_without_a_link():
    inside = {"between": [], "within": []}
    for seed in range(40):
        data = panel(seed=100 + seed, beta=0.0, unit_link=0.0, n_units=15, n_periods=8)
        result = linkage(data, "EX", "CX", max_lag=3, n_boot=400, seed=seed)
        for kind, rows in result.groupby("kind"):
            inside[kind] += ((rows["ci_low"] <= 0) & (rows["ci_high"] >= 0)).tolist()
    for kind, hits in inside.items():
        assert 0.88 <= np.mean(hits) <= 1.0, (kind, np.mean(hits))


def test_a_trend_shared_by_all_units_is_no_link_once_period_means_are_removed():
    data = panel(seed=3, beta=0.0, unit_link=0.0, trend=0.3)
    raw = linkage(data, "EX", "CX", max_lag=2, n_boot=1000, seed=0, remove_period_means=False)
    assert (raw.loc[raw["kind"] == "within", "ci_low"] > 0).all()  # spurious at every lag
    clean = linkage(data, "EX", "CX", max_lag=2, n_boot=1000, seed=0)  # the default
    assert (clean["ci_low"] <= 0).all() and (clean["ci_high"] >= 0).all()


@pytest.mark.filterwarnings("ignore:The inplace keyword")  # inside pingouin, not xmkit
def test_within_r_is_the_repeated_measures_correlation():
    data = panel(seed=5, n_units=12, n_periods=8)
    result = linkage(data, "EX", "CX", max_lag=2, n_boot=0)
    for lag in (0, 1, 2):
        pairs = linkage_pairs(data, "EX", "CX", lag)
        reference = pingouin.rm_corr(pairs, x="ex", y="cx", subject="unit")
        assert _row(result, "within", lag)["r"] == pytest.approx(reference["r"].iloc[0], abs=1e-9)
        # and by the definition: correlation of the pairs centred on their unit's means
        centred = linkage_pairs(data, "EX", "CX", lag, kind="within")
        direct = np.corrcoef(centred["ex"], centred["cx"])[0, 1]
        assert _row(result, "within", lag)["r"] == pytest.approx(direct, abs=1e-12)


def test_between_r_and_fisher_interval_match_pingouin_on_unit_means():
    data = panel(seed=5, n_units=12, n_periods=8)
    result = linkage(data, "EX", "CX", max_lag=1, n_boot=0)
    means = linkage_pairs(data, "EX", "CX", 1, kind="between")
    reference = pingouin.corr(means["ex"], means["cx"])
    row = _row(result, "between", 1)
    assert row["r"] == pytest.approx(reference["r"].iloc[0], abs=1e-9)
    low, high = reference["CI95"].iloc[0]  # pingouin rounds the interval to 2 decimals
    assert (row["ci_low"], row["ci_high"]) == pytest.approx((low, high), abs=0.006)
    assert row["n_units"] == 12 and row["ci_method"] == "fisher z"


def test_fisher_interval_by_hand():
    # r = 0.5, n = 28: z = atanh(0.5) = 0.5493, se = 1/5 -> tanh(0.5493 -/+ 0.392)
    low, high = fisher_ci(0.5, 28)
    assert (low, high) == pytest.approx((np.tanh(0.549306 - 0.391993), np.tanh(0.941299)), 1e-5)
    assert np.isnan(fisher_ci(0.5, 3)[0])


@pytest.mark.parametrize("df", [3, 6, 14, 39])
def test_t_quantile_matches_scipy(df):
    stats = pytest.importorskip("scipy.stats")
    assert t_quantile(0.975, df) == pytest.approx(stats.t.ppf(0.975, df), abs=0.004)
    assert t_quantile(0.975, df) == pytest.approx(stats.t.ppf(0.975, df), rel=2e-3)


def test_pairs_and_counts_on_an_unbalanced_panel_by_hand():
    # A has EX in 1-4 and CX in 1-4; B has EX in 1-2 and CX in 3 only; C has only EX.
    rows = [("A", t, "EX", v) for t, v in zip([1, 2, 3, 4], [1.0, 2.0, 4.0, 3.0], strict=True)]
    rows += [("A", t, "CX", v) for t, v in zip([1, 2, 3, 4], [5.0, 6.0, 6.5, 8.0], strict=True)]
    rows += [("B", 1, "EX", 2.0), ("B", 2, "EX", 1.0), ("B", 3, "CX", 3.0)]
    rows += [("C", 1, "EX", 9.0)]
    data = pd.DataFrame(rows, columns=["unit", "period", "metric", "value"])
    lag1 = linkage_pairs(data, "EX", "CX", 1, remove_period_means=False)
    # A: EX(1..3) with CX(2..4); B: EX(2) with CX(3)
    assert lag1[["unit", "t", "ex", "cx"]].values.tolist() == [
        ["A", 0, 1.0, 6.0],
        ["A", 1, 2.0, 6.5],
        ["A", 2, 4.0, 8.0],
        ["B", 1, 1.0, 3.0],
    ]
    result = linkage(data, "EX", "CX", max_lag=1, n_boot=0)
    within = _row(result, "within", 1)
    # B has one pair: no within-unit information; A alone: corr((1,2,4), (6,6.5,8))
    assert (within["n_units"], within["n_pairs"]) == (1, 3)
    assert np.isnan(within["r"])  # one unit: no within-unit correlation across units
    between = _row(result, "between", 1)
    assert (between["n_units"], between["n_pairs"]) == (2, 4)
    assert np.isnan(between["r"])  # two unit means: too few to correlate


def test_seeded_intervals_repeat_and_periods_may_be_quarters():
    data = panel(seed=9, n_units=10, n_periods=6)
    quarters = pd.period_range("2024Q1", periods=6, freq="Q")
    data["period"] = [f"{quarters[p - 1].year}-Q{quarters[p - 1].quarter}" for p in data["period"]]
    first = linkage(data, "EX", "CX", max_lag=2, n_boot=500, seed=3)
    again = linkage(data, "EX", "CX", max_lag=2, n_boot=500, seed=3)
    pd.testing.assert_frame_equal(first, again)
    numbered = linkage(panel(seed=9, n_units=10, n_periods=6), "EX", "CX", 2, 500, 3)
    pd.testing.assert_frame_equal(first, numbered)


def test_strongest_lag_by_sign_and_a_negative_cx_metric():
    result = pd.DataFrame(
        {
            "lag": [0, 1, 2, 0, 1, 2],
            "kind": ["within"] * 3 + ["between"] * 3,
            "r": [0.2, -0.6, 0.4, np.nan, np.nan, np.nan],
        }
    )
    assert strongest_lag(result)["lag"] == 1
    assert strongest_lag(result, sign="positive")["lag"] == 2
    assert strongest_lag(result, "between") is None


def test_unknown_metric_names_the_available_ones():
    data = panel(seed=1, n_units=5, n_periods=4)
    with pytest.raises(XmkitError) as info:
        linkage(data, "engagement", "CX")
    (problem,) = info.value.problems
    assert problem.value == "engagement" and "EX" in problem.expected
    assert linkage(data, "ex", "cx", max_lag=0, n_boot=0)["ex"].iloc[0] == "EX"


def test_example_metrics_peak_at_two_quarters_but_seven_units_are_too_few_to_call_a_link():
    """The example plants a two-quarter lead; with 7 units, common quarters removed and four
    lags tested, the adjusted interval still includes 0: the report must not claim a link."""
    metrics = load_metrics(ROOT / "assessments" / "example" / "metrics.csv")
    result = linkage(metrics, "engagement", "NPS", max_lag=3, seed=0)
    best = strongest_lag(result, "within")
    assert best["lag"] == 2 and best["r"] > 0.3
    assert best["n_units"] == 7 and not best["linked"] and best["ci_low_adj"] < 0
    churn = strongest_lag(linkage(metrics, "engagement", "churn", max_lag=3, seed=0), "within")
    assert churn["lag"] == 2 and churn["r"] < 0


def test_charts_draw_the_lags_and_the_strongest_scatter(tmp_path):
    data = panel(seed=7, n_units=10, n_periods=8)
    result = linkage(data, "EX", "CX", max_lag=3, n_boot=200, seed=0)
    for fig in (
        lag_chart(result, period_name="quarter"),
        linkage_scatter(data, "EX", "CX", lag=2, kind="within", period_name="quarter"),
        linkage_scatter(data, "EX", "CX", lag=2, kind="between"),
        lag_chart(result.assign(r=np.nan)),
    ):
        assert isinstance(fig, Figure)
        fig.savefig(tmp_path / "chart.svg")
    ticks = lag_chart(result, "quarter").axes[0].get_xticklabels()
    labels = [t.get_text().replace("\n", " ") for t in ticks]  # on two lines, to fit the width
    assert labels == [
        "same quarter",
        "CX 1 quarter later",
        "CX 2 quarters later",
        "CX 3 quarters later",
    ]


def _shared_trend_panel(seed: int, beta: float) -> pd.DataFrame:
    """``panel`` plus a trend, a season and shocks shared by every unit, in EX and CX alike."""
    data = panel(seed=seed, beta=beta, unit_link=0.0)
    rng = np.random.default_rng(seed + 1000)
    t = np.arange(1, 13)
    shared = 0.15 * t + 0.8 * np.sin(2 * np.pi * t / 4) + rng.normal(0, 0.8, 12)
    return data.assign(value=data["value"] + shared[data["period"].to_numpy() - 1])


def test_shared_trend_null_panel_reports_no_link_but_the_raw_reading_does():
    data = _shared_trend_panel(seed=21, beta=0.0)
    best = strongest_lag(linkage(data, "EX", "CX", max_lag=3, n_boot=1000, seed=0))
    assert not best["linked"]
    assert best["ci_low_adj"] <= 0 <= best["ci_high_adj"]
    raw = linkage(data, "EX", "CX", max_lag=3, n_boot=1000, seed=0, remove_period_means=False)
    assert strongest_lag(raw)["linked"]  # the shared movements alone look like a link


def test_planted_lag_two_lead_is_linked_at_lag_two_despite_a_shared_trend():
    data = _shared_trend_panel(seed=22, beta=0.4)
    best = strongest_lag(linkage(data, "EX", "CX", max_lag=3, n_boot=1000, seed=0))
    assert best["linked"] and best["lag"] == 2 and best["n_lags"] == 4


def test_headline_interval_is_widened_by_sidak_for_the_lags_tested():
    from scipy import stats

    result = linkage(panel(seed=7), "EX", "CX", max_lag=3, n_boot=1000, seed=1)
    best = strongest_lag(result)
    z, se, df = np.arctanh(best["r"]), best["se_z"], best["df"]
    q = stats.t.ppf(0.5 + 0.95**0.25 / 2, df)
    assert (best["ci_low_adj"], best["ci_high_adj"]) == pytest.approx(
        (np.tanh(z - q * se), np.tanh(z + q * se)), abs=1e-7
    )
    assert best["ci_low_adj"] < best["ci_low"] and best["ci_high_adj"] > best["ci_high"]
    one = strongest_lag(result[result["lag"] == best["lag"]])
    assert (one["ci_low_adj"], one["ci_high_adj"]) == pytest.approx(
        (best["ci_low"], best["ci_high"]), abs=1e-3
    )


def test_reliability_of_answer_based_metrics_uses_their_counts():
    from xmkit.analysis.linkage import reliability
    from xmkit.io.metrics import metrics_from_answers

    rng = np.random.default_rng(4)
    rows = []
    for unit in range(12):
        for quarter in range(6):
            for _ in range(10):
                rows.append(
                    (
                        f"U{unit}",
                        f"2024-Q{quarter % 4 + 1}" if quarter < 4 else f"2025-Q{quarter - 3}",
                        int(rng.integers(0, 11)),
                    )
                )
    data = pd.DataFrame(rows, columns=["unit", "period", "NPS"])
    metrics = metrics_from_answers(data)
    assert (metrics["n"] == 10).all() and {"se", "ci_low", "ci_high"} <= set(metrics.columns)
    assert (
        (metrics["ci_low"] <= metrics["value"]) & (metrics["value"] <= metrics["ci_high"])
    ).all()
    reading = reliability(metrics, "NPS")
    # answers drawn at random: every movement is noise
    assert reading["median_n"] == 10 and reading["reliability"] < 0.3
    assert reliability(metrics.drop(columns="se"), "NPS") is None
