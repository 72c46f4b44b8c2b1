"""Assessment waves: what changed since an earlier assessment.

* ``change = score_now - score_before`` for the overall score, every category and every
  practice (scores as :func:`xmkit.score` defines them), per group in ``by``;
* ``design``: ``paired`` when every respondent of the group answered both waves (their
  ``respondent_id`` matches), ``independent`` when none did (or there are no ids),
  ``partly paired`` in between;
* its 95% CI (default ``ci_method="t"``) is Student's t on the linearized change: each
  respondent's influence values on every score in each wave
  (:func:`xmkit.analysis.stats.influence_values`) give
  ``var(change) = var(I_now)/n_now + var(I_before)/n_before - 2 cov(I_now, I_before) m /
  (n_now n_before)`` with the covariance over the m matched respondents — for a paired group
  that is the variance of the matched respondents' own changes over m (the paired t interval,
  Student, 1908), for independent waves the sum of the two (Welch, 1947, whose degrees of
  freedom are used; a paired group uses m - 1). The same people answering twice usually agree
  with themselves, so the paired interval is much narrower than treating the waves as
  independent; treating them as independent would be about twice too wide.
  ``ci_method="bootstrap"`` keeps the seeded percentile bootstrap of two independent samples
  (Efron & Tibshirani, 1993, sec. 8.3; covered 90-93% in our simulations);
* ``p_value`` (t test of no change) and ``q_value``, its Benjamini-Hochberg adjustment across
  all shown rows of the table (Benjamini & Hochberg, 1995); ``clear`` is ``q_value < 0.05``:
  among the rows called a clear change, at most 5% are expected to be chance;
* confidentiality: a group with fewer respondents than the minimum group size in *either* wave
  (or absent from one) gets no numbers at all (``suppressed=True``), since a change would
  reveal the small wave's score; so does a group hidden in either wave by the disclosure rule
  (:mod:`xmkit.analysis.disclosure`, which :func:`xmkit.score` applies to each wave's
  breakdown), and a group whose membership changed by at least one but fewer than the minimum
  respondents when both waves carry the same respondent ids (a panel): the change would then
  come from those few people alone.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from xmkit.analysis.score import RollUp, as_wide, by_list, score
from xmkit.analysis.stats import (
    benjamini_hochberg,
    bootstrap_means,
    influence_values,
    percentile_interval,
    t_test,
    welch_df,
)
from xmkit.framework import Framework, load_framework

WAVE_COLUMNS = [
    "level",
    "id",
    "name",
    "category_id",
    "score_now",
    "score_before",
    "change",
    "ci_low",
    "ci_high",
    "n_now",
    "n_before",
    "suppressed",
    "design",
    "n_matched",
    "p_value",
    "q_value",
    "clear",
]
CI_METHODS = ("t", "bootstrap")
LEVELS = ("overall", "category", "practice")

__all__ = ["LEVELS", "WAVE_COLUMNS", "compare_waves"]


def _replicates(
    x: np.ndarray, rollup: RollUp, n_boot: int, rng: np.random.Generator, max_resample: int
) -> np.ndarray:
    """Bootstrap replicates of every roll-up score of one wave's respondents (rows)."""
    present = ~np.isnan(x)
    both = np.hstack([np.where(present, x, 0.0), present.astype(float)])
    means, scale = bootstrap_means(both, n_boot, rng, max_resample)
    q = x.shape[1]
    counts = present.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        q_means = np.where(means[:, q:] > 0, means[:, :q] / means[:, q:], np.nan)
        sample = np.where(counts > 0, both[:, :q].sum(axis=0) / counts, np.nan)
    estimate = rollup(sample[None, :])[0]
    reps = rollup(q_means)
    return estimate + (reps - estimate) * scale


