"""Next steps: which practice to move, from which level to which, and when.

Rules (the numbers come from the framework's ``roadmap`` section):

1. each scored practice below the top level gets the framework's step from its current level
   (the whole part of its score) to the next;
2. the weakest practices come first;
3. steps of the later category (Converge) come after every foundation step while any other
   practice is below ``later_until_level`` (3): converging tools and teams pays off only once
   the insights, analysis and involvement it would join exist;
4. but when the gating category's cap is what holds the stage back (the group is capped),
   its steps come first: they are the only way to the next stage;
5. the ordered list is cut into horizons (next 90 days, 6 months, 12 months); deferred steps
   go in the last one, and foundation steps too few to fill the earlier horizons are spread
   over them, so that the roadmap does not jump from the first horizon to the last.
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


__all__ = ["RECOMMEND_COLUMNS", "assign_horizons", "gating_first", "recommend"]


def assign_horizons(deferred: Sequence[bool], framework: Framework) -> list[str]:
    """The roadmap horizon of each step of an ordered list (``deferred`` flags each step).

    The horizons fill in order, each with its ``size`` steps; deferred steps, and steps
    beyond the sizes, go in the last horizon. When the steps that are not deferred are
    fewer than the horizons before the last hold, they are spread evenly over those
    horizons (earlier ones first), so every horizon before the deferred work gets some.
    """
    horizons = framework.roadmap.horizons
    ready = sum(not d for d in deferred)
    earlier = horizons[:-1]
    room = [len(deferred) if h.size is None else h.size for h in earlier]
    counts = room
    if earlier and ready < sum(room):
        share, extra = divmod(ready, len(earlier))
        counts = [min(r, share + (i < extra)) for i, r in enumerate(room)]
        for i, r in enumerate(room):  # what a small horizon could not take, in order
            take = min(r - counts[i], ready - sum(counts))
            counts[i] += take
    slots = [h.name for h, c in zip(earlier, counts, strict=True) for _ in range(c)]
    last = horizons[-1].name
    ready_index = 0
    assigned = []
    for d in deferred:
        if d or ready_index >= len(slots):
            assigned.append(last)
        else:
            assigned.append(slots[ready_index])
        ready_index += not d
    return assigned


def gating_first(scores: pd.DataFrame, framework: Framework) -> bool:
    """Whether the gating category's steps should lead: the stage is capped by it.

    ``scores`` are one group's rows of a :func:`xmkit.score` table; a capped overall row
    means the score alone would reach a higher stage, so only the gating category moves it.
    """
    overall = scores[scores["level"] == "overall"]
    return (
        bool(len(overall)) and "capped" in overall and bool(overall["capped"].fillna(False).any())
    )


def _plan(practices: pd.DataFrame, framework: Framework, capped: bool = False) -> list[dict]:
    """Ordered next steps for one group's practice rows."""
    roadmap = framework.roadmap
    top = framework.scale.max
    scored = practices.dropna(subset=["score"])
    levels = {
        row.id: min(top, max(framework.scale.min, math.floor(row.score + 1e-9)))
        for row in scored.itertuples()
    }
    category_of = dict(zip(scored["id"], scored["category_id"], strict=True))
    foundations_ready = all(
        level >= roadmap.later_until_level
        for pid, level in levels.items()
        if category_of[pid] != roadmap.later_category
    )
    steps = []
    for row in scored.itertuples():
        level = levels[row.id]
        if level >= top:
            continue
        category = framework.category(row.category_id)
        later = row.category_id == roadmap.later_category
        deferred = later and not foundations_ready and not capped
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
    gate = framework.gating.category

    def order(step: dict) -> tuple:
        return (step["deferred"], not (capped and step["category_id"] == gate), step["score"])

    steps.sort(key=lambda s: (*order(s), s["practice_id"]))
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
    rows = []
    for key, group in scores.groupby(by, sort=True) if by else [((), scores)]:
        key = key if isinstance(key, tuple) else (key,)
        practices = group[group["level"] == "practice"]
        for step in _plan(practices, framework, gating_first(group, framework)):
            rows.append({**dict(zip(by, key, strict=True)), **step})
    return pd.DataFrame(rows, columns=[*by, *RECOMMEND_COLUMNS])
