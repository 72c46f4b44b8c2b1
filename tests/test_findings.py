"""Each finding sentence of a report comes only from its decision (xmkit.report.findings)."""

from __future__ import annotations

import numpy as np
import pandas as pd

import xmkit
from xmkit.report import findings, views


def test_stage_phrase_lists_every_stage_the_interval_spans():
    assert findings.stage_phrase(3, 3, 3) == "stage 3"
    assert findings.stage_phrase(3, 2, 3) == "stage 3; could be 2 or 3"
    assert findings.stage_phrase(3, 2, 4) == "stage 3; could be 2, 3 or 4"
    assert findings.stage_phrase(2, pd.NA, pd.NA) == "stage 2"


def _best(linked: bool, r: float = 0.45) -> pd.Series:
    return pd.Series(
        {
            "lag": 2,
            "r": r,
            "ci_low_adj": 0.1 if linked else -0.2,
            "ci_high_adj": 0.7,
            "n_lags": 4,
            "n_units": 40,
            "n_pairs": 400,
            "linked": linked,
        }
    )


def test_a_link_is_stated_only_when_the_adjusted_interval_excludes_zero():
    linked = findings.link_sentence(_best(True), "engagement", "NPS", "quarter")
    assert "tends to be higher 2 quarters later" in linked and "4 lags tested" in linked
    unclear = findings.link_sentence(_best(False), "engagement", "NPS", "quarter")
    assert "no clear evidence" in unclear and "tends to be" not in unclear


def _gaps(flagged: bool) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "category": ["Analyze"],
            "role_a": ["Executive"],
            "role_b": ["Frontline"],
            "score_a": [3.6],
            "score_b": [2.8],
            "gap": [0.8],
            "ci_low": [0.3 if flagged else -0.1],
            "ci_high": [1.3],
            "flagged": [flagged],
            "suppressed": [False],
        }
    )


def test_a_gap_is_stated_only_when_flagged(mini, worked_example):
    quiet = findings.gap_summary(_gaps(False), 0.5)
    assert quiet.startswith("No perception gap between roles stands out")
    loud = findings.gap_summary(_gaps(True), 0.5)
    assert "Executive role rate Analyze 0.80 points higher than Frontline" in loud
    assert "(95% interval 0.30 to 1.30)" in loud
    withheld = _gaps(True).assign(suppressed=True, gap=np.nan)
    assert findings.gap_summary(withheld, 0.5) is None
    one_role = xmkit.perception_gaps(worked_example.head(1), mini, min_group_size=1)
    assert one_role.empty and findings.gap_summary(one_role, 0.5) is None


def test_a_change_is_called_clear_only_by_its_q_value():
    def row(clear: bool) -> pd.Series:
        numbers = {"score_before": 3.0, "score_now": 3.4, "change": 0.4, "ci_low": 0.05}
        return pd.Series({**numbers, "ci_high": 0.75, "clear": clear})

    # the same interval excludes 0 in both: only the table-wide decision calls it clear
    assert "not a clear change" in findings.change_sentence(row(False), "X", "2025")
    assert findings.change_sentence(row(True), "X", "2025").endswith("a clear change.")
    assert findings.change_reading(row(False)) == "" and findings.change_reading(row(True))
    assert "paired" in findings.design_note("paired", 30)
    assert "independent" in findings.design_note("independent")


def test_target_headline_counts_the_three_statuses():
    gaps = pd.DataFrame(
        {
            "status": ["met", "not met", "too close to call", "too close to call", None],
            "target_score": [3.0, 3.0, 3.0, 3.0, np.nan],
        }
    )
    text = findings.target_headline(gaps)
    assert text.startswith("1 of 5 practices at target, 1 below, 2 too close to call")
    assert text.endswith("1 practice(s) have no target.")
    assert findings.target_label("too close to call") == "too close to call"


def test_agreement_names_the_uniform_null_and_reads_icc(mini, worked_example):
    scores = xmkit.score(worked_example, mini)
    units = xmkit.score(worked_example, mini, by="unit", min_group_size=1)
    view = findings.agreement_view(scores, units, mini)
    assert "uniform null" in view["rwg_sentence"]
    assert "broadly agree" not in view["rwg_sentence"]
    assert [name for name, _ in view["alpha"]] == ["Base"]  # Converge has a single item
    assert "(95% interval " in view["alpha"][0][1]
    # Converge: ICC(2) = 40/49 (tests/test_score.py); Base by hand: MSB = 8.802, MSW = 0.25,
    # ICC(2) = 0.9716. Both reach 0.7, so unit averages are read as reliable.
    icc = {name: i2 for name, _, i2 in view["icc"]}
    assert abs(icc["Converge"] - 40 / 49) < 1e-12 and abs(icc["Base"] - 0.97160) < 1e-4
    assert view["icc_sentence"].startswith("Unit averages are reliable")
    assert findings.agreement_view(scores, None, mini)["icc_sentence"] is None
    weak = units.assign(icc2=np.where(units["id"] == "base", 0.5, units["icc2"]))
    sentence = findings.agreement_view(scores, weak, mini)["icc_sentence"]
    assert sentence.startswith("Unit averages of Base are not reliable")


