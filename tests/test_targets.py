"""Targets: parsing with located problems, gaps by hand, and next steps reordered by the gap.

Mini framework (tests/data/mini_framework.yaml): Base = p1, p2; Converge = p3 (the later
category: its steps wait until p1 and p2 reach level 3). Roadmap horizons: Next 90 days (1
step), Next 6 months (1), Next 12 months (the rest).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import xmkit
from xmkit.analysis.recommend import recommend
from xmkit.analysis.targets import apply_targets, parse_targets, target_gaps
from xmkit.errors import XmkitError


def _scores(p1: float, p2: float, p3: float, **group) -> pd.DataFrame:
    rows = [
        ("practice", "p1", "Practice one", "base", p1),
        ("practice", "p2", "Practice two", "base", p2),
        ("practice", "p3", "Practice three", "converge", p3),
    ]
    table = pd.DataFrame(rows, columns=["level", "id", "name", "category_id", "score"])
    return table.assign(**group)


def test_targets_by_practice_category_and_all_with_level_semantics(mini):
    table = parse_targets(
        {"all": {"level": 3}, "base": {"score": 3.5}, "p1": {"stage": 4}, "p3": 2.5}, mini
    ).set_index("practice_id")
    # p1: its own target, stage 4 read as level 4 = score 4.0; p2: its category's; p3: a bare
    # number is a score
    assert table["target_score"].to_dict() == {"p1": 4.0, "p2": 3.5, "p3": 2.5}
    assert table["kind"].to_dict() == {"p1": "level", "p2": "score", "p3": "score"}
    assert table["source"].to_dict() == {"p1": "p1", "p2": "base", "p3": "p3"}
    only_all = parse_targets({"all": {"level": 3}}, mini)
    assert only_all["target_score"].tolist() == [3.0, 3.0, 3.0]
    assert parse_targets(None, mini).empty


BAD_TARGETS = {
    # name: (targets, column, value, words in the message, words in expected)
    "unknown practice": ({"p9": {"level": 3}}, "targets.p9", "p9", "unknown practice id", "p1"),
    "level above the scale": ({"p1": {"level": 6}}, "targets.p1.level", "6", "level", "2 to 5"),
    "level 1 (already reached)": ({"p1": {"level": 1}}, "targets.p1.level", "1", "level", "2"),
    "fractional level": ({"p1": {"level": 3.5}}, "targets.p1.level", "3.5", "level", "whole"),
    "score out of range": ({"p2": {"score": 7}}, "targets.p2.score", "7", "out of range", "1 to 5"),
    "score not a number": ({"p2": {"score": "high"}}, "targets.p2.score", "high", "not a number",
                           "number"),
    "both kinds": ({"p1": {"score": 3, "level": 4}}, "targets.p1", None, "not both", "score"),
    "unknown kind": ({"p1": {"grade": 4}}, "targets.p1.grade", None, "unknown target kind",
                     "score, level or stage"),
}  # fmt: skip


@pytest.mark.parametrize("case", list(BAD_TARGETS))
def test_each_bad_target_is_a_located_problem(mini, case):
    targets, column, value, words, expected = BAD_TARGETS[case]
    with pytest.raises(XmkitError) as info:
        parse_targets(targets, mini, file="assessment.yaml")
    (problem,) = info.value.problems
    assert problem.file == "assessment.yaml"
    assert problem.column == column
    if value is not None:
        assert problem.value == value
    assert words in problem.message
    assert expected in problem.expected


def test_every_bad_target_is_reported_at_once(mini):
    with pytest.raises(XmkitError) as info:
        parse_targets({"nope": 3, "p1": {"level": 9}, "p2": 3.0}, mini)
    assert [p.column for p in info.value.problems] == ["targets.nope", "targets.p1.level"]
    with pytest.raises(XmkitError):
        parse_targets(["p1", 3], mini)


def test_gaps_by_hand(mini):
    gaps = target_gaps(_scores(2.9, 1.4, 4.0), {"p1": {"level": 4}, "p3": 3.5}, mini)
    gaps = gaps.set_index("practice_id")
    # p1: 4.0 - 2.9 = 1.1 below target; p2: no target; p3: 3.5 - 4.0 = -0.5, met
    assert gaps.loc["p1", "gap"] == pytest.approx(1.1)
    assert np.isnan(gaps.loc["p2", "gap"]) and pd.isna(gaps.loc["p2", "met"])
    assert gaps.loc["p3", "gap"] == pytest.approx(-0.5)
    assert gaps["met"].tolist()[::2] == [False, True]


def test_worked_example_orders_by_gap_and_drops_practices_at_target(mini):
    scores = _scores(2.9, 1.4, 4.0)
    steps = recommend(scores, mini)
    # without targets: weakest first (p2 1.4, p1 2.9), then p3 (deferred: p1 is at level 2)
    assert steps["practice_id"].tolist() == ["p2", "p1", "p3"]
    targets = {"p1": {"level": 4}, "p2": {"score": 2.0}, "p3": {"score": 3.5}}
    # gaps: p1 4.0 - 2.9 = 1.1; p2 2.0 - 1.4 = 0.6; p3 3.5 - 4.0 < 0 (met)
    planned = apply_targets(steps, scores, targets, mini)
    assert planned["practice_id"].tolist() == ["p1", "p2"]
    assert planned["gap"].tolist() == pytest.approx([1.1, 0.6])
    assert planned["priority"].tolist() == [1, 2]
    assert planned["horizon"].tolist() == ["Next 90 days", "Next 6 months"]
    # the step itself is unchanged: p1 goes from level 2 to 3 with the framework's text
    first = planned.iloc[0]
    assert (first["current_level"], first["target_level"]) == (2, 3)
    assert first["action"] == "Move p1 from 2 to 3"
    assert first["target_score"] == 4.0

    kept = apply_targets(steps, scores, targets, mini, met="last")
    assert kept["practice_id"].tolist() == ["p1", "p2", "p3"]
    assert kept["horizon"].tolist() == ["Next 90 days", "Next 6 months", "Next 12 months"]


def test_deferred_converge_step_stays_last_whatever_its_gap(mini):
    scores = _scores(2.9, 3.5, 1.2)  # p1 below level 3: p3 (Converge) waits
    steps = recommend(scores, mini)
    planned = apply_targets(steps, scores, {"all": {"level": 4}}, mini)
    # gaps: p3 4 - 1.2 = 2.8 is the largest, but deferred; then p1 1.1 before p2 0.5
    assert planned["practice_id"].tolist() == ["p1", "p2", "p3"]
    assert planned.set_index("practice_id").loc["p3", "horizon"] == "Next 12 months"
    assert planned["deferred"].tolist() == [False, False, True]


def test_practices_without_a_target_follow_the_targeted_ones(mini):
    scores = _scores(3.2, 3.5, 1.2)  # foundations at level 3: nothing deferred
    steps = recommend(scores, mini)
    assert steps["practice_id"].tolist() == ["p3", "p1", "p2"]
    planned = apply_targets(steps, scores, {"p2": {"level": 5}}, mini)
    # p2 (gap 1.5) first; p3 and p1 keep their order from recommend()
    assert planned["practice_id"].tolist() == ["p2", "p3", "p1"]
    assert planned["horizon"].tolist() == ["Next 90 days", "Next 6 months", "Next 12 months"]
    assert planned["gap"].isna().tolist() == [False, True, True]


def test_targets_reorder_each_group_separately(mini):
    scores = pd.concat([_scores(1.5, 2.5, 1.0, unit="A"), _scores(3.5, 3.2, 3.5, unit="B")])
    steps = recommend(scores, mini)
    planned = apply_targets(steps, scores, {"p1": {"level": 4}, "p2": {"level": 3}}, mini)
    a = planned[planned["unit"] == "A"]
    # A: p1 gap 2.5, p2 gap 0.5, p3 deferred and untargeted
    assert a["practice_id"].tolist() == ["p1", "p2", "p3"]
    b = planned[planned["unit"] == "B"]
    # B: p1 gap 0.5; p2 3.2 >= 3 is met and dropped; p3 untargeted
    assert b["practice_id"].tolist() == ["p1", "p3"]
    assert b["priority"].tolist() == [1, 2]
    assert list(planned.columns[:2]) == ["unit", "priority"]


def test_example_targets_parse_against_the_bundled_framework():
    framework = xmkit.load_framework()
    proposed = {
        "all": {"level": 3},
        "anchor_metrics": {"level": 4},
        "ex_drivers": {"score": 3.5},
        "joint_reviews": {"score": 3.5},
    }
    table = parse_targets(proposed, framework)
    assert len(table) == 12
    assert table.set_index("practice_id").loc["anchor_metrics", "target_score"] == 4.0


def test_target_status_allows_for_the_interval():
    from xmkit.analysis.targets import target_status

    assert target_status(3.0, 3.4, 3.1, 3.7) == "met"
    assert target_status(3.0, 2.5, 2.2, 2.8) == "not met"
    assert target_status(3.0, 3.2, 2.8, 3.6) == "too close to call"
    assert target_status(3.0, 2.9, 2.6, 3.2) == "too close to call"
    assert target_status(3.0, 3.2, float("nan"), float("nan")) == "met"  # no interval: point
    assert target_status(float("nan"), 3.2, 2.8, 3.6) is None


def test_worked_example_targets_are_too_close_to_call_with_five_respondents(mini, worked_example):
    """Unit A, p1 = 4.55 with an interval of about 3.93 to 5.17: a target of 4 is too close
    to call, a target of 3.5 is met, and p3 = 2.4 (1.72 to 3.08) misses a target of 3.5.
    (Unit A alone: beside unit B of one respondent the disclosure rule would hide it.)"""
    scores = xmkit.score(worked_example[worked_example["unit"] == "A"], mini, by="unit")
    gaps = target_gaps(scores, {"p1": 4.0, "p2": 3.0, "p3": 3.5}, mini)
    a = gaps[gaps["unit"] == "A"].set_index("practice_id")
    assert a.loc["p1", "status"] == "too close to call" and bool(a.loc["p1", "met"])
    assert a.loc["p3", "status"] == "not met"
    met = target_gaps(scores, {"p1": 3.5}, mini)
    assert met.query("unit == 'A' and practice_id == 'p1'")["status"].iloc[0] == "met"
