"""``xmkit batch`` end to end: real kernels, real files, real Chromium.

Every unit report is a papermill notebook run on a real kernel, so each batch is run once by a
module-scoped fixture and inspected by several tests, one behaviour each:

* a 26-unit batch (23 good, 1 with a bad answer, 1 below the minimum group size and the
  next-smallest unit hidden with it) via the CLI;
* SIGTERM in the middle of a run, then ``--resume``;
* ``--resume`` after one answer changed;
* the Dask executor (a LocalCluster started by xmkit, and an external scheduler) against the
  local process pool;
* a corrupt manifest, a folder of per-unit files, hostile unit names and a relative output
  folder.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import stat
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
from batch_helpers import (
    explain,
    file_row,
    hrefs,
    leftovers,
    make_responses,
    portfolio,
    read_manifest,
    relative_files,
    report_mtimes,
    report_numbers,
    run_xmkit,
    score_columns,
    squash,
    statuses,
    table_rows,
    wait_until_gone,
    write_csv,
    xmkit_cmd,
)

import xmkit
from xmkit.batch.run import run_batch
from xmkit.io.paths import WINDOWS_RESERVED

pytestmark = pytest.mark.slow

CLIENT = "Acme"
TITLE = "{client} - {unit} - EX-CX alignment"
HEX64 = re.compile(r"^[0-9a-f]{64}$")
SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
RENDERED = {"done", "unchanged"}


@dataclass
class Run:
    """One finished CLI batch and what the tests read from it."""

    base: Path
    data: pd.DataFrame
    csv: Path
    out: Path
    result: subprocess.CompletedProcess
    elapsed: float
    manifest: dict


def batch(csv: Path, out: Path, *extra: object) -> Run:
    """``xmkit batch csv --client Acme -o out --jobs 2 --format html [extra]``, timed."""
    start = time.perf_counter()
    result = run_xmkit(
        "batch",
        csv,
        "--client",
        CLIENT,
        "-o",
        out,
        "--jobs",
        2,
        "--format",
        "html",
        *extra,
        cwd=csv.parent,
    )
    elapsed = time.perf_counter() - start
    manifest = read_manifest(out) if (out / "manifest.json").exists() else {}
    return Run(csv.parent, pd.DataFrame(), csv, out, result, elapsed, manifest)


def run_on(data: pd.DataFrame, base: Path, *extra: object) -> Run:
    csv = write_csv(data, base / "data.csv")
    run = batch(csv, base / "out", *extra)
    run.data = data
    return run


# ---- browser -------------------------------------------------------------------------------


@pytest.fixture
def page(browser):
    """A fresh page that records console errors and uncaught page errors in ``page.errors``."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    new = context.new_page()
    errors: list[str] = []
    new.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    new.on("pageerror", lambda e: errors.append(str(e)))
    new.errors = errors
    yield new
    context.close()


def images(page) -> list[dict]:
    return page.evaluate(
        "Array.from(document.images).map(i => ({alt: i.alt, complete: i.complete,"
        " width: i.naturalWidth}))"
    )


# ---- 1. a 26-unit batch via the CLI --------------------------------------------------------

STORES = [f"Store {i:02d}" for i in range(1, 25)]  # 24 units of 6 to 8 respondents
HIDDEN = "Store 01"  # 6, the next-smallest: hidden too, or the total minus the rest is Kiosk
GOOD = [name for name in STORES if name != HIDDEN]  # 23 units that render
BROKEN = "Outlet Broken"  # one answer "abc": fails, alone
SMALL = "Kiosk Small"  # 3 respondents, below the minimum of 5: skipped


@dataclass
class Big:
    run: Run
    bad_row: int
    bad_column: str


@pytest.fixture(scope="module")
def big(tmp_path_factory, framework) -> Big:
    units = {name: 6 + i % 3 for i, name in enumerate(STORES)}
    units[BROKEN] = 7
    units[SMALL] = 3
    data = make_responses(units, framework, seed=1)
    index = data.index[data["unit"] == BROKEN][3]
    column = framework.question_ids[7]
    data.loc[index, column] = "abc"
    run = run_on(data, tmp_path_factory.mktemp("big"))
    return Big(run, file_row(data, index), column)


