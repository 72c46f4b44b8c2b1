"""The warm-kernel engine: clean namespaces, dead kernels replaced, same reports as papermill."""

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_notebook

from xmkit.options import Options
from xmkit.render import engine
from xmkit.render.execute import execute, notebook_to_html, report_parameters

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "assessments" / "example" / "responses.csv"


def _notebook(path: Path, *cells: str, parameters: str = "marker_file = ''") -> Path:
    params = new_code_cell(parameters)
    params.metadata["tags"] = ["parameters"]
    nb = new_notebook(cells=[params, *(new_code_cell(c) for c in cells)])
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, path)
    return path


def _text(nb) -> str:
    return "".join(o.get("text", "") for c in nb.cells for o in c.get("outputs", []))


def test_reports_on_the_same_warm_kernel_start_from_a_clean_namespace(tmp_path):
    report_a = _notebook(
        tmp_path / "a.ipynb",
        "import os, matplotlib, matplotlib.pyplot as plt\n"
        "marker = 'from report A'\n"
        "plt.figure(); matplotlib.rcParams['lines.linewidth'] = 9\n"
        "print('pid', os.getpid())",
    )
    report_b = _notebook(
        tmp_path / "b.ipynb",
        "import os, matplotlib, matplotlib.pyplot as plt\n"
        "assert 'marker' not in globals(), 'variable leaked from report A'\n"
        "assert plt.get_fignums() == [], 'figure leaked from report A'\n"
        "assert matplotlib.rcParams['lines.linewidth'] != 9, 'rc params leaked'\n"
        "print('pid', os.getpid())",
    )
    first = execute({}, template=report_a, engine="xmkit")
    second = execute({}, template=report_b, engine="xmkit")
    pid_a = _text(first).split("pid")[1].split()[0]
    pid_b = _text(second).split("pid")[1].split()[0]
    assert pid_a == pid_b, "both reports must run on the same warm kernel"


def test_a_killed_kernel_is_replaced_and_the_notebook_retried(tmp_path):
    marker = tmp_path / "kernel.pid"
    notebook = _notebook(
        tmp_path / "slow.ipynb",
        "import os, time, pathlib\n"
        "path = pathlib.Path(marker_file)\n"
        "if not path.exists():\n"
        "    path.write_text(str(os.getpid()))\n"
        "    time.sleep(60)\n"
        "print('finished on', os.getpid())",
    )

    def kill_first_kernel() -> None:
        for _ in range(600):
            if marker.exists() and marker.read_text():
                os.kill(int(marker.read_text()), signal.SIGKILL)
                return
            time.sleep(0.05)

    killer = threading.Thread(target=kill_first_kernel)
    killer.start()
    start = time.perf_counter()
    result = execute({"marker_file": str(marker)}, template=notebook, engine="xmkit")
    killer.join()
    assert time.perf_counter() - start < 50, "the dead kernel must be noticed, not waited out"
    finished_on = _text(result).split("finished on")[1].split()[0]
    assert finished_on != marker.read_text(), "the retry must run on a fresh kernel"


def test_kernels_are_recycled_after_the_configured_number_of_reports(tmp_path):
    notebook = _notebook(tmp_path / "pid.ipynb", "import os; print('pid', os.getpid())")
    kernels = engine.pool()
    kernels.close()  # start from a fresh kernel
    before, kernels.recycle_after = kernels.recycle_after, 2
    try:
        pids = [_text(execute({}, template=notebook)).split("pid")[1].split()[0] for _ in range(4)]
    finally:
        kernels.recycle_after = before
    assert pids[0] == pids[1] != pids[2] == pids[3]


def test_papermill_cli_runs_reports_with_the_xmkit_engine(tmp_path):
    out = tmp_path / "out.ipynb"
    papermill = Path(sys.executable).parent / "papermill"
    run = subprocess.run(
        [
            str(papermill),
            "--engine",
            "xmkit",
            str(ROOT / "templates" / "report.ipynb"),
            str(out),
            "-p",
            "responses",
            str(EXAMPLE),
            "-p",
            "client",
            "Engine Test",
            "--no-progress-bar",
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr
    nb = nbformat.read(out, as_version=4)
    assert nb.metadata.papermill.parameters["client"] == "Engine Test"
    assert "Executive summary" in notebook_to_html(nb, "t")


def test_engine_reports_are_identical_to_plain_papermill_reports():
    options = Options(client="Northwind Retail Group", unit="Contact Centre")
    parameters = report_parameters(EXAMPLE, options)
    warm = notebook_to_html(execute(parameters, engine="xmkit"), "t")
    warm_again = notebook_to_html(execute(parameters, engine="xmkit"), "t")
    plain = notebook_to_html(execute(parameters, engine=None), "t")
    assert "Executive summary" in plain and "Contact Centre" in plain
    assert warm == plain
    assert warm_again == plain
