"""``xmkit batch`` under faults, with real processes: killed parents, workers and browsers,
two runs on one folder, a full disk, a no-op resume, hostile names and input files.

Every run gets a private ``TMPDIR``: its workers inherit it and its kernels keep their
connection files below it, so ``/proc`` tells which processes belong to the run.
"""

from __future__ import annotations

import contextlib
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import pytest
from batch_helpers import (
    explain,
    make_responses,
    processes_mentioning,
    read_manifest,
    report_mtimes,
    statuses,
    wait_until_gone,
    write_csv,
    xmkit_cmd,
)

from xmkit.batch.uptodate import up_to_date
from xmkit.cli import build_parser
from xmkit.options import given_flags

pytestmark = pytest.mark.slow

CLIENT = "Acme"


@pytest.fixture(autouse=True)
def short_temp(tmp_path):
    """A short private folder for the runs' ``TMPDIR``: Chromium's profile lives below it and
    its socket path must stay under 108 bytes, which pytest's deep folders can exceed."""
    folder = Path(tempfile.mkdtemp(prefix="xf-", dir="/tmp"))
    (tmp_path / "temp").symlink_to(folder)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def env_for(base: Path, name: str) -> dict[str, str]:
    """The environment with a private temporary folder: the marker of this run's processes."""
    temp = (base / "temp").resolve() / name
    temp.mkdir(parents=True, exist_ok=True)
    return {**os.environ, "TMPDIR": str(temp), "JUPYTER_RUNTIME_DIR": str(temp)}


def start(args: list, base: Path, name: str, env: dict | None = None) -> subprocess.Popen:
    """Start ``xmkit batch`` in the background; its stderr goes to ``base/<name>.err``."""
    err = (base / f"{name}.err").open("w")
    out = (base / f"{name}.out").open("w")
    return subprocess.Popen(
        xmkit_cmd("batch", *args),
        stdout=out,
        stderr=err,
        text=True,
        cwd=base,
        env=env or env_for(base, name),
    )


def batch_args(csv: Path, out: Path, formats: str = "html", jobs: int = 2) -> list:
    return [csv, "--client", CLIENT, "-o", out, "--jobs", jobs, "--format", formats]


def wait_for(condition, proc: subprocess.Popen, what: str, timeout: float = 300.0) -> None:
    """Wait until ``condition()`` holds while ``proc`` (a batch) is still running."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        if condition():
            return
        time.sleep(0.05)
    args = " ".join(map(str, proc.args))
    raise AssertionError(f"{what}: not seen (exit {proc.poll()}) in {args}")


def finished(proc: subprocess.Popen, base: Path, name: str, timeout: float = 600) -> str:
    """Wait for a background run; returns its stdout + stderr."""
    try:
        proc.wait(timeout=timeout)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return (base / f"{name}.out").read_text() + (base / f"{name}.err").read_text()


def done_lines(base: Path, name: str) -> list[str]:
    return re.findall(r"\] done +(.+?) \(", (base / f"{name}.err").read_text())


def cpu_of_children() -> float:
    """User + system CPU seconds of this process's finished children so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def pids(marker: str, pattern: str) -> list[int]:
    """Processes of the run (``marker`` in their environment) whose command line matches."""
    return [
        int(line.split(":")[0])
        for line in processes_mentioning(marker)
        if re.search(pattern, line.split(":", 1)[1])
    ]


def units(n: int, framework, prefix: str = "Unit", seed: int = 0) -> pd.DataFrame:
    return make_responses({f"{prefix} {i}": 5 for i in range(n)}, framework, seed=seed)


# ---- 1. the parent killed with SIGKILL ----------------------------------------------------