def test_batch_cli_exits_1_and_names_the_failed_unit_when_one_of_26_units_fails(big, capsys):
    result = big.run.result
    with capsys.disabled():
        print(
            f"\n[test_batch] 26-unit batch (23 rendered, 1 failed, 2 skipped), --jobs 2, "
            f"html: {big.run.elapsed:.1f} s wall clock",
            flush=True,
        )
    assert result.returncode == 1, explain(result)
    output = result.stdout + result.stderr
    assert f"failed: {BROKEN}" in output, explain(result)
    assert "23 rendered" in result.stdout
    assert "2 skipped" in result.stdout
    assert "1 failed" in result.stdout
    assert "Traceback" not in output


def test_batch_renders_a_report_for_every_good_unit_and_none_for_failed_or_small(big):
    out = big.run.out
    manifest = big.run.manifest
    reports = sorted(out.rglob("report.html"))
    assert len(reports) == 23, [str(p) for p in reports]
    for name in GOOD:
        slug = manifest["units"][name]["slug"]
        page = out / slug / "report.html"
        assert page.is_file(), name
        source = page.read_text(encoding="utf-8")
        assert source.startswith("<!DOCTYPE html>")
        assert f"<title>{TITLE.format(client=CLIENT, unit=name)}</title>" in source
    for name in (BROKEN, SMALL, HIDDEN):
        slug = manifest["units"][name]["slug"]
        assert not (out / slug / "report.html").exists(), name


def test_batch_each_unit_report_shows_that_units_own_overall_score(big, framework):
    """Kernels are reused from unit to unit: each report must still show its own data."""
    data = big.run.data[big.run.data["unit"].isin(GOOD)]
    scores = xmkit.score(_numeric(data, framework), framework, by="unit", n_boot=0)
    overall = scores[scores["level"] == "overall"].set_index("unit")["score"]
    assert overall.round(2).nunique() > 5, "the synthetic units should differ"
    for name in GOOD:
        slug = big.run.manifest["units"][name]["slug"]
        text = squash((big.run.out / slug / "report.html").read_text(encoding="utf-8"))
        assert f"overall score of {overall[name]:.2f}" in text, name


def test_batch_manifest_records_done_failed_and_skipped_with_hashes_and_outputs(big):
    manifest = big.run.manifest
    assert manifest["client"] == CLIENT
    assert manifest["finished"], "a completed batch records when it finished"
    assert HEX64.match(manifest["template_hash"])
    assert statuses(manifest) == {
        **dict.fromkeys(GOOD, "done"),
        BROKEN: "failed",
        SMALL: "skipped",
        HIDDEN: "skipped",
    }
    for name, entry in manifest["units"].items():
        assert entry["unit"] == name
        for key in ("input_hash", "template_hash", "outputs", "slug", "n", "error"):
            assert key in entry, (name, key)
        assert SLUG.match(entry["slug"]), entry["slug"]
    hashes = set()
    for name in GOOD:
        entry = manifest["units"][name]
        assert HEX64.match(entry["input_hash"]), entry
        assert entry["template_hash"] == manifest["template_hash"]
        assert entry["outputs"] == [f"{entry['slug']}/report.html"]
        assert (big.run.out / entry["outputs"][0]).is_file()
        assert entry["error"] is None
        assert entry["n"] == int((big.run.data["unit"] == name).sum())
        hashes.add(entry["input_hash"])
    assert len(hashes) == len(GOOD), "each unit's input hash is its own"
    assert manifest["units"][SMALL]["n"] == 3
    assert manifest["units"][SMALL]["outputs"] == []


def test_batch_manifest_error_of_the_failed_unit_locates_the_bad_value(big):
    entry = big.run.manifest["units"][BROKEN]
    assert entry["status"] == "failed"
    assert entry["outputs"] == []
    error = entry["error"]
    assert "'abc'" in error, error
    assert f"row {big.bad_row}" in error, error
    assert repr(big.bad_column) in error, error
    assert "data.csv" in error, error


