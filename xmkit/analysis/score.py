"""Scores at every level of the framework, maturity stage, agreement and perception gaps.

Definitions (also in the README):

* question score = mean of its non-missing answers;
* practice score = mean of its question scores; category = mean of its practice scores;
* overall = mean of the category scores, weighted by the framework's category weights;
* question score uses ``min + max - answer`` for a reverse-coded question (``reverse: true``);
* index = ``(score - min) / (max - min) * 100``: ``(score - 1) / 4 * 100`` on a 1-5 scale;
* stage = highest stage whose ``min_score`` the overall score reaches, capped at
  ``gating.max_stage`` while the gating category (Converge) scores below ``gating.below``;
* a group with fewer respondents than the minimum group size gets no score (``suppressed``);
  in a breakdown (``by``) the disclosure rule of :mod:`xmkit.analysis.disclosure` also hides
  the groups that would let a hidden group be derived by subtraction (``suppressed_reason``).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from itertools import combinations

import numpy as np
import pandas as pd

from xmkit.analysis.disclosure import SMALL, protect
from xmkit.analysis.stats import (
    alpha_from_cov,
    alpha_interval,
    bootstrap_means,
    cov_from_cross,
    holm,
    icc,
    influence_sd_from_cross,
    influence_values,
    linearized_t_interval,
    percentile_interval,
    rwg_j_from_mean,
    t_test,
    to_index,
    welch_df,
)
from xmkit.framework import Framework, load_framework
from xmkit.io.responses import wide_from_long

LEVELS = ("overall", "category", "practice", "question")
COLUMNS = [
    "level",
    "id",
    "name",
    "category_id",
    "n",
    "score",
    "index",
    "ci_low",
    "ci_high",
    "rwg",
    "alpha",
    "stage",
    "stage_name",
    "stage_uncapped",
    "capped",
    "suppressed",
    "se",
    "alpha_low",
    "alpha_high",
    "icc1",
    "icc2",
    "stage_low",
    "stage_high",
    "suppressed_reason",
]
CI_METHODS = ("t", "bootstrap")


__all__ = [
    "COLUMNS",
    "LEVELS",
    "RollUp",
    "as_wide",
    "by_list",
    "gaps_from_scores",
    "group_columns",
    "perception_gaps",
    "score",
]


def as_wide(data: pd.DataFrame, framework: Framework) -> pd.DataFrame:
    """Answers as scored, one row per respondent (long layout pivoted, reverse-coded turned)."""
    if "question_id" in data.columns and "answer" in data.columns:
        return framework.scored(wide_from_long(data, framework))
    missing = [q for q in framework.question_ids if q not in data.columns]
    if missing:
        raise ValueError(f"data has no column for questions {missing}")
    return framework.scored(data)


def by_list(by: str | Sequence[str] | None) -> list[str]:
    """``by`` of the scoring functions as a list of column names."""
    if by is None:
        return []
    return [by] if isinstance(by, str) else list(by)


def group_columns(scores: pd.DataFrame) -> list[str]:
    """The grouping columns (unit, role ...) of a score-derived table."""
    return [c for c in scores.columns if c not in COLUMNS]


class RollUp:
    """Question scores -> practice, category and overall scores (the definitions above).

    Used for the scores themselves, their bootstrap and the bootstrap of wave changes, so every
    number rolls up the same way.
    """

    def __init__(self, framework: Framework) -> None:
        q = framework.questions
        self.qids = q["question_id"].tolist()
        self.practice_ids = list(dict.fromkeys(q["practice_id"]))
        self.category_ids = [c.id for c in framework.categories]
        self.q_practice = (
            q["practice_id"].map({p: i for i, p in enumerate(self.practice_ids)}).to_numpy()
        )
        p_cat = {p.id: c.id for c, p in framework.practices}
        self.p_category = np.array([self.category_ids.index(p_cat[p]) for p in self.practice_ids])
        weights = np.array([c.weight for c in framework.categories], dtype=float)
        self.weights = weights / weights.sum()
        self.ids = ["overall", *self.category_ids, *self.practice_ids]

    def __call__(self, question_scores: np.ndarray) -> np.ndarray:
        """Replicates x [overall, categories..., practices...], in the order of ``ids``."""
        practice, category, overall = self.roll_up(question_scores)
        return np.column_stack([overall, category, practice])

    def linear_map(self, answered: np.ndarray) -> np.ndarray:
        """Questions x scores (in the order of ``ids``): how each answered question's mean
        feeds the scores of a group. The roll-up is linear in the question means once it is
        known which questions were answered (``answered``: one flag per question, or groups x
        questions for one map per group); :func:`xmkit.analysis.stats.influence_values` and
        :func:`xmkit.analysis.stats.influence_sd_from_cross` turn it into standard errors."""
        answered = np.asarray(answered, dtype=bool)
        n = answered.shape[-1]
        basis = np.where(answered[..., None, :], np.eye(n), np.nan)
        return np.nan_to_num(self(basis.reshape(-1, n))).reshape(*answered.shape, -1)

    def roll_up(self, question_scores: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Practice, category and overall scores from question scores (rows: replicates)."""
        practice = _mean_by(question_scores, self.q_practice, len(self.practice_ids))
        category = _mean_by(practice, self.p_category, len(self.category_ids))
        w = np.where(np.isnan(category), 0.0, self.weights)
        with np.errstate(invalid="ignore", divide="ignore"):
            overall = np.nansum(category * w, axis=1) / w.sum(axis=1)
        return practice, category, overall


