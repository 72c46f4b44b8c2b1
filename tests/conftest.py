"""Shared fixtures: the bundled framework, a valid wide-table factory, the real CLI and the
benchmark stores (a DuckDB file, a real PostgreSQL server)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import xmkit
from xmkit.framework import Framework

UNITS = ("Stores North", "Stores South", "E-commerce")
ROLES = ("Executive", "Manager", "Frontline")


@pytest.fixture(scope="session")
def framework() -> Framework:
    """The bundled EX/CX alignment framework (36 questions, answers 1..5)."""
    return xmkit.load_framework()


@pytest.fixture
def make_wide(framework: Framework) -> Callable[..., pd.DataFrame]:
    """Factory for a valid wide table: respondent_id, unit, role and one column per question.

    ``make_wide(n=12, seed=0)`` returns a fresh DataFrame (every call a new object, so a test
    can corrupt its own copy). Ids are zero-padded text ("001", "002", ...), answers whole
    numbers 1..5. Every column has object dtype, so a test may put any text into any cell.
    """

    def factory(n: int = 12, seed: int = 0) -> pd.DataFrame:
        rng = np.random.default_rng(seed)
        data = pd.DataFrame(
            {
                "respondent_id": [f"{i:03d}" for i in range(1, n + 1)],
                "unit": [UNITS[i % len(UNITS)] for i in range(n)],
                "role": [ROLES[(i // len(UNITS)) % len(ROLES)] for i in range(n)],
            }
        )
        answers = rng.integers(1, 6, size=(n, len(framework.question_ids))).tolist()
        return pd.concat(
            [data, pd.DataFrame(answers, columns=framework.question_ids)], axis=1
        ).astype(object)

    return factory


@pytest.fixture
def run_cli() -> Callable[..., subprocess.CompletedProcess]:
    """Run the installed ``xmkit`` console script (not ``python -m``) as a subprocess."""
    exe = Path(sys.executable).parent / "xmkit"
    assert exe.exists(), f"console script not installed at {exe}"

    def run(*args: object, cwd: Path | None = None) -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(exe), *map(str, args)],
            capture_output=True,
            text=True,
            cwd=cwd,
            timeout=120,
        )

    return run


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium driven by Playwright, one per test module (see tests/chromium.py)."""
    from chromium import CHROMIUM_ARGS, require_chromium
    from playwright.sync_api import sync_playwright

    executable = require_chromium()
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=executable, args=CHROMIUM_ARGS, headless=True
        )
        yield chromium
        chromium.close()


@pytest.fixture(scope="session")
def mini():
    """The tiny framework of tests/data/mini_framework.yaml, small enough to score by hand."""
    return xmkit.load_framework(Path(__file__).parent / "data" / "mini_framework.yaml")


@pytest.fixture
def worked_example() -> pd.DataFrame:
    """The hand-scored responses of tests/test_score.py (unit A: 5 respondents; B: 1)."""
    rows = [
        ("r1", "A", "Exec", 5, 4, 3, 2),
        ("r2", "A", "Exec", 4, 4, 4, 2),
        ("r3", "A", "Front", 5, 5, 5, 3),
        ("r4", "A", "Front", 4, np.nan, 4, 2),
        ("r5", "A", "Front", 5, 5, 4, 3),
        ("r6", "B", "Exec", 1, 1, 1, 1),
    ]
    return pd.DataFrame(rows, columns=["respondent_id", "unit", "role", "a1", "a2", "a3", "c1"])


# ---- benchmark stores ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pg_server():
    """A real PostgreSQL server in a temporary folder (initdb/pg_ctl), one per test module."""
    from postgres import postgres_server

    with postgres_server() as url:
        yield url


@pytest.fixture(params=["duckdb", "postgresql"])
def location(request, tmp_path) -> str:
    """An empty benchmark store of each kind: a DuckDB file, a new PostgreSQL database."""
    if request.param == "duckdb":
        return str(tmp_path / "store.duckdb")
    from benchmark_helpers import new_database

    return new_database(request.getfixturevalue("pg_server"))


@pytest.fixture
def firm_key(monkeypatch):
    """The tests' firm key in the environment (benchmark_helpers.KEY)."""
    from benchmark_helpers import KEY

    monkeypatch.setenv("XMKIT_BENCHMARK_KEY", KEY.decode())
