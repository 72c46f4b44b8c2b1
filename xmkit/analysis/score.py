"""Scores at every level of the framework, maturity stage, agreement and perception gaps.

Definitions (also in the README):

* question score = mean of its non-missing answers;
* practice score = mean of its question scores; category = mean of its practice scores;
* overall = mean of the category scores, weighted by the framework's category weights;
* index = ``(score - 1) / 4 * 100`` on the 1-5 scale;
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
    bootstrap_means,
    cov_from_parts,
    percentile_interval,
    rwg_j,
    to_index,
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
    "suppressed_reason",
]


def _as_wide(data: pd.DataFrame, framework: Framework) -> pd.DataFrame:
    if "question_id" in data.columns and "answer" in data.columns:
        return wide_from_long(data, framework)
    missing = [q for q in framework.question_ids if q not in data.columns]
    if missing:
        raise ValueError(f"data has no column for questions {missing}")
    return data


def _by_list(by: str | Sequence[str] | None) -> list[str]:
    if by is None:
        return []
    return [by] if isinstance(by, str) else list(by)


class _Structure:
    """Index arrays that map question columns to practices and categories."""

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
    structure: _Structure,
    framework: Framework,
    min_group_size: int,
    n_boot: int,
    rng: np.random.Generator,
    max_resample: int,
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

    ci = np.full((2, 1 + len(structure.category_ids)), np.nan)
    if n_boot and n_resp >= max(2, min_group_size):
        ci = _bootstrap(
            x0,
            mask,
            q_score,
            structure,
            n_boot,
            rng,
            max_resample,
            np.concatenate([overall, category[0]]),
        )

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
    nan = np.full
    return {
        "n": np.concatenate([[n_resp], c_n, p_n, q_n]),
        "score": np.concatenate([overall, category[0], practice[0], q_score]),
        "ci_low": np.concatenate([ci[0], nan(len(p_n) + len(q_n), np.nan)]),
        "ci_high": np.concatenate([ci[1], nan(len(p_n) + len(q_n), np.nan)]),
        "rwg": np.concatenate([nan(1 + len(c_n), np.nan), rwg, nan(len(q_n), np.nan)]),
        "alpha": np.concatenate([[np.nan], alpha, nan(len(p_n) + len(q_n), np.nan)]),
    }


def _bootstrap(x0, mask, q_score, structure, n_boot, rng, max_resample, estimate):
    """Seeded 95% bootstrap CI of the overall and category scores of one group.

    The scores are smooth functions of the question means, so each respondent's influence on
    them is linear to first order (Efron, 1982; Davison & Hinkley, 1997, sec. 2.7.4): for
    question j with answer rate p_j, respondent i moves its mean by
    ``present_ij * (x_ij - mean_j) / p_j``, and the roll-up to categories and overall is a
    fixed linear map A. Resampling respondents and averaging these influence values gives the
    bootstrap distribution of the scores (percentile interval) at a fraction of the cost of
    recomputing every mean per replicate; ``tests/test_stats.py`` checks it against that
    brute-force bootstrap.
    """
    answered = ~np.isnan(q_score)
    basis = np.where(answered, np.eye(len(q_score)), np.nan)
    _, category, overall = structure.roll_up(basis)
    linear_map = np.nan_to_num(np.column_stack([overall, category]))  # questions x scores
    with np.errstate(invalid="ignore", divide="ignore"):
        weights = np.nan_to_num(linear_map / mask.mean(axis=0)[:, None])
    # influence @ A, expanded so no respondents x questions temporary is built
    influence = x0 @ weights - mask @ (np.nan_to_num(q_score)[:, None] * weights)
    replicates, scale = bootstrap_means(influence, n_boot, rng, max_resample)
    return np.array(percentile_interval(estimate + replicates, estimate, scale))


def score(
    data: pd.DataFrame,
    framework: Framework | None = None,
    by: str | Sequence[str] | None = None,
    min_group_size: int | None = None,
    n_boot: int = 1000,
    seed: int = 0,
    max_resample: int = 1000,
) -> pd.DataFrame:
    """Score responses at every level, for the whole data or for each group in ``by``.

    ``data`` is one row per respondent (as :func:`xmkit.load_responses` returns) or the long
    layout with ``question_id`` and ``answer``. Returns one row per group and framework item
    (see the module docstring for definitions); the CI columns hold a seeded 95% bootstrap
    interval for category and overall scores, ``rwg`` is within-group agreement per practice and
    ``alpha`` Cronbach's alpha per category. Rows of a group smaller than ``min_group_size``
    (default: the framework's) have no numbers and ``suppressed=True``; so do question rows
    answered by fewer respondents than that, and, in a breakdown, the groups the disclosure
    rule hides so that no subtraction gives a hidden group back (``suppressed_reason``).
    """
    framework = framework or load_framework()
    by = _by_list(by)
    wide = _as_wide(data, framework)
    min_size = framework.thresholds.min_group_size if min_group_size is None else min_group_size
    structure = _Structure(framework)
    rng = np.random.default_rng(seed)
    labels = _labels(framework)

    matrix = wide[structure.qids].to_numpy(dtype=float)
    positions = (
        wide.groupby(by, sort=True, dropna=False, observed=True).indices if by else {(): None}
    )
    frames = []
    for key in sorted(positions, key=str):
        idx = positions[key]
        x = matrix if idx is None else matrix[idx]
        numbers = _group_rows(x, structure, framework, min_size, n_boot, rng, max_resample)
        frame = labels.copy()
        for column, values in numbers.items():
            frame[column] = values
        frame["_group_n"] = numbers["n"][0]
        _set_stage(frame, framework)
        key = key if isinstance(key, tuple) else (key,)
        for col, value in zip(by, key, strict=True):
            frame[col] = value
        frames.append(frame)
    result = pd.concat(frames, ignore_index=True)
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
    numeric = ["score", "index", "ci_low", "ci_high", "rwg", "alpha"]
    result.loc[result["suppressed"], numeric] = np.nan
    result.loc[result["suppressed"], ["stage", "stage_uncapped", "capped"]] = pd.NA
    result.loc[result["suppressed"], "stage_name"] = None
    return result[[*by, *COLUMNS]]


def _counts(
    wide: pd.DataFrame, structure: _Structure, labels: pd.DataFrame, by: list[str], min_size: int
) -> pd.DataFrame:
    """Respondents per group and item (``n`` as :func:`score` counts it), without the scores:
    what the disclosure rule needs of a breakdown that is not itself published."""
    present = ~np.isnan(wide[structure.qids].to_numpy(dtype=float))
    q_practice = _onehot(structure.q_practice, len(structure.practice_ids))
    p_category = _onehot(structure.p_category, len(structure.category_ids))
    frames = []
    for key, idx in wide.groupby(by, sort=True, dropna=False, observed=True).indices.items():
        x = present[idx]
        p_any = (x @ q_practice) > 0
        c_n = ((p_any @ p_category) > 0).sum(axis=0)
        n = np.concatenate([[x.any(axis=1).sum()], c_n, p_any.sum(axis=0), x.sum(axis=0)])
        frame = labels[["level", "id"]].assign(n=n.astype(int))
        for col, value in zip(by, key if isinstance(key, tuple) else (key,), strict=True):
            frame[col] = value
        frames.append(frame)
    table = pd.concat(frames, ignore_index=True)
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


def _set_stage(frame: pd.DataFrame, framework: Framework) -> None:
    """Stage on the overall row of one group, with the gating cap (Converge below threshold)."""
    gating = framework.gating
    overall = frame["score"].iloc[0]
    gate = frame.loc[(frame["level"] == "category") & (frame["id"] == gating.category), "score"]
    uncapped = framework.stage_for(overall).stage if pd.notna(overall) else None
    capped = bool(
        uncapped is not None
        and gate.notna().all()
        and (gate < gating.below).all()
        and uncapped > gating.max_stage
    )
    stage = min(uncapped, gating.max_stage) if capped else uncapped
    names = {s.stage: s.name for s in framework.stages}
    empty = [None] * len(frame)
    frame["stage"] = pd.array([stage, *empty[1:]], dtype="Int64")
    frame["stage_name"] = [names.get(stage), *empty[1:]]
    frame["stage_uncapped"] = pd.array([uncapped, *empty[1:]], dtype="Int64")
    frame["capped"] = pd.array([capped if stage else None, *empty[1:]], dtype="boolean")


def perception_gaps(
    data: pd.DataFrame,
    framework: Framework | None = None,
    by: str | Sequence[str] | None = None,
    min_group_size: int | None = None,
) -> pd.DataFrame:
    """Category score gaps between every pair of roles (``gap = score_a - score_b``).

    A gap is ``flagged`` when ``|gap|`` reaches the framework's ``perception_gap`` threshold
    (0.5 by default) and both roles meet the minimum group size; otherwise, when either role is
    too small, its numbers are withheld and ``suppressed=True``.
    """
    framework = framework or load_framework()
    by = _by_list(by)
    min_size = framework.thresholds.min_group_size if min_group_size is None else min_group_size
    scores = score(data, framework, by=[*by, "role"], min_group_size=min_size, n_boot=0)
    return gaps_from_scores(scores, framework, by)


def gaps_from_scores(
    scores: pd.DataFrame, framework: Framework, by: Sequence[str] = ()
) -> pd.DataFrame:
    """:func:`perception_gaps` from a score table already grouped by ``[*by, "role"]``."""
    by = list(by)
    cats = scores[scores["level"] == "category"]
    threshold = framework.thresholds.perception_gap
    rows = []
    for key, group in cats.groupby(by, sort=True) if by else [((), cats)]:
        key = key if isinstance(key, tuple) else (key,)
        roles = sorted(group["role"].unique())
        table = group.set_index(["role", "id"])
        for a, b in combinations(roles, 2):
            for c in framework.categories:
                ra, rb = table.loc[(a, c.id)], table.loc[(b, c.id)]
                suppressed = bool(ra["suppressed"] or rb["suppressed"])
                gap = np.nan if suppressed else ra["score"] - rb["score"]
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
                        "gap": gap,
                        "flagged": bool(not suppressed and abs(gap) >= threshold),
                        "suppressed": suppressed,
                    }
                )
    columns = [
        *by,
        "category_id",
        "category",
        "role_a",
        "role_b",
        "n_a",
        "n_b",
        "score_a",
        "score_b",
        "gap",
        "flagged",
        "suppressed",
    ]
    return pd.DataFrame(rows, columns=columns)
