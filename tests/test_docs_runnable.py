"""The documentation cannot drift from the code: every fenced block of README.md and docs/
marked ``runnable`` (```` ```sh runnable ```` or ```` ```python runnable ````) runs as written
in a temporary copy of the checkout, and leaves ``git status`` clean there.

The copy is what a clean clone holds (tracked files plus new files git would not ignore), with
this checkout's ``.venv`` linked in, as after ``make demo``. Python blocks run as scripts, the
way a user saves and runs them.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FENCE = re.compile(r"^```(sh|python) runnable\n(.*?)^```$", re.M | re.S)
GIT = ["git", "-c", "user.name=docs", "-c", "user.email=docs@example.invalid"]


def runnable_blocks() -> list[tuple[str, str, str]]:
    blocks = []
    for doc in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        text = doc.read_text(encoding="utf-8")
        for number, match in enumerate(FENCE.finditer(text), start=1):
            blocks.append((f"{doc.relative_to(ROOT)}#{number}", match[1], match[2]))
    return blocks


BLOCKS = runnable_blocks()


def test_the_readme_has_runnable_quick_start_and_python_blocks():
    kinds = {(name.split("#")[0], kind) for name, kind, _ in BLOCKS}
    assert {("README.md", "sh"), ("README.md", "python")} <= kinds


@pytest.fixture(scope="module")
def clone(tmp_path_factory) -> Path:
    """A copy of the checkout as a clean clone holds it, committed, with ``.venv`` linked."""
    copy = tmp_path_factory.mktemp("clone") / "xmkit"
    listed = (
        subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=ROOT,
            capture_output=True,
            check=True,
        )
        .stdout.decode()
        .split("\0")
    )
    for name in filter(None, listed):
        source = ROOT / name
        if source.is_file():
            (copy / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, copy / name)  # mtimes kept: make sees the install up to date
    os.symlink(Path(sys.executable).parents[1], copy / ".venv")
    for step in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "clone"]):
        subprocess.run([*GIT, *step], cwd=copy, check=True, capture_output=True)
    return copy


@pytest.fixture(scope="module")
def ran(clone, tmp_path_factory) -> dict[str, subprocess.CompletedProcess]:
    """Every runnable block, run once, in document order, in the same clone."""
    results = {}
    for name, kind, code in BLOCKS:
        if kind == "sh":
            command = ["bash", "-euo", "pipefail", "-c", code]
        else:  # saved as a script outside the clone, as a user's own script would be
            script = tmp_path_factory.mktemp("script") / "block.py"
            script.write_text(code, encoding="utf-8")
            command = [str(clone / ".venv" / "bin" / "python"), str(script)]
        results[name] = subprocess.run(
            command, cwd=clone, capture_output=True, text=True, timeout=600
        )
    return results


@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "code"), [(b[0], b[2]) for b in BLOCKS], ids=[b[0] for b in BLOCKS]
)
def test_documented_block_runs_as_written(ran, name, code):
    result = ran[name]
    assert result.returncode == 0, (
        f"{name} exited {result.returncode}\n{code}\n--- stdout ---\n{result.stdout[-3000:]}"
        f"\n--- stderr ---\n{result.stderr[-3000:]}"
    )
    assert "Traceback" not in result.stderr, result.stderr[-3000:]


@pytest.mark.slow
def test_documented_blocks_leave_git_status_clean(clone, ran):
    assert ran, "no runnable block ran"
    status = subprocess.run(
        ["git", "status", "--porcelain"], cwd=clone, capture_output=True, text=True, check=True
    ).stdout
    assert status == "", f"the documented commands left files git would commit:\n{status}"
