"""Answers as people word them: label sets, numbers with labels, missing wordings, codes.

Every test loads a real CSV file through :func:`xmkit.load_responses` (or the CLI), with the
mini framework (questions a1, a2, a3, c1) on its 1-5 scale or moved to another scale. The
expected points are written out by hand here, not read from the label file.
"""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

import xmkit
from xmkit.errors import XmkitError
from xmkit.io.answers import AnswerParser, answer_labels, parse_answer_labels
from xmkit.io.metrics import nps
from xmkit.io.responses import read_responses

MINI = Path(__file__).parent / "data" / "mini_framework.yaml"


def write_answers(tmp_path: Path, column: list[str], name: str = "answers.csv") -> Path:
    """A wide file: ``column`` as the answers to a1, every other question answered 3."""
    n = len(column)
    data = pd.DataFrame(
        {
            "respondent_id": [f"r{i}" for i in range(n)],
            "unit": "A",
            "role": "Exec",
            "a1": column,
            "a2": "3",
            "a3": "3",
            "c1": "3",
        }
    )
    path = tmp_path / name
    data.to_csv(path, index=False)
    return path


def mini_on_scale(tmp_path: Path, low: int, high: int) -> Path:
    """The mini framework moved to the low..high scale (ends labelled, stages on the index)."""
    data = yaml.safe_load(MINI.read_text(encoding="utf-8"))
    data = copy.deepcopy(data)
    data["scale"]["min"], data["scale"]["max"] = low, high
    data["scale"]["labels"] = {p: f"Point {p}" for p in range(low, high + 1)}
    data["gating"] = {"category": "converge", "below_index": 50, "max_stage": 3}
    del data["thresholds"]["perception_gap"]  # the scale's default
    for i, stage in enumerate(data["stages"]):
        del stage["min_score"]
        stage["min_index"] = 20 * i
    for category in data["categories"]:
        for practice in category["practices"]:
            practice["next_steps"] = {p: f"step from {p}" for p in range(low, high)}
            for q in practice["questions"]:
                q["levels"] = {p: f"level {p} of {q['id']}" for p in range(low, high + 1)}
    path = tmp_path / f"mini_{low}_{high}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def a1(tmp_path: Path, column: list[str], framework=None) -> list[float]:
    data = xmkit.load_responses(
        write_answers(tmp_path, column), framework or xmkit.load_framework(MINI)
    )
    return data["a1"].tolist()


FIVE_POINT_FAMILIES = {
    "agreement": [
        "Strongly disagree",
        "Disagree",
        "Neither agree nor disagree",
        "Agree",
        "Strongly agree",
    ],
    "agreement (neutral, somewhat)": [
        "Strongly disagree",
        "Somewhat disagree",
        "Neutral",
        "Somewhat agree",
        "Strongly agree",
    ],
    "agreement (slightly)": [
        "strongly disagree",
        "Slightly disagree",
        "NEUTRAL",
        "Slightly agree",
        "Strongly Agree",
    ],
    "frequency": ["Never", "Rarely", "Sometimes", "Often", "Always"],
    "extent": [
        "Not at all",
        "To a small extent",
        "To a moderate extent",
        "To a large extent",
        "To a very large extent",
    ],
    "quality (very poor .. very good)": ["Very poor", "Poor", "Fair", "Good", "Very good"],
    "quality (poor .. excellent)": ["Poor", "Fair", "Good", "Very good", "Excellent"],
    "satisfaction": [
        "Very dissatisfied",
        "Dissatisfied",
        "Neither satisfied nor dissatisfied",
        "Satisfied",
        "Very satisfied",
    ],
    "likelihood": [
        "Very unlikely",
        "Unlikely",
        "Neither likely nor unlikely",
        "Likely",
        "Very likely",
    ],
    "ease": [
        "Very difficult",
        "Difficult",
        "Neither easy nor difficult",
        "Easy",
        "Very easy",
    ],
}


@pytest.mark.parametrize("family", list(FIVE_POINT_FAMILIES))
def test_each_wording_family_reads_as_points_1_to_5(tmp_path, family):
    assert a1(tmp_path, FIVE_POINT_FAMILIES[family]) == [1, 2, 3, 4, 5]


def test_the_same_wording_reads_by_the_set_its_column_uses(tmp_path):
    """ "Fair" is 3 next to "Very poor" and 2 next to "Excellent"."""
    assert a1(tmp_path, ["Fair", "Very poor", "Good"]) == [3, 1, 4]
    assert a1(tmp_path, ["Fair", "Excellent", "Good"]) == [2, 5, 3]


def test_a_wording_two_sets_read_differently_is_reported_not_guessed(tmp_path):
    loaded = read_responses(write_answers(tmp_path, ["Fair", "Good"]), xmkit.load_framework(MINI))
    messages = {p.value: p.message for p in loaded.problems}
    assert set(messages) == {"Fair", "Good"}
    assert "more than one answer scale" in messages["Fair"]


