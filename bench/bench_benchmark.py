"""Benchmark: one report's benchmark lookup with 10,000 organizations in a DuckDB store.

Fills a fresh DuckDB store with N fictitious organizations (overall, 4 category and 12
practice scores each, in 8 industries and 4 periods), then times what a report does: open the
store and compute the percentile ranks of one client's overall and category scores in its
industry and among all (:func:`xmkit.benchmark.compare.client_view`). The baseline, measured
in the same run because these machines are noisy, is a plain DuckDB scan of the same scores
table (``SELECT level, item_id, score FROM xmkit_scores`` into NumPy on an open connection).

Two lookups are timed: repeated in one process (a warm kernel rendering report after report),
and the first lookup of fresh processes (a report's kernel looks up once: it also sets up the
database engine); each subprocess imports everything before its clock starts.

Usage: python bench/bench_benchmark.py [--organizations 10000] [--repeat 30] [--fresh 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

import xmkit
from xmkit.benchmark.compare import client_view
from xmkit.benchmark.keys import client_key, key_fingerprint
from xmkit.benchmark.store import open_store

BUDGET_MS = 50
KEY = "bench-firm-key-fictitious-0123456789"


def fill(path: Path, organizations: int, seed: int = 1) -> None:
    """Bulk-load fictitious organizations straight into the store's tables (setup only)."""
    framework = xmkit.load_framework()
    open_store(path).engine.dispose()  # the schema, made by xmkit
    binding = {
        "framework_id": framework.id,
        "framework_version": framework.version,
        "key": key_fingerprint(KEY.encode()),
    }
    rng = np.random.default_rng(seed)
    ids = [f"{i:012x}" for i in range(organizations)]
    orgs = pd.DataFrame(
        {
            "entry_id": ids,
            "client_key": [
                client_key(f"Fictitious {i}", KEY.encode()) for i in range(organizations)
            ],
            "period": rng.choice(["2025 Q3", "2025 Q4", "2026 Q1", "2026 Q2"], organizations),
            "industry": rng.choice([f"Industry {i}" for i in range(8)], organizations),
            "size_band": "1000-4999",
            "region": "EMEA",
            "framework_id": framework.id,
            "framework_version": framework.version,
            "respondents": rng.integers(5, 500, organizations),
            "stage": rng.integers(1, 5, organizations),
            "added_at": "2026-11-30T00:00:00+00:00",
            "latest": True,  # one entry per organization
        }
    )
    items = [("overall", "overall")] + [("category", c.id) for c in framework.categories]
    items += [("practice", p.id) for _, p in framework.practices]
    level = rng.uniform(1.5, 4.5, organizations)
    scores = pd.DataFrame(  # noqa: F841 (read by DuckDB's replacement scan below)
        {
            "entry_id": np.repeat(ids, len(items)),
            "level": [lvl for _ in ids for lvl, _ in items],
            "item_id": [item for _ in ids for _, item in items],
            "n": np.repeat(orgs["respondents"].to_numpy(), len(items)),
            "score": np.clip(
                np.repeat(level, len(items)) + rng.normal(0, 0.3, organizations * len(items)),
                1,
                5,
            ),
        }
    )
    with duckdb.connect(str(path)) as con:
        con.executemany("INSERT INTO xmkit_meta VALUES (?, ?)", list(binding.items()))
        con.execute("INSERT INTO xmkit_organizations SELECT * FROM orgs")
        con.execute("INSERT INTO xmkit_scores SELECT * FROM scores")


def client_scores(framework: xmkit.Framework) -> pd.DataFrame:
    """The scores of a fictitious client of 40 respondents."""
    return xmkit.score(
        pd.DataFrame(
            np.random.default_rng(7).integers(1, 6, (40, len(framework.question_ids))),
            columns=framework.question_ids,
        ).assign(respondent_id=[f"R{i}" for i in range(40)], unit="HQ", role="Manager"),
        framework,
        n_boot=0,
    )


def first_lookup(path: str) -> None:
    """In a fresh process: print the milliseconds of its first lookup (imports done before)."""
    framework = xmkit.load_framework()
    client = client_scores(framework)
    start = time.perf_counter()
    client_view("Fictitious 1", client, framework, "Industry 3", path)
    print(f"{(time.perf_counter() - start) * 1000:.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--organizations", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--fresh", type=int, default=5, help="fresh processes timed")
    parser.add_argument("--first-lookup", metavar="STORE", help=argparse.SUPPRESS)
    args = parser.parse_args()
    os.environ["XMKIT_BENCHMARK_KEY"] = KEY
    if args.first_lookup:
        first_lookup(args.first_lookup)
        return
    framework = xmkit.load_framework()
    client = client_scores(framework)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "store.duckdb"
        start = time.perf_counter()
        fill(path, args.organizations)
        print(f"filled {args.organizations:,} organizations in {time.perf_counter() - start:.1f} s")
        client_view("Fictitious 1", client, framework, "Industry 3", str(path))  # warm-up
        lookups, scans = [], []
        for _ in range(args.repeat):  # alternated: the machine's load falls on both alike
            with duckdb.connect(str(path), read_only=True) as con:  # opened off the clock
                start = time.perf_counter()
                con.execute("SELECT level, item_id, score FROM xmkit_scores").fetchnumpy()
                scans.append(time.perf_counter() - start)
            start = time.perf_counter()
            view = client_view("Fictitious 1", client, framework, "Industry 3", str(path))
            lookups.append(time.perf_counter() - start)
        fresh = [
            float(
                subprocess.run(
                    [sys.executable, __file__, "--first-lookup", str(path)],
                    capture_output=True,
                    text=True,
                    check=True,
                ).stdout
            )
            for _ in range(args.fresh)
        ]
        lookup, scan = statistics.median(lookups) * 1000, statistics.median(scans) * 1000
        overall = view[view["level"] == "overall"].set_index("scope")
        print(
            f"benchmark lookup (open store, ranks of 5 scores in industry and all, "
            f"{int(overall.loc['industry', 'organizations'])} and "
            f"{int(overall.loc['all', 'organizations'])} organizations): {lookup:.1f} ms "
            f"(median of {args.repeat}; budget {BUDGET_MS} ms: "
            f"{'met' if lookup < BUDGET_MS else 'MISSED'})"
        )
        rows = args.organizations * 17
        print(f"plain DuckDB scan of the scores table ({rows:,} rows): {scan:.1f} ms")
        print(f"ratio lookup / scan: {lookup / scan:.2f}x (medians)")
        if fresh:
            first = statistics.median(fresh)
            print(
                f"first lookup of a fresh process (engine set up too): {first:.1f} ms "
                f"(median of {len(fresh)}; fastest {min(fresh):.1f}), {first / scan:.2f}x the scan"
            )
        print(
            f"fastest of {args.repeat}: lookup {min(lookups) * 1000:.1f} ms, "
            f"scan {min(scans) * 1000:.1f} ms, load average {os.getloadavg()[0]:.1f} "
            f"on {os.cpu_count()} CPUs"
        )


if __name__ == "__main__":
    main()