def test_sigkill_of_the_batch_leaves_no_process_and_the_next_run_clears_its_leftovers(
    tmp_path, framework
):
    csv = write_csv(units(4, framework), tmp_path / "data.csv")
    out = tmp_path / "out"
    env = env_for(tmp_path, "killed")
    marker = env["TMPDIR"]
    proc = start(batch_args(csv, out, "html,pdf"), tmp_path, "killed", env)
    try:
        wait_for(
            lambda: pids(marker, r"chromium") and pids(marker, r"ipykernel"),
            proc,
            "the workers' kernels and Chromium",
        )
        started = processes_mentioning(marker)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    left = wait_until_gone(marker, timeout=10)
    assert left == [], f"alive 10 s after SIGKILL of the batch ({len(started)} started): {left}"
    scratch = list(Path(marker).glob("xmkit-run-*"))
    assert scratch, "the killed run had a scratch folder (else this test proves nothing)"

    # the next run takes over the dead run's lock and removes its scratch folder
    assert (out / ".xmkit-batch.lock").is_file(), "a SIGKILLed run cannot remove its lock file"
    resumed = subprocess.run(
        xmkit_cmd("batch", *batch_args(csv, out, "html"), "--resume"),
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=600,
    )
    assert resumed.returncode == 0, explain(resumed)
    assert not any(p.exists() for p in scratch), "the dead run's scratch folder is still there"
    assert set(statuses(read_manifest(out)).values()) <= {"done", "unchanged"}


# ---- 3. a worker or its Chromium killed -----------------------------------------------------


def test_sigkilled_worker_still_yields_every_units_report_and_the_summary_says_retried(
    tmp_path, framework
):
    data = units(6, framework, seed=1)
    csv = write_csv(data, tmp_path / "data.csv")
    out = tmp_path / "out"
    env = env_for(tmp_path, "worker")
    proc = start(batch_args(csv, out), tmp_path, "worker", env)
    wait_for(lambda: done_lines(tmp_path, "worker"), proc, "a finished unit")
    workers = pids(env["TMPDIR"], r"multiprocessing\.spawn")
    assert workers, "no worker process found"
    os.kill(workers[0], signal.SIGKILL)
    output = finished(proc, tmp_path, "worker")
    assert proc.returncode == 0, output
    manifest = read_manifest(out)
    assert set(statuses(manifest)) == set(data["unit"])
    assert set(statuses(manifest).values()) == {"done"}, output
    for entry in manifest["units"].values():
        assert (out / entry["outputs"][0]).is_file()
    assert "retried:" in output and "worker process died" in output, output
    assert (out / "index.html").is_file()
    assert wait_until_gone(env["TMPDIR"]) == []


def test_sigkilled_chromium_is_restarted_and_every_pdf_is_printed(tmp_path, framework):
    data = units(4, framework, seed=2)
    csv = write_csv(data, tmp_path / "data.csv")
    out = tmp_path / "out"
    env = env_for(tmp_path, "chromium")
    proc = start(batch_args(csv, out, "html,pdf", jobs=1), tmp_path, "chromium", env)
    wait_for(lambda: done_lines(tmp_path, "chromium"), proc, "a finished unit")
    # the browser's main process: Chromium without --type= (renderers, GPU, zygotes have one)
    browsers = [
        pid
        for pid in pids(env["TMPDIR"], r"chromium/chromium ")
        if "--type=" not in Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    ]
    assert browsers, "no Chromium process found"
    for pid in browsers:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    output = finished(proc, tmp_path, "chromium")
    assert proc.returncode == 0, output
    manifest = read_manifest(out)
    assert set(statuses(manifest).values()) == {"done"}, output
    for entry in manifest["units"].values():
        pdf = [o for o in entry["outputs"] if o.endswith(".pdf")]
        assert pdf and (out / pdf[0]).read_bytes().startswith(b"%PDF"), entry
    assert "Chromium died" in output, output
    assert wait_until_gone(env["TMPDIR"]) == []


# ---- 1. two runs on one folder ---------------------------------------------------------------