def test_seven_point_agreement_is_used_only_on_a_seven_point_framework(tmp_path):
    seven = xmkit.load_framework(mini_on_scale(tmp_path, 1, 7))
    words = [
        "Strongly disagree",
        "Disagree",
        "Somewhat disagree",
        "Neither agree nor disagree",
        "Slightly agree",
        "Agree",
        "Strongly agree",
    ]
    assert a1(tmp_path, words, seven) == [1, 2, 3, 4, 5, 6, 7]
    # on 1-5 "Somewhat agree" is the 4th point, on 1-7 the 5th
    assert a1(tmp_path, ["Somewhat agree", "Neutral"]) == [4, 3]
    assert a1(tmp_path, ["Somewhat agree", "Neutral"], seven) == [5, 4]
    four = xmkit.load_framework(mini_on_scale(tmp_path, 1, 4))
    assert a1(tmp_path, ["Strongly disagree", "Disagree", "Agree", "Strongly agree"], four) == [
        1,
        2,
        3,
        4,
    ]


def test_wordings_are_not_read_on_a_scale_without_a_set_of_its_size(tmp_path):
    """No label set has 11 points: "Agree" on a 0-10 framework is an error, not a guess."""
    ten = xmkit.load_framework(mini_on_scale(tmp_path, 0, 10))
    loaded = read_responses(write_answers(tmp_path, ["Agree", "7"]), ten)
    (problem,) = loaded.problems
    assert problem.value == "Agree"
    assert "not a number" in problem.message


@pytest.mark.parametrize(
    ("cell", "point"),
    [
        ("3 - Defined", 3),
        ("4 = Very good: works across every unit", 4),
        ("4. Slightly disagree", 4),
        ("(4) Often", 4),
        ("4) Often", 4),
        ("[2] Rarely", 2),
        ("5 – Leading", 5),
        ("Agree (4)", 4),
        ("1:Absent", 1),
        ("  2  ", 2),
    ],
)
def test_numbers_with_labels_read_as_their_number(tmp_path, cell, point):
    assert a1(tmp_path, [cell, "1"]) == [point, 1]


@pytest.mark.parametrize(
    "cell",
    [
        "I don't know",
        "I don’t know",
        "Don't know / not sure",
        "Not applicable",
        "Not applicable to my role",
        "N/A",
        "n/a - not my area",
        "Unfamiliar (N/A)",
        "Prefer not to say",
        "No answer",
        "Not sure",
    ],
)
def test_missing_wordings_are_missing_never_zero(tmp_path, cell):
    values = a1(tmp_path, [cell, "2"])
    assert np.isnan(values[0]) and values[1] == 2


def test_a_real_non_number_is_reported_without_suggesting_dont_know(tmp_path):
    loaded = read_responses(write_answers(tmp_path, ["banana", "2"]), xmkit.load_framework(MINI))
    (problem,) = loaded.problems
    assert (problem.row, problem.column, problem.value) == (2, "a1", "banana")
    assert "not a number" in problem.message
    assert "don't know" not in str(problem).lower()
    assert "1 to 5" in problem.expected


def test_limesurvey_answer_codes_are_the_options_in_order(tmp_path):
    assert a1(tmp_path, ["A1", "A2", "A3", "A4", "A5", "AO03"]) == [1, 2, 3, 4, 5, 3]
    ten = xmkit.load_framework(mini_on_scale(tmp_path, 0, 10))
    assert a1(tmp_path, ["A1", "A11"], ten) == [0, 10]


def test_a_limesurvey_code_beyond_the_scale_is_reported(tmp_path):
    loaded = read_responses(write_answers(tmp_path, ["A6", "A2"]), xmkit.load_framework(MINI))
    (problem,) = loaded.problems
    assert problem.value == "A6"
    assert "LimeSurvey answer code" in problem.message


def test_cli_validates_a_file_of_worded_answers(tmp_path, run_cli):
    words = FIVE_POINT_FAMILIES["agreement"] + ["Don't know / not sure"]
    result = run_cli("validate", write_answers(tmp_path, words), "--framework", MINI)
    assert result.returncode == 0, result.stderr
    assert "valid" in result.stdout


def test_the_shipped_label_file_is_valid_and_has_every_family():
    ids = {s.id for s in answer_labels().sets}
    for family in ("agreement", "frequency", "extent", "quality", "satisfaction", "likelihood"):
        assert any(i.startswith(family) for i in ids), family
    assert {"agreement_5", "agreement_7", "ease_5"} <= ids


def test_a_label_file_with_a_wording_on_two_points_is_refused():
    text = """
missing: []
missing_prefixes: []
missing_na_length: 10
label_sets:
  - id: broken
    name: broken
    points: [[agree], [Agree]]
"""
    with pytest.raises(XmkitError, match="is on points 1 and 2"):
        parse_answer_labels(text, "labels.yaml")


def test_parser_reports_the_label_set_of_a_column():
    parser = AnswerParser(1, 5)
    assert parser.label_set(["Often", "Never", "3", "N/A"]).id == "frequency_5"
    assert parser.label_set(["1", "2"]) is None


def test_enps_answers_use_the_same_wordings():
    assert nps(["10 - Extremely likely", "Don't know / not sure", "(0) Not at all likely"]) == 0