def test_batch_portfolio_csv_and_xlsx_have_one_row_per_unit_with_status(big, framework):
    out = big.run.out
    table = portfolio(out)
    assert sorted(table["unit"]) == sorted([*GOOD, BROKEN, SMALL, HIDDEN])
    assert table["unit"].is_unique
    by_unit = table.set_index("unit")
    assert by_unit.loc[BROKEN, "status"] == "failed"
    assert by_unit.loc[SMALL, "status"] == "skipped"
    assert by_unit.loc[HIDDEN, "status"] == "skipped"
    assert by_unit.loc[HIDDEN, "withheld"] == "hidden to protect a smaller unit"
    assert pd.isna(by_unit.loc[HIDDEN, "overall"])
    assert (by_unit.loc[GOOD, "status"] == "done").all()
    assert int(by_unit.loc[SMALL, "respondents"]) == 3
    for name in GOOD:
        slug = big.run.manifest["units"][name]["slug"]
        assert by_unit.loc[name, "report"] == f"{slug}/report.html"
        assert 1 <= by_unit.loc[name, "overall"] <= 5
        assert by_unit.loc[name, "overall"] == round(by_unit.loc[name, "overall"], 3)
    scores = xmkit.score(
        big.run.data[big.run.data["unit"].isin(GOOD)].pipe(_numeric, framework),
        framework,
        by="unit",
        n_boot=0,
    )
    overall = scores[scores["level"] == "overall"].set_index("unit")["score"]
    for name in GOOD:
        assert by_unit.loc[name, "overall"] == pytest.approx(overall[name], abs=5e-4), name

    xlsx = pd.read_excel(out / "portfolio.xlsx", sheet_name="Units", dtype={"Unit": str})
    assert list(xlsx["Status"]) == ["organization", *table["status"]]
    xlsx = xlsx.iloc[1:].reset_index(drop=True)  # the first row is all units together
    assert list(xlsx["Unit"]) == list(table["unit"])
    assert list(xlsx["Respondents"]) == list(table["respondents"])
    pd.testing.assert_series_equal(
        xlsx["Overall"], table["overall"], check_dtype=False, check_names=False
    )


def _numeric(data: pd.DataFrame, framework) -> pd.DataFrame:
    out = data.copy()
    out[framework.question_ids] = out[framework.question_ids].astype(float)
    return out


def test_batch_portfolio_small_unit_has_no_scores_at_all(big, framework):
    row = portfolio(big.run.out).set_index("unit").loc[SMALL]
    for column in score_columns(framework):
        assert pd.isna(row[column]), (column, row[column])
    assert pd.isna(row["report"])


def test_batch_portfolio_failed_unit_has_no_scores_and_no_stage(big, framework):
    """A failed unit has no result: neither its scores nor its stage (number or name)."""
    row = portfolio(big.run.out).set_index("unit").loc[BROKEN]
    shown = {c: row[c] for c in score_columns(framework)}
    assert all(pd.isna(v) for v in shown.values()), {
        c: v for c, v in shown.items() if not pd.isna(v)
    }
    assert pd.isna(row["report"])


def test_batch_index_links_resolve_to_existing_unit_reports_on_disk(big):
    out = big.run.out
    source = (out / "index.html").read_text(encoding="utf-8")
    links = hrefs(source)
    assert links, "the portfolio links to the unit reports"
    for link in links:
        target = (out / link).resolve()
        assert target.is_file(), link
        assert target.is_relative_to(out.resolve()), link
    manifest = big.run.manifest
    pages = [link for link in links if link.endswith("/report.html")]
    assert sorted(pages) == sorted(f"{manifest['units'][n]['slug']}/report.html" for n in GOOD)
    assert {"portfolio.xlsx", "portfolio.csv"} <= set(links)


