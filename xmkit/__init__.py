"""xmkit: measure how well an organization aligns employee and customer experience.

The public API is small: load a framework and responses, validate, score, recommend, render.
Names are imported on first use, so ``import xmkit`` stays light (no pandas, papermill or
multiprocessing until a function needs them).
"""

from importlib import import_module
from importlib.metadata import version
from typing import TYPE_CHECKING, Any

# public name -> module that defines it, in pipeline order
_PUBLIC = {
    "Problem": "xmkit.errors",
    "XmkitError": "xmkit.errors",
    "InputError": "xmkit.errors",
    "RenderError": "xmkit.errors",
    "UsageError": "xmkit.errors",
    "Options": "xmkit.options",
    "Framework": "xmkit.framework",
    "load_framework": "xmkit.framework",
    "load_responses": "xmkit.io.responses",
    "validate": "xmkit.analysis.validate",
    "score": "xmkit.analysis.score",
    "perception_gaps": "xmkit.analysis.score",
    "recommend": "xmkit.analysis.recommend",
    "render_report": "xmkit.render.execute",
    "run_batch": "xmkit.batch.launch",
}

__all__ = [
    "Framework",
    "InputError",
    "Options",
    "Problem",
    "RenderError",
    "UsageError",
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

if TYPE_CHECKING:  # pragma: no cover - for type checkers and editors only
    from xmkit.analysis.recommend import recommend
    from xmkit.analysis.score import perception_gaps, score
    from xmkit.analysis.validate import validate
    from xmkit.batch.launch import run_batch
    from xmkit.errors import InputError, Problem, RenderError, UsageError, XmkitError
    from xmkit.framework import Framework, load_framework
    from xmkit.io.responses import load_responses
    from xmkit.options import Options
    from xmkit.render.execute import render_report


def __getattr__(name: str) -> Any:
    if name not in _PUBLIC:
        raise AttributeError(f"module 'xmkit' has no attribute {name!r}")
    value = getattr(import_module(_PUBLIC[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_PUBLIC])