def test_second_run_on_a_folder_exits_1_naming_the_first_which_completes_unmixed(
    tmp_path, framework
):
    first = write_csv(units(4, framework, "First", seed=3), tmp_path / "first.csv")
    second = write_csv(units(3, framework, "Second", seed=4), tmp_path / "second.csv")
    out = tmp_path / "out"
    proc = start(batch_args(first, out), tmp_path, "first")
    wait_for(lambda: (out / ".xmkit-batch.lock").exists(), proc, "the first run's lock")
    cpu_before = cpu_of_children()
    second_env = env_for(tmp_path, "second")
    refused = subprocess.run(
        xmkit_cmd("batch", *batch_args(second, out)),
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=second_env,
        timeout=120,
    )
    refused_cpu = cpu_of_children() - cpu_before
    waiting = start([*batch_args(second, out), "--wait"], tmp_path, "waiting")
    output = finished(proc, tmp_path, "first")
    assert proc.returncode == 0, output
    assert refused.returncode == 1, explain(refused)
    assert f"pid {proc.pid}" in refused.stderr and "started" in refused.stderr, refused.stderr
    assert "Traceback" not in refused.stderr
    # at once: the lock is taken before any worker starts (no scratch folder was made), and
    # the run costs no more than start-up (CPU time: wall time counts the machine's load)
    assert not list(Path(second_env["TMPDIR"]).iterdir()), "the refused run started workers"
    assert refused_cpu < 2.0, f"the refused run used {refused_cpu:.2f} s of CPU"
    # what the first run left is the first run's alone, then the waiting run replaces it
    first_units = {f"First {i}" for i in range(4)}
    waited = finished(waiting, tmp_path, "waiting")
    assert waiting.returncode == 0, waited
    manifest = read_manifest(out)
    assert set(statuses(manifest)) == {f"Second {i}" for i in range(3)}
    assert all(f"removed: {u}" in waited for u in first_units), waited
    reports = {p.parent.name for p in out.rglob("report.html")}
    assert reports == {entry["slug"] for entry in manifest["units"].values()}
    assert not (out / ".xmkit-batch.lock").exists()


# ---- 4. resume ---------------------------------------------------------------------------------


NOOP_PROBE = """import sys
from xmkit.cli import main
code = main(["batch", *sys.argv[1:], "--resume"])
print("pandas imported:", "pandas" in sys.modules)
sys.exit(code)
"""