def test_batch_index_lists_small_unit_with_reason_and_no_score(big):
    source = (big.run.out / "index.html").read_text(encoding="utf-8")
    rows = [r for r in table_rows(source) if SMALL in r]
    assert rows == [[SMALL, "fewer than 5 responses"]], rows
    hidden = [r for r in table_rows(source) if HIDDEN in r]
    assert hidden == [[HIDDEN, "hidden to protect a smaller unit"]], hidden
    failed = [r for r in table_rows(source) if BROKEN in r]
    assert failed == [[BROKEN, "failed"]], failed


def test_batch_index_opens_in_chromium_without_errors_with_decoded_images(big, page):
    page.goto((big.run.out / "index.html").as_uri(), wait_until="load")
    assert page.title() == f"{CLIENT} - Portfolio - EX-CX alignment"  # no period given
    found = images(page)
    assert len(found) >= 2, found  # the heatmap and the stage distribution
    for image in found:
        assert image["complete"] and image["width"] > 0, image
    text = page.inner_text("body")
    assert "fewer than 5 responses" in text
    cells = page.evaluate(
        "Array.from(document.querySelectorAll('tr')).map(r =>"
        " Array.from(r.querySelectorAll('td')).map(c => c.innerText.trim()))"
        ".filter(r => r.length)"
    )
    assert [r for r in cells if SMALL in r] == [[SMALL, "fewer than 5 responses"]]
    assert page.errors == []


def test_batch_index_links_open_unit_reports_in_chromium(big, page):
    index = (big.run.out / "index.html").as_uri()
    page.goto(index, wait_until="load")
    anchors = page.evaluate("Array.from(document.links).map(a => a.href)")
    assert len(anchors) == 23 + 2  # a report per unit; portfolio.xlsx and portfolio.csv
    for name in (GOOD[0], GOOD[-1]):
        page.goto(index, wait_until="load")
        page.get_by_role("link", name=name, exact=True).click()
        page.wait_for_load_state("load")
        slug = big.run.manifest["units"][name]["slug"]
        assert page.url == (big.run.out / slug / "report.html").as_uri()
        assert page.title() == TITLE.format(client=CLIENT, unit=name)
        for image in images(page):
            assert image["complete"] and image["width"] > 0, (name, image)
    assert page.errors == []


# ---- 2. SIGTERM in the middle of a run, then --resume --------------------------------------

# Enough units that the batch is still rendering a few seconds after two have finished.
BRANCHES = [f"Branch {i:02d}" for i in range(1, 25)]


@dataclass
class Interrupted:
    base: Path
    out: Path
    temp: Path
    returncode: int
    stdout: str
    stderr: str
    signal_ns: int
    exit_seconds: float
    manifest: dict
    done: list[str]
    mtimes: dict[str, int]
    index_written: bool
    processes_left: list[str]
    temp_left: list[str]
    resume: subprocess.CompletedProcess
    resume_temp: Path
    resumed: dict
    mtimes_after: dict[str, int]
    processes_after_resume: list[str]


def _isolated_env(folder: Path) -> dict[str, str]:
    """The environment with a private TMPDIR and Jupyter runtime folder, to see what a run
    leaves there (scratch data, kernel connection files, IPC sockets)."""
    folder.mkdir()
    return {**os.environ, "TMPDIR": str(folder), "JUPYTER_RUNTIME_DIR": str(folder)}


