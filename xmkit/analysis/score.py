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

from collections.abc import Sequence
from itertools import combinations

import numpy as np
import pandas as pd

from xmkit.analysis.disclosure import SMALL, protect
from xmkit.analysis.stats import (
    alpha_from_cov,
    alpha_interval,
    bootstrap_means,
    cov_from_parts,
    holm,
    icc,
    influence_sd,
    influence_values,
    linearized_t_interval,
    percentile_interval,
    rwg_j,
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


def _mean_by(values: np.ndarray, groups: np.ndarray, k: int) -> np.ndarray:
    """Column means of ``values`` within each of ``k`` column groups, skipping NaN."""
    onehot = _onehot(groups, k)
    present = ~np.isnan(values)
    sums = np.where(present, values, 0.0) @ onehot
    counts = present.astype(float) @ onehot
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, sums / counts, np.nan)


def _group_rows(
    x: np.ndarray,
    structure: RollUp,
    framework: Framework,
    min_group_size: int,
    n_boot: int,
    rng: np.random.Generator,
    max_resample: int,
    ci_method: str = "t",
) -> dict[str, np.ndarray]:
    """All numbers of one group, in the order overall, categories, practices, questions."""
    present = ~np.isnan(x)
    mask = present.astype(float)
    x0 = np.where(present, x, 0.0)
    n_resp = int(present.any(axis=1).sum())
    q_n = present.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        q_score = np.where(q_n > 0, x0.sum(axis=0) / np.maximum(q_n, 1), np.nan)
    practice, category, overall = structure.roll_up(q_score[None, :])
    n_practices = len(structure.practice_ids)
    p_any = (mask @ _onehot(structure.q_practice, n_practices)) > 0
    p_n = p_any.sum(axis=0)
    c_n = ((p_any @ _onehot(structure.p_category, len(structure.category_ids))) > 0).sum(axis=0)

    n_ci = 1 + len(structure.category_ids) + n_practices
    ci = np.full((3, n_ci), np.nan)
    if n_boot and n_resp >= max(2, min_group_size):
        estimate = np.concatenate([overall, category[0], practice[0]])
        linear_map = _linear_map(q_score, structure)
        answered = present.any(axis=1)
        rows = slice(None) if answered.all() else answered  # respondents with an answer
        if ci_method == "t":
            sd = influence_sd(x0[rows], mask[rows], q_score, linear_map)
            ci = np.array(linearized_t_interval(estimate, sd, n_resp)[:3])
            # the score cannot leave the scale: clipping keeps the interval's coverage
            ci[:2] = np.clip(ci[:2], framework.scale.min, framework.scale.max)
        else:
            influence = influence_values(x[rows], linear_map)
            replicates, scale = bootstrap_means(influence, n_boot, rng, max_resample)
            ci = np.array([*percentile_interval(estimate + replicates, estimate, scale), ci[2]])

    # Covariances are needed only within categories (alpha); their diagonals give rwg.
    q_category = structure.p_category[structure.q_practice]
    blocks = [
        cov_from_parts(x0[:, q_category == i], mask[:, q_category == i])
        for i in range(len(structure.category_ids))
    ]
    variances = np.empty(len(q_n))
    for i, block in enumerate(blocks):
        variances[q_category == i] = np.diag(block)
    n_options = framework.scale.max - framework.scale.min + 1
    rwg = np.array(
        [rwg_j(variances[structure.q_practice == i], n_options) for i in range(n_practices)]
    )
    alpha = np.array([alpha_from_cov(block) for block in blocks])
    alpha_ci = np.array(
        [
            alpha_interval(a, int(n), int((q_category == i).sum()))
            for i, (a, n) in enumerate(zip(alpha, c_n, strict=True))
        ]
    ).reshape(-1, 2)
    nan = np.full
    rest = nan(len(q_n), np.nan)
    only_categories = [np.nan], nan(len(p_n) + len(q_n), np.nan)
    return {
        "n": np.concatenate([[n_resp], c_n, p_n, q_n]),
        "score": np.concatenate([overall, category[0], practice[0], q_score]),
        "ci_low": np.concatenate([ci[0], rest]),
        "ci_high": np.concatenate([ci[1], rest]),
        "se": np.concatenate([ci[2], rest]),
        "rwg": np.concatenate([nan(1 + len(c_n), np.nan), rwg, rest]),
        "alpha": np.concatenate([only_categories[0], alpha, only_categories[1]]),
        "alpha_low": np.concatenate([only_categories[0], alpha_ci[:, 0], only_categories[1]]),
        "alpha_high": np.concatenate([only_categories[0], alpha_ci[:, 1], only_categories[1]]),
    }


