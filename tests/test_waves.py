"""Waves: the change since an earlier assessment, worked out by hand on the mini framework,
its bootstrap interval, suppression in either wave, and the wave charts.

Mini framework (tests/data/mini_framework.yaml): Base = p1 (a1, a2) and p2 (a3); Converge =
p3 (c1). Unit A now is the worked example of tests/test_score.py: a1 = 4.6, a2 = 4.5 (r4
blank), a3 = 4.0, c1 = 2.4 -> p1 = 4.55, p2 = 4.0, p3 = 2.4, Base = 4.275, Converge = 2.4,
overall = 3.3375. Unit A a year before (five other respondents):

    id  a1 a2 a3 c1
    s1  3  4  3  2
    s2  4  3  3  2
    s3  3  3  4  1
    s4  4  4  3  2
    s5  3  4  2  3

a1 = 17/5 = 3.4, a2 = 18/5 = 3.6, a3 = 15/5 = 3.0, c1 = 10/5 = 2.0 -> p1 = 3.5, p2 = 3.0,
p3 = 2.0, Base = 3.25, Converge = 2.0, overall = 2.625. Changes: p1 +1.05, p2 +1.0, p3 +0.4,
Base +1.025, Converge +0.4, overall +0.7125. Unit B has one respondent in each wave (below
the minimum of 5), so it shows nothing.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

import xmkit
from xmkit.analysis.waves import compare_waves
from xmkit.report.evidence_charts import trend_chart, wave_chart

ROOT = Path(__file__).resolve().parents[1]
COLUMNS = ["respondent_id", "unit", "role", "a1", "a2", "a3", "c1"]


def unit_c(prefix: str) -> pd.DataFrame:
    """Unit C, 4 respondents (below the minimum): with B (1) the hidden units hold 5, so the
    disclosure rule need not hide A as well (tests/test_disclosure.py)."""
    rows = [(f"{prefix}c{i}", "C", "Front", 3, 3, 3, 3) for i in range(4)]
    return pd.DataFrame(rows, columns=COLUMNS)


@pytest.fixture
def now(worked_example: pd.DataFrame) -> pd.DataFrame:
    """This wave: the worked example of tests/test_score.py, plus unit C."""
    return pd.concat([worked_example, unit_c("r")], ignore_index=True)


@pytest.fixture
def before() -> pd.DataFrame:
    rows = [
        ("s1", "A", "Exec", 3, 4, 3, 2),
        ("s2", "A", "Exec", 4, 3, 3, 2),
        ("s3", "A", "Front", 3, 3, 4, 1),
        ("s4", "A", "Front", 4, 4, 3, 2),
        ("s5", "A", "Front", 3, 4, 2, 3),
        ("s6", "B", "Front", 2, 2, 2, 2),
    ]
    return pd.concat([pd.DataFrame(rows, columns=COLUMNS), unit_c("s")], ignore_index=True)


EXPECTED = {
    # id: (now, before, change)
    "overall": (3.3375, 2.625, 0.7125),
    "base": (4.275, 3.25, 1.025),
    "converge": (2.4, 2.0, 0.4),
    "p1": (4.55, 3.5, 1.05),
    "p2": (4.0, 3.0, 1.0),
    "p3": (2.4, 2.0, 0.4),
}


def test_change_matches_the_worked_example(mini, now, before):
    result = compare_waves(now, before, mini, by="unit", n_boot=0)
    a = result[result["unit"] == "A"].set_index("id")
    assert list(a.index) == ["overall", "base", "converge", "p1", "p2", "p3"]
    for item, (score_now, score_before, change) in EXPECTED.items():
        row = a.loc[item]
        assert row["score_now"] == pytest.approx(score_now, abs=1e-12), item
        assert row["score_before"] == pytest.approx(score_before, abs=1e-12), item
        assert row["change"] == pytest.approx(change, abs=1e-12), item
        assert np.isnan(row["ci_low"]) and np.isnan(row["ci_high"])  # n_boot=0
    assert (a["n_now"].tolist(), a["n_before"].tolist()) == ([5] * 6, [5] * 6)
    assert not a["suppressed"].any()
    assert list(result.columns) == [
        "unit",
        "level",
        "id",
        "name",
        "category_id",
        "score_now",
        "score_before",
        "change",
        "ci_low",
        "ci_high",
        "n_now",
        "n_before",
        "suppressed",
        "design",
        "n_matched",
        "p_value",
        "q_value",
        "clear",
    ]


def test_group_below_minimum_in_either_wave_shows_nothing(mini, now, before):
    result = compare_waves(now, before, mini, by="unit", n_boot=200)
    b = result[result["unit"] == "B"]
    assert b["suppressed"].all()
    numbers = ["score_now", "score_before", "change", "ci_low", "ci_high"]
    assert b[numbers].isna().all().all()
    # A big enough now but too small before: still nothing (the change would reveal it)
    small_before = before[before["respondent_id"].isin(["s1", "s2", "s3", "s4", "s6"])]
    a = compare_waves(now, small_before, mini, by="unit", n_boot=0)
    a = a[a["unit"] == "A"]
    assert a["suppressed"].all() and a["change"].isna().all()
    assert a["n_before"].iloc[0] == 4


def test_unit_new_in_this_wave_is_listed_as_suppressed(mini, now, before):
    result = compare_waves(now, before[before["unit"] == "A"], mini, by="unit", n_boot=0)
    b = result[result["unit"] == "B"]
    assert b["suppressed"].all() and (b["n_before"] == 0).all()


def test_bootstrap_interval_brackets_the_change_and_repeats_with_the_seed(mini, now, before):
    first = compare_waves(now, before, mini, by="unit", n_boot=2000, seed=4, ci_method="bootstrap")
    again = compare_waves(now, before, mini, by="unit", n_boot=2000, seed=4, ci_method="bootstrap")
    pd.testing.assert_frame_equal(first, again)
    a = first[first["unit"] == "A"]
    assert (a["ci_low"] <= a["change"]).all() and (a["change"] <= a["ci_high"]).all()
    assert (a["ci_high"] - a["ci_low"] > 0).all()
    other = compare_waves(now, before, mini, by="unit", n_boot=2000, seed=5, ci_method="bootstrap")
    assert not np.allclose(other["ci_low"].dropna(), a["ci_low"].dropna())


def test_bootstrap_matches_resampling_each_wave_independently_by_brute_force(mini, now, before):
    """The interval equals the one from rescoring resampled respondents of each wave."""
    a_now = now[now["unit"] == "A"][["a1", "a2", "a3", "c1"]].to_numpy(dtype=float)
    a_before = before[before["unit"] == "A"][["a1", "a2", "a3", "c1"]].to_numpy(dtype=float)

    def overall(x: np.ndarray) -> np.ndarray:  # replicates x respondents x questions
        with warnings.catch_warnings():  # a replicate of only r4 has no a2: p1 is a1 alone
            warnings.simplefilter("ignore", RuntimeWarning)
            q = np.nanmean(x, axis=1)
            p1 = np.nanmean(q[:, :2], axis=1)
        return ((p1 + q[:, 2]) / 2 + q[:, 3]) / 2

    rng = np.random.default_rng(123)
    reps = 20000
    diff = overall(a_now[rng.integers(0, 5, (reps, 5))]) - overall(
        a_before[rng.integers(0, 5, (reps, 5))]
    )
    expected = np.quantile(diff, [0.025, 0.975])
    result = compare_waves(
        now, before, mini, by="unit", n_boot=20000, seed=0, ci_method="bootstrap"
    )
    row = result[(result["unit"] == "A") & (result["id"] == "overall")].iloc[0]
    assert (row["ci_low"], row["ci_high"]) == pytest.approx(tuple(expected), abs=0.03)


def test_scores_agree_with_score_and_the_long_layout_works(mini, now, before):
    whole = compare_waves(now, before, mini, n_boot=0)
    direct = xmkit.score(now, mini, n_boot=0).set_index("id")
    for row in whole.itertuples():
        assert row.score_now == pytest.approx(direct.loc[row.id, "score"], nan_ok=True)
    long_now = now.melt(
        id_vars=["respondent_id", "unit", "role"], var_name="question_id", value_name="answer"
    )
    pd.testing.assert_frame_equal(compare_waves(long_now, before, mini, n_boot=0), whole)
    assert "unit" not in whole.columns and len(whole) == 6


def test_example_waves_improve_and_the_new_unit_is_not_compared():
    framework = xmkit.load_framework()
    folder = ROOT / "assessments" / "example"
    now = xmkit.load_responses(folder / "responses.csv", framework)
    before = xmkit.load_responses(folder / "previous" / "responses.csv", framework)
    assert not set(now["respondent_id"]) & set(before["respondent_id"])
    result = compare_waves(now, before, framework, n_boot=300, seed=0)
    overall = result[result["level"] == "overall"].iloc[0]
    assert overall["change"] > 0 and overall["ci_low"] > 0
    by_unit = compare_waves(now, before, framework, by="unit", n_boot=0)
    popup = by_unit[by_unit["unit"] == "Pop-up Stores"]
    assert popup["suppressed"].all() and (popup["n_before"] == 0).all()


def test_wave_and_trend_charts_draw(mini, now, before, tmp_path):
    result = compare_waves(now, before, mini, by="unit", n_boot=200)
    overall = result[result["level"] == "overall"]
    waves = pd.concat(
        [
            overall.assign(wave="2025", wave_order=0, score=overall["score_before"]),
            overall.assign(wave="2026", wave_order=1, score=overall["score_now"]),
        ]
    )
    for fig in (
        wave_chart(result[result["unit"] == "A"], mini),
        wave_chart(result[result["unit"] == "B"], mini),  # suppressed: a note, no numbers
        trend_chart(waves),
    ):
        assert isinstance(fig, Figure)
        fig.savefig(tmp_path / "chart.svg")
    labels = [t.get_text() for t in wave_chart(result[result["unit"] == "A"], mini).axes[0]
              .get_yticklabels()]  # fmt: skip
    assert labels == ["Overall", "Base", "Converge"]


def _converge(result: pd.DataFrame) -> pd.Series:
    return result[(result["unit"] == "A") & (result["id"] == "converge")].iloc[0]


def test_matched_waves_use_the_paired_interval(mini, now, before):
    """Unit A's respondents answered both waves (ids r1..r5). Converge is c1 alone: now
    2, 2, 3, 2, 3; before 2, 2, 1, 2, 3; own changes 0, 0, 2, 0, 0: mean 0.4, sd sqrt(0.8),
    se 0.4, paired t on 4 df (2.776445): 0.4 -/+ 1.110578."""
    paired_before = before.assign(respondent_id=now["respondent_id"].to_numpy())
    result = compare_waves(now, paired_before, mini, by="unit")
    row = _converge(result)
    assert (row["design"], row["n_matched"]) == ("paired", 5)
    assert (row["ci_low"], row["ci_high"]) == pytest.approx(
        (0.4 - 1.110578, 0.4 + 1.110578), abs=1e-5
    )


def test_unmatched_waves_use_the_independent_welch_interval(mini, now, before):
    """Different people: var now 0.3, before 0.5; se = sqrt(0.3/5 + 0.5/5) = 0.4; Welch df =
    0.16^2 / (0.06^2/4 + 0.1^2/4) = 7.5294."""
    from scipy import stats

    row = _converge(compare_waves(now, before, mini, by="unit"))
    assert (row["design"], row["n_matched"]) == ("independent", 0)
    half = stats.t.ppf(0.975, 0.16**2 / (0.06**2 / 4 + 0.1**2 / 4)) * 0.4
    assert (row["ci_low"], row["ci_high"]) == pytest.approx((0.4 - half, 0.4 + half), abs=1e-6)


def test_clear_change_is_decided_by_benjamini_hochberg_across_the_table(mini, now, before):
    from xmkit.analysis.stats import benjamini_hochberg

    result = compare_waves(now, before, mini, by="unit")
    shown = result[~result["suppressed"]]
    np.testing.assert_allclose(shown["q_value"], benjamini_hochberg(shown["p_value"].to_numpy()))
    assert (result["clear"] == (result["q_value"] < 0.05)).all()
    assert shown["clear"].any() and not shown.set_index("id").loc["converge", "clear"]
    assert not result[result["suppressed"]]["clear"].any()


def test_no_true_change_gives_no_clear_change_in_a_seeded_table(mini):
    """The same 12 people answer twice with no real change: nothing is called clear."""
    rng = np.random.default_rng(2)
    latent = rng.normal(3, 0.6, 12)

    def wave():
        answers = np.clip(np.rint(latent[:, None] + rng.normal(0, 0.7, (12, 4))), 1, 5)
        meta = pd.DataFrame({"respondent_id": [f"p{i}" for i in range(12)], "unit": "A",
                             "role": "R"})  # fmt: skip
        return pd.concat([meta, pd.DataFrame(answers, columns=["a1", "a2", "a3", "c1"])], axis=1)

    result = compare_waves(wave(), wave(), mini)
    assert (result["design"] == "paired").all() and not result["clear"].any()
