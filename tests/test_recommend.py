"""Next steps: weakest first, foundations before Converge, horizons."""

import pandas as pd

from xmkit.analysis.recommend import recommend


def _scores(p1: float, p2: float, p3: float) -> pd.DataFrame:
    rows = [
        ("practice", "p1", "Practice one", "base", p1),
        ("practice", "p2", "Practice two", "base", p2),
        ("practice", "p3", "Practice three", "converge", p3),
    ]
    return pd.DataFrame(rows, columns=["level", "id", "name", "category_id", "score"])


def test_weakest_foundation_practice_comes_first(mini):
    steps = recommend(_scores(2.9, 1.4, 4.0), mini)
    assert steps["practice_id"].tolist()[:2] == ["p2", "p1"]
    first = steps.iloc[0]
    assert (first["current_level"], first["target_level"]) == (1, 2)
    assert first["action"] == "Move p2 from 1 to 2"
    assert first["horizon"] == "Next 90 days"


def test_converge_waits_until_foundations_reach_level_3(mini):
    steps = recommend(_scores(2.9, 3.5, 1.2), mini)
    assert steps["practice_id"].tolist() == ["p1", "p2", "p3"]
    converge = steps.set_index("practice_id").loc["p3"]
    assert converge["deferred"] and converge["horizon"] == "Next 12 months"


def test_converge_is_ranked_by_score_once_foundations_are_at_level_3(mini):
    steps = recommend(_scores(3.2, 3.5, 1.2), mini)
    assert steps["practice_id"].tolist() == ["p3", "p1", "p2"]
    assert not steps["deferred"].any()
    assert steps["horizon"].tolist() == ["Next 90 days", "Next 6 months", "Next 12 months"]


def test_practice_at_top_level_and_suppressed_practice_get_no_step(mini):
    steps = recommend(_scores(5.0, float("nan"), 2.0), mini)
    assert steps["practice_id"].tolist() == ["p3"]


def test_recommendations_are_made_per_group(mini):
    scores = pd.concat(
        [_scores(1.5, 2.5, 1.0).assign(unit="A"), _scores(3.5, 3.5, 3.5).assign(unit="B")]
    )
    steps = recommend(scores, mini)
    assert steps.groupby("unit")["priority"].min().tolist() == [1, 1]
    assert steps[steps["unit"] == "B"]["current_level"].tolist() == [3, 3, 3]
