"""Assessment waves: what changed since an earlier assessment, and each unit's trend.

* ``change = score_now - score_before`` for the overall score, every category and every
  practice (scores as :func:`xmkit.score` defines them), per group in ``by``;
* its 95% CI is a seeded percentile bootstrap of the difference (Efron & Tibshirani, 1993,
  ch. 13 and sec. 8.3 for two independent samples): each replicate resamples the respondents
  of each wave independently, with replacement, recomputes every question mean and rolls them
  up to practices, categories and overall exactly as the scores do. The waves are independent
  samples (different respondents, ids not matched), so the difference's variance is the sum of
  the two; groups above ``max_resample`` respondents use the m-out-of-n bootstrap as
  :func:`xmkit.analysis.stats.bootstrap_means` does;
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

from xmkit.analysis.score import score
from xmkit.analysis.stats import bootstrap_means, percentile_interval
from xmkit.framework import Framework, load_framework
from xmkit.io.responses import wide_from_long

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
]
TREND_COLUMNS = [
    "wave",
    "wave_order",
    "level",
    "id",
    "name",
    "n",
    "score",
    "change",
    "stage",
    "stage_name",
    "suppressed",
]
LEVELS = ("overall", "category", "practice")


def _by_list(by: str | Sequence[str] | None) -> list[str]:
    if by is None:
        return []
    return [by] if isinstance(by, str) else list(by)


def _wide(data: pd.DataFrame, framework: Framework) -> pd.DataFrame:
    if "question_id" in data.columns and "answer" in data.columns:
        return wide_from_long(data, framework)
    return data


class _RollUp:
    """Question means -> practice, category and overall scores, as :func:`xmkit.score` does.

    Practice = mean of its answered questions; category = mean of its scored practices;
    overall = category mean weighted by the framework's weights, over scored categories.
    """

    def __init__(self, framework: Framework) -> None:
        q = framework.questions
        self.qids = q["question_id"].tolist()
        practices = list(dict.fromkeys(q["practice_id"]))
        categories = [c.id for c in framework.categories]
        self.q_to_p = (q["practice_id"].to_numpy()[:, None] == np.array(practices)).astype(float)
        p_cat = {p.id: c.id for c, p in framework.practices}
        self.p_to_c = (
            np.array([p_cat[p] for p in practices])[:, None] == np.array(categories)
        ).astype(float)
        weights = np.array([c.weight for c in framework.categories], dtype=float)
        self.weights = weights / weights.sum()
        self.ids = ["overall", *categories, *practices]

    @staticmethod
    def _mean(values: np.ndarray, onehot: np.ndarray) -> np.ndarray:
        present = ~np.isnan(values)
        sums = np.where(present, values, 0.0) @ onehot
        counts = present.astype(float) @ onehot
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(counts > 0, sums / counts, np.nan)

    def __call__(self, question_means: np.ndarray) -> np.ndarray:
        """Replicates x [overall, categories..., practices...]."""
        practice = self._mean(question_means, self.q_to_p)
        category = self._mean(practice, self.p_to_c)
        w = np.where(np.isnan(category), 0.0, self.weights)
        with np.errstate(invalid="ignore", divide="ignore"):
            overall = np.nansum(category * w, axis=1) / w.sum(axis=1)
        return np.column_stack([overall, category, practice])


def _replicates(
    x: np.ndarray, rollup: _RollUp, n_boot: int, rng: np.random.Generator, max_resample: int
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
) -> pd.DataFrame:
    """Change since the previous wave, per overall/category/practice and group in ``by``.

    ``current`` and ``previous`` are responses (one row per respondent, as
    :func:`xmkit.load_responses` returns, or the long layout). Returns one row per group and
    item: ``score_now``, ``score_before``, ``change`` and its bootstrap CI (``ci_low``,
    ``ci_high``; NaN with ``n_boot=0``), ``n_now``, ``n_before`` and ``suppressed`` (see the
    module docstring for definitions).
    """
    framework = framework or load_framework()
    by = _by_list(by)
    min_size = framework.thresholds.min_group_size if min_group_size is None else min_group_size
    current, previous = _wide(current, framework), _wide(previous, framework)
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

    if n_boot:
        rollup = _RollUp(framework)
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
            diff = _replicates(a, rollup, n_boot, rng, max_resample) - _replicates(
                b, rollup, n_boot, rng, max_resample
            )
            rows = merged.index[mask & ~merged["suppressed"].to_numpy()]
            cols = [position[i] for i in merged.loc[rows, "id"]]
            low, high = percentile_interval(
                diff[:, cols], merged.loc[rows, "change"].to_numpy(), 1.0, level
            )
            merged.loc[rows, "ci_low"], merged.loc[rows, "ci_high"] = low, high

    numeric = ["score_now", "score_before", "change", "ci_low", "ci_high"]
    merged.loc[merged["suppressed"], numeric] = np.nan
    order = {item: i for i, item in enumerate(_RollUp(framework).ids)}
    merged["_order"] = merged["id"].map(order)
    merged = merged.sort_values([*by, "_order"], kind="stable").reset_index(drop=True)
    return merged[[*by, *WAVE_COLUMNS]]


def trend(
    waves: Sequence[tuple[str, pd.DataFrame]],
    by: str | Sequence[str] | None = "unit",
    level: str = "overall",
) -> pd.DataFrame:
    """Each group's score over the waves, oldest first: for the portfolio's trend view.

    ``waves`` is ``[(label, scores), ...]`` in time order, each ``scores`` a :func:`xmkit.score`
    table grouped by ``by`` (units by default). Returns one row per group, wave and item of
    ``level`` (overall by default; also category or practice) with ``wave``, ``wave_order``
    (0 = oldest), ``n``, ``score``, ``stage`` and ``change`` since the group's previous wave
    in the wave just before (NaN when either is suppressed or the group is absent from it; a
    group missing from a wave has no row for it).
    """
    by = _by_list(by)
    frames = []
    for order, (label, scores) in enumerate(waves):
        rows = scores[scores["level"] == level]
        keep = [*by, "level", "id", "name", "n", "score", "stage", "stage_name", "suppressed"]
        frames.append(rows[keep].assign(wave=str(label), wave_order=order))
    if not frames:
        return pd.DataFrame(columns=[*by, *TREND_COLUMNS])
    table = pd.concat(frames, ignore_index=True)
    table = table.sort_values([*by, "id", "wave_order"], kind="stable").reset_index(drop=True)
    series = [*by, "id"]
    previous = table.groupby(series, sort=False)["wave_order"].shift()
    prior_score = table.groupby(series, sort=False)["score"].shift()
    consecutive = previous.eq(table["wave_order"] - 1)
    table["change"] = np.where(consecutive, table["score"] - prior_score, np.nan)
    return table[[*by, *TREND_COLUMNS]]