@pytest.fixture(scope="module")
def interrupted(tmp_path_factory, framework) -> Interrupted:
    base = tmp_path_factory.mktemp("sigterm")
    data = make_responses({b: 6 + i % 3 for i, b in enumerate(BRANCHES)}, framework, seed=2)
    csv = write_csv(data, base / "data.csv")
    out = base / "out"
    temp = base / "tmp-interrupted"
    env = _isolated_env(temp)
    args = ("batch", csv, "--client", CLIENT, "-o", out, "--jobs", 2, "--format", "html")
    stdout, stderr = base / "stdout.txt", base / "stderr.txt"
    with stdout.open("w") as out_fh, stderr.open("w") as err_fh:
        proc = subprocess.Popen(
            xmkit_cmd(*args), stdout=out_fh, stderr=err_fh, text=True, env=env, cwd=base
        )
        try:
            # the progress lines tell at once that units are done (the manifest is written
            # at most once a second)
            deadline = time.monotonic() + 120
            done: list[str] = []
            while time.monotonic() < deadline and proc.poll() is None:
                done = re.findall(r"\] done +(.+?) \(", stderr.read_text())
                if len(done) >= 2:
                    break
                time.sleep(0.02)
            assert proc.poll() is None, (
                f"the batch ended before it could be interrupted: exit {proc.returncode}\n"
                f"{stderr.read_text()}"
            )
            assert len(done) >= 2, "no two units finished within 120 s"
            signal_ns = time.time_ns()
            proc.send_signal(signal.SIGTERM)
            returncode = proc.wait(timeout=60)
            exit_seconds = (time.time_ns() - signal_ns) / 1e9
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=30)
    # workers and kernels of the interrupted run (they inherit its TMPDIR) must be gone before
    # its traces are read, and before --resume writes to the same folder
    left = wait_until_gone(str(temp))
    manifest = read_manifest(out)
    done = sorted(u for u, s in statuses(manifest).items() if s == "done")
    mtimes = report_mtimes(out)
    index_written = (out / "index.html").exists()
    temp_left = sorted(str(p.relative_to(temp)) for p in temp.rglob("*"))

    resume_temp = base / "tmp-resume"
    resume = run_xmkit(*args, "--resume", cwd=base, env=_isolated_env(resume_temp))
    return Interrupted(
        base=base,
        out=out,
        temp=temp,
        returncode=returncode,
        stdout=stdout.read_text(),
        stderr=stderr.read_text(),
        signal_ns=signal_ns,
        exit_seconds=exit_seconds,
        manifest=manifest,
        done=done,
        mtimes=mtimes,
        index_written=index_written,
        processes_left=left,
        temp_left=temp_left,
        resume=resume,
        resume_temp=resume_temp,
        resumed=read_manifest(out),
        mtimes_after=report_mtimes(out),
        processes_after_resume=wait_until_gone(str(resume_temp)),
    )


def test_sigterm_stops_the_batch_with_nonzero_exit_and_keeps_finished_units(interrupted):
    it = interrupted
    assert it.returncode != 0, it.stderr[-3000:]
    assert it.exit_seconds < 60
    assert "interrupted" in it.stderr
    assert len(it.done) >= 2
    assert it.manifest["finished"] is None, "an interrupted batch is not recorded as finished"
    for name in it.done:
        entry = it.manifest["units"][name]
        assert (it.out / entry["outputs"][0]).is_file(), name
    assert not it.index_written, "the portfolio of an interrupted batch is not rendered"


def test_sigterm_says_how_far_the_batch_got_and_how_to_continue(interrupted):
    lines = interrupted.stderr.splitlines()
    assert lines[0].startswith("xmkit batch: starting 2 worker(s) (html); reading ")
    assert any(line.startswith(f"{CLIENT}: rendering 24 unit report(s) into ") for line in lines)
    finished = [line for line in lines if line.startswith("interrupted: ")]
    assert len(finished) == 1, interrupted.stderr[-3000:]
    done, total = re.match(r"interrupted: (\d+) of (\d+) unit report", finished[0]).groups()
    assert int(total) == 24 and int(done) >= len(interrupted.done)
    resume = [line for line in lines if line.startswith("continue with: xmkit batch ")]
    assert len(resume) == 1 and resume[0].endswith(" --resume"), interrupted.stderr[-3000:]


def test_sigterm_renders_no_unit_after_the_signal(interrupted):
    """Workers stop with the parent: no unit is rendered once SIGTERM has been handled.

    At most one unit per worker (--jobs 2) can have been finishing as the signal arrived, and
    its file lands within moments; any other report the manifest does not record, or any
    report written well after the signal, was rendered by a worker that kept going.
    """
    it = interrupted
    grace_ns = 2_000_000_000
    recorded = {it.manifest["units"][name]["outputs"][0] for name in it.done}
    unrecorded = sorted(set(it.mtimes) - recorded)
    late = {
        path: round((mtime - it.signal_ns) / 1e9, 1)
        for path, mtime in it.mtimes.items()
        if mtime > it.signal_ns + grace_ns
    }
    assert late == {} and len(unrecorded) <= 2, (
        f"seconds after SIGTERM each late report was written: {late}; reports the manifest "
        f"does not record: {unrecorded}; it records only {it.done} as done"
    )


