"""The notebooks and templates ship in the wheel, and a wheel installed away from the checkout
renders a report (issue 13, point 4)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ("report.ipynb", "portfolio.ipynb", "self_assessment.ipynb")


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_templates_folder_notebooks_are_byte_identical_to_the_packaged_ones(name):
    """``templates/`` is the copy people open in JupyterLab; ``xmkit/notebooks/`` ships."""
    opened, packaged = ROOT / "templates" / name, ROOT / "xmkit" / "notebooks" / name
    assert opened.read_bytes() == packaged.read_bytes(), (
        f"templates/{name} and xmkit/notebooks/{name} differ: change both identically"
    )


def run(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    done = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"{args}\n{done.stdout}\n{done.stderr}"
    return done


@pytest.mark.slow
def test_wheel_installed_away_from_the_checkout_renders_a_report(tmp_path):
    """Build the wheel, install it into a bare folder and render from another folder.

    The venv's Python runs with only that folder on ``PYTHONPATH`` and a working folder
    outside the checkout, so notebooks, templates, stylesheets and the framework all come
    from the wheel; the kernel inherits the same path.
    """
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "XMKIT_TEMPLATES"}}
    wheels, target, work = tmp_path / "wheels", tmp_path / "site", tmp_path / "elsewhere"
    work.mkdir()
    # Built from a copy: setuptools writes build/ and *.egg-info/ next to the sources.
    source = tmp_path / "source"
    skip = shutil.ignore_patterns(".*", "build", "reports", "*.egg-info", "__pycache__", "bench")
    shutil.copytree(ROOT, source, ignore=skip)
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--quiet"]
    # No build isolation: the venv's setuptools builds it, so the test needs no network.
    run(
        [*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", str(wheels), str(source)],
        work,
        env,
    )
    (wheel,) = wheels.glob("xmkit-*.whl")
    run([*pip, "install", "--no-deps", "--target", str(target), str(wheel)], work, env)
    for name in NOTEBOOKS:
        assert (target / "xmkit" / "notebooks" / name).read_bytes() == (
            ROOT / "templates" / name
        ).read_bytes()
    report = target / "xmkit" / "report"
    for name in ("templates/page.html.j2", "templates/sections/cover.html.j2", "static/report.css"):
        assert (report / name).is_file(), name

    env["PYTHONPATH"] = str(target)
    where = run([sys.executable, "-c", "import xmkit; print(xmkit.__file__)"], work, env)
    location = Path(where.stdout.strip()).resolve()
    assert location.is_relative_to(target.resolve()), location
    assert not location.is_relative_to(ROOT), location

    assessment = work / "acme"
    shutil.copytree(ROOT / "assessments" / "example", assessment)
    cli = [sys.executable, "-m", "xmkit.cli", "report", str(assessment)]
    run([*cli, "-o", str(work / "out"), "--format", "html"], work, env)
    (page,) = (work / "out").rglob("report.html")
    shown = page.read_text(encoding="utf-8")
    assert "Executive summary" in shown and "Made with xmkit." in shown
    assert '<figure class="chart"><img src="data:image/svg+xml;base64,' in shown
    assert not list((work / "out").rglob("report.pdf"))
