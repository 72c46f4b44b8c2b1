"""Scores, index, stage, Converge cap, suppression and gaps pinned to a worked example by hand.

The mini framework (tests/data/mini_framework.yaml) has category Base (practice p1: questions
a1, a2; practice p2: question a3) and Converge (practice p3: question c1). Five respondents in
unit A (roles Exec, Front) plus one in unit B:

    id  unit role  a1 a2 a3 c1
    r1  A    Exec  5  4  3  2
    r2  A    Exec  4  4  4  2
    r3  A    Front 5  5  5  3
    r4  A    Front 4  -  4  2
    r5  A    Front 5  5  4  3
    r6  B    Exec  1  1  1  1

Unit A by hand: a1 = 23/5 = 4.6; a2 = 18/4 = 4.5 (r4 did not answer); a3 = 20/5 = 4.0;
c1 = 12/5 = 2.4. p1 = (4.6 + 4.5) / 2 = 4.55; p2 = 4.0; p3 = 2.4. Base = (4.55 + 4.0) / 2 =
4.275; Converge = 2.4. Overall = (4.275 + 2.4) / 2 = 3.3375; index = 2.3375 / 4 * 100 =
58.4375; stage 3 (2.6 <= 3.3375 < 3.4). With Base weighted 3: overall = (3 * 4.275 + 2.4) / 4
= 3.80625, stage 4, capped to 3 because Converge 2.4 < 3.0.
"""

import numpy as np
import pandas as pd
import pytest

import xmkit
from xmkit.framework import Framework


def unit_a(data: pd.DataFrame) -> pd.DataFrame:
    """Unit A alone: beside B (1 respondent) the disclosure rule hides A too, since the
    organization minus A would be B (tests/test_disclosure.py)."""
    return data[data["unit"] == "A"]


def _value(scores: pd.DataFrame, item: str, column: str = "score", unit: str = "A"):
    row = scores[(scores["unit"] == unit) & (scores["id"] == item)]
    assert len(row) == 1
    return row[column].iloc[0]


def test_scores_match_the_worked_example_at_every_level(mini, worked_example):
    scores = xmkit.score(unit_a(worked_example), mini, by="unit")
    expected = {
        "a1": 4.6,
        "a3": 4.0,
        "c1": 2.4,
        "p1": 4.55,
        "p2": 4.0,
        "p3": 2.4,
        "base": 4.275,
        "converge": 2.4,
        "overall": 3.3375,
    }
    for item, value in expected.items():
        assert _value(scores, item) == pytest.approx(value, abs=1e-12), item
    assert _value(scores, "overall", "index") == pytest.approx(58.4375)
    assert _value(scores, "a2", "n") == 4
    # a2 has 4 answers, below the minimum of 5: shown only with a lower minimum
    lower = xmkit.score(unit_a(worked_example), mini, by="unit", min_group_size=4)
    assert _value(lower, "a2") == pytest.approx(4.5, abs=1e-12)
    assert _value(scores, "overall", "n") == 5


def test_stage_follows_overall_score_without_cap_when_at_or_below_the_cap(mini, worked_example):
    overall = xmkit.score(unit_a(worked_example), mini, by="unit").query(
        "unit == 'A' and level == 'overall'"
    )
    assert overall["stage"].iloc[0] == 3
    assert overall["stage_name"].iloc[0] == "Three"
    assert not overall["capped"].iloc[0]


def test_weak_converge_caps_the_stage_and_the_cap_is_visible(mini, worked_example):
    data = mini.model_dump()
    data["categories"][0]["weight"] = 3.0
    weighted = Framework.model_validate(data)
    overall = xmkit.score(unit_a(worked_example), weighted, by="unit").query(
        "unit == 'A' and level == 'overall'"
    )
    assert overall["score"].iloc[0] == pytest.approx(3.80625)
    assert overall["stage_uncapped"].iloc[0] == 4
    assert overall["stage"].iloc[0] == 3
    assert overall["capped"].iloc[0]