def test_reliability_note_and_nps_text():
    note = findings.reliability_note([{"metric": "NPS", "median_n": 10, "reliability": 0.4}, None])
    assert "NPS rests on a median of 10 answers" in note and "60%" in note
    assert findings.reliability_note([None]) is None
    assert findings.nps_text(32, 10, 52) == "+32 (95% interval +10 to +52)"


# ---- the executive summary's sentences ---------------------------------------------------


def test_shown_differences_are_worked_out_from_the_shown_values():
    # 3.534 - 2.946 = 0.588 would show as +0.59 beside 3.53 and 2.95 (3.53 - 2.95 = 0.58)
    assert (f"{3.534:.2f}", f"{2.946:.2f}") == ("3.53", "2.95")
    assert f"{3.534 - 2.946:+.2f}" == "+0.59"  # what the unrounded difference would show
    assert views.difference_text(3.534, 2.946) == "+0.58"
    assert views.difference_text(2.946, 3.534) == "-0.58"
    assert views.difference_text(2.95, 2.951) == "+0.00"
    assert views.difference_text(np.nan, 1.0) == ""
    row = pd.Series(
        {"category": "Analyze", "role_a": "A", "role_b": "B", "score_a": 3.534, "score_b": 2.946}
    )
    gap = findings.gap_item(
        pd.concat([row, pd.Series({"gap": 0.588, "ci_low": 0.3, "ci_high": 0.9})])
    )
    assert "rate Analyze 0.58 points higher than B" in gap
    change = pd.Series(
        {"score_before": 2.946, "score_now": 3.534, "change": 0.588, "ci_low": 0.1, "ci_high": 1.0}
    )
    assert "from 2.95 in 2025 to 3.53: a change of +0.58" in findings.change_sentence(
        change, "X", "2025"
    )
    assert "(+0.58)" in findings.progress_summary(change, "2025")


def _practices(scores: dict[str, float]) -> pd.DataFrame:
    return pd.DataFrame({"name": list(scores), "score": list(scores.values())})


def test_the_stage_description_is_framed_as_typical_and_qualified_by_lower_practices(framework):
    stage = framework.stages[2]  # stage 3
    text = findings.typical_stage(stage, _practices({"A": 3.4, "B": 2.9, "C": 2.2, "D": 3.0}))
    assert text.startswith(f'Stage 3, {stage.name}, typically means: "{stage.description}"')
    assert text.endswith(" Here, B and C still sit at level 2.")
    mixed = findings.typical_stage(stage, _practices({"A": 3.4, "B": 1.5, "C": 2.2}))
    assert mixed.endswith(" Here, B and C still sit below level 3.")
    clean = findings.typical_stage(stage, _practices({"A": 3.4, "B": 3.0}))
    assert clean.endswith(f'{stage.description}"')
    many = {f"P{i}": 2.0 + i / 100 for i in range(findings.TYPICAL_EXCEPTIONS + 1)}
    counted = findings.typical_stage(stage, _practices({**many, "Top": 4.0}))
    assert "Here, 7 of 8 practices still sit at level 2; the lowest are P0, P1 and P2" in counted


def test_strongest_and_weakest_names_every_tied_item():
    rows = _practices({"A": 3.204, "B": 3.196, "C": 2.5})  # A and B both show 3.20
    assert findings.strongest_and_weakest(rows, "practice") == (
        "Strongest practice: A and B (3.20); weakest: C (2.50)."
    )
    assert findings.strongest_and_weakest(rows.head(1), "practice") is None


def test_agreement_summary_speaks_of_differing_views_when_most_practices_disagree(framework):
    ids = [p.name for c in framework.categories for p in c.practices]
    rwg = [0.41, 0.66, 0.5, 0.55, 0.6, 0.62, 0.45, 0.58, 0.64, 0.52, 0.61, 0.9]
    scores = pd.DataFrame({"level": "practice", "name": ids, "rwg": rwg})
    split = findings.agreement_summary(scores, framework)
    assert split.startswith(
        "Respondents do not share a view on 11 of 12 practices (r_wg 0.41-0.66, below 0.7): "
        "read the scores as an average of differing views"
    )
    few = findings.agreement_summary(scores.assign(rwg=[0.5, 0.6, *[0.9] * 10]), framework)
    assert few.startswith(f"Respondents see {ids[0]} and {ids[1]} very differently (r_wg 0.50-0.60")
    none = findings.agreement_summary(scores.assign(rwg=0.9), framework)
    assert none == (
        "No practice shows marked disagreement among respondents (r_wg of at least 0.7 on all 12)."
    )
    assert findings.agreement_summary(scores.assign(rwg=np.nan), framework) is None
