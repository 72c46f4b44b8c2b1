"""Benchmark: a ``xmkit batch --resume`` with nothing to do, against Python's own start-up.

Builds a responses file of 12 units, renders it once (HTML), then times, in the same run and
alternating so the machine's load falls on both alike:

(a) the baseline: ``python -c "import pandas"``, what any command that reads a table pays;
(b) ``xmkit batch ... --resume`` with nothing changed (issue #17's target: under a second);
(c) ``xmkit validate`` of the same file, for scale;
(d) ``xmkit --help``.

Prints the median and fastest wall time of each (subprocess, N runs) and the ratio (b)/(a).

Usage: python bench/bench_resume.py [--runs 7] [--units 12]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

import xmkit

XMKIT = Path(sys.executable).parent / "xmkit"


def make_data(path: Path, units: int, per_unit: int = 6, seed: int = 5) -> None:
    """A responses CSV with ``units`` units of ``per_unit`` respondents each."""
    framework = xmkit.load_framework()
    rng = np.random.default_rng(seed)
    n = units * per_unit
    answers = rng.integers(1, 6, size=(n, len(framework.question_ids)))
    data = pd.DataFrame(answers, columns=framework.question_ids)
    data.insert(0, "role", [("Executive", "Manager", "Frontline")[i % 3] for i in range(n)])
    data.insert(0, "unit", np.repeat([f"Unit {i}" for i in range(units)], per_unit))
    data.insert(0, "respondent_id", [f"r{i:04d}" for i in range(n)])
    data.to_csv(path, index=False)


def timed(command: list[str], cwd: Path) -> float:
    """Wall seconds of one run of ``command``; a failing run stops the benchmark."""
    start = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"{' '.join(command)} failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--units", type=int, default=12)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        csv = base / "responses.csv"
        make_data(csv, args.units)
        batch = [str(XMKIT), "batch", str(csv), "--client", "Bench", "-o", str(base / "out")]
        batch += ["--format", "html", "--jobs", "2"]
        start = time.perf_counter()
        timed(batch, base)
        full = time.perf_counter() - start
        commands = {
            "baseline: python -c 'import pandas'": [sys.executable, "-c", "import pandas"],
            "xmkit batch --resume (nothing to do)": [*batch, "--resume"],
            "xmkit validate (same file)": [str(XMKIT), "validate", str(csv)],
            "xmkit --help": [str(XMKIT), "--help"],
        }
        times: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(args.runs):  # interleaved: a load spike hits every command alike
            for name, command in commands.items():
                times[name].append(timed(command, base))
        check = subprocess.run([*batch, "--resume"], cwd=base, capture_output=True, text=True)
    if f"0 rendered, {args.units} unchanged" not in check.stdout:
        sys.exit(f"the resume was not a no-op:\n{check.stdout}\n{check.stderr[-2000:]}")
    print(f"{args.units} units, full batch (html, 2 jobs) {full:.1f} s; {args.runs} runs each")
    medians = {name: statistics.median(t) for name, t in times.items()}
    for name, values in times.items():
        median, fastest = medians[name] * 1000, min(values) * 1000
        print(f"{name:<40} median {median:6.0f} ms  fastest {fastest:6.0f} ms")
    baseline, noop = medians[next(iter(commands))], medians["xmkit batch --resume (nothing to do)"]
    print(
        f"no-op resume / baseline: {noop / baseline:.2f}x; "
        f"target: under 1000 ms ({'met' if noop < 1.0 else 'NOT met'})"
    )


if __name__ == "__main__":
    main()
