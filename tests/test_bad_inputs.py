"""The bad-input corpus (tests/data/bad/cases.yaml) through the installed ``xmkit`` command.

Every case is one real mistake (an Excel-saved CSV, a stray total row, a 200 MB export, a
password-protected workbook, a broken framework, ...). Each runs in its own folder that already
holds earlier output, and must fail with exit code 1, a message naming the file (and row,
column, value and expectation where there are any), no traceback, and the folder byte-identical
afterwards: nothing written, nothing replaced, nothing executed.

Every case runs once through ``xmkit.cli.main`` in this process (the console script's exact
code path, without a second of interpreter start-up per case); one case per command and kind
of culprit also runs through the installed console script, concurrently, to check that a real
process prints no traceback either.
"""

from __future__ import annotations

import csv
import io
import os
import shutil
import struct
import subprocess
import sys
import time
import zipfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
import yaml

import xmkit

BAD = Path(__file__).resolve().parent / "data" / "bad"
CASES = yaml.safe_load((BAD / "cases.yaml").read_text(encoding="utf-8"))
XMKIT = Path(sys.executable).parent / "xmkit"
MB = 1024 * 1024
SENTINEL = "earlier output, keep me\n"
EXISTING = {
    "score": {"out/scores.csv": SENTINEL},
    "report": {"out/acme/all-units/report.html": SENTINEL, "out/acme/all-units/report.pdf": "%"},
    "batch": {
        "out/acme/index.html": SENTINEL,
        "out/acme/portfolio.csv": SENTINEL,
        "out/acme/manifest.json": '{"units": {}}',
        "out/acme/stores-north/report.html": SENTINEL,
    },
    "validate": {},
}


# ---- inputs made at test time (large, binary or workbook files) -----------------------------


def _valid() -> pd.DataFrame:
    return pd.read_csv(BAD / "valid_responses.csv", dtype=str, keep_default_na=False)


def _xlsx_bytes(data: pd.DataFrame) -> bytes:
    buffer = io.BytesIO()
    data.to_excel(buffer, index=False)
    return buffer.getvalue()


