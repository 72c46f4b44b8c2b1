"""Waves: the change since an earlier assessment, worked out by hand on the mini framework,
its bootstrap interval, suppression in either wave, and each unit's trend.

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
from xmkit.analysis.waves import compare_waves, trend
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
    first = compare_waves(now, before, mini, by="unit", n_boot=2000, seed=4)
    again = compare_waves(now, before, mini, by="unit", n_boot=2000, seed=4)
    pd.testing.assert_frame_equal(first, again)
    a = first[first["unit"] == "A"]
    assert (a["ci_low"] <= a["change"]).all() and (a["change"] <= a["ci_high"]).all()
    assert (a["ci_high"] - a["ci_low"] > 0).all()
    other = compare_waves(now, before, mini, by="unit", n_boot=2000, seed=5)
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
    result = compare_waves(now, before, mini, by="unit", n_boot=20000, seed=0)
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


def test_trend_lists_each_unit_over_the_waves(mini, now, before):
    waves = [
        ("2025", xmkit.score(before, mini, by="unit", n_boot=0)),
        ("2026", xmkit.score(now, mini, by="unit", n_boot=0)),
    ]
    table = trend(waves)
    a = table[table["unit"] == "A"]
    assert a["wave"].tolist() == ["2025", "2026"]
    assert a["score"].tolist() == pytest.approx([2.625, 3.3375])
    assert np.isnan(a["change"].iloc[0]) and a["change"].iloc[1] == pytest.approx(0.7125)
    assert a["stage"].tolist() == [3, 3]
    b = table[table["unit"] == "B"]
    assert b["suppressed"].all() and b["score"].isna().all() and b["change"].isna().all()
    # a unit absent from a wave has no row there, and no change across the gap
    three = trend([*waves, ("2027", xmkit.score(now[now["unit"] == "B"], mini, by="unit"))])
    assert three[three["unit"] == "A"]["wave"].tolist() == ["2025", "2026"]
    categories = trend(waves, level="category")
    assert set(categories["id"]) == {"base", "converge"}


def test_wave_and_trend_charts_draw(mini, now, before, tmp_path):
    result = compare_waves(now, before, mini, by="unit", n_boot=200)
    waves = [
        ("2025", xmkit.score(before, mini, by="unit", n_boot=0)),
        ("2026", xmkit.score(now, mini, by="unit", n_boot=0)),
    ]
    for fig in (
        wave_chart(result[result["unit"] == "A"], mini),
        wave_chart(result[result["unit"] == "B"], mini),  # suppressed: a note, no numbers
        trend_chart(trend(waves)),
    ):
        assert isinstance(fig, Figure)
        fig.savefig(tmp_path / "chart.svg")
    labels = [t.get_text() for t in wave_chart(result[result["unit"] == "A"], mini).axes[0]
              .get_yticklabels()]  # fmt: skip
    assert labels == ["Overall", "Base", "Converge"]
