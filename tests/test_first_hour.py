"""What a new user meets in the first hour: formats that follow the file name, exit codes,
assessment folders everywhere, a readable ``score``, and messages that say what happens.

Each test runs the installed ``xmkit`` console script on real files.
"""

from __future__ import annotations

import time
import zipfile
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "assessments" / "example"


@pytest.mark.parametrize(
    ("name", "starts_with"),
    [
        ("form.csv", b"respondent_id,unit,role,"),
        ("form.xlsx", b"PK"),
        ("survey.txt", b"[[AdvancedFormat]]"),
        ("form.html", b"<!DOCTYPE html>"),
    ],
)
def test_questionnaire_format_follows_the_output_suffix(run_cli, tmp_path, name, starts_with):
    result = run_cli("questionnaire", "-o", tmp_path / name)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / name).read_bytes().startswith(starts_with)
    if name.endswith(".xlsx"):
        assert zipfile.is_zipfile(tmp_path / name)


def test_questionnaire_format_that_contradicts_the_suffix_is_a_usage_error(run_cli, tmp_path):
    result = run_cli("questionnaire", "--format", "xlsx", "-o", tmp_path / "form.csv")
    assert result.returncode == 2
    assert "contradicts" in result.stderr and "form.csv" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "form.csv").exists()


def test_questionnaire_without_format_needs_a_known_suffix(run_cli, tmp_path):
    result = run_cli("questionnaire", "-o", tmp_path / "form.pdf")
    assert result.returncode == 2
    assert ".csv" in result.stderr and "--format" in result.stderr
    ok = run_cli("questionnaire", "--format", "html", "-o", tmp_path / "form")
    assert ok.returncode == 0, ok.stderr
    assert (tmp_path / "form").read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


@pytest.mark.parametrize("command", ["validate", "score"])
def test_validate_and_score_take_an_assessment_folder(run_cli, command):
    folder = run_cli(command, EXAMPLE)
    file = run_cli(command, EXAMPLE / "responses.csv")
    assert folder.returncode == 0, folder.stderr
    assert folder.stdout.split() == file.stdout.split()


def test_score_folds_groups_below_the_minimum_into_one_line(run_cli):
    result = run_cli("score", EXAMPLE, "--by", "unit,role", "--gaps")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert not [line for line in lines if "<5" in line], "no row of '<5' cells"
    small = [line for line in lines if line.startswith("Not shown, fewer than 5 responses")]
    also = [line for line in lines if line.startswith("Also hidden, so that no subtraction")]
    assert len(small) == 1 and len(also) <= 1
    assert "Contact Centre / Executive" in small[0]
    # Pop-up Stores (4) hides its unit, and so every role row inside it (docs/hardening.md)
    assert "Pop-up Stores / Frontline" in " ".join(small + also)
    assert [line for line in lines if "comparison(s) not shown" in line]
    # the scored groups are there with their numbers
    assert any(line.startswith("Contact Centre Frontline") for line in lines)


def test_score_output_writes_gaps_and_next_steps_beside_a_csv(run_cli, tmp_path):
    out = tmp_path / "scores.csv"
    result = run_cli("score", EXAMPLE, "--gaps", "--next-steps", "-o", out)
    assert result.returncode == 0, result.stderr
    gaps, steps = tmp_path / "scores-gaps.csv", tmp_path / "scores-next-steps.csv"
    for path in (out, gaps, steps):
        assert str(path) in result.stdout, f"the output says where {path.name} went"
    assert {"role_a", "role_b", "gap"} <= set(pd.read_csv(gaps).columns)
    assert {"priority", "horizon", "action"} <= set(pd.read_csv(steps).columns)


def test_score_output_writes_gaps_and_next_steps_as_sheets_of_an_xlsx(run_cli, tmp_path):
    out = tmp_path / "scores.xlsx"
    result = run_cli("score", EXAMPLE, "--gaps", "--next-steps", "-o", out)
    assert result.returncode == 0, result.stderr
    sheets = pd.read_excel(out, sheet_name=None)
    assert list(sheets) == ["scores", "gaps", "next-steps"]
    assert len(sheets["next-steps"]) > 0 and len(sheets["gaps"]) > 0
    assert not list(tmp_path.glob("scores-*")), "no sibling files for a workbook"


@pytest.mark.parametrize("command", ["report", "batch"])
def test_missing_client_is_a_usage_error(run_cli, tmp_path, command):
    result = run_cli(command, EXAMPLE / "responses.csv", "-o", tmp_path)
    assert result.returncode == 2, result.stderr
    assert "--client" in result.stderr and "Traceback" not in result.stderr
    assert not any(tmp_path.iterdir()), "nothing written"


def test_unknown_unit_is_refused_in_one_line_before_a_kernel_starts(run_cli, tmp_path):
    start = time.monotonic()
    result = run_cli("report", EXAMPLE, "--unit", "Nowhere", "-o", tmp_path)
    seconds = time.monotonic() - start
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0, result.stderr
    assert "'Nowhere'" in result.stderr and "Stores North" in result.stderr
    assert not any(tmp_path.iterdir())
    assert seconds < 20, f"{seconds:.1f} s: a kernel was started"


@pytest.mark.slow
def test_batch_says_what_it_starts_and_names_every_folder_it_skips(run_cli, tmp_path):
    root = tmp_path / "assessments"
    (root / "tiny").mkdir(parents=True)
    (root / "tiny" / "assessment.yaml").write_text("client: Tiny Co\n", encoding="utf-8")
    # two respondents: below the minimum group size, so no unit report is rendered
    head = (EXAMPLE / "responses.csv").read_text(encoding="utf-8").splitlines()[:3]
    (root / "tiny" / "responses.csv").write_text("\n".join(head) + "\n", encoding="utf-8")
    (root / "form-answers").mkdir()
    (root / "form-answers" / "responses.csv").write_text("respondent_id\n", encoding="utf-8")
    result = run_cli("batch", root, "-o", tmp_path / "out", "--format", "html")
    assert result.returncode == 0, result.stderr
    lines = result.stderr.splitlines()
    assert lines[0].startswith("xmkit batch: starting 1 worker(s) (html); reading ")
    assert any(
        "skipped" in line and "form-answers" in line and "assessment.yaml" in line for line in lines
    ), result.stderr
    assert any(line.startswith("Tiny Co: rendering 0 unit report(s)") for line in lines)