def test_sigterm_leaves_no_worker_or_kernel_process_running(interrupted):
    assert interrupted.processes_left == []


def test_sigterm_leaves_no_scratch_data_kernel_files_or_sockets_in_tmpdir(interrupted):
    """Terminated workers clean up: no per-unit responses copy, kernel connection file (it
    holds the kernel's HMAC key) or IPC socket folder is left in the temporary folder."""
    it = interrupted
    stray = [
        name
        for name in it.temp_left
        if Path(name).parts[0].startswith("xmkit-")
        or name.endswith((".json", "responses.csv"))
        or stat.S_ISSOCK((it.temp / name).lstat().st_mode)
    ]
    assert stray == [], f"left in TMPDIR after SIGTERM: {stray}"


def test_resume_after_sigterm_finishes_all_units_and_keeps_finished_reports(interrupted):
    it = interrupted
    assert it.resume.returncode == 0, explain(it.resume)
    resumed = statuses(it.resumed)
    assert set(resumed) == set(BRANCHES)
    assert set(resumed.values()) <= RENDERED, resumed
    for name in it.done:
        assert resumed[name] == "unchanged", (name, resumed[name])
        entry = it.resumed["units"][name]
        path = entry["outputs"][0]
        assert it.mtimes_after[path] == it.mtimes[path], f"{name} was rendered again"
    for name in set(BRANCHES) - set(it.done):
        assert resumed[name] == "done", (name, resumed[name])
    assert len(it.mtimes_after) == len(BRANCHES)
    assert it.resumed["finished"]
    assert (it.out / "index.html").is_file()
    links = hrefs((it.out / "index.html").read_text(encoding="utf-8"))
    assert len([link for link in links if link.endswith("/report.html")]) == len(BRANCHES)


def test_resume_after_sigterm_leaves_no_temporary_partial_or_kernel_files(interrupted):
    it = interrupted
    assert leftovers(it.out) == []
    expected = {"index.html", "manifest.json", "portfolio.csv", "portfolio.xlsx"}
    expected |= {e["outputs"][0] for e in it.resumed["units"].values()}
    assert relative_files(it.out) == expected
    assert it.processes_after_resume == []
    stray = sorted(
        str(p.relative_to(it.resume_temp))
        for p in it.resume_temp.rglob("*")
        if p.name.startswith("xmkit-") or p.suffix == ".json" or stat.S_ISSOCK(p.lstat().st_mode)
    )
    assert stray == [], f"left in TMPDIR by the resumed run: {stray}"


# ---- 3 and 4. resume after a change; Dask against the local pool ---------------------------

FOUR = ["North", "South", "East", "West"]


@pytest.fixture(scope="module")
def local_four(tmp_path_factory, framework) -> Run:
    data = make_responses({u: 6 + i % 2 for i, u in enumerate(FOUR)}, framework, seed=3)
    run = run_on(data, tmp_path_factory.mktemp("local4"))
    assert run.result.returncode == 0, explain(run.result)
    assert set(statuses(run.manifest).values()) == {"done"}
    return run