def _onehot(groups: np.ndarray, k: int) -> np.ndarray:
    onehot = np.zeros((len(groups), k))
    onehot[np.arange(len(groups)), groups] = 1.0
    return onehot


def _members(groups: np.ndarray, k: int) -> list:
    """The columns of each of ``k`` column groups: a slice where they are adjacent."""
    members = []
    for i in range(k):
        cols = np.flatnonzero(groups == i)
        adjacent = len(cols) and cols[-1] - cols[0] == len(cols) - 1
        members.append(slice(cols[0], cols[-1] + 1) if adjacent else cols)
    return members


def _any_of(flags: np.ndarray, members: list, onehot: np.ndarray) -> np.ndarray:
    """Rows x groups: whether any of each group's columns is set; column by column where the
    columns are contiguous in memory (the whole data), by a product otherwise (a group's
    rows, one table of practices)."""
    if flags.flags.f_contiguous and flags.shape[1] > 1:
        out = np.empty((len(flags), len(members)), dtype=bool, order="F")  # F again: one
        for k, cols in enumerate(members):  # more level of groups reads it column by column
            np.any(flags[:, cols], axis=1, out=out[:, k])
        return out
    return (flags.astype(float) @ onehot) > 0


def _mean_by(values: np.ndarray, groups: np.ndarray, k: int) -> np.ndarray:
    """Column means of ``values`` within each of ``k`` column groups, skipping NaN."""
    onehot = _onehot(groups, k)
    present = ~np.isnan(values)
    sums = np.where(present, values, 0.0) @ onehot
    counts = present.astype(float) @ onehot
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, sums / counts, np.nan)