def test_group_below_minimum_size_gets_no_numbers_in_any_row(mini, worked_example):
    scores = xmkit.score(worked_example, mini, by="unit")
    b = scores[scores["unit"] == "B"]
    assert b["suppressed"].all()
    numeric = ["score", "index", "ci_low", "ci_high", "rwg", "alpha"]
    assert b[numeric].isna().all().all()
    assert b["stage"].isna().all()
    assert set(b["suppressed_reason"]) == {"below minimum"}
    # A (5) is hidden too: the organization minus A would give B's answers back
    a = scores[scores["unit"] == "A"]
    assert a["suppressed"].all() and a["score"].isna().all()
    assert set(a["suppressed_reason"]) == {"complementary"}
    alone = xmkit.score(unit_a(worked_example), mini, by="unit")
    assert alone.query("suppressed")["id"].tolist() == ["a2"]


def test_question_answered_by_fewer_than_minimum_is_suppressed(mini, worked_example):
    scores = xmkit.score(unit_a(worked_example), mini, by="unit")
    assert bool(_value(scores, "a2", "suppressed"))  # 4 answers < 5
    assert np.isnan(_value(scores, "a2"))
    assert not bool(_value(scores, "p1", "suppressed"))  # 5 respondents answered p1


def test_minimum_group_size_is_configurable(mini, worked_example):
    scores = xmkit.score(worked_example, mini, by="unit", min_group_size=1)
    assert _value(scores, "overall", unit="B") == pytest.approx(1.0)
    assert _value(scores, "a2") == pytest.approx(4.5)


def test_rwg_per_practice_matches_hand_computation(mini, worked_example):
    """p1: s2(a1) = 1.2/4 = 0.3, s2(a2) = 1.0/3; mean 0.316667; sigma2_EU = (25-1)/12 = 2;
    ratio 0.1583333; rwg(2) = 2(1-r) / (2(1-r) + r) = 0.9140271. p3: 1 - 0.3/2 = 0.85."""
    scores = xmkit.score(unit_a(worked_example), mini, by="unit")
    r = (0.3 + 1 / 3) / 2 / 2
    assert _value(scores, "p1", "rwg") == pytest.approx(2 * (1 - r) / (2 * (1 - r) + r))
    assert _value(scores, "p1", "rwg") == pytest.approx(0.9140271, abs=1e-7)
    assert _value(scores, "p3", "rwg") == pytest.approx(0.85)


def test_long_layout_scores_the_same_as_wide(mini, worked_example):
    long = worked_example.melt(
        ["respondent_id", "unit", "role"], var_name="question_id", value_name="answer"
    )
    wide_scores = xmkit.score(worked_example, mini, by="unit", n_boot=0)
    long_scores = xmkit.score(long, mini, by="unit", n_boot=0)
    pd.testing.assert_series_equal(
        wide_scores["score"].reset_index(drop=True), long_scores["score"].reset_index(drop=True)
    )


def test_bootstrap_interval_is_seeded_and_brackets_the_score(mini, worked_example):
    one = xmkit.score(unit_a(worked_example), mini, by="unit", seed=7, ci_method="bootstrap")
    two = xmkit.score(unit_a(worked_example), mini, by="unit", seed=7, ci_method="bootstrap")
    pd.testing.assert_frame_equal(one, two)
    row = one.query("unit == 'A' and level in ['overall', 'category', 'practice']")
    assert (row["ci_low"] <= row["score"]).all() and (row["score"] <= row["ci_high"]).all()
    assert one.query("level == 'question'")["ci_low"].isna().all()


def test_t_interval_of_converge_by_hand(mini, worked_example):
    """Unit A's Converge is c1 alone: 2, 2, 3, 2, 3; mean 2.4, sd sqrt(0.3), se sqrt(0.3/5);
    Student's t on 4 degrees of freedom (2.776445) gives 2.4 -/+ 0.680074."""
    scores = xmkit.score(unit_a(worked_example), mini, by="unit")
    half = 2.7764451 * np.sqrt(0.3 / 5)
    assert _value(scores, "converge", "se") == pytest.approx(np.sqrt(0.3 / 5), abs=1e-12)
    assert _value(scores, "converge", "ci_low") == pytest.approx(2.4 - half, abs=1e-6)
    assert _value(scores, "converge", "ci_high") == pytest.approx(2.4 + half, abs=1e-6)
    assert _value(scores, "p3", "ci_low") == pytest.approx(2.4 - half, abs=1e-6)  # practices too


