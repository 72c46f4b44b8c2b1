"""Statistics with the field's conventions, each citing its definition.

Functions take plain arrays or DataFrames and return numbers or arrays, so they can be tested
against worked examples and reference libraries.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def to_index(score: float | np.ndarray | pd.Series, low: float, high: float):
    """A 0-100 index of a score on a low..high scale: ``(score - low) / (high - low) * 100``.

    On the 1-5 maturity scale this is ``(score - 1) / 4 * 100``: 1 -> 0, 3 -> 50, 5 -> 100; on
    1-7 ``(score - 1) / 6 * 100``, on 0-10 ``score * 10``. Pass the framework's scale ends.
    """
    return (score - low) / (high - low) * 100


def rwg_j(item_variances: np.ndarray, n_options: int) -> float:
    """Within-group agreement r_wg(J) (James, Demaree & Wolf, 1984, J. Applied Psychology 69).

    For J parallel items with mean observed variance ``s2`` (sample variances, ddof=1) and the
    variance expected if respondents answered at random on A options,
    ``sigma2_EU = (A**2 - 1) / 12`` (uniform null distribution)::

        r_wg(J) = J * (1 - s2 / sigma2_EU) / (J * (1 - s2 / sigma2_EU) + s2 / sigma2_EU)

    With J = 1 this is the single-item ``r_wg = 1 - s2 / sigma2_EU``. Values run from 0 (no more
    agreement than chance) to 1 (perfect agreement); when ``s2`` exceeds ``sigma2_EU`` the index
    is set to 0, as LeBreton & Senter (2008) recommend. Items without a variance (fewer than two
    answers) are left out; with none left the result is NaN.
    """
    variances = np.asarray(item_variances, dtype=float)
    variances = variances[~np.isnan(variances)]
    if variances.size == 0:
        return float("nan")
    j = variances.size
    ratio = variances.mean() / ((n_options**2 - 1) / 12)
    if ratio >= 1:
        return 0.0
    return float(j * (1 - ratio) / (j * (1 - ratio) + ratio))


def pairwise_cov(x: np.ndarray) -> np.ndarray:
    """Sample covariance (ddof=1) of the columns of ``x``, each pair from the rows where both
    are present (what ``pandas.DataFrame.cov`` computes), by three matrix products.

    With M the presence mask and X0 the values with 0 for missing, ``N = M'M`` counts the pairs,
    ``S = X0'M`` sums x_j where x_k is present, and
    ``cov_jk = (X0'X0 - S_jk * S_kj / N) / (N - 1)``. NaN where fewer than two pairs.
    """
    present = ~np.isnan(x)
    return cov_from_parts(np.where(present, x, 0.0), present.astype(float))


def cov_from_parts(x0: np.ndarray, m: np.ndarray) -> np.ndarray:
    """:func:`pairwise_cov` from values with 0 for missing (``x0``) and the 0/1 mask ``m``."""
    pairs = m.T @ m
    sums = x0.T @ m
    with np.errstate(invalid="ignore", divide="ignore"):
        cov = (x0.T @ x0 - sums * sums.T / pairs) / (pairs - 1)
    return np.where(pairs > 1, cov, np.nan)


def alpha_from_cov(cov: np.ndarray) -> float:
    """Cronbach's alpha from an item covariance matrix: ``k/(k-1) * (1 - trace(C)/sum(C))``."""
    keep = ~np.isnan(np.diag(cov))
    cov = cov[np.ix_(keep, keep)]
    k = cov.shape[0]
    total = cov.sum()
    if k < 2 or not np.isfinite(total) or total == 0:
        return float("nan")
    return float(k / (k - 1) * (1 - np.trace(cov) / total))


def cronbach_alpha(items: pd.DataFrame) -> float:
    """Cronbach's alpha (Cronbach, 1951) of the item columns of a respondents x items table.

    ``alpha = k / (k - 1) * (1 - sum(item variances) / variance(total))``, computed from the
    item covariance matrix C as ``k / (k - 1) * (1 - trace(C) / sum(C))``. Missing answers are
    handled pairwise (each covariance from the respondents who answered both items), which is
    also the default of ``pingouin.cronbach_alpha``. NaN with fewer than two items.
    """
    return alpha_from_cov(pairwise_cov(items.to_numpy(dtype=float)))


def bootstrap_means(
    values: np.ndarray, n_boot: int, rng: np.random.Generator, max_resample: int
) -> tuple[np.ndarray, float]:
    """Bootstrap replicates of the column means of ``values`` (rows: respondents).

    Returns ``(replicates, scale)``: replicate means (n_boot x columns) and the factor by which
    their deviations from the sample mean must be multiplied. Groups larger than
    ``max_resample`` use the m-out-of-n bootstrap (Bickel, Götze & van Zwet, 1997) with
    ``m = max_resample`` and ``scale = sqrt(m / n)``; for means this gives the interval a full
    bootstrap would, up to Monte-Carlo error, at a bounded cost.
    """
    n = values.shape[0]
    m = min(n, max_resample)
    chunk = max(1, 2_000_000 // max(m, 1))
    columns = np.ascontiguousarray(values.T)  # gathering one column at a time is ~2x faster
    parts = []
    for start in range(0, n_boot, chunk):
        idx = rng.integers(0, n, size=(min(chunk, n_boot - start), m))
        parts.append(np.stack([col[idx].mean(axis=1) for col in columns], axis=1))
    return np.vstack(parts), float(np.sqrt(m / n))


def percentile_interval(
    replicates: np.ndarray, estimate: np.ndarray, scale: float, level: float = 0.95
) -> tuple[np.ndarray, np.ndarray]:
    """Percentile bootstrap interval of each column; deviations scaled by ``scale``.

    With ``scale = 1`` this is the plain percentile interval (Efron & Tibshirani, 1993, ch. 13).
    """
    alpha = (1 - level) / 2
    with np.errstate(all="ignore"):
        low, high = np.nanquantile(replicates, [alpha, 1 - alpha], axis=0)
    return estimate + (low - estimate) * scale, estimate + (high - estimate) * scale
