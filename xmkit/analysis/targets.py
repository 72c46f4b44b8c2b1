"""Targets: the score or level a client wants each practice to reach, and the gap to it.

Targets come as a mapping (the ``targets:`` key of an ``assessment.yaml``)::

    targets:
      all: {level: 3}                # every practice: at least level 3
      analyze: {score: 3.5}          # every practice of a category
      anchor_metrics: {level: 4}     # one practice (most specific wins)
      joint_reviews: 3.2             # a bare number is a score

Semantics:

* ``score: x`` — the practice score (mean of its questions, on the framework's scale) should
  reach ``x``;
* ``level: n`` (``stage: n`` is read the same way) — the practice should reach *level* n of
  the framework's level descriptions. The five maturity *stages* describe the whole
  organization's overall score, so a stage named for one practice can only mean its level;
  since the current level of a practice is the whole part of its score (as
  :func:`xmkit.recommend` uses it), level n means a score of at least n.0;
* precedence: a practice's own target, else its category's, else ``all``;
* ``gap = target_score - score``: positive means still below target; ``met`` when ``gap <= 0``;
* ``status`` allows for the score's uncertainty: ``met`` when the practice's 95% interval
  (:func:`xmkit.score`) lies at or above the target, ``not met`` when it lies below, ``too
  close to call`` when it contains the target (a test of the score against the target at the
  5% level, read from the interval). Without an interval the point score decides.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import pandas as pd

from xmkit.analysis.recommend import RECOMMEND_COLUMNS, assign_horizons, gating_first
from xmkit.analysis.score import group_columns
from xmkit.errors import Problem, XmkitError
from xmkit.framework import Framework, load_framework

__all__ = [
    "ALL",
    "GAP_COLUMNS",
    "LEVEL_KEYS",
    "STATUSES",
    "TARGET_COLUMNS",
    "apply_targets",
    "parse_targets",
    "target_gaps",
    "target_status",
]

TARGET_COLUMNS = ["category_id", "practice_id", "target_score", "kind", "source"]
GAP_COLUMNS = [
    "category_id",
    "practice_id",
    "practice",
    "score",
    "target_score",
    "gap",
    "met",
    "ci_low",
    "ci_high",
    "status",
]
STATUSES = ("met", "not met", "too close to call")
ALL = "all"
LEVEL_KEYS = ("level", "stage")


def _target_value(
    key: str, value: object, framework: Framework, file: str
) -> tuple[float, str] | Problem:
    """(target score, kind) for one entry, or the problem with it."""
    low, high = framework.scale.min, framework.scale.max
    where = f"targets.{key}"
    score_expected = f"a number from {low} to {high}"
    level_expected = f"a whole level from {low + 1} to {high}"
    if isinstance(value, bool):
        return Problem(file, "target is not a number", column=where, value=str(value))
    if isinstance(value, int | float):
        value = {"score": value}
    if not isinstance(value, Mapping) or len(value) != 1:
        return Problem(
            file,
            "a target is a score or a level, not both or neither",
            column=where,
            value=repr(value)[:80],
            expected="{score: 3.5}, {level: 4} or a bare number (a score)",
        )
    ((kind, number),) = value.items()
    kind = str(kind).lower()
    if kind not in ("score", *LEVEL_KEYS):
        return Problem(
            file,
            f"unknown target kind {kind!r}",
            column=f"{where}.{kind}",
            expected="score, level or stage",
        )
    column = f"{where}.{kind}"
    ok_number = isinstance(number, int | float) and not isinstance(number, bool)
    if kind == "score":
        if not ok_number or not math.isfinite(number) or not low <= number <= high:
            return Problem(
                file,
                "target score out of range" if ok_number else "target score is not a number",
                column=column,
                value=str(number),
                expected=score_expected,
            )
        return float(number), "score"
    if not ok_number or number != int(number) or not low < number <= high:
        return Problem(
            file,
            f"target {kind} is not a level the practice can reach",
            column=column,
            value=str(number),
            expected=level_expected,
        )
    return float(int(number)), "level"


def parse_targets(
    targets: Mapping | None, framework: Framework | None = None, file: str = "targets"
) -> pd.DataFrame:
    """One target per practice from a ``targets:`` mapping (see the module docstring).

    Returns ``category_id, practice_id, target_score, kind`` (``score`` or ``level``) and
    ``source`` (the key that set it) for every practice with a target. Raises
    :class:`XmkitError` listing every problem: unknown practice or category ids, a value that is
    not a score or a level, out-of-range numbers.
    """
    framework = framework or load_framework()
    if not targets:
        return pd.DataFrame(columns=TARGET_COLUMNS)
    if not isinstance(targets, Mapping):
        raise XmkitError(
            Problem(
                file,
                "targets must be a mapping of practice ids to targets",
                column="targets",
                value=repr(targets)[:80],
                expected="e.g. {anchor_metrics: {level: 4}, all: {score: 3.0}}",
            )
        )
    practice_ids = [p.id for _, p in framework.practices]
    category_ids = [c.id for c in framework.categories]
    problems: list[Problem] = []
    found: dict[str, tuple[float, str]] = {}
    for key, value in targets.items():
        key = str(key)
        if key not in practice_ids and key not in category_ids and key != ALL:
            problems.append(
                Problem(
                    file,
                    "unknown practice id in targets",
                    column=f"targets.{key}",
                    value=key,
                    expected=f"a practice id ({', '.join(practice_ids)}), a category id or {ALL!r}",
                )
            )
            continue
        parsed = _target_value(key, value, framework, file)
        if isinstance(parsed, Problem):
            problems.append(parsed)
        else:
            found[key] = parsed
    if problems:
        raise XmkitError(problems)
    rows = []
    for category, practice in framework.practices:
        source = next(
            (k for k in (practice.id, category.id, ALL) if k in found),
            None,
        )
        if source is not None:
            target, kind = found[source]
            rows.append((category.id, practice.id, target, kind, source))
    return pd.DataFrame(rows, columns=TARGET_COLUMNS)


def _as_targets(targets: Mapping | pd.DataFrame | None, framework: Framework) -> pd.DataFrame:
    if isinstance(targets, pd.DataFrame):
        return targets
    return parse_targets(targets, framework)


def target_gaps(
    scores: pd.DataFrame,
    targets: Mapping | pd.DataFrame | None,
    framework: Framework | None = None,
) -> pd.DataFrame:
    """Each practice's gap to its target, per group of a :func:`xmkit.score` table.

    ``gap = target_score - score`` (positive: below target), ``met`` when ``gap <= 0``, and
    ``status`` (met / not met / too close to call) from the practice's interval ``ci_low``,
    ``ci_high``; practices without a target or with a suppressed score have NaN ``gap``, NA
    ``met`` and no ``status``.
    """
    framework = framework or load_framework()
    table = _as_targets(targets, framework)
    by = group_columns(scores)
    practices = scores[scores["level"] == "practice"]
    out = practices.reindex(
        columns=[*by, "category_id", "id", "name", "score", "ci_low", "ci_high"]
    ).rename(columns={"id": "practice_id", "name": "practice"})
    out = out.merge(table[["practice_id", "target_score"]], on="practice_id", how="left")
    out["gap"] = out["target_score"] - out["score"]
    out["met"] = pd.array(np.where(out["gap"].isna(), None, out["gap"] <= 1e-9), dtype="boolean")
    out["status"] = [
        target_status(t, s, lo, hi)
        for t, s, lo, hi in zip(
            out["target_score"], out["score"], out["ci_low"], out["ci_high"], strict=True
        )
    ]
    return out[[*by, *GAP_COLUMNS]].reset_index(drop=True)


def target_status(target: float, score: float, low: float, high: float) -> str | None:
    """met / not met / too close to call for a score with interval [low, high] (see the
    module docstring); None without a target or a score."""
    if not (np.isfinite(target) and np.isfinite(score)):
        return None
    if not (np.isfinite(low) and np.isfinite(high)):
        low = high = score
    if low >= target - 1e-9:
        return "met"
    if high < target - 1e-9:
        return "not met"
    return "too close to call"


def apply_targets(
    steps: pd.DataFrame,
    scores: pd.DataFrame,
    targets: Mapping | pd.DataFrame | None,
    framework: Framework | None = None,
    met: str = "drop",
) -> pd.DataFrame:
    """Reorder :func:`xmkit.recommend` steps by the gap to target, and reassign horizons.

    Within each group, in this order: steps of practices below their target, largest gap first;
    then steps of practices without a target, in the order :func:`xmkit.recommend` gave them;
    then deferred steps (the framework's later category, waiting for the other practices to
    reach its level), ordered the same way whatever their gap — targets set priorities, the
    framework's sequencing rule still holds; practices already at or above target are dropped
    (``met="drop"``) or put at the very end (``met="last"``). Priorities are renumbered and the
    ordered list fills the framework's roadmap horizons as :func:`xmkit.recommend` does
    (deferred steps always in the last horizon). In a group whose stage is capped by the
    gating category, that category's steps come first (see :func:`xmkit.recommend`). Adds
    ``target_score`` and ``gap``.
    """
    if met not in ("drop", "last"):
        raise ValueError(f"met must be 'drop' or 'last', not {met!r}")
    framework = framework or load_framework()
    by = [c for c in steps.columns if c not in (*RECOMMEND_COLUMNS, "target_score", "gap")]
    gaps = target_gaps(scores, targets, framework)
    merged = steps.merge(
        gaps[[*by, "practice_id", "target_score", "gap"]], on=[*by, "practice_id"], how="left"
    )
    met_mask = merged["gap"].notna() & (merged["gap"] <= 1e-9)
    if met == "drop":
        merged = merged[~met_mask.to_numpy()]
        met_mask = met_mask[~met_mask]
    capped = {
        key if isinstance(key, tuple) else (key,): gating_first(group, framework)
        for key, group in (scores.groupby(by, sort=True) if by else [((), scores)])
    }
    keys = merged[by].itertuples(index=False, name=None) if by else [()] * len(merged)
    gate = [
        capped.get(tuple(k), False) and c == framework.gating.category
        for k, c in zip(keys, merged["category_id"], strict=True)
    ]
    merged = merged.assign(
        _met=met_mask.to_numpy(),
        _gate=~pd.Series(gate, index=merged.index, dtype=bool),
        _deferred=merged["deferred"].astype(bool),
        _untargeted=merged["gap"].isna(),
        _gap=-merged["gap"].fillna(0.0),
    )
    merged = merged.sort_values(
        [*by, "_met", "_deferred", "_gate", "_untargeted", "_gap", "priority"], kind="stable"
    ).reset_index(drop=True)
    frames = []
    for _, group in merged.groupby(by, sort=True) if by else [((), merged)]:
        group = group.copy()
        group["priority"] = np.arange(1, len(group) + 1)
        group["horizon"] = assign_horizons(group["_deferred"].tolist(), framework)
        frames.append(group)
    columns = [*by, *RECOMMEND_COLUMNS, "target_score", "gap"]
    if not frames:
        return pd.DataFrame(columns=columns)
    return pd.concat(frames, ignore_index=True)[columns]