def test_resume_rerenders_only_the_unit_whose_answers_changed(local_four, tmp_path, framework):
    out = tmp_path / "out"
    shutil.copytree(local_four.out, out)  # keeps mtimes
    before = report_mtimes(out)
    data = local_four.data.copy()
    index = data.index[data["unit"] == "East"][2]
    column = framework.question_ids[11]
    data.loc[index, column] = int(data.loc[index, column]) % 5 + 1
    csv = write_csv(data, tmp_path / "data.csv")

    run = batch(csv, out, "--resume")

    assert run.result.returncode == 0, explain(run.result)
    assert statuses(run.manifest) == {
        "North": "unchanged",
        "South": "unchanged",
        "East": "done",
        "West": "unchanged",
    }
    assert "1 rendered, 3 unchanged" in run.result.stdout
    after = report_mtimes(out)
    slug = run.manifest["units"]["East"]["slug"]
    for path, mtime in before.items():
        if path.startswith(f"{slug}/"):
            assert after[path] > mtime, "the changed unit is rendered again"
        else:
            assert after[path] == mtime, f"{path} was rendered again"
    old = local_four.manifest["units"]["East"]["input_hash"]
    assert run.manifest["units"]["East"]["input_hash"] != old
    scores = xmkit.score(_numeric(data, framework), framework, by="unit", n_boot=0)
    overall = scores[scores["level"] == "overall"].set_index("unit")["score"]
    table = portfolio(out).set_index("unit")
    for name in FOUR:
        assert table.loc[name, "overall"] == pytest.approx(overall[name], abs=5e-4), name
    assert f"{overall['East']:.2f}" in (out / slug / "report.html").read_text(encoding="utf-8")
    assert leftovers(out) == []


def _assert_same_batch(expected: Path, actual: Path, label: str) -> None:
    assert relative_files(actual) == relative_files(expected), label
    pd.testing.assert_frame_equal(portfolio(actual), portfolio(expected), obj=label)
    reports = sorted(p.relative_to(expected) for p in expected.rglob("report.html"))
    assert len(reports) == len(FOUR)
    for rel in reports:
        assert report_numbers(actual / rel) == report_numbers(expected / rel), (label, rel)
    assert statuses(read_manifest(actual)) == statuses(read_manifest(expected)), label
    assert leftovers(actual) == [], label


def test_dask_executor_renders_the_same_reports_as_the_local_pool(local_four, tmp_path):
    from distributed import LocalCluster

    # xmkit starts its own LocalCluster (no --scheduler)
    cli = batch(local_four.csv, tmp_path / "dask-cli", "--executor", "dask")
    assert cli.result.returncode == 0, explain(cli.result)
    _assert_same_batch(local_four.out, cli.out, "dask via CLI")

    # an external scheduler, through the Python API
    cluster = LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    )
    try:
        results = run_batch(
            local_four.csv,
            client=CLIENT,
            output_dir=tmp_path / "dask-api",
            formats="html",
            executor="dask",
            scheduler=cluster.scheduler_address,
            quiet=True,
        )
    finally:
        cluster.close()
    assert len(results) == 1
    assert results[0].failed == []
    assert results[0].count("done") == len(FOUR)
    _assert_same_batch(local_four.out, tmp_path / "dask-api", "dask via scheduler")


# ---- 5. corrupt manifest -------------------------------------------------------------------


def test_resume_with_corrupt_manifest_exits_1_naming_the_file_without_traceback(
    tmp_path, framework, run_cli
):
    data = make_responses({"North": 6}, framework, seed=4)
    csv = write_csv(data, tmp_path / "data.csv")
    out = tmp_path / "out"
    out.mkdir()
    (out / "manifest.json").write_text("{not json", encoding="utf-8")

    result = run_cli(
        "batch", csv, "--client", CLIENT, "-o", out, "--format", "html", "--resume", cwd=tmp_path
    )

    assert result.returncode == 1, explain(result)
    assert "manifest.json" in result.stderr
    assert "corrupt" in result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    assert (out / "manifest.json").read_text(encoding="utf-8") == "{not json"
    assert not list(out.rglob("report.html"))


# ---- 6. a folder of per-unit files ---------------------------------------------------------


