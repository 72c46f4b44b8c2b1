"""Frameworks on any scale (1-4, 1-7, 1-9, 0-10) and reverse-coded questions.

The frameworks are the mini framework (tests/data/mini_framework.yaml) moved to another scale
by :func:`test_answers.mini_on_scale`: stages at 0, 20, 40, 60 and 80 on the 0-100 index,
Converge gate at index 50. Expected numbers are worked out by hand in each test.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path

import pandas as pd
import pytest
import yaml
from openpyxl import load_workbook
from test_answers import MINI, mini_on_scale

import xmkit
from xmkit.errors import XmkitError
from xmkit.io.questionnaire import qualtrics_txt
from xmkit.io.responses import read_responses
from xmkit.report.charts import category_chart


def answers_file(tmp_path: Path, rows: list[tuple], name: str = "answers.csv") -> Path:
    """Rows of (a1, a2, a3, c1), respondents r1, r2, ... of unit A, alternating two roles."""
    data = pd.DataFrame(rows, columns=["a1", "a2", "a3", "c1"])
    data.insert(0, "role", ["Exec" if i % 2 else "Front" for i in range(len(rows))])
    data.insert(0, "unit", "A")
    data.insert(0, "respondent_id", [f"r{i + 1}" for i in range(len(rows))])
    path = tmp_path / name
    data.to_csv(path, index=False)
    return path


def overall(scores: pd.DataFrame) -> pd.Series:
    return scores[scores["level"] == "overall"].iloc[0]


# ---- framework files ------------------------------------------------------------------------


def test_stages_written_on_the_index_land_on_the_scale(tmp_path):
    seven = xmkit.load_framework(mini_on_scale(tmp_path, 1, 7))
    # index 20 on 1-7 = 1 + 0.2 * 6 = 2.2, index 80 = 5.8; gate index 50 = 4
    assert [s.min_score for s in seven.stages] == pytest.approx([1, 2.2, 3.4, 4.6, 5.8])
    assert seven.gating.below == pytest.approx(4)
    # default perception gap: an eighth of the range, 0.75 points on 1-7 (0.5 on 1-5)
    assert seven.thresholds.perception_gap == pytest.approx(0.75)
    ten = xmkit.load_framework(mini_on_scale(tmp_path, 0, 10))
    assert [s.min_score for s in ten.stages] == pytest.approx([0, 2, 4, 6, 8])


def test_frameworks_of_todays_schema_load_unchanged(mini, framework):
    assert [s.min_score for s in mini.stages] == [1.0, 1.8, 2.6, 3.4, 4.2]
    assert mini.thresholds.perception_gap == 0.5
    assert (framework.scale.min, framework.scale.max, framework.gating.below) == (1, 5, 3.0)


def test_thresholds_of_a_1_5_framework_on_a_1_9_scale_are_refused(tmp_path):
    """Stages 1..4.2 on 1-9 would call 4.6 of 9 "Converged": the file is refused instead."""
    data = yaml.safe_load(mini_on_scale(tmp_path, 1, 9).read_text(encoding="utf-8"))
    for stage, low in zip(data["stages"], [1.0, 1.8, 2.6, 3.4, 4.2], strict=True):
        del stage["min_index"]
        stage["min_score"] = low
    path = tmp_path / "copied.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    with pytest.raises(XmkitError, match="not above the middle of the 1-9 scale"):
        xmkit.load_framework(path)


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (lambda d: d["scale"].update(max=11), "less than or equal to 10"),
        (lambda d: d["stages"][2].update(min_score=2.0), "min_score or min_index"),
        (lambda d: d["stages"][2].update(min_index=140), "from 0 to 100"),
        (lambda d: d["categories"][0]["practices"][0]["questions"][0]["levels"].pop(7), "both"),
        (lambda d: d["categories"][0]["practices"][0]["next_steps"].update({7: "x"}), "1..6"),
    ],
)
def test_a_broken_scale_is_reported_clearly(tmp_path, change, words):
    data = yaml.safe_load(mini_on_scale(tmp_path, 1, 7).read_text(encoding="utf-8"))
    change(data)
    path = tmp_path / "broken.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    with pytest.raises(XmkitError) as err:
        xmkit.load_framework(path)
    assert words in str(err.value)


def test_a_long_scale_may_describe_only_some_points(tmp_path):
    data = yaml.safe_load(mini_on_scale(tmp_path, 0, 10).read_text(encoding="utf-8"))
    data["scale"]["labels"] = {0: "Not at all", 10: "Completely"}
    for category in data["categories"]:
        for practice in category["practices"]:
            practice["next_steps"] = {0: "start", 5: "deepen"}
            for q in practice["questions"]:
                q["levels"] = {0: "nothing yet", 5: "half way", 10: "everywhere"}
    path = tmp_path / "anchors.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    fw = xmkit.load_framework(path)
    q = fw.categories[0].practices[0].questions[0]
    assert fw.choice(q, 0) == "0 - Not at all: nothing yet"
    assert fw.choice(q, 5) == "5: half way"
    assert fw.choice(q, 7) == "7"
    practice = fw.categories[0].practices[0]
    assert [practice.next_step(level) for level in (0, 4, 5, 9)] == [
        "start",
        "start",
        "deepen",
        "deepen",
    ]


# ---- scores and stages ----------------------------------------------------------------------


def test_stage_and_index_follow_a_1_7_scale(tmp_path):
    """Every answer 4 of 7: index 50, stage 3 (3.4 <= 4 < 4.6), Converge 4 is not below 4."""
    fw = xmkit.load_framework(mini_on_scale(tmp_path, 1, 7))
    data = xmkit.load_responses(answers_file(tmp_path, [(4, 4, 4, 4)] * 5), fw)
    row = overall(xmkit.score(data, fw, n_boot=0))
    assert (row["score"], row["index"], row["stage"], row["capped"]) == (4, 50, 3, False)


def test_four_point_six_of_nine_is_not_converged(tmp_path):
    """4.6 on 1-9 is index 45: stage 3 of 5 (40 <= 45 < 60), not stage 5."""
    fw = xmkit.load_framework(mini_on_scale(tmp_path, 1, 9))
    rows = [(5, 5, 5, 5)] * 3 + [(4, 4, 4, 4)] * 2  # every question 23 / 5 = 4.6
    row = overall(xmkit.score(xmkit.load_responses(answers_file(tmp_path, rows), fw), fw))
    assert row["score"] == pytest.approx(4.6)
    assert row["index"] == pytest.approx(45)
    assert row["stage"] == 3


def test_stage_index_and_gate_follow_a_0_10_scale(tmp_path):
    """Base answered 9 and Converge 3: overall (9 + 3) / 2 = 6 = index 60, stage 4, capped
    to 3 because Converge 3 is below the gate (index 50 = 5)."""
    fw = xmkit.load_framework(mini_on_scale(tmp_path, 0, 10))
    data = xmkit.load_responses(answers_file(tmp_path, [(9, 9, 9, 3)] * 5), fw)
    row = overall(xmkit.score(data, fw, n_boot=0))
    assert (row["score"], row["index"]) == (6, 60)
    assert (row["stage_uncapped"], row["stage"], row["capped"]) == (4, 3, True)
    zeros = xmkit.load_responses(answers_file(tmp_path, [(0, 0, 0, 0)] * 5), fw)
    assert overall(xmkit.score(zeros, fw, n_boot=0))["index"] == 0


def test_perception_gaps_use_the_scales_threshold(tmp_path):
    """On 1-7 the default gap is 0.75: a 1.0 gap beyond chance is flagged, no gap is not
    (gaps are flagged only when their interval excludes 0, so the answers vary a little)."""
    fw = xmkit.load_framework(mini_on_scale(tmp_path, 1, 7))
    # Front: base 5 on average, Exec: base 4; converge 4 in both roles
    rows = [(5, 5, 5, 4), (4, 4, 4, 4), (6, 6, 6, 4), (3, 3, 3, 4), (4, 4, 4, 4), (5, 5, 5, 4)]
    rows = rows * 4
    data = xmkit.load_responses(answers_file(tmp_path, rows), fw)
    gaps = xmkit.perception_gaps(data, fw).set_index("category_id")
    assert gaps.loc["base", "gap"] == pytest.approx(-1.0)
    assert bool(gaps.loc["base", "flagged"]) and not bool(gaps.loc["converge", "flagged"])


# ---- reverse-coded questions ----------------------------------------------------------------


def reversed_mini(tmp_path: Path, question: str = "a1") -> xmkit.Framework:
    data = yaml.safe_load(MINI.read_text(encoding="utf-8"))
    data = copy.deepcopy(data)
    for category in data["categories"]:
        for practice in category["practices"]:
            for q in practice["questions"]:
                q["reverse"] = q["id"] == question
    path = tmp_path / "reversed.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return xmkit.load_framework(path)


def test_a_reverse_coded_question_is_scored_min_plus_max_minus_the_answer(tmp_path, worked_example):
    """Worked example with a1 reversed: unit A's a1 answers 5, 4, 5, 4, 5 score 1, 2, 1, 2, 1
    = 1.4; p1 = (1.4 + 4.5) / 2 = 2.95; Base = (2.95 + 4.0) / 2 = 3.475; overall =
    (3.475 + 2.4) / 2 = 2.9375."""
    fw = reversed_mini(tmp_path)
    assert fw.reverse_ids == ["a1"]
    scores = xmkit.score(worked_example[worked_example["unit"] == "A"], fw, by="unit", n_boot=0)
    unit_a = scores[scores["unit"] == "A"].set_index("id")["score"]
    assert unit_a["a1"] == pytest.approx(1.4)
    assert unit_a["p1"] == pytest.approx(2.95)
    assert unit_a["overall"] == pytest.approx(2.9375)
    # the answers themselves stay as given
    assert worked_example["a1"].tolist()[:5] == [5, 4, 5, 4, 5]


def test_reverse_coding_applies_to_loaded_files_and_the_long_layout(tmp_path):
    fw = reversed_mini(tmp_path, "a3")
    data = xmkit.load_responses(answers_file(tmp_path, [(2, 2, 2, 2)] * 5), fw)
    assert data["a3"].tolist() == [2] * 5
    wide = xmkit.score(data, fw, n_boot=0).set_index("id")["score"]
    assert (wide["a3"], wide["a1"]) == (4, 2)
    long = data.melt(
        id_vars=["respondent_id", "unit", "role"], var_name="question_id", value_name="answer"
    )
    assert xmkit.score(long, fw, n_boot=0).set_index("id")["score"]["a3"] == 4


# ---- answers on part of the scale ------------------------------------------------------------


def test_answers_using_only_1_to_4_on_a_1_5_framework_warn_naming_the_columns(tmp_path, run_cli):
    rows = [(1, 2, 3, 4), (4, 3, 2, 1), (2, 2, 4, 4), (3, 1, 1, 2), (4, 4, 3, 3)]
    path = answers_file(tmp_path, rows)
    loaded = read_responses(path, xmkit.load_framework(MINI))
    assert loaded.problems == []
    (warning,) = loaded.warnings
    assert "only 1-4 of the framework's 1-5 scale" in warning.message
    assert "a1, a2, a3, c1" in warning.message
    with pytest.warns(UserWarning, match="1-4"):
        xmkit.load_responses(path, xmkit.load_framework(MINI))
    result = run_cli("validate", path, "--framework", MINI)
    assert result.returncode == 0
    assert "warning:" in result.stderr and "a1, a2, a3, c1" in result.stderr


def test_answers_reaching_the_top_of_the_scale_give_no_warning(tmp_path):
    rows = [(1, 2, 3, 4), (4, 3, 2, 1), (2, 2, 4, 4), (3, 1, 1, 2), (5, 4, 3, 3)]
    assert read_responses(answers_file(tmp_path, rows), xmkit.load_framework(MINI)).warnings == []


def test_answers_on_1_to_5_on_a_0_10_framework_warn(tmp_path):
    fw = xmkit.load_framework(mini_on_scale(tmp_path, 0, 10))
    rows = [(1, 2, 3, 4), (5, 3, 2, 1), (2, 2, 4, 4), (3, 1, 1, 2), (4, 4, 3, 5)]
    (warning,) = read_responses(answers_file(tmp_path, rows), fw).warnings
    assert "only 1-5 of the framework's 0-10 scale" in warning.message


def test_0_to_10_answers_on_a_1_5_framework_stay_an_error(tmp_path):
    rows = [(0, 7, 9, 10), (8, 6, 10, 9), (10, 9, 8, 7), (3, 2, 5, 4), (9, 10, 8, 6)]
    loaded = read_responses(answers_file(tmp_path, rows), xmkit.load_framework(MINI))
    assert any("answers look like a 0-10 scale" in p.message for p in loaded.problems)


# ---- questionnaires -------------------------------------------------------------------------


@pytest.mark.parametrize(("low", "high"), [(1, 7), (0, 10)])
def test_every_questionnaire_format_offers_every_point_of_the_scale(tmp_path, run_cli, low, high):
    fw_path = mini_on_scale(tmp_path, low, high)
    fw = xmkit.load_framework(fw_path)
    points = list(range(low, high + 1))
    out = {}
    for fmt in ("csv", "xlsx", "qualtrics", "html"):
        out[fmt] = tmp_path / f"questionnaire.{fmt}"
        result = run_cli("questionnaire", "--format", fmt, "--framework", fw_path, "-o", out[fmt])
        assert result.returncode == 0, result.stderr
    header = out["csv"].read_text(encoding="utf-8").strip().split(",")
    assert header == ["respondent_id", "unit", "role", "a1", "a2", "a3", "c1", "comment"]
    book = load_workbook(out["xlsx"])
    (validation,) = book["Responses"].data_validations.dataValidation
    assert validation.formula1 == '"' + ",".join(map(str, points)) + ",Don't know\""
    questions = book["Questions"]
    level_headers = [c.value for c in questions[1] if str(c.value).startswith("level ")]
    assert level_headers == [f"level {p}: Point {p}" for p in points]
    assert questions.cell(2, 5 + len(points) - 1).value == f"level {high} of a1"
    txt = out["qualtrics"].read_text(encoding="utf-8")
    assert txt == qualtrics_txt(fw)
    choices = txt.split("[[ID:a1]]")[1].split("[[Choices]]\n")[1].split("\n\n")[0].splitlines()
    assert choices == [f"{p} - Point {p}: level {p} of a1" for p in points]
    page = out["html"].read_text(encoding="utf-8")
    question = page.split('id="q-a1"')[1].split("</ol>")[0]
    assert re.findall(r'data-level="(\d*)"', question) == [*map(str, points), ""]


def test_questionnaire_choice_text_loads_back_as_its_point(tmp_path):
    """The choice text a survey tool exports ("6 - Point 6: level 6 of a1") is its point."""
    fw = xmkit.load_framework(mini_on_scale(tmp_path, 0, 10))
    question = fw.categories[0].practices[0].questions[0]
    texts = [fw.choice(question, p) for p in range(0, 11)]
    path = tmp_path / "text.csv"
    pd.DataFrame(
        {
            "respondent_id": [f"r{i}" for i in range(11)],
            "unit": "A",
            "role": "Exec",
            "a1": texts,
            "a2": "5",
            "a3": "5",
            "c1": "5",
        }
    ).to_csv(path, index=False)
    assert xmkit.load_responses(path, fw)["a1"].tolist() == list(range(11))


# ---- the report -----------------------------------------------------------------------------


def test_chart_axes_span_the_scale(tmp_path):
    fw = xmkit.load_framework(mini_on_scale(tmp_path, 0, 10))
    data = xmkit.load_responses(answers_file(tmp_path, [(9, 9, 9, 3)] * 5), fw)
    fig = category_chart(xmkit.score(data, fw, n_boot=0), fw)
    (ax,) = fig.axes
    assert ax.get_xlim() == (0, 10)
    assert ax.get_xlabel() == "score (0-10)"


def test_report_of_a_1_7_framework_says_out_of_7(tmp_path):
    """One real render (HTML only) of a 1-7 framework with a reverse-coded question.

    Every answer 5 of 7, a1 reversed to 3: a1 = 3, p1 = (3 + 5) / 2 = 4, Base = (4 + 5) / 2 =
    4.5, overall = (4.5 + 5) / 2 = 4.75.
    """
    data = yaml.safe_load(mini_on_scale(tmp_path, 1, 7).read_text(encoding="utf-8"))
    data["categories"][0]["practices"][0]["questions"][0]["reverse"] = True
    fw_path = tmp_path / "seven.yaml"
    fw_path.write_text(yaml.safe_dump(data), encoding="utf-8")
    responses = answers_file(tmp_path, [(5, 5, 5, 5)] * 6)
    written = xmkit.render_report(
        responses, "Scale Co", output_dir=tmp_path / "out", formats="html", framework=fw_path
    )
    page = written["html"].read_text(encoding="utf-8")
    assert "overall score of 4.75 out of 7" in page
    assert "Score (1-7)" in page
    assert "Reverse-coded questions (a1)" in page
    assert "scored 1 + 7 - a" in page
