"""The installed ``xmkit`` command: every bad input gets a located message and the right exit code.

Exit codes: 0 ok, 1 invalid input, 2 usage error; never a traceback. Problem lines read
``file, row N, column 'x': message (found 'v'); expected ...``; the header is row 1.
"""

from __future__ import annotations

import re
import subprocess
from importlib import resources
from pathlib import Path

import pandas as pd
import pytest
import yaml

SCORE_COLUMNS = [
    "level",
    "id",
    "name",
    "n",
    "score",
    "index",
    "ci_low",
    "ci_high",
    "suppressed",
    "stage",
    "stage_name",
]


def invalid(result: subprocess.CompletedProcess) -> str:
    """stderr of a run that must have failed cleanly with exit code 1."""
    assert "Traceback" not in result.stderr, result.stderr
    assert "internal error" not in result.stderr, result.stderr
    assert result.returncode == 1, (result.returncode, result.stdout, result.stderr)
    return result.stderr


def problem_lines(stderr: str, path: Path) -> list[str]:
    """The problem lines, without notes and the closing ``FILE: invalid, N problem(s)`` summary."""
    lines = [ln for ln in stderr.splitlines() if ": note: " not in ln]
    assert lines[-1] == f"{path}: invalid, {len(lines) - 1} problem(s)", stderr
    return lines[:-1]


def only_problem(result: subprocess.CompletedProcess, path: Path) -> str:
    lines = problem_lines(invalid(result), path)
    assert len(lines) == 1, lines
    assert lines[0].startswith(str(path)), lines
    return lines[0]


@pytest.fixture
def responses(tmp_path, make_wide):
    """Write a (possibly corrupted) wide table as CSV; returns its path."""

    def write(data: pd.DataFrame | None = None, name: str = "responses.csv") -> Path:
        data = make_wide() if data is None else data
        path = tmp_path / name
        if path.suffix == ".xlsx":
            data.to_excel(path, index=False)
        else:
            data.to_csv(path, index=False)
        return path

    return write


# ---- validate: one test per kind of bad input -----------------------------------------------


def test_unknown_column_is_ignored_with_a_note_and_named_as_an_error_with_strict(
    run_cli, responses, make_wide
):
    data = make_wide()
    data["v9_9"] = 3
    data["Collector ID"] = "web"
    path = responses(data)

    result = run_cli("validate", path)
    assert result.returncode == 0, result.stderr
    assert f"{path}: note: ignored 2 columns: v9_9, Collector ID" in result.stderr

    lines = problem_lines(invalid(run_cli("validate", path, "--strict")), path)
    assert sorted(ln.split(": unknown column")[0] for ln in lines) == [
        f"{path}, row 1, column 'Collector ID'",
        f"{path}, row 1, column 'v9_9'",
    ], lines


def test_missing_question_columns_are_listed_by_id(run_cli, responses, make_wide):
    path = responses(make_wide().drop(columns=["v1_2", "i2_3", "c3_3"]))

    line = only_problem(run_cli("validate", path), path)

    assert "3 question column(s) missing" in line
    assert re.search(r"missing: v1_2, i2_3, c3_3\b", line), line


def test_non_numeric_answer_gives_row_column_value_and_expected_range(
    run_cli, responses, make_wide
):
    data = make_wide()
    data.loc[2, "a1_2"] = "abc"  # third respondent: row 4 of the file
    path = responses(data)

    line = only_problem(run_cli("validate", path), path)

    assert line.startswith(f"{path}, row 4, column 'a1_2': ")
    assert "(found 'abc')" in line
    assert "1 to 5" in line


@pytest.mark.parametrize(("index", "value"), [(0, 0), (5, 6), (11, 7)])
def test_out_of_range_answer_gives_row_column_and_value(
    run_cli, responses, make_wide, index, value
):
    data = make_wide()
    data.loc[index, "v2_1"] = value
    path = responses(data)

    line = only_problem(run_cli("validate", path), path)

    assert line.startswith(f"{path}, row {index + 2}, column 'v2_1': ")
    assert "out of range" in line
    assert f"(found '{value}')" in line
    assert "1 to 5" in line


def test_duplicate_respondent_id_names_its_row_and_the_first_use(run_cli, responses, make_wide):
    data = make_wide()
    data.loc[4, "respondent_id"] = "002"  # row 6 repeats the id of row 3
    data.loc[9, "respondent_id"] = "002"  # and so does row 11
    path = responses(data)

    lines = problem_lines(invalid(run_cli("validate", path)), path)

    assert len(lines) == 2, lines
    for line, row in zip(lines, (6, 11), strict=True):
        assert line.startswith(f"{path}, row {row}, column 'respondent_id': duplicate"), line
        assert "(found '002')" in line
        assert "first used on row 3" in line


def test_empty_file_is_reported_as_empty(run_cli, tmp_path):
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")

    line = only_problem(run_cli("validate", path), path)

    assert "empty" in line