def _numbers(
    groups: list[np.ndarray | None],
    matrix: np.ndarray,
    structure: RollUp,
    framework: Framework,
    min_group_size: int,
    n_boot: int,
    rng: np.random.Generator,
    max_resample: int,
    ci_method: str = "t",
) -> dict[str, np.ndarray]:
    """All numbers of every group (rows of ``matrix`` in ``groups``; None: all rows), groups x
    items in the order overall, categories, practices, questions.

    One pass over each group's respondents collects what everything else needs: answer sums
    and counts, and the cross products ``X0'X0``, ``X0'M``, ``M'M`` (answers with 0 for
    missing, presence mask) that give the covariances (alpha, rwg) and the intervals' standard
    errors (:func:`xmkit.analysis.stats.influence_sd_from_cross`); the rest is computed for
    all groups at once.
    """
    n_q, n_p, n_c = len(structure.qids), len(structure.practice_ids), len(structure.category_ids)
    q_practice = _onehot(structure.q_practice, n_p)
    p_category = _onehot(structure.p_category, n_c)
    practice_columns = _members(structure.q_practice, n_p)
    category_columns = _members(structure.p_category, n_c)
    g = len(groups)
    n_resp = np.zeros(g, dtype=int)
    q_n, p_n, c_n = (np.zeros((g, k), dtype=int) for k in (n_q, n_p, n_c))
    q_score = np.empty((g, n_q))
    rolled = np.empty((g, 1 + n_c + n_p))
    xx, xm, mm = (np.empty((g, n_q, n_q)) for _ in range(3))
    ci = np.full((3, g, 1 + n_c + n_p), np.nan)
    for i, idx in enumerate(groups):
        x = matrix if idx is None else matrix[idx]
        present = ~np.isnan(x)
        # answers (0 for missing) beside their mask in one array: one product gives all
        # three cross products, and their diagonals the answer counts and sums
        both = np.zeros((len(x), 2 * n_q), order="F" if x.flags.f_contiguous else "C")
        np.copyto(both[:, n_q:], present)
        np.copyto(both[:, :n_q], x, where=present)
        cross = both.T @ both
        xx[i], xm[i], mm[i] = cross[:n_q, :n_q], cross[:n_q, n_q:], cross[n_q:, n_q:]
        answered = present.any(axis=1)
        n_resp[i] = answered.sum()
        q_n[i] = np.diagonal(mm[i])
        with np.errstate(invalid="ignore", divide="ignore"):
            q_score[i] = np.where(q_n[i] > 0, np.diagonal(xm[i]) / np.maximum(q_n[i], 1), np.nan)
        rolled[i] = structure(q_score[i][None, :])[0]  # one group at a time: the same bits
        p_any = _any_of(present, practice_columns, q_practice)
        p_n[i] = np.count_nonzero(p_any, axis=0)
        c_n[i] = np.count_nonzero(_any_of(p_any, category_columns, p_category), axis=0)
        if ci_method == "bootstrap" and n_boot and n_resp[i] >= max(2, min_group_size):
            rows = slice(None) if answered.all() else answered  # respondents with an answer
            influence = influence_values(x[rows], structure.linear_map(q_n[i] > 0))
            replicates, scale = bootstrap_means(influence, n_boot, rng, max_resample)
            ci[:2, i] = percentile_interval(rolled[i] + replicates, rolled[i], scale)

    with_ci = np.flatnonzero(n_resp >= max(2, min_group_size)) if n_boot else []
    if ci_method == "t" and len(with_ci):
        sd = influence_sd_from_cross(
            xx[with_ci],
            xm[with_ci],
            mm[with_ci],
            n_resp[with_ci],
            q_score[with_ci],
            structure.linear_map(q_n[with_ci] > 0),
        )
        for i, group_sd in zip(with_ci, sd, strict=True):
            ci[:, i] = linearized_t_interval(rolled[i], group_sd, int(n_resp[i]))[:3]
        # the score cannot leave the scale: clipping keeps the interval's coverage
        ci[:2] = np.clip(ci[:2], framework.scale.min, framework.scale.max)

    # Covariances are needed only within categories (alpha); their diagonals give rwg.
    cov = cov_from_cross(xx, xm, mm)
    variances = np.diagonal(cov, axis1=1, axis2=2)
    known = ~np.isnan(variances)
    j = known.astype(float) @ q_practice
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_variance = np.where(known, variances, 0.0) @ q_practice / j
    rwg = rwg_j_from_mean(mean_variance, j, framework.scale.max - framework.scale.min + 1)
    q_category = structure.p_category[structure.q_practice]
    alpha = np.empty((g, n_c))
    alpha_ci = np.empty((g, n_c, 2))
    for c in range(n_c):
        items = np.flatnonzero(q_category == c)
        alpha[:, c] = alpha_from_cov(cov[:, items[:, None], items])
        for i in range(g):
            alpha_ci[i, c] = alpha_interval(alpha[i, c], int(c_n[i, c]), len(items))
    rest = np.full((g, n_q), np.nan)
    nan_c = np.full((g, 1), np.nan)
    nan_pq = np.full((g, n_p + n_q), np.nan)
    return {
        "n": np.column_stack([n_resp, c_n, p_n, q_n]),
        "score": np.column_stack([rolled, q_score]),
        "ci_low": np.column_stack([ci[0], rest]),
        "ci_high": np.column_stack([ci[1], rest]),
        "se": np.column_stack([ci[2], rest]),
        "rwg": np.column_stack([np.full((g, 1 + n_c), np.nan), rwg, rest]),
        "alpha": np.column_stack([nan_c, alpha, nan_pq]),
        "alpha_low": np.column_stack([nan_c, alpha_ci[:, :, 0], nan_pq]),
        "alpha_high": np.column_stack([nan_c, alpha_ci[:, :, 1], nan_pq]),
    }


