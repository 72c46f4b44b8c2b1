"""Where the notebook templates are: ``XMKIT_TEMPLATES``, else the installed copies.

Kept apart from :mod:`xmkit.render.execute` (papermill, Jinja, pandas) so that a batch can
tell whether its templates changed without importing the engine that runs them.
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

from xmkit.errors import Problem, XmkitError

__all__ = ["template_path"]


def template_path(name: str = "report.ipynb") -> Path:
    """A notebook template: ``XMKIT_TEMPLATES``, else the installed or checked-out copy."""
    candidates = [
        Path(os.environ["XMKIT_TEMPLATES"]) / name if os.environ.get("XMKIT_TEMPLATES") else None,
        Path(str(resources.files("xmkit.notebooks") / name)),
    ]
    for candidate in candidates:
        if candidate and candidate.exists():
            return candidate
    raise XmkitError(
        Problem(
            name,
            "report template not found",
            expected="a notebook in xmkit/notebooks/ (reinstall xmkit)",
        )
    )
