"""Loading responses: every layout, encoding and delimiter people send ends in the same table."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest

import xmkit
from xmkit.errors import XmkitError
from xmkit.framework import Framework
from xmkit.io.responses import load_responses, read_responses

META = ["respondent_id", "unit", "role"]
QUALTRICS_META = [
    # (row 1 id, row 2 text, row 3 ImportId) of columns Qualtrics adds to every export
    ("StartDate", "Start Date", "startDate"),
    ("EndDate", "End Date", "endDate"),
    ("Status", "Response Type", "status"),
    ("IPAddress", "IP Address", "ipAddress"),
    ("Progress", "Progress", "progress"),
    ("Duration (in seconds)", "Duration (in seconds)", "duration"),
    ("Finished", "Finished", "finished"),
    ("RecordedDate", "Recorded Date", "recordedDate"),
    ("ResponseId", "Response ID", "_recordId"),
    ("DistributionChannel", "Distribution Channel", "distributionChannel"),
    ("UserLanguage", "User Language", "userLanguage"),
]


def write(data: pd.DataFrame, path: Path) -> Path:
    if path.suffix == ".xlsx":
        data.to_excel(path, index=False)
    else:
        data.to_csv(path, index=False)
    return path


def expected_answers(data: pd.DataFrame, framework: Framework) -> np.ndarray:
    return data[framework.question_ids].to_numpy(dtype=float)


def assert_same_table(loaded: pd.DataFrame, data: pd.DataFrame, framework: Framework) -> None:
    """Loaded has the respondents, units, roles and answers of the wide frame ``data``."""
    assert list(loaded.columns[:3]) == META
    assert loaded[framework.question_ids].columns.tolist() == framework.question_ids
    for col in META:
        assert loaded[col].tolist() == [str(v) for v in data[col]], col
    np.testing.assert_array_equal(
        loaded[framework.question_ids].to_numpy(dtype=float), expected_answers(data, framework)
    )


# ---- wide layout, encodings, delimiters, XLSX ------------------------------------------------


def test_wide_csv_loads_with_float_answers_and_ids_kept_as_text(tmp_path, framework, make_wide):
    data = make_wide(n=12)
    path = tmp_path / "responses.csv"
    data.to_csv(path, index=False)

    loaded = load_responses(path, framework)

    assert loaded.shape == (12, 3 + len(framework.question_ids))
    assert len(framework.question_ids) == 36
    for qid in framework.question_ids:
        assert loaded[qid].dtype == np.float64, qid
    assert pd.api.types.is_string_dtype(loaded["respondent_id"])
    assert loaded["respondent_id"].iloc[6] == "007"
    assert loaded["respondent_id"].tolist() == [f"{i:03d}" for i in range(1, 13)]
    assert_same_table(loaded, data, framework)


ENCODINGS = {
    "utf8_bom": {"encoding": "utf-8-sig"},
    "utf16_excel_unicode_text": {"encoding": "utf-16", "sep": "\t", "lineterminator": "\r\n"},
    "cp1252": {"encoding": "cp1252"},
    "semicolon": {"encoding": "utf-8", "sep": ";"},
    "tab": {"encoding": "utf-8", "sep": "\t"},
    "cp1252_semicolon_crlf": {"encoding": "cp1252", "sep": ";", "lineterminator": "\r\n"},
}


@pytest.mark.parametrize("variant", list(ENCODINGS))
def test_same_answers_whatever_the_encoding_and_delimiter(tmp_path, framework, make_wide, variant):
    data = make_wide(n=10)
    data.loc[[0, 4], "unit"] = "Zürich"
    data.loc[5, "role"] = "Employé"
    path = tmp_path / f"responses_{variant}.csv"
    data.to_csv(path, index=False, **ENCODINGS[variant])

    loaded = load_responses(path, framework)

    assert_same_table(loaded, data, framework)
    assert loaded["unit"].iloc[0] == "Zürich"
    assert loaded["role"].iloc[5] == "Employé"


@pytest.mark.parametrize("where", ["beyond_the_first_64_kib", "in_the_last_bytes_of_a_small_file"])
def test_windows_1252_file_loads_wherever_its_first_accented_character_is(
    tmp_path, framework, make_wide, where
):
    """Excel's "CSV" is Windows-1252; detection must not depend on where the first é is."""
    if where == "beyond_the_first_64_kib":
        data = make_wide(n=800)
        data.loc[799, "unit"] = "Zürich"
    else:
        data = make_wide(n=6)
        data["comment"] = ["", "", "", "", "", "Café"]
    path = tmp_path / "excel.csv"
    data.to_csv(path, index=False, encoding="cp1252")
    if where == "beyond_the_first_64_kib":
        assert path.read_bytes().find("ü".encode("cp1252")) > 65536

    loaded = load_responses(path, framework)

    assert_same_table(loaded, data, framework)
    if where == "beyond_the_first_64_kib":
        assert loaded["unit"].iloc[-1] == "Zürich"
    else:
        assert loaded["comment"].iloc[-1] == "Café"


