"""Next steps: which practice to move, from which level to which, and when.

Rules (the numbers come from the framework's ``roadmap`` section):

1. each scored practice below the top level gets the framework's step from its current level
   (the whole part of its score) to the next;
2. the weakest practices come first;
3. steps of the later category (Converge) come after every foundation step while any other
   practice is below ``later_until_level`` (3): converging tools and teams pays off only once
   the insights, analysis and involvement it would join exist;
4. the ordered list is cut into horizons (next 90 days, 6 months, 12 months).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import pandas as pd

from xmkit.analysis.score import group_columns
from xmkit.framework import Framework, load_framework

RECOMMEND_COLUMNS = [
    "priority",
    "horizon",
    "category_id",
    "category",
    "practice_id",
    "practice",
    "score",
    "current_level",
    "target_level",
    "action",
    "deferred",
]


__all__ = ["RECOMMEND_COLUMNS", "assign_horizons", "recommend"]


def assign_horizons(deferred: Sequence[bool], framework: Framework) -> list[str]:
    """The roadmap horizon of each step of an ordered list (``deferred`` flags each step).

    The horizons fill in order, each with its ``size`` steps; deferred steps, and steps
    beyond the sizes, go in the last horizon.
    """
    horizons = framework.roadmap.horizons
    slots: list[str] = []
    for horizon in horizons:
        slots += [horizon.name] * (len(deferred) if horizon.size is None else horizon.size)
    last = horizons[-1].name
    return [last if d or i >= len(slots) else slots[i] for i, d in enumerate(deferred)]


def _plan(practices: pd.DataFrame, framework: Framework) -> list[dict]:
    """Ordered next steps for one group's practice rows."""
    roadmap = framework.roadmap
    top = framework.scale.max
    scored = practices.dropna(subset=["score"])
    levels = {
        row.id: min(top, max(framework.scale.min, math.floor(row.score + 1e-9)))
        for row in scored.itertuples()
    }
    foundations_ready = all(
        level >= roadmap.later_until_level
        for pid, level in levels.items()
        if scored.set_index("id").loc[pid, "category_id"] != roadmap.later_category
    )
    steps = []
    for row in scored.itertuples():
        level = levels[row.id]
        if level >= top:
            continue
        category = framework.category(row.category_id)
        deferred = row.category_id == roadmap.later_category and not foundations_ready
        steps.append(
            {
                "category_id": category.id,
                "category": category.name,
                "practice_id": row.id,
                "practice": row.name,
                "score": row.score,
                "current_level": level,
                "target_level": level + 1,
                "action": framework.practice(row.id).next_step(level),
                "deferred": deferred,
            }
        )
    steps.sort(key=lambda s: (s["deferred"], s["score"], s["practice_id"]))
    horizons = assign_horizons([s["deferred"] for s in steps], framework)
    for priority, (step, horizon) in enumerate(zip(steps, horizons, strict=True), start=1):
        step["priority"] = priority
        step["horizon"] = horizon
    return steps


def recommend(scores: pd.DataFrame, framework: Framework | None = None) -> pd.DataFrame:
    """Prioritized next steps from a :func:`xmkit.score` table, per group if it has groups.

    Returns one row per step: ``priority`` (1 = first), ``horizon``, the practice, its
    ``score``, ``current_level`` and ``target_level``, the ``action`` text and ``deferred``
    (a Converge step waiting for the other categories to reach the roadmap's level).
    Suppressed groups get no steps.
    """
    framework = framework or load_framework()
    by = group_columns(scores)
    practices = scores[scores["level"] == "practice"]
    rows = []
    for key, group in practices.groupby(by, sort=True) if by else [((), practices)]:
        key = key if isinstance(key, tuple) else (key,)
        for step in _plan(group, framework):
            rows.append({**dict(zip(by, key, strict=True)), **step})
    return pd.DataFrame(rows, columns=[*by, *RECOMMEND_COLUMNS])