@pytest.mark.parametrize("name", ["header_only.csv", "header_only.xlsx"])
def test_header_only_file_has_no_responses(run_cli, responses, make_wide, name):
    path = responses(make_wide().iloc[:0], name)

    line = only_problem(run_cli("validate", path), path)

    assert "no responses" in line


@pytest.mark.parametrize(
    ("column", "group"), [("unit", "Whole organization"), ("role", "All roles")]
)
def test_missing_unit_or_role_column_puts_everyone_in_one_group(
    run_cli, responses, make_wide, column, group
):
    path = responses(make_wide().drop(columns=[column]))

    result = run_cli("validate", path)

    assert result.returncode == 0, result.stderr
    assert f" 1 {column}s," in result.stdout, result.stdout
    assert f"no {column} column: every respondent is in one {column}, '{group}'" in result.stderr


def test_blank_unit_forms_a_visible_not_stated_group(run_cli, responses, make_wide, tmp_path):
    data = make_wide()
    data.loc[3, "unit"] = ""
    data.loc[5, "unit"] = " "
    path = responses(data)

    result = run_cli("score", path, "--by", "unit", "-o", tmp_path / "scores.csv")

    assert result.returncode == 0, result.stderr
    assert "2 respondent(s) left the unit ('unit') blank: they form the group 'Not stated'" in (
        result.stderr
    )
    scores = pd.read_csv(tmp_path / "scores.csv")
    overall = scores[(scores["level"] == "overall") & (scores["unit"] == "Not stated")]
    assert overall["n"].tolist() == [2]


def test_every_problem_in_a_file_is_reported_in_one_run(run_cli, responses, make_wide):
    data = make_wide()
    data["v9_9"] = 1  # unknown column (with --strict), row 1
    data.loc[0, "v1_1"] = "abc"  # row 2
    data.loc[1, "v2_2"] = 9  # row 3
    data.loc[2, "v3_1"] = "many"  # row 4
    data.loc[6, "c1_1"] = 0  # row 8
    data.loc[10, "respondent_id"] = "001"  # row 12, duplicate of row 2
    path = responses(data)

    lines = problem_lines(invalid(run_cli("validate", path, "--strict")), path)

    assert len(lines) == 6, lines
    assert [re.match(rf"{re.escape(str(path))}, row (\d+)", ln).group(1) for ln in lines] == [
        "1",
        "2",
        "3",
        "4",
        "8",
        "12",
    ]
    assert "'v9_9'" in lines[0]
    assert "'abc'" in lines[1]
    assert "'9'" in lines[2]
    assert "'many'" in lines[3]
    assert "'0'" in lines[4]
    assert "first used on row 2" in lines[5]


def test_row_numbers_count_empty_lines_in_the_file(run_cli, tmp_path, make_wide):
    """A hand-edited CSV with an empty line: the reported row must still be the file's line."""
    data = make_wide(n=5)
    data.loc[3, "a1_1"] = "abc"
    lines = data.to_csv(index=False).splitlines()
    lines.insert(2, "")  # an empty line between the first and second respondent
    path = tmp_path / "gap.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert path.read_text(encoding="utf-8").splitlines()[5].split(",")[0] == "004"

    line = only_problem(run_cli("validate", path), path)

    assert line.startswith(f"{path}, row 6, column 'a1_1': "), line


def test_row_with_too_many_fields_is_one_located_problem_line(run_cli, tmp_path, make_wide):
    lines = make_wide(n=5).to_csv(index=False).splitlines()
    lines[3] += ",5"
    path = tmp_path / "ragged.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")

    line = only_problem(run_cli("validate", path), path)

    assert line.startswith(f"{path}, row 4: "), line


def test_valid_file_exits_0_with_a_summary(run_cli, responses, make_wide):
    data = make_wide(n=12)
    data.loc[0, "v1_1"] = "Don't know"
    path = responses(data)

    result = run_cli("validate", path)

    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stdout.strip().splitlines()
    assert lines[0] == (
        f"{path}: valid (wide layout): 12 respondents, 3 units, 3 roles, 431/432 answers given"
    )
    assert lines[1] == "Hidden to protect respondents (minimum group size 5):"


def test_nonexistent_file_is_not_found(run_cli, tmp_path):
    path = tmp_path / "nowhere.csv"

    line = only_problem(run_cli("validate", path), path)

    assert "not found" in line


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["validate"],
        ["validate", "responses.csv", "--bogus"],
        ["score", "responses.csv", "--by", "bogus"],
        ["frobnicate"],
    ],
    ids=["no_args", "no_file", "unknown_option", "bad_by", "unknown_command"],
)
def test_usage_errors_exit_2(run_cli, responses, args):
    path = responses()

    result = run_cli(*args, cwd=path.parent)

    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    assert "usage: xmkit" in result.stderr
    assert "error:" in result.stderr


# ---- score -----------------------------------------------------------------------------------


def test_score_prints_a_table_with_overall_and_the_stage(run_cli, responses, framework):
    path = responses()

    result = run_cli("score", path)

    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stdout.splitlines()
    assert any(line.startswith("Overall ") for line in lines), result.stdout
    for category in framework.categories:
        assert any(line.strip().startswith(category.name) for line in lines), category.name
    names = "|".join(re.escape(s.name) for s in framework.stages)
    assert re.search(rf"^Stage [1-5]: ({names})", result.stdout, re.MULTILINE), result.stdout