def _t_change(a: np.ndarray, b: np.ndarray, ids_a, ids_b, rollup: RollUp):
    """(se, df, design, matched) of the change of every roll-up score between waves a and b."""
    infl_a = influence_values(a, rollup.linear_map((~np.isnan(a)).any(axis=0)))
    infl_b = influence_values(b, rollup.linear_map((~np.isnan(b)).any(axis=0)))
    n_a, n_b = len(a), len(b)
    common = (
        pd.Index(ids_a).intersection(pd.Index(ids_b))
        if ids_a is not None and ids_b is not None
        else pd.Index([])
    )
    m = len(common)
    var = infl_a.var(axis=0, ddof=1) / n_a + infl_b.var(axis=0, ddof=1) / n_b
    if m >= 2:
        pa = infl_a[pd.Index(ids_a).get_indexer(common)]
        pb = infl_b[pd.Index(ids_b).get_indexer(common)]
        cov = ((pa - pa.mean(axis=0)) * (pb - pb.mean(axis=0))).sum(axis=0) / (m - 1)
        var = var - 2 * cov * m / (n_a * n_b)
    se = np.sqrt(np.maximum(var, 0))
    if m and m == n_a == n_b:
        return se, np.full(se.shape, m - 1.0), "paired", m
    df = welch_df(
        np.sqrt(infl_a.var(axis=0, ddof=1) / n_a),
        n_a - 1,
        np.sqrt(infl_b.var(axis=0, ddof=1) / n_b),
        n_b - 1,
    )
    return se, df, ("partly paired" if m else "independent"), m


def _ids(data: pd.DataFrame, idx) -> np.ndarray | None:
    """The respondent ids of a group's rows (None without ids or when they repeat)."""
    if "respondent_id" not in data.columns:
        return None
    ids = data["respondent_id"] if idx is None else data["respondent_id"].iloc[idx]
    ids = ids.astype(str).to_numpy()
    return ids if len(set(ids)) == len(ids) else None


def _few_moved(
    current: pd.DataFrame, previous: pd.DataFrame, by: list[str], min_size: int
) -> set[tuple]:
    """Groups whose members changed by 1 to min-1 people (by respondent id, when both waves
    share ids); waves of different people (no shared id) are independent samples."""
    column = "respondent_id"
    if column not in current or column not in previous:
        return set()
    if not set(current[column].dropna()) & set(previous[column].dropna()):
        return set()

    def members(data: pd.DataFrame) -> dict[tuple, set]:
        groups = data.groupby(by, sort=False)[column] if by else [((), data[column])]
        return {(k if isinstance(k, tuple) else (k,)): set(v.dropna()) for k, v in groups}

    now, before = members(current), members(previous)
    return {key for key in set(now) & set(before) if 0 < len(now[key] ^ before[key]) < min_size}


