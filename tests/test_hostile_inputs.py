"""Hostile names and input files: control, bidirectional and zero-width characters in names,
slugs a crafted name tries to take, framework paths that are devices or secrets, files with
no answer at all. Real files and the real ``xmkit`` command throughout."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import openpyxl
import pytest
from batch_helpers import (
    explain,
    make_responses,
    read_manifest,
    run_xmkit,
    write_csv,
    xmkit_cmd,
)

from xmkit.batch.run import unique_slugs
from xmkit.errors import XmkitError
from xmkit.framework import load_framework
from xmkit.io.names import clean_name
from xmkit.io.paths import slugify

ESC = "\x1b[31m"
HOSTILE = {
    "Ops" + ESC + "Red": "Ops[31mRed",
    "Line\nBreak\r\n[3/3] done forged": "Line Break [3/3] done forged",
    "Bell\x07\x01Soh\x7f\x9b": "BellSoh",
    "Evil\u202eexe.pdf": "Evil<U+202E>exe.pdf",
    "Zero\u200bWidth\ufeff": "Zero<U+200B>Width<U+FEFF>",
}


@pytest.mark.parametrize(("raw", "clean"), HOSTILE.items())
def test_clean_name_removes_control_characters_and_escapes_bidi_and_zero_width(raw, clean):
    assert clean_name(raw) == clean


def test_clean_name_keeps_ordinary_names_of_any_script():
    for name in ("Stores North", "Zürich Süd", "東京 店舗", "مبيعات", "E-commerce (EU)"):
        assert clean_name(name) == name


def test_a_crafted_name_cannot_take_the_hashed_folder_of_another_unit():
    twins = unique_slugs(["Stores", "stores"])
    hashed = next(s for s in twins.values() if s != "stores")
    crafted = hashed.replace("-", " ")  # slugs exactly to the hashed folder name
    assert slugify(crafted) == hashed
    for order in (["Stores", "stores", crafted], [crafted, "stores", "Stores"]):
        slugs = unique_slugs(order)
        assert len(set(slugs.values())) == 3, slugs
        assert slugs[crafted] == hashed  # the crafted name keeps its own plain slug
    many = [f"Unit {i}" for i in range(50)] + [f"unit {i}" for i in range(50)] + ["index"]
    assert len(set(unique_slugs(many).values())) == len(many)
    assert "index" not in unique_slugs(many).values()


def _hostile_responses(framework, base: Path) -> Path:
    data = make_responses({name: 5 for name in HOSTILE}, framework, seed=9)
    data.loc[0, "role"] = "Manager\x1b]0;pwned\x07"
    return write_csv(data, base / "hostile.csv")


def test_validate_warns_about_names_and_score_writes_a_workbook(tmp_path, framework):
    csv = _hostile_responses(framework, tmp_path)
    validated = run_xmkit("validate", csv)
    assert validated.returncode == 0, explain(validated)
    assert "warning:" in validated.stderr and "unit name(s)" in validated.stderr
    assert "role name(s)" in validated.stderr
    assert "\x1b" not in validated.stdout + validated.stderr
    xlsx = tmp_path / "scores.xlsx"
    scored = run_xmkit("score", csv, "--by", "unit", "--bootstrap", 0, "-o", xlsx)
    assert scored.returncode == 0, explain(scored)
    cells = {c.value for row in openpyxl.load_workbook(xlsx).active.iter_rows() for c in row}
    assert set(HOSTILE.values()) <= cells


def test_batch_with_control_characters_in_names_renders_readable_outputs(tmp_path, framework):
    csv = _hostile_responses(framework, tmp_path)
    out = tmp_path / "out"
    done = run_xmkit(
        "batch", csv, "--client", "Acme\x1b[2J", "-o", out, "--jobs", 2, "--format", "html"
    )
    assert done.returncode == 0, explain(done)
    assert "internal error" not in done.stderr
    assert "\x1b" not in done.stdout + done.stderr
    forged = [line for line in done.stderr.splitlines() if "forged" in line]
    assert forged and all("Line Break [3/3] done forged" in line for line in forged), forged
    manifest = read_manifest(out)
    assert set(manifest["units"]) == set(HOSTILE.values())
    assert manifest["client"] == "Acme[2J"
    index = (out / "index.html").read_text(encoding="utf-8")
    assert "Evil&lt;U+202E&gt;exe.pdf" in index
    for text in [index] + [p.read_text(encoding="utf-8") for p in out.rglob("report.html")]:
        assert not any(c in text for c in "\x1b\x07\x00\u202e\u200b\ufeff"), "raw in HTML"
    sheet = openpyxl.load_workbook(out / "portfolio.xlsx").active
    assert set(HOSTILE.values()) <= {row[0].value for row in sheet.iter_rows(min_row=2)}


# ---- input files --------------------------------------------------------------------------------


def test_framework_dev_zero_is_refused_at_once_without_reading(tmp_path, framework):
    began = time.monotonic()
    with pytest.raises(XmkitError, match="not a regular file"):
        load_framework("/dev/zero")
    assert time.monotonic() - began < 1.0
    csv = write_csv(make_responses({"A": 5}, framework), tmp_path / "data.csv")
    began = time.monotonic()
    for command in (["validate", csv], ["batch", csv, "--client", "A", "-o", tmp_path / "o"]):
        done = run_xmkit(*command, "--framework", "/dev/zero", timeout=30)
        assert done.returncode == 1, explain(done)
        assert "/dev/zero" in done.stderr and "not a regular file" in done.stderr
    assert time.monotonic() - began < 30


def test_a_fifo_as_responses_or_assessment_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "responses.csv"
    os.mkfifo(fifo)
    done = run_xmkit("validate", fifo, timeout=30)
    assert done.returncode == 1 and "not a regular file" in done.stderr, explain(done)
    folder = tmp_path / "assessment"
    folder.mkdir()
    os.mkfifo(folder / "assessment.yaml")
    done = run_xmkit("batch", folder, "-o", tmp_path / "out", timeout=30)
    assert done.returncode == 1 and "not a regular file" in done.stderr, explain(done)


SECRET = "root:$6$Zx9secretsalt$hashhashhash:19000:0:99999:7:::"


@pytest.mark.parametrize(
    "text",
    [
        f"{SECRET}\ndaemon:*:19000:0:99999:7:::\n",  # a plain text file: not a mapping
        f"id: x\nname: [{SECRET}\n",  # broken YAML: its error quotes the line
        f"id: x\n  {SECRET}: 1\n",
    ],
)
def test_framework_errors_never_print_the_files_contents(tmp_path, framework, text):
    secret = tmp_path / "shadow"
    secret.write_text(text, encoding="utf-8")
    csv = write_csv(make_responses({"A": 5}, framework), tmp_path / "data.csv")
    done = run_xmkit("validate", csv, "--framework", secret)
    assert done.returncode == 1, explain(done)
    assert str(secret) in done.stderr
    assert "secretsalt" not in done.stdout + done.stderr, done.stderr
    assert "Traceback" not in done.stderr


def test_framework_above_the_size_limit_is_refused_before_reading(tmp_path, framework):
    big = tmp_path / "big.yaml"
    big.write_bytes(b"#" * 300_000)
    csv = write_csv(make_responses({"A": 5}, framework), tmp_path / "data.csv")
    env = {**os.environ, "XMKIT_MAX_FILE_MB": "0.1"}
    done = subprocess.run(
        xmkit_cmd("validate", csv, "--framework", big),
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert done.returncode == 1, explain(done)
    assert "larger than" in done.stderr and str(big) in done.stderr


def test_a_file_whose_every_answer_is_dont_know_is_an_error(tmp_path, framework):
    data = make_responses({"A": 6, "B": 6}, framework)
    for i, qid in enumerate(framework.question_ids):
        data[qid] = ["don't know", "", "N/A"][i % 3]
    csv = write_csv(data, tmp_path / "dont-know.csv")
    done = run_xmkit("validate", csv)
    assert done.returncode == 1, explain(done)
    assert "no answers to score" in done.stderr
    done = run_xmkit("batch", csv, "--client", "A", "-o", tmp_path / "out", "--format", "html")
    assert done.returncode == 1 and "no answers to score" in done.stderr, explain(done)
    assert not (tmp_path / "out" / "index.html").exists()