def test_xlsx_loads_the_same_as_csv(tmp_path, framework, make_wide):
    data = make_wide(n=9)
    data.loc[2, "unit"] = "Zürich"
    path = tmp_path / "responses.xlsx"
    data.to_excel(path, index=False)

    loaded = load_responses(path, framework)

    assert_same_table(loaded, data, framework)
    assert loaded["respondent_id"].iloc[6] == "007"
    assert all(loaded[q].dtype == np.float64 for q in framework.question_ids)
    csv_path = tmp_path / "responses.csv"
    data.to_csv(csv_path, index=False)
    pd.testing.assert_frame_equal(loaded, load_responses(csv_path, framework))


# ---- long, Qualtrics and form-tool layouts --------------------------------------------------


def test_long_layout_loads_to_the_same_wide_table(tmp_path, framework, make_wide):
    data = make_wide(n=8)
    long = data.melt(id_vars=META, var_name="question_id", value_name="answer")
    # Tools emit long files in any order; one respondent per block is not guaranteed.
    long = long.sample(frac=1, random_state=3).reset_index(drop=True)
    path = tmp_path / "long.csv"
    long.to_csv(path, index=False)

    loaded = read_responses(path, framework)

    assert loaded.problems == []
    assert loaded.layout == "long"
    table = loaded.data.sort_values("respondent_id").reset_index(drop=True)
    assert table.shape == (8, 3 + 36)
    assert_same_table(table, data, framework)


def write_qualtrics(path: Path, data: pd.DataFrame, framework: Framework, qid_columns: bool):
    """A Qualtrics CSV export: ids, question text and ImportId JSON as three header rows."""
    texts = dict(
        zip(framework.questions["question_id"], framework.questions["question"], strict=True)
    )
    qids = framework.question_ids
    columns = [f"QID{i}" for i in range(1, len(qids) + 1)] if qid_columns else qids
    row1 = [m[0] for m in QUALTRICS_META] + ["unit", "role", *columns]
    row2 = [m[1] for m in QUALTRICS_META] + ["Unit", "Role", *[texts[q] for q in qids]]
    row3 = [json.dumps({"ImportId": m[2]}) for m in QUALTRICS_META]
    row3 += [json.dumps({"ImportId": "unit"}), json.dumps({"ImportId": "role"})]
    row3 += [json.dumps({"ImportId": f"QID{i}"}) for i in range(1, len(qids) + 1)]
    with path.open("w", newline="", encoding="utf-8-sig") as fh:
        writer = csv.writer(fh)
        writer.writerows([row1, row2, row3])
        for _, r in data.iterrows():
            tool = ["2024-03-01 09:00:00", "2024-03-01 09:07:12", "IP Address", "10.0.0.1"]
            tool += ["100", "432", "True", "2024-03-01 09:07:13", f"R_{r['respondent_id']}"]
            tool += ["anonymous", "EN"]
            writer.writerow([*tool, r["unit"], r["role"], *[r[q] for q in qids]])


def test_qualtrics_export_with_question_id_columns_loads(tmp_path, framework, make_wide):
    data = make_wide(n=7)
    path = tmp_path / "qualtrics.csv"
    write_qualtrics(path, data, framework, qid_columns=False)

    loaded = read_responses(path, framework)

    assert [str(p) for p in loaded.problems] == []
    assert loaded.layout == "qualtrics"
    assert loaded.data["respondent_id"].tolist() == [f"R_{i:03d}" for i in range(1, 8)]
    expected = data.assign(respondent_id=[f"R_{i:03d}" for i in range(1, 8)])
    assert_same_table(loaded.data, expected, framework)


def test_qualtrics_export_with_qid_columns_is_matched_by_question_text(
    tmp_path, framework, make_wide
):
    """Columns named QID1..QID36: only the question text in header row 2 says which is which."""
    data = make_wide(n=7)
    path = tmp_path / "qualtrics_qid.csv"
    write_qualtrics(path, data, framework, qid_columns=True)

    loaded = read_responses(path, framework)

    assert [str(p) for p in loaded.problems] == []
    assert loaded.layout == "qualtrics"
    expected = data.assign(respondent_id=[f"R_{i:03d}" for i in range(1, 8)])
    assert_same_table(loaded.data, expected, framework)


