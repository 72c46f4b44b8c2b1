"""Benchmark: scoring 50,000 respondents x 36 questions from a wide CSV.

Prints, from one run, the time xmkit needs to load, validate and score the file as a ratio to
the time pandas alone needs to read the same CSV (the baseline, measured in the same run,
because these machines are noisy), and the peak memory of the scoring run; then the same for
the answers written as agreement labels, as survey tools export them.

Usage: python bench/bench_scoring.py [--respondents 50000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

import xmkit

AGREEMENT = [
    "Strongly disagree",
    "Disagree",
    "Neither agree nor disagree",
    "Agree",
    "Strongly agree",
]


def make_csv(path: Path, respondents: int, seed: int = 1, worded: bool = False) -> None:
    """Answers 1-5 with 2% left blank; ``worded`` writes them as agreement labels, as survey
    tools export them by default."""
    framework = xmkit.load_framework()
    rng = np.random.default_rng(seed)
    data = pd.DataFrame(
        {
            "respondent_id": [f"R{i:06d}" for i in range(respondents)],
            "unit": rng.choice([f"Unit {i:02d}" for i in range(40)], respondents),
            "role": rng.choice(["Executive", "Manager", "Frontline", "XM team"], respondents),
        }
    )
    answers = rng.integers(1, 6, size=(respondents, len(framework.question_ids))).astype(object)
    if worded:
        answers = np.array(AGREEMENT, dtype=object)[answers.astype(int) - 1]
    answers[rng.random(answers.shape) < 0.02] = ""
    data = pd.concat([data, pd.DataFrame(answers, columns=framework.question_ids)], axis=1)
    data.to_csv(path, index=False)


def best_of(repeat: int, fn) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def peak_rss_mb(path: Path) -> float:
    """Peak RSS of a fresh process that scores the file (by unit), in MiB."""
    code = (
        f"import resource, xmkit; d = xmkit.load_responses({str(path)!r}); "
        "xmkit.score(d, by='unit'); print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return int(out.stdout.strip()) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--respondents", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "responses.csv"
        make_csv(path, args.respondents)
        framework = xmkit.load_framework()
        baseline = best_of(args.repeat, lambda: pd.read_csv(path))
        xm_total = best_of(
            args.repeat, lambda: xmkit.score(xmkit.load_responses(path, framework), framework)
        )
        xm_units = best_of(
            args.repeat,
            lambda: xmkit.score(xmkit.load_responses(path, framework), framework, by="unit"),
        )
        rss = peak_rss_mb(path)
        worded = Path(tmp) / "worded.csv"
        make_csv(worded, args.respondents, worded=True)
        worded_base = best_of(args.repeat, lambda: pd.read_csv(worded))
        xm_worded = best_of(
            args.repeat, lambda: xmkit.score(xmkit.load_responses(worded, framework), framework)
        )
    size = path.stat().st_size if path.exists() else 0
    print(
        f"respondents: {args.respondents} x {len(framework.question_ids)} questions "
        f"(best of {args.repeat}){' ' + str(size) if size else ''}"
    )
    print(f"baseline pandas.read_csv:          {baseline * 1000:8.0f} ms")
    print(
        f"xmkit load+validate+score:         {xm_total * 1000:8.0f} ms  "
        f"ratio {xm_total / baseline:.2f}x (target <= 3x)"
    )
    print(
        f"xmkit load+validate+score by unit: {xm_units * 1000:8.0f} ms  "
        f"ratio {xm_units / baseline:.2f}x (40 units)"
    )
    print(f"peak RSS of a scoring process:     {rss:8.0f} MiB (target < 2048)")
    print(f"answers worded (Strongly agree ...): read_csv {worded_base * 1000:.0f} ms")
    print(
        f"xmkit load+validate+score, worded: {xm_worded * 1000:8.0f} ms  "
        f"ratio {xm_worded / worded_base:.2f}x"
    )


if __name__ == "__main__":
    main()
