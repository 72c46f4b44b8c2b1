"""xmkit: measure how well an organization aligns employee and customer experience.

The public API is small: load a framework and responses, validate, score, recommend.
"""

from importlib.metadata import version

from xmkit.batch import run_batch
from xmkit.errors import Problem, XmkitError
from xmkit.framework import Framework, load_framework
from xmkit.recommend import recommend
from xmkit.render import render_report
from xmkit.responses import load_responses
from xmkit.score import perception_gaps, score
from xmkit.validate import validate

__all__ = [
    "Framework",
    "Problem",
    "XmkitError",
    "load_framework",
    "load_responses",
    "perception_gaps",
    "recommend",
    "render_report",
    "run_batch",
    "score",
    "validate",
]
__version__ = version("xmkit")
