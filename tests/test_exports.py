"""Survey exports load as downloaded: platform shapes, column roles, rows left out, inspect.

The bundled questionnaire's answers are written in each platform's export shape
(tests/export_shapes.py) and must score exactly like the same answers in the wide layout.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from export_shapes import SHAPES, UNIT_QUESTION, flags_to_columns, qualtrics, surveymonkey

from xmkit.analysis.score import score
from xmkit.batch.run import plan_sources
from xmkit.io.assessment import load_assessment
from xmkit.io.responses import load_responses, read_responses
from xmkit.options import Options
from xmkit.render.execute import report_parameters
from xmkit.report.sections import cover, prepare

SAMPLES = Path(__file__).parent / "data" / "exports"
QUALTRICS_FLAGS = flags_to_columns(SHAPES["qualtrics"][2])


@pytest.fixture
def answers(make_wide) -> pd.DataFrame:
    """A wide table with a few answers left blank, as real respondents do."""
    data = make_wide(n=24, seed=14)
    data.iloc[2, 5] = ""
    data.iloc[7, 20] = ""
    data.iloc[11, 38] = ""
    return data


def _scores_csv(run_cli, path: Path, out: Path, *flags: str) -> pd.DataFrame:
    result = run_cli("score", path, "--by", "unit", "--bootstrap", "0", "-o", out, *flags)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    return pd.read_csv(out)


@pytest.mark.parametrize("shape", list(SHAPES))
def test_platform_export_loaded_with_column_flags_scores_exactly_like_the_wide_table(
    run_cli, tmp_path, framework, answers, shape
):
    writer, name, flags = SHAPES[shape]
    export = writer(answers, framework, tmp_path / name)
    wide = tmp_path / "wide.csv"
    answers.to_csv(wide, index=False)

    expected = _scores_csv(run_cli, wide, tmp_path / "wide_scores.csv")
    got = _scores_csv(run_cli, export, tmp_path / "export_scores.csv", *flags)

    pd.testing.assert_frame_equal(got, expected)
    assert set(got["unit"]) == set(answers["unit"])


@pytest.mark.parametrize("shape", list(SHAPES))
def test_platform_export_gives_the_same_respondents_units_roles_and_answers(
    tmp_path, framework, answers, shape
):
    writer, name, flags = SHAPES[shape]
    path = writer(answers, framework, tmp_path / name)

    loaded = load_responses(path, framework, columns=flags_to_columns(flags))

    assert loaded["unit"].tolist() == answers["unit"].tolist()
    assert loaded["role"].tolist() == answers["role"].tolist()
    expected = answers[framework.question_ids].replace("", np.nan).to_numpy(dtype=float)
    np.testing.assert_array_equal(loaded[framework.question_ids].to_numpy(dtype=float), expected)
    if shape in {"qualtrics", "qualtrics_2016", "surveymonkey"}:  # exports carrying the ids
        assert loaded["respondent_id"].tolist() == answers["respondent_id"].tolist()


@pytest.mark.parametrize("shape", list(SHAPES))
def test_committed_platform_sample_loads_with_its_documented_flags(framework, shape):
    _, name, flags = SHAPES[shape]

    loaded = read_responses(SAMPLES / name, framework, columns=flags_to_columns(flags))

    assert loaded.problems == []
    assert len(loaded.data) == 8
    assert loaded.data["unit"].nunique() == 3


def test_qualtrics_preview_and_test_responses_are_left_out_with_a_count(
    tmp_path, framework, answers
):
    path = qualtrics(answers, framework, tmp_path / "q.csv")

    loaded = read_responses(path, framework, QUALTRICS_FLAGS)
    kept = read_responses(path, framework, QUALTRICS_FLAGS, include_test_responses=True)

    assert loaded.excluded["test"] == 2
    assert "R_preview1" not in set(loaded.data["respondent_id"])
    assert any("left out 2 test or preview responses" in n for n in loaded.notes)
    assert len(kept.data) == len(loaded.data) + 2
    assert {"R_preview1", "R_test0001"} <= set(kept.data["respondent_id"])


def test_rows_without_any_answer_are_left_out_and_counted(tmp_path, framework, answers):
    path = qualtrics(answers, framework, tmp_path / "q.csv")

    loaded = read_responses(path, framework, QUALTRICS_FLAGS)

    assert loaded.excluded["empty"] == 1
    assert len(loaded.data) == len(answers)  # what the report's cover counts
    assert "R_empty001" not in set(loaded.data["respondent_id"])
    assert any("left out 1 rows without any answer" in n for n in loaded.notes)
    overall = score(loaded.data, framework, n_boot=0)
    assert int(overall.loc[overall["level"] == "overall", "n"].iloc[0]) == len(answers)


def test_unfinished_responses_are_kept_and_counted_unless_finished_only(
    tmp_path, framework, answers
):
    path = qualtrics(answers, framework, tmp_path / "q.csv")  # the 2nd respondent is unfinished

    kept = read_responses(path, framework, QUALTRICS_FLAGS)
    finished = read_responses(path, framework, QUALTRICS_FLAGS, finished_only=True)

    assert any("kept 1 unfinished responses (column 'Finished')" in n for n in kept.notes)
    assert answers["respondent_id"].iloc[1] in set(kept.data["respondent_id"])
    assert answers["respondent_id"].iloc[1] not in set(finished.data["respondent_id"])
    assert finished.excluded["unfinished"] == 2  # the respondent and the empty row


def test_a_file_without_any_answer_is_an_error(tmp_path, framework, make_wide):
    data = make_wide(n=4)
    data[framework.question_ids] = ""
    path = tmp_path / "blank_answers.csv"
    data.to_csv(path, index=False)

    loaded = read_responses(path, framework)

    assert [p.message for p in loaded.problems] == [
        "no answers to score: none of the 4 rows answers any of the framework's questions"
    ]


def test_blank_units_and_roles_form_a_visible_not_stated_group(tmp_path, framework, answers):
    answers.loc[[1, 4], "unit"] = ""
    answers.loc[4, "role"] = "  "
    path = surveymonkey(answers, framework, tmp_path / "sm.csv")

    loaded = read_responses(path, framework, flags_to_columns(SHAPES["surveymonkey"][2]))

    assert loaded.problems == []
    assert loaded.data["unit"].tolist().count("Not stated") == 2
    assert loaded.data["role"].tolist().count("Not stated") == 1
    assert any("2 respondent(s) left the unit" in n and "'Not stated'" in n for n in loaded.notes)


def test_columns_neither_question_nor_role_are_ignored_and_listed_once(
    tmp_path, framework, answers
):
    path = qualtrics(answers, framework, tmp_path / "q.csv")

    loaded = read_responses(path, framework, QUALTRICS_FLAGS)
    strict = read_responses(path, framework, QUALTRICS_FLAGS, strict=True)

    ignored = [n for n in loaded.notes if n.startswith("ignored")]
    assert len(ignored) == 1
    assert ignored[0].startswith("ignored 14 columns: StartDate / Start Date, EndDate / End Date")
    assert "Q40_NPS_GROUP" not in ignored[0]
    assert loaded.problems == []
    assert len([p for p in strict.problems if p.message == "unknown column"]) == 14


def test_derived_nps_group_column_never_takes_the_question_from_its_real_column(
    tmp_path, framework, answers
):
    path = qualtrics(answers, framework, tmp_path / "q.csv")
    header = pd.read_csv(path, nrows=0).columns.tolist()
    assert header.index("Q3_1_NPS_GROUP") < header.index("Q3_1")  # the trap is set

    loaded = read_responses(path, framework, QUALTRICS_FLAGS)

    assert loaded.columns.questions["v1_1"] == ("Q3_1", "text")
    assert loaded.data["v1_1"].tolist() == answers["v1_1"].astype(float).tolist()


@pytest.mark.parametrize(
    "header", ["RespondentID", "Respondent ID", "id. Response ID", "ResponseId", "Participant ID"]
)
def test_common_respondent_id_headers_are_recognised(tmp_path, framework, make_wide, header):
    data = make_wide(n=6).rename(columns={"respondent_id": header})
    path = tmp_path / "ids.csv"
    data.to_csv(path, index=False)

    loaded = load_responses(path, framework)

    assert loaded["respondent_id"].tolist() == [f"{i:03d}" for i in range(1, 7)]


def test_role_columns_are_matched_ignoring_case_and_surrounding_spaces(
    tmp_path, framework, make_wide
):
    data = make_wide(n=6).rename(columns={"unit": "Which Store?", "role": "Job level"})
    path = tmp_path / "named.csv"
    data.to_csv(path, index=False)

    loaded = load_responses(path, framework, {"unit": "  which store? ", "role": "JOB LEVEL"})

    assert loaded["unit"].tolist() == data["Which Store?"].tolist()
    assert loaded["role"].tolist() == data["Job level"].tolist()


def test_error_lines_quote_at_most_80_characters_of_a_huge_header(run_cli, tmp_path, make_wide):
    data = make_wide(n=5)
    long_header = "Please tell us " + "very " * 600 + "much"
    data[long_header] = "x"
    path = tmp_path / "long.csv"
    data.to_csv(path, index=False)

    ok = run_cli("validate", path)
    strict = run_cli("validate", path, "--strict")

    assert ok.returncode == 0, ok.stderr
    assert strict.returncode == 1
    line = next(ln for ln in strict.stderr.splitlines() if "unknown column" in ln)
    quoted = line.split("column '", 1)[1].split("': unknown column")[0]
    assert len(quoted) <= 80
    assert max(len(ln) for ln in ok.stderr.splitlines()) < 200


def test_inspect_shows_how_each_question_matched_and_writes_the_mapping(
    run_cli, tmp_path, framework
):
    path = tmp_path / "qualtrics.csv"
    shutil.copy(SAMPLES / "qualtrics.csv", path)
    target = tmp_path / "assessment.yaml"

    result = run_cli(
        "inspect", path, "--unit-column", UNIT_QUESTION, "--role-column", "Q2", "-o", target
    )

    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "layout: Qualtrics export (three header rows)" in out
    assert "respondent id  'ResponseId / Response ID'" in out
    assert "v1_1     by text  'Q3_1 / Anchor on key EX and CX metrics - Which" in out
    assert "questions (36 of 36 found)" in out
    assert "ignored columns (14): StartDate / Start Date" in out
    assert "left out 2 test or preview responses" in out
    assert "answers: " in out
    saved = yaml.safe_load(target.read_text(encoding="utf-8"))
    assert saved["columns"]["unit"] == "Q1"
    assert saved["columns"]["questions"]["v1_1"] == "Q3_1"
    assessment = load_assessment(target)
    again = read_responses(assessment.responses_path, framework, assessment.columns)
    with_flags = read_responses(path, framework, QUALTRICS_FLAGS)
    pd.testing.assert_frame_equal(again.data, with_flags.data)


def test_report_cover_counts_the_respondents_scored_with_column_roles(tmp_path, framework, answers):
    """The report notebook gets the reading options as JSON; test and empty rows stay out."""
    path = qualtrics(answers, framework, tmp_path / "q.csv")
    params = report_parameters(path, Options(client="Acme", reading={"columns": QUALTRICS_FLAGS}))

    ctx = prepare(path, "Acme", framework=framework, n_boot=0, reading=params["reading"])

    assert json.loads(params["reading"]) == {"columns": QUALTRICS_FLAGS}
    assert ctx.respondents == len(answers)
    assert f"<td>{len(answers)}</td>" in cover(ctx).replace(" ", "")


def test_assessment_columns_are_used_by_batch_without_flags(tmp_path, framework, answers):
    folder = tmp_path / "acme"
    folder.mkdir()
    surveymonkey(answers, framework, folder / "export.csv")
    (folder / "assessment.yaml").write_text(
        "client: Acme\nresponses: export.csv\ncolumns:\n"
        f"  unit: {UNIT_QUESTION!r}\n  role: What is your role?\n",
        encoding="utf-8",
    )

    (source,) = plan_sources(folder, {})

    assert source.failed == {}
    assert sorted(source.data["unit"].unique()) == sorted(answers["unit"].unique())
    assert source.data["respondent_id"].tolist() == answers["respondent_id"].tolist()


def test_long_layout_without_role_column_is_one_role_and_blank_unit_not_stated(
    tmp_path, framework, make_wide
):
    wide = make_wide(n=5)
    long = wide.melt(
        id_vars=["respondent_id", "unit"],
        value_vars=framework.question_ids,
        var_name="question_id",
        value_name="answer",
    )
    long.loc[long["respondent_id"] == "002", "unit"] = ""
    path = tmp_path / "long.csv"
    long.to_csv(path, index=False)

    loaded = load_responses(path, framework)

    assert set(loaded["role"]) == {"All roles"}
    assert loaded.set_index("respondent_id").loc["002", "unit"] == "Not stated"