def compare_waves(
    current: pd.DataFrame,
    previous: pd.DataFrame,
    framework: Framework | None = None,
    by: str | Sequence[str] | None = None,
    min_group_size: int | None = None,
    n_boot: int = 1000,
    seed: int = 0,
    level: float = 0.95,
    max_resample: int = 1000,
    ci_method: str = "t",
) -> pd.DataFrame:
    """Change since the previous wave, per overall/category/practice and group in ``by``.

    ``current`` and ``previous`` are responses (one row per respondent, as
    :func:`xmkit.load_responses` returns, or the long layout). Returns one row per group and
    item: ``score_now``, ``score_before``, ``change`` and its CI (``ci_low``, ``ci_high``; NaN
    with ``n_boot=0``), ``n_now``, ``n_before``, ``suppressed``, the ``design`` (paired when
    the respondent ids match), ``n_matched``, ``p_value``, ``q_value`` and ``clear`` (see the
    module docstring for definitions; ``seed`` and ``max_resample`` serve the bootstrap).
    """
    if ci_method not in CI_METHODS:
        raise ValueError(f"ci_method must be one of {CI_METHODS}, not {ci_method!r}")
    framework = framework or load_framework()
    by = by_list(by)
    min_size = framework.thresholds.min_group_size if min_group_size is None else min_group_size
    current, previous = as_wide(current, framework), as_wide(previous, framework)
    keys = [*by, "level", "id"]
    tables = []
    for data in (current, previous):
        s = score(data, framework, by=by or None, min_group_size=min_size, n_boot=0)
        tables.append(s[s["level"].isin(LEVELS)])
    now, before = tables
    merged = now.merge(
        before[[*keys, "name", "category_id", "score", "n", "suppressed"]],
        on=keys,
        how="outer",
        suffixes=("_now", "_before"),
    )
    merged["name"] = merged["name_now"].fillna(merged["name_before"])
    merged["category_id"] = merged["category_id_now"].fillna(merged["category_id_before"])
    for col in ("n_now", "n_before"):
        merged[col] = merged[col].fillna(0).astype(int)
    # A group too small (or absent) in either wave shows nothing: its overall row's n decides.
    overall = merged[merged["level"] == "overall"]
    small = (overall["n_now"] < min_size) | (overall["n_before"] < min_size)
    if by:
        flags = overall[by].assign(_small=small.to_numpy())
        merged = merged.merge(flags, on=by, how="left")
    else:
        merged["_small"] = bool(small.iloc[0])
    merged["suppressed"] = (
        merged.pop("_small").fillna(True).astype(bool)
        | merged["suppressed_now"].astype("boolean").fillna(True).astype(bool)
        | merged["suppressed_before"].astype("boolean").fillna(True).astype(bool)
    )
    moved = _few_moved(current, previous, by, min_size)
    if moved:
        keys_of = merged[by].itertuples(index=False, name=None) if by else [()] * len(merged)
        merged["suppressed"] |= np.array([k in moved for k in keys_of], dtype=bool)
    merged["change"] = merged["score_now"] - merged["score_before"]
    merged["ci_low"] = np.nan
    merged["ci_high"] = np.nan
    merged["design"] = None
    merged["n_matched"] = 0
    merged["p_value"] = np.nan

    if n_boot:
        rollup = RollUp(framework)
        rng = np.random.default_rng(seed)
        groups_now = current.groupby(by, sort=True).indices if by else {(): None}
        groups_before = previous.groupby(by, sort=True).indices if by else {(): None}
        x_now = current[rollup.qids].to_numpy(dtype=float)
        x_before = previous[rollup.qids].to_numpy(dtype=float)
        position = {item: i for i, item in enumerate(rollup.ids)}
        for key in sorted(set(groups_now) & set(groups_before), key=str):
            key_t = key if isinstance(key, tuple) else (key,)
            mask = np.ones(len(merged), dtype=bool)
            for col, value in zip(by, key_t, strict=True):
                mask &= (merged[col] == value).to_numpy()
            if merged.loc[mask, "suppressed"].all():
                continue
            a = x_now if groups_now[key] is None else x_now[groups_now[key]]
            b = x_before if groups_before[key] is None else x_before[groups_before[key]]
            rows = merged.index[mask & ~merged["suppressed"].to_numpy()]
            cols = [position[i] for i in merged.loc[rows, "id"]]
            change = merged.loc[rows, "change"].to_numpy()
            ids_a = _ids(current, groups_now[key])
            ids_b = _ids(previous, groups_before[key])
            se, df, design, matched = _t_change(a, b, ids_a, ids_b, rollup)
            low, high, p = t_test(change, se[cols], df[cols], level)
            if ci_method == "bootstrap":
                diff = _replicates(a, rollup, n_boot, rng, max_resample) - _replicates(
                    b, rollup, n_boot, rng, max_resample
                )
                low, high = percentile_interval(diff[:, cols], change, 1.0, level)
                design, matched = "independent", 0
            merged.loc[rows, "ci_low"], merged.loc[rows, "ci_high"] = low, high
            merged.loc[rows, "p_value"] = p
            merged.loc[rows, "design"], merged.loc[rows, "n_matched"] = design, matched

    numeric = ["score_now", "score_before", "change", "ci_low", "ci_high", "p_value"]
    merged.loc[merged["suppressed"], numeric] = np.nan
    merged["q_value"] = benjamini_hochberg(merged["p_value"].to_numpy())
    merged["clear"] = merged["q_value"] < 1 - level
    order = {item: i for i, item in enumerate(RollUp(framework).ids)}
    merged["_order"] = merged["id"].map(order)
    merged = merged.sort_values([*by, "_order"], kind="stable").reset_index(drop=True)
    return merged[[*by, *WAVE_COLUMNS]]