def test_folder_of_unit_files_renders_valid_files_and_fails_the_invalid_one(
    tmp_path, framework, run_cli
):
    folder = tmp_path / "responses"
    for i, name in enumerate(["Stores North", "Stores South", "Stores West"]):
        data = make_responses({name: 6}, framework, seed=10 + i)
        if name == "Stores West":
            data = data.drop(columns=["v1_1"])  # a missing role is one role now; a question is not
        write_csv(data, folder / f"{name}.csv")
    out = tmp_path / "out"

    result = run_cli(
        "batch", folder, "--client", CLIENT, "-o", out, "--jobs", 2, "--format", "html"
    )

    assert result.returncode == 1, explain(result)
    assert "failed: Stores West" in result.stdout
    manifest = read_manifest(out)
    assert statuses(manifest) == {
        "Stores North": "done",
        "Stores South": "done",
        "Stores West": "failed",
    }
    assert "question column(s) missing: v1_1" in manifest["units"]["Stores West"]["error"]
    assert "Stores West.csv" in manifest["units"]["Stores West"]["error"]
    reports = sorted(str(p.relative_to(out)) for p in out.rglob("report.html"))
    assert reports == ["stores-north/report.html", "stores-south/report.html"]
    table = portfolio(out).set_index("unit")
    assert table.loc["Stores West", "status"] == "failed"
    assert pd.isna(table.loc["Stores West", "overall"])
    assert leftovers(out) == []


# ---- 7. untrusted unit names ---------------------------------------------------------------

HOSTILE = ["../../evil", "CON", "Ünïcode Stores"]
OUTPUT_NAMES = {"report.html", "index.html", "manifest.json", "portfolio.csv", "portfolio.xlsx"}


def test_untrusted_unit_names_render_into_safe_folders_inside_output_with_working_links(
    tmp_path, framework, run_cli, page
):
    data = make_responses(dict.fromkeys(HOSTILE, 6), framework, seed=5)
    csv = write_csv(data, tmp_path / "input" / "data.csv")
    out = tmp_path / "a" / "b" / "out"
    before = {p for p in tmp_path.rglob("*")}

    result = run_cli("batch", csv, "--client", CLIENT, "-o", out, "--jobs", 2, "--format", "html")

    assert result.returncode == 0, explain(result)
    created = {p for p in tmp_path.rglob("*")} - before
    outside = {p for p in created if not p.is_relative_to(out)}
    assert outside == {tmp_path / "a", tmp_path / "a" / "b"}, sorted(map(str, outside))
    manifest = read_manifest(out)
    assert statuses(manifest) == dict.fromkeys(HOSTILE, "done")
    slugs = {name: manifest["units"][name]["slug"] for name in HOSTILE}
    for name, slug in slugs.items():
        assert SLUG.match(slug), (name, slug)
        assert slug not in WINDOWS_RESERVED, (name, slug)
        assert (out / slug / "report.html").is_file(), name
    assert len(set(slugs.values())) == len(HOSTILE)
    for path in out.rglob("*"):
        assert not path.is_symlink(), path
        if path.is_dir():
            assert path.parent == out and SLUG.match(path.name), path
        else:
            assert path.name in OUTPUT_NAMES, path

    index = out / "index.html"
    links = hrefs(index.read_text(encoding="utf-8"))
    pages = [link for link in links if link.endswith("/report.html")]
    assert sorted(pages) == sorted(f"{s}/report.html" for s in slugs.values())
    for link in links:
        assert (out / link).resolve().is_file(), link
        assert (out / link).resolve().is_relative_to(out.resolve()), link
    for name, slug in slugs.items():
        page.goto(index.as_uri(), wait_until="load")
        page.get_by_role("link", name=name, exact=True).click()
        page.wait_for_load_state("load")
        assert page.url == (out / slug / "report.html").as_uri()
        assert page.title() == TITLE.format(client=CLIENT, unit=name)
    assert page.errors == []


# ---- relative output folder ----------------------------------------------------------------


def test_batch_into_default_output_folder_relative_to_cwd_renders_reports(
    tmp_path, framework, run_cli
):
    """Without -o the reports go to reports/<client>/ below the current folder."""
    data = make_responses({"Solo": 6}, framework, seed=6)
    write_csv(data, tmp_path / "data.csv")

    result = run_cli("batch", "data.csv", "--client", CLIENT, "--format", "html", cwd=tmp_path)

    assert result.returncode == 0, explain(result)
    out = tmp_path / "reports" / "acme"
    assert statuses(read_manifest(out)) == {"Solo": "done"}
    assert (out / "solo" / "report.html").is_file()
    assert (out / "index.html").is_file()
    assert leftovers(out) == []