def score(
    data: pd.DataFrame,
    framework: Framework | None = None,
    by: str | Sequence[str] | None = None,
    min_group_size: int | None = None,
    n_boot: int = 1000,
    seed: int = 0,
    max_resample: int = 1000,
    ci_method: str = "t",
) -> pd.DataFrame:
    """Score responses at every level, for the whole data or for each group in ``by``.

    ``data`` is one row per respondent (as :func:`xmkit.load_responses` returns) or the long
    layout with ``question_id`` and ``answer``. Returns one row per group and framework item
    (see the module docstring for definitions).

    Intervals: ``ci_low``, ``ci_high`` hold a 95% interval of the overall, category and
    practice scores and ``se`` its standard error. ``ci_method="t"`` (default) is the Student-t
    interval on n - 1 degrees of freedom of the linearized scores
    (:func:`xmkit.analysis.stats.linearized_t_interval`), which keeps its 95% at 5 respondents;
    ``"bootstrap"`` is the seeded percentile bootstrap of the same linearization (``n_boot``
    replicates, ``seed``, ``max_resample``; it covers only 75-85% at 5-10 respondents, see
    docs/scoring.md, and has no ``se``). ``n_boot=0`` skips intervals.

    Agreement and reliability: ``rwg`` is within-group agreement per practice (uniform null);
    ``alpha`` Cronbach's alpha per category with Feldt's interval (``alpha_low``,
    ``alpha_high``); ``icc1`` and ``icc2`` (category and overall rows, the same in every group)
    are ICC(1) and ICC(2) of the respondents' scores across the groups of ``by`` (Bliese, 2000;
    NaN without ``by`` or with one group). The overall row's ``stage_low`` and ``stage_high``
    are the stages the overall interval spans (see :func:`stage_span`).

    Rows of a group smaller than ``min_group_size`` (default: the framework's) have no numbers
    and ``suppressed=True``; so do question rows answered by fewer respondents than that, and,
    in a breakdown, the groups the disclosure rule hides so that no subtraction gives a hidden
    group back (``suppressed_reason``).
    """
    if ci_method not in CI_METHODS:
        raise ValueError(f"ci_method must be one of {CI_METHODS}, not {ci_method!r}")
    framework = framework or load_framework()
    by = by_list(by)
    wide = as_wide(data, framework)
    min_size = framework.thresholds.min_group_size if min_group_size is None else min_group_size
    structure = RollUp(framework)
    rng = np.random.default_rng(seed)
    labels = _labels(framework)

    matrix = wide[structure.qids].to_numpy(dtype=float)
    positions = (
        wide.groupby(by, sort=True, dropna=False, observed=True).indices if by else {(): None}
    )
    keys = sorted(positions, key=str)
    groups = [positions[k] for k in keys]
    n_items = len(labels)
    with _one_blas_thread():
        numbers = _numbers(
            groups, matrix, structure, framework, min_size, n_boot, rng, max_resample, ci_method
        )
        icc_columns = _icc_columns(matrix, groups, structure, n_items)
    # every column first, then one frame: a column added to a frame costs far more
    columns = {column: values.ravel() for column, values in numbers.items()}
    columns["n"] = columns["n"].astype(int)
    columns.update(_stages(numbers, labels, framework))
    columns["icc1"], columns["icc2"] = icc_columns
    columns["index"] = to_index(columns["score"], framework.scale.min, framework.scale.max)
    group_n = np.repeat(numbers["n"][:, 0], n_items)
    columns["suppressed"] = (group_n < min_size) | (columns["n"] < min_size)
    keyed = [k if isinstance(k, tuple) else (k,) for k in keys]
    result = pd.concat(
        [_key_columns(by, keyed, n_items), _repeat(labels, len(keys)), pd.DataFrame(columns)],
        axis=1,
    )
    if by:
        cross = None
        if len(by) == 1 and by[0] != "unit" and "unit" in wide.columns:
            # role totals must not expose what the unit reports' role rows hide
            cross = _counts(wide, structure, labels, ["unit", *by], min_size)
        result = protect(result, by, min_size, cross)
    else:
        result["suppressed_reason"] = np.where(result["suppressed"], SMALL, "")
    hidden = result["suppressed"].to_numpy(dtype=bool)
    if hidden.any():  # column by column: a .loc assignment over many columns costs far more
        numeric = ["score", "index", "ci_low", "ci_high", "se", "rwg", "alpha"]
        for column in [*numeric, "alpha_low", "alpha_high"]:
            result[column] = np.where(hidden, np.nan, result[column].to_numpy(dtype=float))
        for column in ["stage", "stage_uncapped", "capped", "stage_low", "stage_high"]:
            result[column] = result[column].mask(hidden)
        result["stage_name"] = result["stage_name"].where(~hidden, None)
    return result[[*by, *COLUMNS]]


