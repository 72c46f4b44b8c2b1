"""What a batch's workers and warm kernels load: only what unit reports need, nothing written
to the user's IPython history."""

import pickle
import subprocess
import sys

import pytest

from xmkit.batch.unit import UnitJob, render_unit
from xmkit.options import Options
from xmkit.render.engine import WarmKernel

WORKER_PROBE = """import pickle, sys
from xmkit.startup import skip_slow_imports
skip_slow_imports()
import xmkit.batch.executors, xmkit.render.engine, papermill, nbclient
job, render = pickle.loads(sys.stdin.buffer.read())
print(job.unit, render.__name__, "pandas" in sys.modules)
"""


def test_a_batch_worker_unpickles_its_jobs_without_importing_pandas():
    job = UnitJob("north", "/tmp/out/north", "unit\r\nNorth\r\n", Options(unit="North"))
    probe = subprocess.run(
        [sys.executable, "-c", WORKER_PROBE],
        input=pickle.dumps((job, render_unit)),
        capture_output=True,
        timeout=120,
    )
    assert probe.returncode == 0, probe.stderr.decode()
    assert probe.stdout.decode().split() == ["North", "render_unit", "False"]


def test_a_warm_kernel_has_seaborn_without_scipy_yet_code_can_import_scipy():
    kernel = WarmKernel()
    try:
        kernel.run(
            "import sys\n"
            "assert 'seaborn' in sys.modules, 'the warm-up imports seaborn'\n"
            "assert 'scipy' not in sys.modules, 'the warm-up imported scipy'\n"
            "import scipy.stats\n"
            "assert scipy.stats.norm.cdf(0) == 0.5\n"
            "from IPython import get_ipython\n"
            "assert not get_ipython().history_manager.enabled, 'input history is kept'"
        )
    finally:
        kernel.shutdown()


def test_a_failing_reset_raises_the_runtime_error_that_execute_retries_on():
    kernel = WarmKernel()
    try:
        with pytest.raises(RuntimeError, match="reset failed: ValueError: broken reset"):
            kernel.run("raise ValueError('broken reset')")
    finally:
        kernel.shutdown()