@pytest.mark.parametrize("suffix", [".csv", ".json", ".xlsx"])
def test_score_output_file_is_readable_by_pandas(run_cli, responses, tmp_path, framework, suffix):
    out = tmp_path / "out" / f"scores{suffix}"

    result = run_cli("score", responses(), "-o", out)

    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    readers = {".csv": pd.read_csv, ".json": pd.read_json, ".xlsx": pd.read_excel}
    table = readers[suffix](out)
    n_rows = 1 + len(framework.categories) + len(framework.practices) + 36
    assert f"wrote {n_rows} scores rows to {out}" in result.stdout
    assert set(SCORE_COLUMNS) <= set(table.columns), list(table.columns)
    assert len(table) == n_rows
    overall = table[table["level"] == "overall"].iloc[0]
    assert overall["name"] == "Overall"
    assert overall["n"] == 12
    assert 1 <= overall["score"] <= 5
    assert overall["ci_low"] <= overall["score"] <= overall["ci_high"]
    assert overall["stage_name"] in {s.name for s in framework.stages}
    assert not bool(overall["suppressed"])
    assert sorted(table.loc[table["level"] == "question", "id"]) == sorted(framework.question_ids)


@pytest.mark.parametrize("suffix", [".txt", ".xls", ".parquet"])
def test_score_with_unsupported_output_suffix_fails_without_writing(
    run_cli, responses, tmp_path, suffix
):
    path = responses()
    out = tmp_path / "out" / f"scores{suffix}"

    stderr = invalid(run_cli("score", path, "-o", out))

    assert "unsupported output format" in stderr
    assert ".csv, .json or .xlsx" in stderr
    assert not out.exists()
    assert not out.parent.exists() or list(out.parent.iterdir()) == []


def test_score_next_steps_prints_numbered_steps(run_cli, responses):
    result = run_cli("score", responses(), "--next-steps", "--bootstrap", "0")

    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    steps = result.stdout.split("Next steps:", 1)[1]
    numbers = [int(n) for n in re.findall(r"^\s*(\d+)\. ", steps, re.MULTILINE)]
    assert numbers, result.stdout
    assert numbers == list(range(1, len(numbers) + 1))


# ---- broken framework YAML ------------------------------------------------------------------


def broken_framework(tmp_path: Path, breakage: str) -> tuple[Path, str]:
    """A copy of the bundled framework with one question broken; returns it and the key path."""
    source = resources.files("xmkit") / "frameworks" / "ex_cx_alignment.yaml"
    data = yaml.safe_load(source.read_text(encoding="utf-8"))
    category = data["categories"][1]
    practice = category["practices"][0]
    question = practice["questions"][1]
    if breakage == "no_levels":
        del question["levels"]
    else:
        del question["levels"][5]
    path = tmp_path / f"{breakage}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    key = (
        f"categories[{category['id']}].practices[{practice['id']}]"
        f".questions[{question['id']}].levels"
    )
    return path, key


@pytest.mark.parametrize("command", ["validate", "score"])
@pytest.mark.parametrize("breakage", ["no_levels", "levels_1_to_4"])
def test_broken_framework_yaml_names_the_key_path(run_cli, responses, tmp_path, command, breakage):
    framework_path, key = broken_framework(tmp_path, breakage)

    stderr = invalid(run_cli(command, responses(), "--framework", framework_path))

    lines = stderr.splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"{framework_path}: {key}: "), lines[0]
    if breakage == "levels_1_to_4":
        assert "[1, 2, 3, 4, 5]" in lines[0]


# ---- outputs survive failed runs ------------------------------------------------------------


@pytest.mark.parametrize(
    "failure", ["invalid_responses", "broken_framework", "questionnaire", "unsupported_suffix"]
)
def test_existing_output_is_not_replaced_when_the_run_fails(
    run_cli, responses, make_wide, tmp_path, failure
):
    data = make_wide()
    data.loc[0, "v1_1"] = "abc"
    bad = responses(data, "bad.csv")
    good = responses(make_wide(), "good.csv")
    framework_path, _ = broken_framework(tmp_path, "no_levels")
    outdir = tmp_path / "out"
    outdir.mkdir()
    suffix = {"questionnaire": ".xlsx", "unsupported_suffix": ".txt"}.get(failure, ".csv")
    out = outdir / f"previous{suffix}"
    sentinel = b"previous results, keep me\n"
    out.write_bytes(sentinel)
    args = {
        "invalid_responses": ["score", bad, "-o", out],
        "broken_framework": ["score", good, "--framework", framework_path, "-o", out],
        "questionnaire": ["questionnaire", "-o", out, "--framework", framework_path],
        "unsupported_suffix": ["score", good, "-o", out],
    }[failure]

    invalid(run_cli(*args))

    assert out.read_bytes() == sentinel
    assert list(outdir.iterdir()) == [out]  # no temporary file left behind either