def test_qualtrics_bad_answer_is_reported_on_its_file_row(tmp_path, framework, make_wide):
    """Three header rows: the first respondent is on row 4 of the file."""
    data = make_wide(n=5)
    data.loc[0, "v2_1"] = "lots"
    path = tmp_path / "qualtrics.csv"
    write_qualtrics(path, data, framework, qid_columns=False)

    problems = read_responses(path, framework).problems

    assert len(problems) == 1
    assert (problems[0].row, problems[0].column, problems[0].value) == (4, "v2_1", "lots")


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_form_export_with_question_text_headers_loads_with_generated_ids(
    tmp_path, framework, make_wide, suffix
):
    """Google-Forms-like export: Timestamp, Unit, Role, one column per question text."""
    data = make_wide(n=6)
    texts = dict(
        zip(
            framework.questions["question_id"],
            framework.questions["question"],
            strict=True,
        )
    )
    form = pd.DataFrame(
        {
            "Timestamp": [f"2024/03/0{i} 10:15:00" for i in range(1, 7)],
            "Unit": data["unit"],
            "Role": data["role"],
        }
    )
    for qid in framework.question_ids:
        form[texts[qid]] = data[qid]
    path = write(form, tmp_path / f"form{suffix}")

    loaded = read_responses(path, framework)

    assert [str(p) for p in loaded.problems] == []
    assert loaded.layout == "form"
    ids = loaded.data["respondent_id"]
    assert ids.str.len().gt(0).all()
    assert ids.is_unique
    assert_same_table(loaded.data, data.assign(respondent_id=ids.tolist()), framework)


# ---- missing answers and labels -------------------------------------------------------------

MISSING = ["", "Don't know", "N/A", "n/a"]


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_blank_dont_know_and_na_answers_become_nan_never_zero(
    tmp_path, framework, make_wide, suffix
):
    data = make_wide(n=8)
    for row, token in enumerate(MISSING):
        data.loc[row, "v1_1"] = token  # a column that is otherwise numbers
        data.loc[row, "c3_3"] = token
    data.loc[7, "c3_3"] = "3 - Defined"  # and one that must be parsed cell by cell
    path = write(data, tmp_path / f"missing{suffix}")

    loaded = read_responses(path, framework)

    assert [str(p) for p in loaded.problems] == []
    for qid in ("v1_1", "c3_3"):
        column = loaded.data[qid]
        assert column.dtype == np.float64
        assert column.iloc[: len(MISSING)].isna().all(), (qid, column.tolist())
        assert not (column == 0).any()
    assert loaded.data["v1_1"].iloc[len(MISSING) :].tolist() == [
        float(v) for v in data["v1_1"].iloc[len(MISSING) :]
    ]
    assert loaded.data["c3_3"].iloc[7] == 3.0


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_dont_know_typed_with_a_typographic_apostrophe_is_missing_too(
    tmp_path, framework, make_wide, suffix
):
    """Mac Excel, Word and most form tools turn "Don't" into "Don’t" (U+2019) as you type."""
    data = make_wide(n=5)
    data.loc[1, "v1_1"] = "Don’t know"
    data.loc[2, "a3_3"] = "DON’T KNOW"
    path = write(data, tmp_path / f"curly{suffix}")

    loaded = read_responses(path, framework)

    assert [str(p) for p in loaded.problems] == []
    assert np.isnan(loaded.data["v1_1"].iloc[1])
    assert np.isnan(loaded.data["a3_3"].iloc[2])


@pytest.mark.parametrize(
    ("label", "level"),
    [
        ("3 - Defined", 3.0),
        ("3 – Defined", 3.0),
        ("2: Emerging", 2.0),
        ("4. Embedded", 4.0),
        ("5) Leading", 5.0),
        ("Leading", 5.0),
        ("absent", 1.0),
        (" 4 ", 4.0),
    ],
)
def test_answer_given_as_a_scale_label_parses_to_its_level(
    tmp_path, framework, make_wide, label, level
):
    data = make_wide(n=5)
    data.loc[2, "a2_2"] = label
    path = tmp_path / "labels.csv"
    data.to_csv(path, index=False)

    loaded = load_responses(path, framework)

    assert loaded["a2_2"].iloc[2] == level
    assert loaded["a2_2"].iloc[[0, 1, 3, 4]].tolist() == [
        float(v) for v in data["a2_2"].iloc[[0, 1, 3, 4]]
    ]


