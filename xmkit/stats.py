"""Statistics with the field's conventions, each citing its definition.

Functions take plain arrays or DataFrames and return numbers or arrays, so they can be tested
against worked examples and reference libraries.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def to_index(score: float | np.ndarray | pd.Series, low: float = 1, high: float = 5):
    """A 0-100 index of a score on a low..high scale: ``(score - low) / (high - low) * 100``.

    On the 1-5 maturity scale this is ``(score - 1) / 4 * 100``: 1 -> 0, 3 -> 50, 5 -> 100.
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


def cronbach_alpha(items: pd.DataFrame) -> float:
    """Cronbach's alpha (Cronbach, 1951) of the item columns of a respondents x items table.

    ``alpha = k / (k - 1) * (1 - sum(item variances) / variance(total))``, computed from the
    item covariance matrix C as ``k / (k - 1) * (1 - trace(C) / sum(C))``. Missing answers are
    handled pairwise (each covariance from the respondents who answered both items), which is
    also the default of ``pingouin.cronbach_alpha``. NaN with fewer than two items or two
    complete respondents.
    """
    items = items.dropna(axis=1, how="all")
    k = items.shape[1]
    if k < 2 or items.dropna().shape[0] < 2:
        return float("nan")
    cov = items.cov().to_numpy()
    total = cov.sum()
    if not np.isfinite(total) or total == 0:
        return float("nan")
    return float(k / (k - 1) * (1 - np.trace(cov) / total))


def bootstrap_weights(n: int, n_boot: int, rng: np.random.Generator, max_resample: int):
    """Yield chunks of bootstrap count vectors (rows: replicates, columns: respondents).

    Each row says how often each respondent is drawn. Groups larger than ``max_resample`` use
    the m-out-of-n bootstrap (Bickel, Götze & van Zwet, 1997) with ``m = max_resample``; the
    caller rescales deviations by ``sqrt(m / n)``. This keeps the cost bounded for groups of
    tens of thousands while giving the same interval a full bootstrap would, up to Monte-Carlo
    error.
    """
    m = min(n, max_resample)
    chunk = max(1, min(n_boot, 4_000_000 // max(n, 1)))
    done = 0
    while done < n_boot:
        b = min(chunk, n_boot - done)
        draws = rng.integers(0, n, size=(b, m)) + (np.arange(b) * n)[:, None]
        yield np.bincount(draws.ravel(), minlength=b * n).reshape(b, n).astype(np.float64), m
        done += b


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