def _repeat(labels: pd.DataFrame, groups: int) -> pd.DataFrame:
    """The item rows once per group, one group after another."""
    return labels.iloc[np.tile(np.arange(len(labels)), groups)].reset_index(drop=True)


def _key_columns(by: list[str], keys: list[tuple], items: int) -> pd.DataFrame:
    """The grouping columns of a table of ``items`` rows per group, groups in ``keys`` order:
    one value per group, typed as a column of that value would be (str, int, ...)."""
    index = pd.RangeIndex(len(keys) * items)
    return pd.DataFrame(
        {
            col: pd.Series([key[i] for key in keys]).repeat(items).set_axis(index)
            for i, col in enumerate(by)
        },
        index=index,
    )


@functools.cache
def _blas_threads():
    from threadpoolctl import ThreadpoolController  # looks up the loaded BLAS: once

    return ThreadpoolController()


def _one_blas_thread():
    """A context in which matrix products use one thread. Scoring's products are thin
    (respondents x a few dozen questions): a second BLAS thread saves little when the machine
    is idle, while on a busy one (a batch's workers, other users) BLAS threads waiting for a
    core made scoring several times slower."""
    return _blas_threads().limit(limits=1, user_api="blas")


def _icc_columns(
    matrix: np.ndarray, groups: list, structure: RollUp, n_items: int
) -> tuple[np.ndarray, np.ndarray]:
    """ICC(1), ICC(2) of respondents' category and overall scores across the groups (row
    indices of ``matrix``), as the ``icc1`` and ``icc2`` columns of a score table."""
    n_groups = len(groups)
    icc1, icc2 = np.full((n_groups, n_items), np.nan), np.full((n_groups, n_items), np.nan)
    if n_groups >= 2:
        codes = np.full(len(matrix), -1)
        for code, idx in enumerate(groups):
            codes[idx] = code
        _, category, overall = structure.roll_up(matrix)
        # the overall row comes first in each group, then one row per category
        for item, values in enumerate([overall, *category.T]):
            icc1[:, item], icc2[:, item] = icc(values, codes)
    return icc1.ravel(), icc2.ravel()


def stage_span(low: float, high: float, gate_low: float, gate_high: float, framework) -> tuple:
    """The lowest and highest stage an overall score in [low, high] can give, with the gating
    cap applied as its own interval allows: the highest stage is capped only when the gating
    category is clearly below its threshold (``gate_high`` below it), the lowest whenever it
    may be (``gate_low`` below it). (None, None) without an interval."""
    if not (np.isfinite(low) and np.isfinite(high)):
        return None, None
    gating = framework.gating

    def capped(stage: int, gate: float) -> int:
        below = np.isfinite(gate) and gate < gating.below
        return min(stage, gating.max_stage) if below else stage

    first = framework.stages[0].min_score
    lowest = capped(framework.stage_for(max(low, first)).stage, gate_low)
    highest = capped(framework.stage_for(max(high, first)).stage, gate_high)
    return lowest, max(highest, lowest)