def _cfb(streams: dict[str, bytes]) -> bytes:
    """A minimal OLE compound file (what Excel writes for .xls and encrypted .xlsx files).

    Version 3, 512-byte sectors, one FAT sector, one directory sector, every stream padded to
    at least 4096 bytes so that it lives in regular sectors (no mini stream needed).
    """
    end, free, fat_mark, none = 0xFFFFFFFE, 0xFFFFFFFF, 0xFFFFFFFD, 0xFFFFFFFF
    names = list(streams)
    assert len(names) <= 3
    bodies = [streams[n].ljust(4096, b"\0") for n in names]
    fat = [fat_mark, end]  # sector 0: the FAT; sector 1: the directory
    starts = []
    for body in bodies:
        count = -(-len(body) // 512)
        first = len(fat)
        starts.append(first)
        fat += [*range(first + 1, first + count), end]
    fat += [free] * (128 - len(fat))

    def entry(name: str, kind: int, child: int, right: int, start: int, size: int) -> bytes:
        encoded = name.encode("utf-16-le") + b"\0\0"
        return (
            encoded.ljust(64, b"\0")
            + struct.pack("<HBB", len(encoded), kind, 1)
            + struct.pack("<III", none, right, child)
            + b"\0" * 16
            + struct.pack("<I", 0)
            + b"\0" * 16
            + struct.pack("<IQ", start, size)
        )

    directory = entry("Root Entry", 5, 1, none, end, 0)
    for i, (name, body) in enumerate(zip(names, bodies, strict=True)):
        right = i + 2 if i + 1 < len(names) else none
        directory += entry(name, 2, none, right, starts[i], len(body))
    directory = directory.ljust(512, b"\0")
    header = (
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
        + b"\0" * 16
        + struct.pack("<HHHHH", 0x3E, 3, 0xFFFE, 9, 6)
        + b"\0" * 6
        + struct.pack("<IIIIIIIII", 0, 1, 1, 0, 4096, end, 0, end, 0)
        + struct.pack("<I", 0)
        + struct.pack("<I", free) * 108
    )
    assert len(header) == 512
    fat_sector = struct.pack("<128I", *fat)
    return header + fat_sector + directory + b"".join(bodies)


def utf16_tab_text(folder: Path) -> str:
    data = _valid()
    data.loc[1, "v1_3"] = "7"
    (folder / "responses.txt").write_bytes(
        data.to_csv(index=False, sep="\t").encode("utf-16")  # BOM + UTF-16, like Excel
    )
    return "responses.txt"


def png_named_csv(folder: Path) -> str:
    png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x10\0\0\0\x10\x08\x06\0\0\0" + bytes(range(256))
    (folder / "responses.csv").write_bytes(png)
    return "responses.csv"


def workbook_named_csv(folder: Path) -> str:
    (folder / "responses.csv").write_bytes(_xlsx_bytes(_valid()))
    return "responses.csv"


def pdf_named_csv(folder: Path) -> str:
    (folder / "responses.csv").write_bytes(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n")
    return "responses.csv"


def nothing(folder: Path) -> str:
    return "respones.csv"


def a_folder(folder: Path) -> str:
    (folder / "survey").mkdir()
    shutil.copy(BAD / "valid_responses.csv", folder / "survey" / "responses.csv")
    return "survey"


def file_of_200_mb(folder: Path) -> str:
    path = folder / "export.csv"
    with path.open("wb") as fh:
        fh.write((BAD / "valid_responses.csv").read_bytes())
        fh.truncate(200 * MB)  # sparse: no disk space used, nothing worth reading either
    return "export.csv"


def sixty_rows(folder: Path) -> str:
    data = _valid()
    many = pd.concat([data] * 8, ignore_index=True).head(60)
    many["respondent_id"] = [f"R{i:03d}" for i in range(len(many))]
    many.to_csv(folder / "responses.csv", index=False)
    return "responses.csv"


def workbook_zip_bomb(folder: Path) -> str:
    path = folder / "responses.xlsx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<workbook/>")
        archive.writestr("xl/worksheets/sheet1.xml", b" " * (12 * MB))
    return "responses.xlsx"


def password_protected_xlsx(folder: Path) -> str:
    info = struct.pack("<HHI", 4, 4, 0x40) + b"<encryption/>"  # agile encryption header
    package = struct.pack("<Q", 9000) + os.urandom(9000)
    (folder / "responses.xlsx").write_bytes(
        _cfb({"EncryptionInfo": info, "EncryptedPackage": package})
    )
    return "responses.xlsx"


def old_xls_named_xlsx(folder: Path) -> str:
    (folder / "responses.xlsx").write_bytes(_cfb({"Workbook": b"\x09\x08" + os.urandom(5000)}))
    return "responses.xlsx"


def truncated_xlsx(folder: Path) -> str:
    whole = _xlsx_bytes(_valid())
    (folder / "responses.xlsx").write_bytes(whole[: len(whole) // 2])
    return "responses.xlsx"


def empty_sheet_xlsx(folder: Path) -> str:
    openpyxl.Workbook().save(folder / "responses.xlsx")
    return "responses.xlsx"


def csv_named_xlsx(folder: Path) -> str:
    shutil.copy(BAD / "valid_responses.csv", folder / "responses.xlsx")
    return "responses.xlsx"


def word_document_named_xlsx(folder: Path) -> str:
    with zipfile.ZipFile(folder / "responses.xlsx", "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<document/>")
    return "responses.xlsx"


def xlsx_title_rows(folder: Path) -> str:
    data = _valid()
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["Northwind survey 2026"])
    sheet.append([])
    sheet.append(list(data.columns))
    for row in data.itertuples(index=False):
        sheet.append(list(row))
    book.save(folder / "responses.xlsx")
    return "responses.xlsx"


def xlsx_merged_header(folder: Path) -> str:
    data = _valid()
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(list(data.columns))
    for row in data.itertuples(index=False):
        sheet.append(list(row))
    sheet.merge_cells("D1:F1")  # v1_1 merged over v1_2 and v1_3: their headers are gone
    book.save(folder / "responses.xlsx")
    return "responses.xlsx"


def old_xls_suffix(folder: Path) -> str:
    shutil.copy(BAD / "valid_responses.csv", folder / "responses.xls")
    return "responses.xls"


GENERATORS: dict[str, Callable[[Path], str]] = {
    fn.__name__: fn
    for fn in (
        utf16_tab_text,
        png_named_csv,
        workbook_named_csv,
        pdf_named_csv,
        nothing,
        a_folder,
        file_of_200_mb,
        sixty_rows,
        workbook_zip_bomb,
        password_protected_xlsx,
        old_xls_named_xlsx,
        truncated_xlsx,
        empty_sheet_xlsx,
        csv_named_xlsx,
        word_document_named_xlsx,
        xlsx_title_rows,
        xlsx_merged_header,
        old_xls_suffix,
    )
}


# ---- running a case -------------------------------------------------------------------------


@dataclass
class Run:
    """One case's run: its command line, the folder before and after, and what it printed."""

    case: dict
    folder: Path
    args: list[str]
    before: dict[str, bytes]
    after: dict[str, bytes]
    returncode: int | None
    stdout: str
    stderr: str
    seconds: float


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file below ``folder`` (relative path -> bytes); folders as empty entries."""
    found = {}
    for path in sorted(folder.rglob("*")):
        key = path.relative_to(folder).as_posix()
        if path.is_dir():
            found[key + "/"] = b""
        elif path.stat().st_size > 10 * MB:  # the sparse 200 MB file: compare its size only
            found[key] = str(path.stat().st_size).encode()
        else:
            found[key] = path.read_bytes()
    return found


def prepare(case: dict, folder: Path) -> list[str]:
    """Lay out the case folder (input, earlier output) and return the command line."""
    folder.mkdir(parents=True)
    if "generate" in case:
        target = GENERATORS[case["generate"]](folder)
    else:
        source = BAD / case.get("input", "valid_responses.csv")
        target = source.name
        if source.is_dir():
            shutil.copytree(source, folder / target)
        else:
            shutil.copy(source, folder / target)
    command = case.get("command", "score")
    existing = {**EXISTING[command], **case.get("existing", {})}
    for name, content in existing.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(content, encoding="utf-8")
    args = {
        "score": ["score", target, "-o", "out/scores.csv"],
        "report": ["report", target, "--client", "Acme", "-o", "out", "--format", "html"],
        "batch": ["batch", target, "--client", "Acme", "-o", "out/acme", "--format", "html"],
        "validate": ["validate", target],
    }[command]
    if "framework" in case:
        shutil.copy(BAD / case["framework"], folder / "framework.yaml")
        args += ["--framework", "framework.yaml"]
    return args + case.get("args", [])


def _in_process(args: list[str], folder: Path, env: dict[str, str]) -> tuple[int, str, str]:
    """``xmkit.cli.main`` as the console script runs it, in this process (no start-up cost)."""
    from xmkit.cli import main

    out, err = io.StringIO(), io.StringIO()
    cwd, saved = os.getcwd(), dict(os.environ)
    try:
        os.chdir(folder)
        os.environ.update(env)
        os.environ.pop("XMKIT_DEBUG", None)
        with redirect_stdout(out), redirect_stderr(err):
            try:
                code = main(args)
            except SystemExit as exc:  # argparse's usage errors
                code = exc.code if isinstance(exc.code, int) else 1
    finally:
        os.chdir(cwd)
        os.environ.clear()
        os.environ.update(saved)
    return code, out.getvalue(), err.getvalue()


def _console_script(
    args: list[str],
    folder: Path,
    env: dict[str, str],
    timeout: float,
    base_env: dict[str, str] | None = None,
) -> tuple[int | None, str, str]:
    """The installed ``xmkit`` command in its own process, in ``base_env`` (default: this
    process's environment) plus ``env``.

    ``base_env`` is taken before any case runs: the in-process cases change ``os.environ``
    for a moment while console cases start on other threads, and one of them once ran with
    another case's ``XMKIT_MAX_FILE_MB``.
    """
    environ = {**(os.environ if base_env is None else base_env), **env}
    environ.pop("XMKIT_DEBUG", None)
    try:
        done = subprocess.run(
            [str(XMKIT), *args],
            capture_output=True,
            text=True,
            cwd=folder,
            env=environ,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired as exc:
        return None, str(exc.stdout or ""), f"timed out: {exc}"
    return done.returncode, done.stdout, done.stderr


def run_case(case: dict, base: Path, process: bool, base_env: dict[str, str]) -> Run:
    """Lay out the case, run it (in this process, or as the console script) and snapshot."""
    folder = base / ("process" if process else "inline") / case["id"]
    args = prepare(case, folder)
    before = snapshot(folder)
    start = time.perf_counter()
    env = case.get("env", {})
    if process:
        code, out, err = _console_script(args, folder, env, case.get("timeout", 120), base_env)
    else:
        code, out, err = _in_process(args, folder, env)
    seconds = time.perf_counter() - start
    return Run(case, folder, args, before, snapshot(folder), code, out, err, seconds)


# A case with a timeout may hang: only a separate process can be stopped.
INLINE = [case for case in CASES if "timeout" not in case]
# One case per command and per kind of culprit, also through the real console script.
CONSOLE = {
    "excel_saved_cp1252_error_values",
    "title_rows_above_header",
    "file_of_200_mb",
    "password_protected_xlsx",
    "framework_python_object_tag",
    "assessment_python_object_tag",
    "corrupt_manifest_on_resume",
    *(case["id"] for case in CASES if "timeout" in case),
}


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, Run]:
    """Every case once in this process; the CONSOLE cases also as processes, concurrently."""
    base = tmp_path_factory.mktemp("bad")
    selected = [case for case in CASES if case["id"] in CONSOLE]
    base_env = dict(os.environ)
    with ThreadPoolExecutor(max_workers=4) as pool:
        processes = pool.map(lambda case: run_case(case, base, True, base_env), selected)
        inline = [run_case(case, base, False, base_env) for case in INLINE]
        console = list(processes)
    return {
        **{("inline", r.case["id"]): r for r in inline},
        **{("process", r.case["id"]): r for r in console},
    }


def _params(cases: list[dict], where: str) -> list:
    params = []
    for case in cases:
        marks = []
        if case.get("known_bug"):
            marks.append(pytest.mark.xfail(reason=case["known_bug"], strict=True))
        params.append(pytest.param((where, case["id"]), id=case["id"], marks=marks))
    return params


def check(run: Run) -> None:
    """What every bad input must give: exit 1, a located message, an untouched folder."""
    case = run.case
    detail = f"xmkit {' '.join(run.args)}\nstdout: {run.stdout}\nstderr: {run.stderr}"
    assert run.returncode == case.get("exit", 1), detail
    assert "Traceback" not in run.stderr, detail
    assert "internal error" not in run.stderr, detail
    # batch first says what it starts; the problem comes right after that line
    lines = [ln for ln in run.stderr.splitlines() if not ln.startswith("xmkit batch: starting")]
    assert lines, detail
    assert lines[0].startswith(case.get("culprit", run.args[1])), detail
    for fragment in case["expect"]:
        assert fragment in run.stderr, f"missing {fragment!r}\n{detail}"
    # No output written or replaced, no temporary file left, nothing executed.
    assert run.after == run.before, (set(run.after) ^ set(run.before), detail)


# ---- the tests --------------------------------------------------------------------------------


def test_corpus_has_at_least_25_cases_each_with_a_message_and_a_unique_id():
    ids = [case["id"] for case in CASES]
    assert len(ids) >= 25
    assert len(set(ids)) == len(ids)
    for case in CASES:
        assert case.get("what") and case.get("expect"), case["id"]
        assert ("input" in case) + ("generate" in case) <= 1, case["id"]
        assert case.get("generate", "nothing") in GENERATORS, case["id"]


def test_every_committed_corpus_file_is_used_by_a_case():
    used = {case.get("input") for case in CASES} | {case.get("framework") for case in CASES}
    committed = {
        p.relative_to(BAD).as_posix()
        for p in [*BAD.glob("responses/*"), *BAD.glob("frameworks/*"), *BAD.glob("assessments/*")]
    }
    assert committed <= used, committed - used


@pytest.mark.parametrize("key", _params(INLINE, "inline"))
def test_bad_input_fails_cleanly_with_a_located_message_and_writes_nothing(runs, key):
    check(runs[key])


@pytest.mark.parametrize("key", _params([c for c in CASES if c["id"] in CONSOLE], "process"))
def test_console_script_fails_cleanly_on_bad_input_without_a_traceback(runs, key):
    check(runs[key])


def test_the_200_mb_file_is_refused_in_well_under_a_second_of_reading(runs):
    """The size limit is checked from the file's size on disk: nothing is read or parsed.

    The whole run (a Python process start-up included) stays far below reading 200 MB.
    """
    for where in ("inline", "process"):
        run = runs[(where, "file_of_200_mb")]
        assert run.returncode == 1
        assert run.seconds < (1 if where == "inline" else 20), (where, run.seconds)


def test_no_case_ran_the_shell_commands_hidden_in_yaml_tags(runs):
    for run in runs.values():
        assert not list(run.folder.rglob("XMKIT_PWNED*")), run.case["id"]
    assert not list(Path.cwd().glob("XMKIT_PWNED*"))


# ---- half-written output of a killed run ------------------------------------------------------


def _score(folder: Path) -> tuple[int | None, str]:
    """``xmkit score`` as a user runs it (its warnings go to stderr through logging)."""
    shutil.copy(BAD / "valid_responses.csv", folder / "responses.csv")
    args = ["score", "responses.csv", "--bootstrap", "0", "-o", "out/scores.csv"]
    code, _out, err = _console_script(args, folder, {}, 120)
    return code, err


def test_half_written_output_of_a_killed_run_is_removed_and_reported(tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "scores.csv").write_text(SENTINEL, encoding="utf-8")
    leftover = tmp_path / "out" / ".scores.csv.k1ll3d.tmp"
    leftover.write_text("level,id,na", encoding="utf-8")  # cut off when the run was killed
    an_hour_ago = time.time() - 3600
    os.utime(leftover, (an_hour_ago, an_hour_ago))

    code, stderr = _score(tmp_path)

    assert code == 0, stderr
    assert f"removed out/{leftover.name}" in stderr, stderr
    assert "half-written copy of scores.csv left by an interrupted earlier run" in stderr
    assert not leftover.exists()
    assert pd.read_csv(tmp_path / "out" / "scores.csv")["level"].iloc[0] == "overall"
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["scores.csv"]


def test_a_fresh_temporary_file_of_a_run_still_writing_is_left_alone(tmp_path):
    (tmp_path / "out").mkdir()
    busy = tmp_path / "out" / ".scores.csv.busy01.tmp"
    busy.write_text("being written", encoding="utf-8")

    code, stderr = _score(tmp_path)

    assert code == 0, stderr
    assert busy.read_text(encoding="utf-8") == "being written"
    assert "removed" not in stderr


def test_a_comment_with_a_lone_carriage_return_stays_one_respondent_through_a_csv_copy(tmp_path):
    """Batch hands each unit's rows to its worker as CSV: a lone CR in a comment (old Mac
    line break) written unquoted would split the respondent in two, silently."""
    data = _valid()
    data.loc[0, "comment"] = "first line\rsecond line"
    source = tmp_path / "responses.csv"
    with source.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh, quoting=csv.QUOTE_ALL).writerows([data.columns, *data.to_numpy()])
    loaded = xmkit.load_responses(source)
    copy = tmp_path / "copy.csv"
    loaded.to_csv(copy, index=False)  # as batch.py writes a unit's job

    again = xmkit.load_responses(copy)

    assert len(again) == len(data)
    assert again.loc[0, "comment"] == "first line\nsecond line"
    assert again["respondent_id"].tolist() == data["respondent_id"].tolist()
