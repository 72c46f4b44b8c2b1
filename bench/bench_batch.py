"""Benchmark: batch rendering on warm kernels against the naive papermill loop.

Measured in one run, on the same data and template:

(a) the naive loop users write today: for each unit, ``papermill templates/report.ipynb`` then
    ``jupyter nbconvert --to html --no-input`` (a fresh kernel and fresh imports per report);
(b) ``xmkit batch --jobs N --format html`` (warm kernels, HTML exported in-process);
(c) the same with ``--format html,pdf`` (one long-lived Chromium per worker);
(d) a long run (1,000 units by default) printing peak RSS summed over every process involved
    (xmkit, workers, kernels, Chromium), sampled every 0.2 s.

Prints times, per-report milliseconds (for HTML also in CPU time, which a loaded machine moves
far less) and the ratio (a)/(b). Takes several minutes: the naive
loop alone costs seconds per report.

Usage: python bench/bench_batch.py [--units 40] [--long 1000] [--jobs 2] [--skip-naive]
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd

import xmkit

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def make_data(path: Path, units: int, per_unit: int = 25, seed: int = 7) -> list[str]:
    """A responses CSV with ``units`` units of ``per_unit`` respondents each."""
    framework = xmkit.load_framework()
    rng = np.random.default_rng(seed)
    names = [f"Unit {i:04d}" for i in range(units)]
    n = units * per_unit
    level = np.repeat(rng.uniform(1.8, 4.2, units), per_unit)[:, None]
    answers = np.clip(np.rint(level + rng.normal(0, 0.8, (n, len(framework.question_ids)))), 1, 5)
    data = pd.DataFrame(answers.astype(int), columns=framework.question_ids)
    data.insert(0, "role", rng.choice(["Executive", "Manager", "Frontline"], n))
    data.insert(0, "unit", np.repeat(names, per_unit))
    data.insert(0, "respondent_id", [f"R{i:07d}" for i in range(n)])
    data.to_csv(path, index=False)
    return names


def _tree_rss_kib(root: int) -> int:
    """Resident memory of a process and all its descendants, from /proc."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
                ppid = int(stat.rsplit(")", 1)[1].split()[1])
                children.setdefault(ppid, []).append(int(entry))
            except (OSError, ValueError, IndexError):
                continue
    total, stack = 0, [root]
    while stack:
        pid = stack.pop()
        stack.extend(children.get(pid, []))
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total


def _children_cpu() -> float:
    """CPU seconds (user + system) of the finished processes this one has waited for."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


CPU: dict[str, float] = {}
"""CPU seconds of each timed command (by its output folder's name): the processes it waited
for, so workers and kernels, not Chromium (its driver leaves it to exit on its own), hence
printed for HTML only. Wall time on a shared machine moves with the others' load; this
moves far less."""


def timed(command: list[str], sample_rss: bool = False) -> tuple[float, float]:
    """Run a command; return (seconds, peak RSS in MiB of its process tree, 0 if not sampled)."""
    cpu = _children_cpu()
    start = time.perf_counter()
    proc = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak = [0]
    if sample_rss:

        def sample() -> None:
            while proc.poll() is None:
                peak[0] = max(peak[0], _tree_rss_kib(proc.pid))
                time.sleep(0.2)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
    _, stderr = proc.communicate()
    seconds = time.perf_counter() - start
    CPU[Path(command[command.index("-o") + 1]).name if "-o" in command else ""] = (
        _children_cpu() - cpu
    )
    if proc.returncode != 0:
        raise SystemExit(f"{command[:3]} failed ({proc.returncode}):\n{stderr.decode()[-2000:]}")
    return seconds, peak[0] / 1024


def naive_loop(csv: Path, units: list[str], out: Path) -> float:
    start = time.perf_counter()
    for i, unit in enumerate(units):
        executed = out / f"unit-{i}.ipynb"
        subprocess.run(
            [
                str(BIN / "papermill"),
                "templates/report.ipynb",
                str(executed),
                "-p",
                "responses",
                str(csv),
                "-p",
                "client",
                "Bench",
                "-p",
                "unit",
                unit,
                "--no-progress-bar",
            ],
            cwd=ROOT,
            check=True,
            capture_output=True,
        )
        subprocess.run(
            [str(BIN / "jupyter"), "nbconvert", "--to", "html", "--no-input", str(executed)],
            cwd=ROOT,
            check=True,
            capture_output=True,
        )
    return time.perf_counter() - start


def batch(csv: Path, out: Path, jobs: int, formats: str, sample_rss: bool = False):
    command = [
        str(BIN / "xmkit"),
        "batch",
        str(csv),
        "--client",
        "Bench",
        "-o",
        str(out),
        "--jobs",
        str(jobs),
        "--format",
        formats,
    ]
    return timed(command, sample_rss)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, default=40)
    parser.add_argument("--long", type=int, default=1000, help="units of the RSS run (0: skip)")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--skip-naive", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        csv = tmp / "units.csv"
        units = make_data(csv, args.units)
        print(f"{args.units} units x 25 respondents, {os.cpu_count()} cores, --jobs {args.jobs}")
        html_s, _ = batch(csv, tmp / "html", args.jobs, "html")
        per_html = html_s / args.units * 1000
        print(
            f"(b) xmkit batch, html:      {html_s:7.1f} s  {per_html:6.0f} ms/report "
            f"(target <= 297); CPU {CPU['html'] / args.units * 1000:6.0f} ms/report"
        )
        pdf_s, _ = batch(csv, tmp / "pdf", args.jobs, "html,pdf")
        extra = (pdf_s - html_s) / args.units * 1000
        print(
            f"(c) xmkit batch, html+pdf:  {pdf_s:7.1f} s  PDF adds {extra:5.0f} ms/report "
            "(target <= 152)"
        )
        if not args.skip_naive:
            (tmp / "naive").mkdir()
            naive_s = naive_loop(csv, units, tmp / "naive")
            per_naive = naive_s / args.units * 1000
            print(
                f"(a) naive papermill+nbconvert loop: {naive_s:7.1f} s  {per_naive:6.0f} ms/report"
            )
            print(f"ratio (a)/(b): {naive_s / html_s:.1f}x (target >= 10)")
        if args.long:
            long_csv = tmp / "long.csv"
            make_data(long_csv, args.long, per_unit=8)
            long_s, rss = batch(long_csv, tmp / "long", args.jobs, "html", sample_rss=True)
            print(
                f"(d) {args.long} units, html: {long_s:7.1f} s  "
                f"{long_s / args.long * 1000:6.0f} ms/report, peak RSS of all processes "
                f"{rss:6.0f} MiB (target < 2048)"
            )


if __name__ == "__main__":
    main()
