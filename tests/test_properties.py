"""Properties of loading and scoring, checked on inputs hypothesis makes up.

* Whatever a cell holds (any Unicode text, control characters, quotes, delimiters, numbers
  of any size), loading returns data or located problems and never raises; the CLI prints
  problems, never a traceback or an "internal error".
* Whatever bytes a file holds, named .csv or .xlsx, the same.
* Scores stay on the scale (1-5) and the index on 0-100; agreement on 0-1.
* A group with fewer respondents than the minimum group size is never scored.

Kept small (tens of examples, a few respondents each) so the file runs in well under a minute;
``XMKIT_PROPERTY_EXAMPLES=2000`` runs many more examples.
"""

from __future__ import annotations

import csv
import io
import math
import os
import tempfile
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import xmkit
from xmkit.analysis.score import perception_gaps, score
from xmkit.cli import main
from xmkit.errors import Problem
from xmkit.io.responses import read_responses

FRAMEWORK = xmkit.load_framework()
QIDS = FRAMEWORK.question_ids
HEADER = ["respondent_id", "unit", "role", *QIDS, "comment"]
# XMKIT_PROPERTY_EXAMPLES=2000 hunts harder (minutes); the default keeps `make test` quick.
SETTINGS = settings(
    max_examples=int(os.environ.get("XMKIT_PROPERTY_EXAMPLES", "60")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# Any text a cell may hold: all of Unicode but surrogates (which no file can store).
cell_text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=30)
# Text that looks like what people type into an answer cell.
answer_like = st.one_of(
    st.integers(-1000, 1000).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(str),
    st.sampled_from(["", "3", " 4 ", "3 - Defined", "don't know", "N/A", "#DIV/0!", "=1+1"]),
    st.sampled_from(["5-Jan", "2026-01-05", "1e308", "NaN", "inf", "-0", "3,0", "٣", "３"]),
    cell_text,
)


def _valid_rows(n: int) -> list[list[str]]:
    return [
        [f"R{i}", f"Unit {i % 2}", f"Role {i % 3}", *[str((i + j) % 5 + 1) for j in range(36)], ""]
        for i in range(n)
    ]


def _write_csv(folder: Path, header: list[str], rows: list[list[str]]) -> Path:
    path = folder / "responses.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows([header, *rows])
    return path


def _check_loaded(path: Path) -> None:
    """Loading gives located problems or clean data on the scale; it never raises."""
    loaded = read_responses(path, FRAMEWORK)
    assert all(isinstance(p, Problem) and p.file == str(path) for p in loaded.problems)
    assert all(str(p) for p in loaded.problems)
    if not loaded.problems:
        answers = loaded.data[QIDS].to_numpy(dtype=float)
        present = answers[~np.isnan(answers)]
        assert ((present >= 1) & (present <= 5) & (present == np.floor(present))).all()


def _validate_cli(path: Path) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(["validate", str(path)])
    return code, err.getvalue()


@SETTINGS
@given(
    cells=st.lists(
        st.tuples(st.integers(0, 5), st.integers(0, len(HEADER) - 1), answer_like),
        min_size=1,
        max_size=12,
    )
)
def test_any_cell_content_gives_data_or_located_problems_never_a_crash(cells):
    rows = _valid_rows(6)
    for r, c, value in cells:
        rows[r][c] = value
    with tempfile.TemporaryDirectory() as tmp:
        path = _write_csv(Path(tmp), HEADER, rows)
        _check_loaded(path)
        code, stderr = _validate_cli(path)
    assert code in (0, 1)
    assert "internal error" not in stderr and "Traceback" not in stderr, stderr


@SETTINGS
@given(
    header=st.lists(st.one_of(st.sampled_from(HEADER), cell_text), min_size=1, max_size=45),
    width=st.integers(0, 45),
)
def test_any_header_and_ragged_rows_give_located_problems_never_a_crash(header, width):
    rows = [row[:width] for row in _valid_rows(4)]
    with tempfile.TemporaryDirectory() as tmp:
        path = _write_csv(Path(tmp), header, rows)
        _check_loaded(path)
        code, stderr = _validate_cli(path)
    assert code in (0, 1)
    assert "internal error" not in stderr and "Traceback" not in stderr, stderr


@SETTINGS
@given(
    data=st.binary(max_size=3000),
    suffix=st.sampled_from([".csv", ".xlsx", ".txt"]),
    prefix=st.sampled_from([b"", b"PK\x03\x04", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", b"\xff\xfe"]),
)
def test_any_bytes_in_a_file_give_problems_never_a_crash(data, suffix, prefix):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"responses{suffix}"
        path.write_bytes(prefix + data)
        _check_loaded(path)
        code, stderr = _validate_cli(path)
    assert code in (0, 1)
    assert "internal error" not in stderr and "Traceback" not in stderr, stderr


@SETTINGS
@given(
    cut=st.integers(0, 4000),
    noise=st.binary(min_size=0, max_size=8),
    at=st.integers(0, 4000),
)
def test_a_valid_file_cut_or_corrupted_anywhere_never_crashes(cut, noise, at):
    buffer = io.StringIO()
    csv.writer(buffer).writerows([HEADER, *_valid_rows(8)])
    whole = buffer.getvalue().encode("utf-8")
    damaged = whole[:at] + noise + whole[at:]
    damaged = damaged[: max(1, len(damaged) - cut)]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "responses.csv"
        path.write_bytes(damaged)
        _check_loaded(path)
        code, stderr = _validate_cli(path)
    assert code in (0, 1)
    assert "internal error" not in stderr and "Traceback" not in stderr, stderr


# ---- scoring ---------------------------------------------------------------------------------

answer = st.one_of(st.integers(1, 5).map(float), st.just(math.nan))


@st.composite
def survey(draw: st.DrawFn) -> pd.DataFrame:
    """Respondents in 1-4 units and 1-3 roles, answers 1-5 or missing, some with no answer."""
    n = draw(st.integers(1, 24))
    units = draw(st.lists(st.sampled_from(["A", "B", "C", "D"]), min_size=n, max_size=n))
    roles = draw(st.lists(st.sampled_from(["X", "Y", "Z"]), min_size=n, max_size=n))
    answers = draw(st.lists(st.lists(answer, min_size=36, max_size=36), min_size=n, max_size=n))
    data = pd.DataFrame(answers, columns=QIDS)
    data.insert(0, "role", roles)
    data.insert(0, "unit", units)
    data.insert(0, "respondent_id", [f"R{i}" for i in range(n)])
    return data


@SETTINGS
@given(data=survey(), by=st.sampled_from([None, "unit", "role", ["unit", "role"]]))
def test_scores_stay_within_1_to_5_and_the_index_within_0_to_100(data, by):
    scores = score(data, FRAMEWORK, by=by, min_group_size=1, n_boot=20, seed=1)
    for column in ("score", "ci_low", "ci_high"):
        values = scores[column].dropna().to_numpy(dtype=float)
        assert ((values >= 1 - 1e-9) & (values <= 5 + 1e-9)).all(), (column, values)
    index = scores["index"].dropna().to_numpy(dtype=float)
    assert ((index >= -1e-9) & (index <= 100 + 1e-9)).all(), index
    rwg = scores["rwg"].dropna().to_numpy(dtype=float)
    assert ((rwg >= 0) & (rwg <= 1 + 1e-9)).all(), rwg
    stages = scores["stage"].dropna().astype(int)
    assert stages.between(1, len(FRAMEWORK.stages)).all()


@SETTINGS
@given(
    data=survey(),
    by=st.sampled_from(["unit", "role", ["unit", "role"]]),
    min_size=st.integers(1, 8),
)
def test_a_group_below_the_minimum_size_is_never_scored(data, by, min_size):
    scores = score(data, FRAMEWORK, by=by, min_group_size=min_size, n_boot=10, seed=0)
    keys = [by] if isinstance(by, str) else by
    answered = data[QIDS].notna().any(axis=1)
    sizes = data[answered].groupby(keys).size()
    numbers = ["score", "index", "ci_low", "ci_high", "rwg", "alpha"]
    for key, rows in scores.groupby(keys):
        n = int(sizes.get(key[0] if len(keys) == 1 else key, 0))
        if n < min_size:
            assert rows["suppressed"].all(), (key, n)
            assert rows[numbers].isna().all().all(), (key, n)
            assert rows["stage"].isna().all() and rows["stage_name"].isna().all()
    # A question answered by fewer respondents than the minimum has no score either.
    few = scores[(scores["level"] == "question") & (scores["n"] < min_size)]
    assert few["suppressed"].all() and few["score"].isna().all()


@SETTINGS
@given(data=survey(), min_size=st.integers(1, 8))
def test_perception_gaps_of_a_role_below_the_minimum_size_are_withheld(data, min_size):
    gaps = perception_gaps(data, FRAMEWORK, min_group_size=min_size)
    answered = data[QIDS].notna().any(axis=1)
    sizes = data[answered].groupby("role").size()
    for row in gaps.itertuples():
        small = min(int(sizes.get(row.role_a, 0)), int(sizes.get(row.role_b, 0))) < min_size
        if small:
            assert row.suppressed and math.isnan(row.gap) and not row.flagged
