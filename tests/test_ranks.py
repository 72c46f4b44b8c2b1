"""Rank ranges from overlapping intervals (xmkit.analysis.ranks), against a hand-worked table."""

import pandas as pd

from xmkit.analysis.ranks import rank_label, rank_ranges


def test_rank_ranges_of_a_hand_worked_league_table():
    # A [2.40, 2.70] and B [2.30, 2.60] overlap; C [1.90, 2.35] overlaps B but not A;
    # D [1.00, 1.50] lies below everyone. By hand:
    #   A: nobody wholly above -> best 1; C (high 2.35 < A's low 2.40) and D wholly below
    #      -> worst 4 - 2 = 2.
    #   B: best 1; only D wholly below (C's high 2.35 >= B's low 2.30) -> worst 3.
    #   C: A wholly above -> best 2; D wholly below -> worst 3.
    #   D: A, B, C wholly above -> best 4, worst 4.
    frame = pd.DataFrame(
        {
            "score": [2.55, 2.45, 2.10, 1.25],
            "low": [2.40, 2.30, 1.90, 1.00],
            "high": [2.70, 2.60, 2.35, 1.50],
        },
        index=list("ABCD"),
    )
    ranks = rank_ranges(frame["score"], frame["low"], frame["high"])
    assert ranks.to_dict("index") == {
        "A": {"rank_best": 1, "rank_worst": 2},
        "B": {"rank_best": 1, "rank_worst": 3},
        "C": {"rank_best": 2, "rank_worst": 3},
        "D": {"rank_best": 4, "rank_worst": 4},
    }
    assert [rank_label(*r) for r in ranks.itertuples(index=False)] == [
        "1\u20132",
        "1\u20133",
        "2\u20133",
        "4",
    ]


def test_a_group_without_an_interval_counts_as_its_point_score():
    score = pd.Series([3.0, 2.0])
    ranks = rank_ranges(score, pd.Series([float("nan"), 1.5]), pd.Series([float("nan"), 2.5]))
    assert ranks["rank_best"].tolist() == [1, 2] and ranks["rank_worst"].tolist() == [1, 2]