def _counts(
    wide: pd.DataFrame, structure: RollUp, labels: pd.DataFrame, by: list[str], min_size: int
) -> pd.DataFrame:
    """Respondents per group and item (``n`` as :func:`score` counts it), without the scores:
    what the disclosure rule needs of a breakdown that is not itself published."""
    present = ~np.isnan(wide[structure.qids].to_numpy(dtype=float))
    q_practice = _onehot(structure.q_practice, len(structure.practice_ids))
    p_category = _onehot(structure.p_category, len(structure.category_ids))
    keys, counts = [], []
    for key, idx in wide.groupby(by, sort=True, dropna=False, observed=True).indices.items():
        x = present[idx]
        p_any = (x @ q_practice) > 0
        c_n = ((p_any @ p_category) > 0).sum(axis=0)
        counts.append(
            np.concatenate([[x.any(axis=1).sum()], c_n, p_any.sum(axis=0), x.sum(axis=0)])
        )
        keys.append(key if isinstance(key, tuple) else (key,))
    table = pd.concat(
        [_repeat(labels[["level", "id"]], len(keys)), _key_columns(by, keys, len(labels))], axis=1
    )
    table["n"] = np.concatenate(counts).astype(int)
    table["suppressed"] = table["n"] < min_size
    return table


def _labels(framework: Framework) -> pd.DataFrame:
    """The item rows (level, id, name, category_id) of a score table, in output order."""
    rows = [("overall", "overall", "Overall", None)]
    rows += [("category", c.id, c.name, c.id) for c in framework.categories]
    rows += [("practice", p.id, p.name, c.id) for c, p in framework.practices]
    q = framework.questions
    rows += list(
        zip(["question"] * len(q), q["question_id"], q["question"], q["category_id"], strict=True)
    )
    return pd.DataFrame(rows, columns=["level", "id", "name", "category_id"])


def _stages(numbers: dict[str, np.ndarray], labels: pd.DataFrame, framework: Framework) -> dict:
    """Stage columns of every group (groups x items ``numbers``): the stage on the overall row
    with the gating cap (Converge below threshold) and the stages its interval spans."""
    gating = framework.gating
    names = {s.stage: s.name for s in framework.stages}
    n_groups, n_items = numbers["score"].shape
    gate_at = np.flatnonzero(
        ((labels["level"] == "category") & (labels["id"] == gating.category)).to_numpy()
    )
    columns = {c: [None] * (n_groups * n_items) for c in [*STAGE_DTYPES, "stage_name"]}
    named = []
    for i in range(n_groups):
        overall = numbers["score"][i, 0]
        gate = numbers["score"][i, gate_at]
        uncapped = framework.stage_for(overall).stage if pd.notna(overall) else None
        capped = bool(
            uncapped is not None
            and not np.isnan(gate).any()
            and (gate < gating.below).all()
            and uncapped > gating.max_stage
        )
        stage = min(uncapped, gating.max_stage) if capped else uncapped
        gate_low = gate_high = np.nan
        if len(gate_at):
            gate_low, gate_high = (
                numbers["ci_low"][i, gate_at[0]],
                numbers["ci_high"][i, gate_at[0]],
            )
        low, high = stage_span(
            numbers["ci_low"][i, 0], numbers["ci_high"][i, 0], gate_low, gate_high, framework
        )
        row = i * n_items
        columns["stage"][row] = stage
        columns["stage_name"][row] = names.get(stage)
        columns["stage_uncapped"][row] = uncapped
        columns["capped"][row] = capped if stage else None
        columns["stage_low"][row], columns["stage_high"][row] = low, high
        named.append(names.get(stage) is not None)
    out: dict = {c: pd.array(columns[c], dtype=dtype) for c, dtype in STAGE_DTYPES.items()}
    # Text with missing values; a group without a stage has only missing values, and that
    # makes the whole column object-typed, with None for that group (as pandas joins them).
    stage_name = pd.Series(columns["stage_name"])
    if not all(named):
        stage_name = stage_name.astype(object)
        stage_name[np.repeat(~np.array(named), n_items)] = None
    out["stage_name"] = stage_name
    return out


STAGE_DTYPES = {
    "stage": "Int64",
    "stage_uncapped": "Int64",
    "capped": "boolean",
    "stage_low": "Int64",
    "stage_high": "Int64",
}


GAP_COLUMNS = [
    "category_id",
    "category",
    "role_a",
    "role_b",
    "n_a",
    "n_b",
    "score_a",
    "score_b",
    "gap",
    "ci_low",
    "ci_high",
    "p_value",
    "p_adjusted",
    "flagged",
    "suppressed",
]


