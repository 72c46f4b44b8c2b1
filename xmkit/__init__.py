"""xmkit: measure how well an organization aligns employee and customer experience.

The public API is small: load a framework and responses, validate, score, recommend.
"""

from xmkit.errors import Problem, XmkitError
from xmkit.framework import Framework, load_framework
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
    "score",
    "validate",
]
__version__ = "0.1.0"