def test_noop_resume_of_12_units_takes_under_a_second_and_rerenders_an_overwritten_report(
    tmp_path, framework, monkeypatch
):
    csv = write_csv(units(12, framework, seed=5), tmp_path / "data.csv")
    out = tmp_path / "out"
    env = env_for(tmp_path, "resume")
    umask = 0o027

    def run(*extra: str) -> tuple[subprocess.CompletedProcess, float, float]:
        began, cpu = time.monotonic(), cpu_of_children()
        proc = subprocess.Popen(
            xmkit_cmd("batch", *batch_args(csv, out), *extra),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=tmp_path,
            env=env,
            preexec_fn=lambda: os.umask(umask),
        )
        stdout, stderr = proc.communicate(timeout=600)
        return (
            subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr),
            time.monotonic() - began,
            cpu_of_children() - cpu,
        )

    full, full_seconds, _ = run()
    assert full.returncode == 0, explain(full)
    portfolio = {n: (out / n).stat().st_mtime_ns for n in ("index.html", "portfolio.csv")}
    reports = report_mtimes(out)

    noop, noop_seconds, cpu = run("--resume")
    assert noop.returncode == 0, explain(noop)
    assert "0 rendered, 12 unchanged" in noop.stdout, noop.stdout
    # CPU time is what the run costs (wall time also counts the machine's other users): less
    # than reading the same file with `xmkit validate` (start-up, pandas, parsing), as the
    # no-op is told from the manifest without reading the data; no kernel or browser starts.
    # Its absolute time is bench/bench_resume.py's matter, not a unit test's.
    cpu_before = cpu_of_children()
    validated = subprocess.run(xmkit_cmd("validate", csv), capture_output=True, env=env)
    assert validated.returncode == 0
    baseline = cpu_of_children() - cpu_before
    measured = (
        f"no-op --resume: {cpu:.2f} s CPU, {noop_seconds:.2f} s wall; validate {baseline:.2f}"
    )
    assert cpu < baseline, measured
    assert noop_seconds < max(1.0, full_seconds / 5), measured
    assert report_mtimes(out) == reports
    assert {n: (out / n).stat().st_mtime_ns for n in portfolio} == portfolio
    assert wait_until_gone(env["TMPDIR"], timeout=1) == [], "a no-op resume started processes"

    # every output follows the umask (mkstemp would have made manifest and portfolio 0600)
    for path in [out / "manifest.json", out / "portfolio.csv", out / "portfolio.xlsx"]:
        assert path.stat().st_mode & 0o777 == 0o640, (path, oct(path.stat().st_mode))
    for name in reports:
        assert (out / name).stat().st_mode & 0o777 == 0o640, name

    # told before pandas is imported (this rewrites the manifest with the test's umask: after
    # the check above); the same check with another option has work to do
    probe = subprocess.run(
        [sys.executable, "-c", NOOP_PROBE, *map(str, batch_args(csv, out))],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
    )
    assert probe.returncode == 0, explain(probe)
    assert "0 rendered, 12 unchanged" in probe.stdout, probe.stdout
    assert probe.stdout.splitlines()[-1] == "pandas imported: False", probe.stdout
    monkeypatch.chdir(tmp_path)  # where the runs were started: part of what they recorded
    args = build_parser().parse_args(["batch", *map(str, batch_args(csv, out)), "--resume"])
    given = given_flags(args, "batch")
    assert up_to_date(csv, out, given, quiet=True) is not None
    assert up_to_date(csv, out, {**given, "period": "2027"}, quiet=True) is None
    assert up_to_date(csv, out, {**given, "include_comments": True}, quiet=True) is None

    # a report overwritten by someone else no longer has its recorded hash: rendered again
    victim = sorted(reports)[0]
    (out / victim).write_text("<html>another run's report</html>", encoding="utf-8")
    again, _, _ = run("--resume")
    assert again.returncode == 0, explain(again)
    assert "1 rendered, 11 unchanged" in again.stdout, again.stdout
    assert "another run" not in (out / victim).read_text(encoding="utf-8")
    assert (out / "index.html").stat().st_mtime_ns > portfolio["index.html"]


# ---- 5. a full disk ----------------------------------------------------------------------------


@pytest.fixture
def small_disk(tmp_path):
    """A 4 MiB tmpfs (root only); skipped, saying why, where it cannot be mounted."""
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mount)],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs to fill: {done.stderr.strip() or done.returncode}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def test_full_disk_names_the_file_and_leaves_the_earlier_portfolio_set_intact(
    tmp_path, small_disk, framework
):
    csv = write_csv(units(2, framework, seed=6), tmp_path / "data.csv")
    out = small_disk / "out"
    env = env_for(tmp_path, "disk")

    def batch() -> subprocess.CompletedProcess:
        return subprocess.run(
            xmkit_cmd("batch", *batch_args(csv, out)),
            capture_output=True,
            text=True,
            cwd=tmp_path,
            env=env,
            timeout=600,
        )

    ok = batch()
    assert ok.returncode == 0, explain(ok)
    names = ("index.html", "portfolio.csv", "portfolio.xlsx")
    before = {n: (out / n).read_bytes() for n in names}
    # fill the disk, then run again on changed answers
    with contextlib.suppress(OSError), (small_disk / "filler").open("wb") as filler:
        while True:
            filler.write(b"\0" * 65536)
            filler.flush()
    write_csv(units(2, framework, seed=7), csv)
    full = batch()
    assert full.returncode == 1, explain(full)
    text = full.stdout + full.stderr
    named = re.findall(r"No space left on device: (\S+)", text)
    assert named and all(n.startswith(str(small_disk)) for n in named), text
    assert "internal error" not in text and "Traceback" not in text, text
    assert {n: (out / n).read_bytes() for n in names} == before
    assert not [p for p in out.iterdir() if p.name.startswith(".portfolio-")]
    assert wait_until_gone(env["TMPDIR"]) == []
    (small_disk / "filler").unlink()
    shutil.rmtree(out)