def test_icc_of_converge_across_units_by_hand(mini, worked_example):
    """c1 in A: 2, 2, 3, 2, 3 (mean 2.4); in B: 1. Grand mean 13/6; SSB = 5 (2.4 - 13/6)^2 +
    (1 - 13/6)^2 = 49/30, MSB = 49/30 (1 df); SSW = 1.2, MSW = 0.3 (4 df); k = 6/2 = 3.
    ICC(1) = (49/30 - 0.3) / (49/30 + 2 * 0.3) = 40/67; ICC(2) = (49/30 - 0.3) / (49/30) = 40/49."""
    scores = xmkit.score(worked_example, mini, by="unit")
    row = scores.query("unit == 'A' and id == 'converge'").iloc[0]
    assert row["icc1"] == pytest.approx(40 / 67)
    assert row["icc2"] == pytest.approx(40 / 49)
    assert np.isnan(xmkit.score(worked_example, mini).query("id == 'converge'")["icc1"].iloc[0])


def test_stage_span_lists_the_stages_the_overall_interval_reaches(mini, worked_example):
    """Unit A: overall 3.3375 (stage 3) with interval about 2.69 to 3.98, across the stage 4
    threshold 3.4; Converge's interval reaches 3.0, so the cap may not apply: stages 3 to 4."""
    overall = xmkit.score(unit_a(worked_example), mini, by="unit").query("unit == 'A'").iloc[0]
    assert (overall["stage"], overall["stage_low"], overall["stage_high"]) == (3, 3, 4)


def test_output_has_the_documented_columns(mini, worked_example):
    scores = xmkit.score(worked_example, mini, by=["unit", "role"])
    for column in [
        "level",
        "id",
        "name",
        "unit",
        "role",
        "n",
        "score",
        "index",
        "ci_low",
        "ci_high",
        "suppressed",
        "stage",
        "stage_name",
        "capped",
        "rwg",
        "alpha",
    ]:
        assert column in scores.columns
    assert set(scores["level"]) == {"overall", "category", "practice", "question"}


def test_perception_gap_is_flagged_only_when_both_roles_meet_minimum(mini, worked_example):
    # Unit A has Exec (2) and Front (3): both too small at 5, gaps suppressed.
    gaps = xmkit.perception_gaps(unit_a(worked_example), mini, by="unit")
    a = gaps[gaps["unit"] == "A"]
    assert a["suppressed"].all() and a["gap"].isna().all() and not a["flagged"].any()
    # With a minimum of 2: Exec Base = mean(p1, p2) with a1 4.5, a2 4, a3 3.5 -> (4.25 + 3.5)/2
    # = 3.875; Front Base: a1 14/3, a2 5, a3 13/3 -> (29/6 + 13/3) / 2 = 4.5833; gap = -0.7083.
    gaps = xmkit.perception_gaps(unit_a(worked_example), mini, by="unit", min_group_size=2)
    base = gaps.query("unit == 'A' and category_id == 'base'").iloc[0]
    assert (base["role_a"], base["role_b"]) == ("Exec", "Front")
    assert base["gap"] == pytest.approx(3.875 - (29 / 6 + 13 / 3) / 2)
    conv = gaps.query("unit == 'A' and category_id == 'converge'").iloc[0]
    assert conv["gap"] == pytest.approx(2 - 8 / 3)
    # Both reach the 0.5 threshold, but with 2 and 3 respondents their intervals include 0.
    a = gaps[gaps["unit"] == "A"]
    assert (a["ci_low"] < 0).all() and (a["ci_high"] > 0).all() and not a["flagged"].any()


