"""Each finding sentence of a report comes only from its decision (xmkit.report.findings)."""

from __future__ import annotations

import numpy as np
import pandas as pd

import xmkit
from xmkit.report import findings


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