def perception_gaps(
    data: pd.DataFrame,
    framework: Framework | None = None,
    by: str | Sequence[str] | None = None,
    min_group_size: int | None = None,
    level: float = 0.95,
) -> pd.DataFrame:
    """Category score gaps between every pair of roles (``gap = score_a - score_b``), each
    with its ``level`` interval and a decision that allows for the many pairs compared.

    See :func:`gaps_from_scores` for the interval and the rule that sets ``flagged``.
    """
    framework = framework or load_framework()
    by = by_list(by)
    min_size = framework.thresholds.min_group_size if min_group_size is None else min_group_size
    scores = score(data, framework, by=[*by, "role"], min_group_size=min_size)
    return gaps_from_scores(scores, framework, by, level=level)


def gaps_from_scores(
    scores: pd.DataFrame, framework: Framework, by: Sequence[str] = (), level: float = 0.95
) -> pd.DataFrame:
    """:func:`perception_gaps` from a score table grouped by ``[*by, "role"]`` with intervals.

    Interval: the two roles are independent samples, so the gap's standard error is
    ``sqrt(se_a^2 + se_b^2)`` from the linearized standard errors of the two category scores,
    and the interval and two-sided p-value use Student's t with Welch-Satterthwaite degrees of
    freedom on ``n_a - 1`` and ``n_b - 1`` (Welch, 1947) — the analytic form of resampling the
    respondents within each role, which keeps its level at five respondents a role where the
    percentile bootstrap does not. Decision: the p-values of all role pairs x categories
    (within each group of ``by``) are Holm-adjusted (``p_adjusted``; Holm, 1979), and a gap is
    ``flagged`` only when ``p_adjusted < 1 - level`` (so its interval excludes 0 even after
    allowing for the number of comparisons) *and* ``|gap|`` reaches the framework's
    ``perception_gap`` threshold. A role below the minimum group size withholds the gap
    (``suppressed=True``); a table without ``se`` (scored with ``n_boot=0``) flags nothing.
    """
    by = list(by)
    cats = scores[scores["level"] == "category"]
    if "se" not in cats.columns:
        cats = cats.assign(se=np.nan)
    threshold = framework.thresholds.perception_gap
    frames = []
    for key, group in cats.groupby(by, sort=True) if by else [((), cats)]:
        key = key if isinstance(key, tuple) else (key,)
        roles = sorted(group["role"].unique())
        fields = ["suppressed", "n", "score", "se"]
        table = {  # (role, category id) -> its numbers; plain lookups, no index per row
            (role, item): dict(zip(fields, values, strict=True))
            for role, item, *values in zip(
                group["role"], group["id"], *(group[f] for f in fields), strict=True
            )
        }
        rows = []
        for a, b in combinations(roles, 2):
            for c in framework.categories:
                ra, rb = table[(a, c.id)], table[(b, c.id)]
                suppressed = bool(ra["suppressed"] or rb["suppressed"])
                rows.append(
                    {
                        **dict(zip(by, key, strict=True)),
                        "category_id": c.id,
                        "category": c.name,
                        "role_a": a,
                        "role_b": b,
                        "n_a": int(ra["n"]),
                        "n_b": int(rb["n"]),
                        "score_a": ra["score"],
                        "score_b": rb["score"],
                        "gap": np.nan if suppressed else ra["score"] - rb["score"],
                        "_se_a": ra["se"],
                        "_se_b": rb["se"],
                        "suppressed": suppressed,
                    }
                )
        frame = pd.DataFrame(rows)
        if frame.empty:
            continue
        se = np.sqrt(frame["_se_a"] ** 2 + frame["_se_b"] ** 2)
        df = welch_df(frame.pop("_se_a"), frame["n_a"] - 1, frame.pop("_se_b"), frame["n_b"] - 1)
        low, high, p = t_test(frame["gap"], se, df, level)
        frame["ci_low"], frame["ci_high"], frame["p_value"] = low, high, p
        frame["p_adjusted"] = holm(p)
        frame["flagged"] = (frame["p_adjusted"] < 1 - level) & (frame["gap"].abs() >= threshold)
        frames.append(frame)
    if not frames:
        return pd.DataFrame(columns=[*by, *GAP_COLUMNS])
    return pd.concat(frames, ignore_index=True)[[*by, *GAP_COLUMNS]]
