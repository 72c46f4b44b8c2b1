"""Client metrics: NPS and eNPS by hand, period normalization, and a located problem for every
kind of bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from xmkit.errors import XmkitError
from xmkit.io.metrics import (
    load_metrics,
    metrics_from_answers,
    nps,
    period_index,
    read_metrics,
)

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE_METRICS = ROOT / "assessments" / "example" / "metrics.csv"

GOOD = """unit,period,metric,value
North,2024-Q1,engagement,71.5
North,2024-Q1,NPS,32
North,2024-Q2,engagement,73
North,2024-Q2,NPS,35
South,2024-Q1,engagement,64.2
South,2024-Q2,NPS,28
"""


def write(tmp_path: Path, text: str, name: str = "metrics.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# ---- NPS ----------------------------------------------------------------------------------


def test_nps_matches_the_hand_count():
    # promoters (9-10): 10, 9, 9, 10 -> 4; passives (7-8): 8, 7; detractors (0-6): 6, 5, 0, 3
    # -> 4; NPS = 100 * (4 - 4) / 10 = 0
    assert nps([10, 9, 9, 8, 7, 6, 5, 0, 10, 3]) == 0.0
    # promoters 10, 10, 9 -> 3; detractors 2 -> 1; n = 6: 100 * (3 - 1) / 6 = 33.33...
    assert nps([10, 10, 9, 8, 7, 2]) == pytest.approx(100 * 2 / 6)
    # an eNPS question: promoters 9, 10 -> 2; detractors 4 -> 1; n = 5: 100 * 1 / 5 = 20
    assert nps([9, 7, 7, 4, 10]) == pytest.approx(20.0)
    assert nps([0, 1, 6]) == -100.0
    assert nps([9, 10]) == 100.0


def test_nps_leaves_blanks_out_and_is_nan_without_answers():
    assert nps([10, None, 0, float("nan"), 9]) == pytest.approx(100 * (2 - 1) / 3)
    assert np.isnan(nps([]))
    assert np.isnan(nps([None, float("nan")]))


@pytest.mark.parametrize(
    ("bad", "message"),
    [(11, "answer out of range"), (-1, "answer out of range"), (7.5, "not a whole number")],
)
def test_nps_answer_outside_0_to_10_is_a_problem(bad, message):
    with pytest.raises(XmkitError) as info:
        nps([10, 9, bad])
    (problem,) = info.value.problems
    assert message in problem.message
    assert problem.value == str(bad)
    assert "0 to 10" in problem.expected


# ---- raw 0-10 answers -> NPS / eNPS per unit and period -----------------------------------


def test_metrics_from_wide_answers_compute_nps_and_enps_per_unit_and_period():
    raw = pd.DataFrame(
        {
            "respondent_id": ["a", "b", "c", "d", "e", "f"],
            "unit": ["North", "North", "North", "North", "South", "South"],
            "period": ["2024-Q1", "2024-Q1", "2024-Q1", "2024 Q2", "2024-Q1", "2024-Q1"],
            "NPS": [10, 9, 3, 8, 10, None],
            "eNPS": [7, 9, 9, 0, 6, 6],
        }
    )
    out = metrics_from_answers(raw, min_group_size=1)  # the arithmetic, on groups of 1 to 3
    got = out.set_index(["unit", "period", "metric"])
    # North 2024-Q1: NPS answers 10, 9, 3 -> (2 - 1) / 3; eNPS 7, 9, 9 -> (2 - 0) / 3
    assert got.loc[("North", "2024-Q1", "NPS"), "value"] == pytest.approx(100 / 3)
    assert got.loc[("North", "2024-Q1", "eNPS"), "value"] == pytest.approx(200 / 3)
    # North 2024-Q2 ("2024 Q2" is the same quarter): NPS 8 -> 0; eNPS 0 -> -100
    assert got.loc[("North", "2024-Q2", "NPS"), "value"] == 0.0
    assert got.loc[("North", "2024-Q2", "eNPS"), "value"] == -100.0
    # South: NPS 10 and a blank -> 100 from one answer; eNPS 6, 6 -> -100
    assert got.loc[("South", "2024-Q1", "NPS"), ["value", "n"]].tolist() == [100.0, 1]
    assert got.loc[("South", "2024-Q1", "eNPS"), ["value", "n"]].tolist() == [-100.0, 2]
    assert got.loc[("North", "2024-Q2", "NPS"), "t"] == 1
    assert list(out.columns) == [
        "unit",
        "period",
        "metric",
        "value",
        "t",
        "n",
        "se",
        "ci_low",
        "ci_high",
    ]
    # se of North 2024-Q1 NPS: p = 2/3, d = 1/3 -> 100 * sqrt((1 - (1/3)^2) / 3)
    assert got.loc[("North", "2024-Q1", "NPS"), "se"] == pytest.approx(100 * np.sqrt(8 / 27))


def test_raw_answers_file_with_dates_gives_nps_per_quarter(tmp_path):
    path = write(
        tmp_path,
        "unit,period,metric,answer\n"
        "North,2024-01-15,eNPS,10\n"
        "North,2024-02-03,eNPS,4\n"
        "North,2024-03-30,eNPS,9\n"
        "North,2024-04-02,eNPS,8\n"
        "North,2024-05-20,eNPS,\n",
    )
    out = load_metrics(path, min_group_size=1)  # the arithmetic, on groups of 1 and 3
    assert out["period"].tolist() == ["2024-Q1", "2024-Q2"]
    assert out["t"].tolist() == [0, 1]
    # Q1: 10, 4, 9 -> (2 - 1) / 3; Q2: 8 (the blank is not an answer) -> 0
    assert out["value"].tolist() == pytest.approx([100 / 3, 0.0])
    assert out["n"].tolist() == [3, 1]


def test_enps_of_a_unit_below_the_minimum_is_left_out_and_so_is_the_next_smallest():
    """A unit of 3 gets no eNPS; the next-smallest unit (6) goes too, so that the period's
    eNPS over all units minus the shown ones cannot give the 3 back; the unit of 20 stays."""
    raw = pd.DataFrame(
        {
            "unit": ["Tiny"] * 3 + ["Mid"] * 6 + ["Big"] * 20,
            "period": ["2024-Q1"] * 29,
            "eNPS": [0, 0, 0] + [9] * 6 + [10] * 20,
        }
    )
    out = metrics_from_answers(raw)
    assert out[["unit", "value", "n"]].values.tolist() == [["Big", 100.0, 20]]
    assert set(metrics_from_answers(raw, min_group_size=3)["unit"]) == {"Tiny", "Mid", "Big"}


def test_raw_answer_outside_0_to_10_is_located(tmp_path):
    path = write(
        tmp_path,
        "unit,period,metric,answer\nNorth,2024-Q1,NPS,10\nNorth,2024-Q1,NPS,12\n",
    )
    (problem,) = read_metrics(path)[1]
    assert (problem.file, problem.row, problem.column, problem.value) == (
        str(path),
        3,
        "answer",
        "12",
    )
    assert problem.message == "answer out of range"
    assert "0 to 10" in problem.expected


def test_wide_answer_problem_names_the_metric_column():
    raw = pd.DataFrame(
        {"unit": ["North", "North"], "period": [1, 1], "NPS": [9, 10], "eNPS": [5, "ten"]}
    )
    with pytest.raises(XmkitError) as info:
        metrics_from_answers(raw, file="pulse.csv")
    (problem,) = info.value.problems
    assert (problem.file, problem.row, problem.column, problem.value) == (
        "pulse.csv",
        3,
        "eNPS",
        "ten",
    )


# ---- tidy metrics files -------------------------------------------------------------------


def test_tidy_metrics_load_with_normalized_periods(tmp_path):
    out = load_metrics(write(tmp_path, GOOD))
    assert list(out.columns) == ["unit", "period", "metric", "value", "t"]
    north = out[out["unit"] == "North"]
    assert north["period"].tolist() == ["2024-Q1", "2024-Q1", "2024-Q2", "2024-Q2"]
    assert north["t"].tolist() == [0, 0, 1, 1]
    assert out.set_index(["unit", "period", "metric"]).loc[
        ("South", "2024-Q1", "engagement"), "value"
    ] == pytest.approx(64.2)


def test_xlsx_metrics_load_like_csv(tmp_path):
    csv = load_metrics(write(tmp_path, GOOD))
    path = tmp_path / "metrics.xlsx"
    pd.read_csv(write(tmp_path, GOOD, "copy.csv")).to_excel(path, index=False)
    pd.testing.assert_frame_equal(load_metrics(path), csv)


def test_blank_values_are_not_measured_and_percent_and_decimal_comma_are_read(tmp_path):
    text = (
        "unit;period;metric;value\n"
        "North;2024;churn;4,5\n"
        "North;2025;churn;\n"
        "North;2026;churn;n/a\n"
        "North;2026;CSAT;81%\n"
    )
    out = load_metrics(write(tmp_path, text))
    assert out[["period", "metric", "value"]].values.tolist() == [
        ["2024", "churn", 4.5],
        ["2026", "CSAT", 81.0],
    ]
    assert out["t"].tolist() == [0, 2]  # the gap year is a missing step, not closed up


@pytest.mark.parametrize(
    ("periods", "labels", "steps"),
    [
        ([3, 1, 2], ["3", "1", "2"], [2, 0, 1]),
        (["2023", "2025"], ["2023", "2025"], [0, 2]),
        (["2024-Q4", "2025 Q1", "Q3 2025", "2025q2"], ["2024-Q4", "2025-Q1", "2025-Q3", "2025-Q2"],
         [0, 1, 3, 2]),
        (["2024-11", "2025-02"], ["2024-11", "2025-02"], [0, 3]),
        (["2024-12-31", "2025-01-02"], ["2024-12-31", "2025-01-02"], [0, 2]),
    ],
)  # fmt: skip
def test_every_period_spelling_becomes_an_ordered_step(periods, labels, steps):
    index = period_index(periods)
    assert index["period"].tolist() == labels
    assert index["t"].tolist() == steps


def test_iso_dates_of_quarterly_measurements_become_quarters(tmp_path):
    text = (
        "unit,period,metric,value\n"
        "North,2024-03-31,NPS,30\n"
        "North,2024-06-28,NPS,31\n"
        "North,2024-12-31,NPS,33\n"
        "South,2024-03-30,NPS,20\n"
    )
    out = load_metrics(write(tmp_path, text))
    assert out["period"].tolist() == ["2024-Q1", "2024-Q2", "2024-Q4", "2024-Q1"]
    assert out["t"].tolist() == [0, 1, 3, 0]


def test_monthly_dates_become_months(tmp_path):
    text = "unit,period,metric,value\nA,2024-01-31,NPS,1\nA,2024-02-29,NPS,2\nA,2024-04-30,NPS,3\n"
    out = load_metrics(write(tmp_path, text))
    assert out["period"].tolist() == ["2024-01", "2024-02", "2024-04"]
    assert out["t"].tolist() == [0, 1, 3]


BAD_CASES = {
    # name: (the good file with one change, row, column, value, words in the message, expected)
    "non-numeric value": (
        GOOD.replace("North,2024-Q1,NPS,32", "North,2024-Q1,NPS,thirty"),
        3,
        "value",
        "thirty",
        "not a number",
        "a number",
    ),
    "duplicate row": (
        GOOD + "North,2024-Q2,NPS,36\n",
        8,
        "period",
        "2024-Q2",
        "second value",
        "first on row 5",
    ),
    "blank unit": (
        GOOD.replace("South,2024-Q2,NPS,28", ",2024-Q2,NPS,28"),
        7,
        "unit",
        None,
        "unit is blank",
        "the unit",
    ),
    "bad period": (
        GOOD.replace("South,2024-Q1", "South,spring"),
        6,
        "period",
        "spring",
        "not a period",
        "a quarter (2024-Q1)",
    ),
    "month 13": (
        GOOD.replace("South,2024-Q1", "South,2024-13"),
        6,
        "period",
        "2024-13",
        "not a period",
        "a month (2024-03)",
    ),
    "period written another way": (
        GOOD.replace("South,2024-Q1", "South,2024-03"),
        6,
        "period",
        "2024-03",
        "unlike the rest of the file",
        "like 2024-Q1",
    ),
    "blank metric": (
        GOOD.replace("North,2024-Q2,engagement", "North,2024-Q2,"),
        4,
        "metric",
        None,
        "metric is blank",
        "metric name",
    ),
}


@pytest.mark.parametrize("case", list(BAD_CASES))
def test_each_bad_input_is_a_located_problem(tmp_path, case):
    text, row, column, value, words, expected = BAD_CASES[case]
    path = write(tmp_path, text)
    with pytest.raises(XmkitError) as info:
        load_metrics(path)
    (problem,) = info.value.problems
    assert (problem.file, problem.row, problem.column, problem.value) == (
        str(path),
        row,
        column,
        value,
    )
    assert words in problem.message
    assert expected in problem.expected


def test_missing_columns_are_reported_on_the_header_row(tmp_path):
    path = write(tmp_path, "unit,quarter,kpi\nNorth,2024-Q1,NPS\n")
    problems = read_metrics(path)[1]
    assert [(p.row, p.message) for p in problems] == [(1, "missing column 'value'")]
    assert "unit, period, metric and value" in problems[0].expected


def test_unknown_unit_is_a_problem_when_the_units_are_known(tmp_path):
    path = write(tmp_path, GOOD)
    problems = read_metrics(path, units=["North"])[1]
    assert {(p.row, p.column, p.value, p.message) for p in problems} == {
        (6, "unit", "South", "unknown unit"),
        (7, "unit", "South", "unknown unit"),
    }
    assert "North" in problems[0].expected


def test_every_problem_is_reported_at_once(tmp_path):
    text = GOOD + "West,2024-Q9,NPS,x\n,2024-Q1,,\n"
    problems = read_metrics(write(tmp_path, text))[1]
    assert [(p.row, p.column) for p in problems] == [
        (8, "period"),
        (8, "value"),
        (9, "metric"),
        (9, "unit"),
    ]


def test_example_metrics_load_for_every_unit():
    out = load_metrics(EXAMPLE_METRICS)
    assert set(out["metric"]) == {"engagement", "eNPS", "NPS", "CSAT", "churn"}
    assert out["unit"].nunique() == 7
    assert out["t"].max() == 7
    assert out["period"].iloc[0] == "2025-Q1"
