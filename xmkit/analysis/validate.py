"""Checking a responses file: every problem at once, each located and explained."""

from __future__ import annotations

from pathlib import Path

from xmkit.errors import Problem
from xmkit.framework import Framework, load_framework
from xmkit.io.responses import read_responses

__all__ = [
    "validate",
]


def validate(
    path: str | Path, framework: Framework | None = None, columns: dict | None = None, **options
) -> list[Problem]:
    """Every problem in a responses file (empty list when it is valid).

    Unlike :func:`xmkit.load_responses` this never raises for bad content, so a user fixing a
    file sees all problems in one pass instead of one per run. ``columns`` and ``options`` are
    those of :func:`xmkit.io.responses.read_responses`.
    """
    return read_responses(path, framework or load_framework(), columns, **options).problems