def _linear_map(q_score: np.ndarray, structure: RollUp) -> np.ndarray:
    """Questions x [overall, categories, practices]: how each answered question's mean feeds
    the scores of a group (the roll-up is linear in the question means once it is known which
    questions were answered), for :func:`xmkit.analysis.stats.influence_values`."""
    basis = np.where(~np.isnan(q_score), np.eye(len(q_score)), np.nan)
    practice, category, overall = structure.roll_up(basis)
    return np.nan_to_num(np.column_stack([overall, category, practice]))


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
    # Each group's numbers are arrays in the item order of ``labels``; the table is built once
    # from all of them (a frame per group cost more than the numbers themselves).
    keys, groups = [], []
    for key in sorted(positions, key=str):
        idx = positions[key]
        x = matrix if idx is None else matrix[idx]
        groups.append(
            _group_rows(x, structure, framework, min_size, n_boot, rng, max_resample, ci_method)
        )
        keys.append(key if isinstance(key, tuple) else (key,))
    items = len(labels)
    result = _repeat(labels, len(groups))
    for column in groups[0]:
        result[column] = np.concatenate([numbers[column] for numbers in groups])
    result["_group_n"] = np.repeat([numbers["n"][0] for numbers in groups], items)
    _set_stages(result, [_stage(numbers, framework) for numbers in groups], items)
    _set_keys(result, by, keys, items)
    _set_icc(result, matrix, positions, structure, items)
    result["n"] = result["n"].astype(int)
    result["index"] = to_index(result["score"], framework.scale.min, framework.scale.max)
    result["suppressed"] = (result.pop("_group_n") < min_size) | (result["n"] < min_size)
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


def _set_keys(table: pd.DataFrame, by: list[str], keys: list[tuple], items: int) -> None:
    """The grouping columns of a table of ``items`` rows per group, groups in ``keys`` order."""
    for i, col in enumerate(by):
        table[col] = pd.Series([key[i] for key in keys]).repeat(items).reset_index(drop=True)


def _set_icc(
    result: pd.DataFrame, matrix: np.ndarray, positions: dict, structure, items: int
) -> None:
    """ICC(1), ICC(2) of respondents' category and overall scores across the groups.

    ``result`` holds the groups one after another, ``items`` rows each, overall first and the
    categories next (the order of :func:`_labels`)."""
    icc1, icc2 = np.full(len(result), np.nan), np.full(len(result), np.nan)
    if len(positions) >= 2:
        groups = np.full(len(matrix), -1)
        for code, idx in enumerate(positions.values()):
            groups[idx] = code
        _, category, overall = structure.roll_up(matrix)
        for offset, values in enumerate([overall, *category.T]):
            icc1[offset::items], icc2[offset::items] = icc(values, groups)
    result["icc1"], result["icc2"] = icc1, icc2


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
    table = _repeat(labels[["level", "id"]], len(keys))
    table["n"] = np.concatenate(counts).astype(int)
    _set_keys(table, by, keys, len(labels))
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


def _stage(numbers: dict[str, np.ndarray], framework: Framework) -> tuple:
    """Stage, its name, uncapped stage, capped flag and stage span of one group's overall
    row, with the gating cap (Converge below threshold); ``numbers`` as :func:`_group_rows`."""
    gating = framework.gating
    gate = 1 + [c.id for c in framework.categories].index(gating.category)
    overall, gate_score = numbers["score"][0], numbers["score"][gate]
    uncapped = framework.stage_for(overall).stage if not np.isnan(overall) else None
    capped = bool(
        uncapped is not None
        and not np.isnan(gate_score)
        and gate_score < gating.below
        and uncapped > gating.max_stage
    )
    stage = min(uncapped, gating.max_stage) if capped else uncapped
    name = next((s.name for s in framework.stages if s.stage == stage), None)
    low, high = stage_span(
        numbers["ci_low"][0],
        numbers["ci_high"][0],
        numbers["ci_low"][gate],
        numbers["ci_high"][gate],
        framework,
    )
    return stage, name, uncapped, capped if stage else None, low, high


def _set_stages(result: pd.DataFrame, stages: list[tuple], items: int) -> None:
    """The stage columns: each group's :func:`_stage` on its overall row (the first of its
    ``items`` rows), empty on the others."""
    columns = ("stage", "stage_name", "stage_uncapped", "capped", "stage_low", "stage_high")
    dtypes = ("Int64", None, "Int64", "boolean", "Int64", "Int64")
    first = np.zeros(len(result), dtype=bool)
    first[::items] = True
    for column, dtype, values in zip(columns, dtypes, zip(*stages, strict=True), strict=True):
        if dtype is None:
            filled: list = [None] * len(result)
            filled[::items] = values
            result[column] = filled
            continue
        given = pd.array(values, dtype=dtype)  # a masked array: data and missing flags
        data = np.zeros(len(result), dtype=given.dtype.numpy_dtype)
        data[first] = given.to_numpy(dtype=data.dtype, na_value=0)
        missing = ~first
        missing[first] = given.isna()
        result[column] = type(given)(data, missing)


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