def test_converge_gap_interval_is_welch_by_hand(mini, worked_example):
    """Converge: Exec 2, 2 (se 0); Front 3, 2, 3 (sd sqrt(1/3), se 1/3): gap -2/3, se 1/3,
    Welch df = (1/9)^2 / ((1/9)^2 / 2) = 2, interval -2/3 -/+ t_2 (4.302653) / 3."""
    gaps = xmkit.perception_gaps(unit_a(worked_example), mini, by="unit", min_group_size=2)
    conv = gaps.query("unit == 'A' and category_id == 'converge'").iloc[0]
    assert conv["ci_low"] == pytest.approx(-2 / 3 - 4.3026527 / 3, abs=1e-6)
    assert conv["ci_high"] == pytest.approx(-2 / 3 + 4.3026527 / 3, abs=1e-6)


def _roles(rng, shifts, size):
    rows = []
    for r, shift in enumerate(shifts):
        latent = rng.normal(3 + shift, 0.6, size)
        for i in range(size):
            answers = np.clip(np.rint(latent[i] + rng.normal(0, 0.7, 4)), 1, 5)
            rows.append((f"{r}-{i}", "U", f"Role {r}", *answers))
    return pd.DataFrame(rows, columns=["respondent_id", "unit", "role", "a1", "a2", "a3", "c1"])


def test_identical_roles_flag_no_gap(mini):
    """Five roles of five from one population: noise alone, nothing flagged (seeded)."""
    for seed in range(5):
        gaps = xmkit.perception_gaps(_roles(np.random.default_rng(seed), [0] * 5, 5), mini)
        assert len(gaps) == 20 and not gaps["flagged"].any(), seed
    assert (gaps["gap"].abs() >= 0.5).any()  # the old rule would have flagged noise


def test_a_real_gap_between_roles_is_flagged(mini):
    gaps = xmkit.perception_gaps(_roles(np.random.default_rng(1), [0, 1.5], 12), mini)
    assert gaps["flagged"].all()
    assert (gaps["p_adjusted"] >= gaps["p_value"]).all()


def test_a_breakdown_gives_each_group_the_numbers_it_gets_alone(framework):
    """All groups are computed at once; each unit's rows equal scoring that unit by itself
    (scores exactly, intervals and agreement to rounding), blank answers and all."""
    rng = np.random.default_rng(3)
    data = pd.DataFrame(
        rng.integers(1, 6, size=(120, len(framework.question_ids))).astype(float),
        columns=framework.question_ids,
    )
    data = data.mask(rng.random(data.shape) < 0.15)
    data[framework.question_ids[4]] = data[framework.question_ids[4]].where(data.index >= 40)
    data.insert(0, "unit", np.repeat(["U1", "U2", "U3"], 40))
    data.insert(1, "role", "Manager")
    together = xmkit.score(data, framework, by="unit")
    for unit in ["U1", "U2", "U3"]:
        alone = xmkit.score(data[data["unit"] == unit], framework)
        mine = together[together["unit"] == unit].reset_index(drop=True)
        assert mine["score"].equals(alone["score"]) and mine["n"].equals(alone["n"])
        assert mine["stage"].equals(alone["stage"])
        for column in ["ci_low", "ci_high", "se", "rwg", "alpha", "alpha_low", "alpha_high"]:
            np.testing.assert_allclose(mine[column], alone[column], rtol=1e-12, atol=1e-12)


def test_linear_map_of_several_groups_stacks_the_maps_of_each(framework):
    from xmkit.analysis.score import RollUp

    rollup = RollUp(framework)
    answered = np.ones((2, len(rollup.qids)), dtype=bool)
    answered[1, :3] = False  # the first practice unanswered in the second group
    maps = rollup.linear_map(answered)
    assert maps.shape == (2, len(rollup.qids), len(rollup.ids))
    np.testing.assert_array_equal(maps[1], rollup.linear_map(answered[1]))
    # each map sends question means to the scores the roll-up gives
    means = np.random.default_rng(0).uniform(1, 5, len(rollup.qids))
    np.testing.assert_allclose(means @ maps[0], rollup(means[None, :])[0])
    # (an unanswered practice has no score: its column of the map is 0)
    partial = rollup(np.where(answered[1], means, np.nan)[None, :])[0]
    np.testing.assert_allclose(means @ maps[1], np.nan_to_num(partial))