def test_rows_left_blank_in_every_cell_are_not_respondents(tmp_path, framework, make_wide):
    data = make_wide(n=5)
    blank = pd.DataFrame([[""] * len(data.columns)] * 2, columns=data.columns)
    path = tmp_path / "blank_rows.csv"
    pd.concat([data.iloc[:3], blank, data.iloc[3:]]).to_csv(path, index=False)

    loaded = load_responses(path, framework)

    assert loaded["respondent_id"].tolist() == ["001", "002", "003", "004", "005"]
    assert_same_table(loaded, data, framework)


def test_load_responses_raises_with_every_problem(tmp_path, framework, make_wide):
    data = make_wide(n=5)
    data.loc[0, "v1_1"] = "abc"
    data.loc[3, "v1_2"] = 9
    path = tmp_path / "bad.csv"
    data.to_csv(path, index=False)

    with pytest.raises(XmkitError) as info:
        load_responses(path, framework)

    assert [(p.row, p.column, p.value) for p in info.value.problems] == [
        (2, "v1_1", "abc"),
        (5, "v1_2", "9"),
    ]
    assert xmkit.validate(path, framework) == info.value.problems


# ---- the blank questionnaire, filled in -----------------------------------------------------


@pytest.fixture
def blank_questionnaire(tmp_path, run_cli) -> Path:
    path = tmp_path / "questionnaire.xlsx"
    result = run_cli("questionnaire", "--format", "xlsx", "-o", path)
    assert result.returncode == 0, result.stderr
    assert path.exists()
    return path


def test_blank_questionnaire_has_1_to_5_dropdowns_and_level_descriptions(
    blank_questionnaire, framework
):
    wb = openpyxl.load_workbook(blank_questionnaire)
    assert wb.sheetnames[:2] == ["Responses", "Questions"]

    ws = wb["Responses"]
    header = [c.value for c in ws[1]]
    assert header[:3] == META
    assert header[3 : 3 + 36] == framework.question_ids
    validations = ws.data_validations.dataValidation
    assert len(validations) == 1
    dv = validations[0]
    assert dv.type == "list"
    assert dv.formula1.strip('"').split(",")[:5] == ["1", "2", "3", "4", "5"]
    assert dv.allow_blank
    letters = {qid: openpyxl.utils.get_column_letter(i) for i, qid in enumerate(header, 1) if qid}
    for qid in framework.question_ids:
        for row in (2, 100, 1001):
            assert f"{letters[qid]}{row}" in dv.sqref, (qid, row)
    for meta in META:
        assert f"{letters[meta]}2" not in dv.sqref

    sheet = wb["Questions"]
    rows = list(sheet.iter_rows(values_only=True))
    head, body = rows[0], rows[1:]
    level_cols = [i for i, h in enumerate(head) if str(h).startswith("level ")]
    assert [head[i] for i in level_cols] == [
        f"level {lvl}: {framework.scale.labels[lvl]}" for lvl in range(1, 6)
    ]
    assert [r[0] for r in body] == framework.question_ids
    levels = {q.id: q.levels for _, p in framework.practices for q in p.questions}
    for r in body:
        assert [r[i] for i in level_cols] == [levels[r[0]][lvl] for lvl in range(1, 6)]


def test_filled_in_questionnaire_loads(blank_questionnaire, framework):
    wb = openpyxl.load_workbook(blank_questionnaire)
    ws = wb["Responses"]
    header = [c.value for c in ws[1]]
    col = {name: i for i, name in enumerate(header, 1)}
    rng = np.random.default_rng(7)
    answers = rng.integers(1, 6, size=(6, 36))
    for r in range(6):
        ws.cell(r + 2, col["respondent_id"], f"P{r + 1:02d}")
        ws.cell(r + 2, col["unit"], "Genève" if r % 2 else "Stores North")
        ws.cell(r + 2, col["role"], "Manager")
        for j, qid in enumerate(framework.question_ids):
            ws.cell(r + 2, col[qid], int(answers[r, j]))
    ws.cell(2, col["v1_1"], "Don't know")  # the dropdown's own "don't know" choice
    ws.cell(3, col["comment"], "Good start")
    filled = blank_questionnaire.with_name("filled.xlsx")
    wb.save(filled)

    loaded = read_responses(filled, framework)

    assert [str(p) for p in loaded.problems] == []
    data = loaded.data
    assert data["respondent_id"].tolist() == [f"P{r:02d}" for r in range(1, 7)]
    assert data["unit"].tolist() == ["Stores North", "Genève"] * 3
    expected = answers.astype(float)
    expected[0, 0] = np.nan
    np.testing.assert_array_equal(data[framework.question_ids].to_numpy(dtype=float), expected)
    assert data["comment"].iloc[1] == "Good start"
