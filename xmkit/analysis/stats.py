"""Statistics with the field's conventions, each citing its definition.

Functions take plain arrays or DataFrames and return numbers or arrays, so they can be tested
against worked examples and reference libraries.
"""

from __future__ import annotations

import functools
import math
from statistics import NormalDist

import numpy as np
import pandas as pd

__all__ = [
    "alpha_from_cov",
    "alpha_interval",
    "benjamini_hochberg",
    "betainc",
    "bootstrap_means",
    "cov_from_cross",
    "cov_from_parts",
    "cronbach_alpha",
    "f_ppf",
    "holm",
    "icc",
    "influence_sd",
    "influence_sd_from_cross",
    "influence_values",
    "linearized_t_interval",
    "nps_interval",
    "pairwise_cov",
    "percentile_interval",
    "rwg_j",
    "rwg_j_from_mean",
    "sidak_level",
    "t_ppf",
    "t_test",
    "t_two_sided_p",
    "to_index",
    "welch_df",
]


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
    return float(rwg_j_from_mean(variances.mean(), variances.size, n_options))


def rwg_j_from_mean(mean_variance, j, n_options: int):
    """:func:`rwg_j` from the mean item variance ``s2`` of ``j`` items (arrays: one r_wg(J)
    per element, so every group and practice is computed at once). NaN where ``j`` is 0."""
    s2, j = np.asarray(mean_variance, float), np.asarray(j)
    ratio = s2 / ((n_options**2 - 1) / 12)
    with np.errstate(invalid="ignore", divide="ignore"):
        rwg = j * (1 - ratio) / (j * (1 - ratio) + ratio)
    return np.where(j == 0, np.nan, np.where(ratio >= 1, 0.0, rwg))


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
    return cov_from_cross(x0.T @ x0, x0.T @ m, m.T @ m)


def cov_from_cross(xx: np.ndarray, xm: np.ndarray, mm: np.ndarray) -> np.ndarray:
    """:func:`pairwise_cov` from the cross products ``X0'X0``, ``X0'M`` and ``M'M`` alone
    (formula there), so that one pass over the respondents serves every covariance, the
    influence spread (:func:`influence_sd_from_cross`) and the counts. Stacked matrices
    (groups x items x items) give one covariance matrix per group."""
    with np.errstate(invalid="ignore", divide="ignore"):
        cov = (xx - xm * np.swapaxes(xm, -1, -2) / mm) / (mm - 1)
    return np.where(mm > 1, cov, np.nan)


def alpha_from_cov(cov: np.ndarray) -> float | np.ndarray:
    """Cronbach's alpha from an item covariance matrix: ``k/(k-1) * (1 - trace(C)/sum(C))``
    over the k items that have a variance; NaN with fewer than two. A stack of matrices
    (groups x items x items) gives one alpha per group."""
    cov = np.asarray(cov, float)
    diag = np.diagonal(cov, axis1=-2, axis2=-1)
    keep = ~np.isnan(diag)
    both = keep[..., :, None] & keep[..., None, :]
    total = np.where(both, cov, 0.0).sum(axis=(-2, -1))
    total = np.where((both & np.isnan(cov)).any(axis=(-2, -1)), np.nan, total)
    k = keep.sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        alpha = k / (k - 1) * (1 - np.where(keep, diag, 0.0).sum(axis=-1) / total)
    alpha = np.where((k >= 2) & np.isfinite(total) & (total != 0), alpha, np.nan)
    return float(alpha) if alpha.ndim == 0 else alpha


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


# ---- distributions without scipy -----------------------------------------------------------


def _betainc_cf(a: float, b: float, x: float) -> float:
    """Continued fraction of the regularized incomplete beta function (modified Lentz)."""
    tiny = 1e-300
    c, d = 1.0, 1.0 - (a + b) * x / (a + 1)
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 300):
        for num in (
            m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
            -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1)),
        ):
            d = 1.0 + num * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + num / c
            c = c if abs(c) > tiny else tiny
            h *= d * c
        if abs(d * c - 1.0) < 1e-14:
            break
    return h


def betainc(a: float, b: float, x: float) -> float:
    """Regularized incomplete beta function I_x(a, b) (Press et al., Numerical Recipes, 3rd
    ed., 2007, sec. 6.4: continued fraction, with the symmetry I_x(a,b) = 1 - I_{1-x}(b,a))."""
    if x <= 0:
        return 0.0
    if x >= 1:
        return 1.0
    log_front = (
        math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    )
    if x < (a + 1) / (a + b + 2):
        return math.exp(log_front) * _betainc_cf(a, b, x) / a
    return 1.0 - math.exp(log_front) * _betainc_cf(b, a, 1 - x) / b


def t_two_sided_p(t: float, df: float) -> float:
    """Two-sided p-value ``P(|T| >= |t|)`` of Student's t with ``df`` degrees of freedom:
    ``I_{df / (df + t^2)}(df / 2, 1 / 2)`` (Abramowitz & Stegun, 1964, 26.7.1 and 26.5.27)."""
    if not np.isfinite(t) or not df > 0:
        return float("nan")
    if not np.isfinite(df):
        return 2 * (1 - NormalDist().cdf(abs(t)))
    return betainc(df / 2, 0.5, df / (df + t * t))


def _t_density(t: float, df: float) -> float:
    """Density of Student's t with ``df`` degrees of freedom (Abramowitz & Stegun, 26.7.1)."""
    log_norm = math.lgamma((df + 1) / 2) - math.lgamma(df / 2) - 0.5 * math.log(df * math.pi)
    return math.exp(log_norm - (df + 1) / 2 * math.log1p(t * t / df))


@functools.lru_cache(maxsize=4096)
def t_ppf(p: float, df: float) -> float:
    """Quantile ``p`` (> 0.5) of Student's t: Newton's method on :func:`t_two_sided_p` (whose
    slope is minus twice the density), kept inside a bracket that each step narrows and
    bisection takes over when a step would leave it; exact to 1e-10 at any level, which the
    far tails of a multiplicity-adjusted interval need, in a handful of steps."""
    if not np.isfinite(df):
        return NormalDist().inv_cdf(p)
    target = 2 * (1 - p)
    low, high = 0.0, 1.0
    while t_two_sided_p(high, df) > target:
        low, high = high, high * 2
    t = min(max(NormalDist().inv_cdf(p), low), high)
    for _ in range(200):
        error = t_two_sided_p(t, df) - target
        low, high = (t, high) if error > 0 else (low, t)
        step = t + error / (2 * _t_density(t, df))
        step = step if low < step < high else (low + high) / 2
        if abs(step - t) < 1e-12 * max(1.0, t) or high - low < 1e-10:
            return step
        t = step
    return t


def _paulson_f(p: float, df1: float, df2: float) -> float:
    """Paulson's (1942, Ann. Math. Statist. 13) normal approximation of an F quantile: the
    cube root of F is close to normal, so with z the normal quantile F^(1/3) solves
    ``(a u - b) = z sqrt(c u^2 + d)``, ``a = 1 - 2/(9 df2)``, ``b = 1 - 2/(9 df1)``,
    ``c = 2/(9 df2)``, ``d = 2/(9 df1)``."""
    z = NormalDist().inv_cdf(p)
    a, b, c, d = 1 - 2 / (9 * df2), 1 - 2 / (9 * df1), 2 / (9 * df2), 2 / (9 * df1)
    quad = a * a - z * z * c
    root = math.sqrt(max(a * a * b * b - quad * (b * b - z * z * d), 0.0))
    return max((a * b + math.copysign(root, z)) / quad, 1e-12) ** 3


@functools.lru_cache(maxsize=4096)
def f_ppf(p: float, df1: float, df2: float) -> float:
    """Quantile ``p`` of the F distribution: Paulson's approximation refined by Newton steps
    on the exact CDF ``I_{df1 x / (df1 x + df2)}(df1 / 2, df2 / 2)`` (Abramowitz & Stegun,
    1964, 26.6.2) to 1e-10 in probability. From 2,000 degrees of freedom on, Paulson's value
    is used as it is (its relative error there is below 1e-4, far under the precision an
    interval of alpha is read with, and the exact CDF gets slow). Cached: a report asks for
    the same few degrees of freedom for every category and role."""
    x = _paulson_f(p, df1, df2)
    if df1 + df2 > 2000:
        return x
    log_norm = (
        math.lgamma((df1 + df2) / 2)
        - math.lgamma(df1 / 2)
        - math.lgamma(df2 / 2)
        + df1 / 2 * math.log(df1 / df2)
    )
    for _ in range(50):
        error = betainc(df1 / 2, df2 / 2, df1 * x / (df1 * x + df2)) - p
        if abs(error) < 1e-10:
            break
        log_pdf = (
            log_norm + (df1 / 2 - 1) * math.log(x) - (df1 + df2) / 2 * math.log1p(df1 * x / df2)
        )
        x = max(x - error / math.exp(log_pdf), x / 4)
    return x


# ---- intervals --------------------------------------------------------------------------------


def linearized_t_interval(
    estimate: np.ndarray, sd: np.ndarray, n: int, level: float = 0.95
) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """Student-t interval of scores that are smooth functions of means, from the standard
    deviation ``sd`` (ddof=1) of the n respondents' influence values on each score.

    Each score moves, to first order, by the mean of the respondents' influence values
    (linearization, or the delta method: Wolter, 2007, *Introduction to Variance Estimation*,
    ch. 6; Davison & Hinkley, 1997, sec. 2.7.4), so its standard error is ``se = sd / sqrt(n)``
    and the interval is ``estimate -/+ t_{n-1, 1-(1-level)/2} * se`` — Student's (1908)
    small-sample interval with ``n - 1`` degrees of freedom. The percentile bootstrap of the
    same values uses the ddof=0 spread and normal tails, which at n = 5 makes the interval
    about 37% too narrow. Returns ``(low, high, se, df)``; NaN with fewer than two respondents.
    """
    estimate = np.asarray(estimate, float)
    if n < 2:
        nan = np.full(estimate.shape, np.nan)
        return nan, nan, nan, max(n - 1, 0)
    se = np.asarray(sd, float) / np.sqrt(n)
    half = t_ppf(0.5 + level / 2, n - 1) * se
    return estimate - half, estimate + half, se, n - 1


def welch_df(se_a: np.ndarray, df_a: np.ndarray, se_b: np.ndarray, df_b: np.ndarray):
    """Welch-Satterthwaite degrees of freedom of a difference of two independent estimates
    with standard errors ``se_a``, ``se_b`` on ``df_a``, ``df_b`` degrees of freedom (Welch,
    1947, Biometrika 34): ``(a + b)^2 / (a^2 / df_a + b^2 / df_b)`` with ``a = se_a^2``."""
    a, b = np.asarray(se_a, float) ** 2, np.asarray(se_b, float) ** 2
    with np.errstate(invalid="ignore", divide="ignore"):
        return (a + b) ** 2 / (a * a / df_a + b * b / df_b)


def t_test(estimate, se, df, level: float = 0.95):
    """Interval and two-sided p-value of ``estimate`` (H0: 0) with a t reference distribution:
    ``(low, high, p)`` arrays. NaN where ``se`` or ``df`` is missing; a zero ``se`` gives a
    point interval and p = 0 unless the estimate is 0 (p = 1)."""
    estimate, se, df = (np.atleast_1d(np.asarray(v, float)) for v in (estimate, se, df))
    low, high, p = (np.full(estimate.shape, np.nan) for _ in range(3))
    for i, (e, s, d) in enumerate(zip(estimate, se, df, strict=True)):
        if not (np.isfinite(e) and np.isfinite(s) and d > 0):
            continue
        half = t_ppf(0.5 + level / 2, d) * s
        low[i], high[i] = e - half, e + half
        p[i] = (0.0 if e != 0 else 1.0) if s == 0 else t_two_sided_p(e / s, d)
    return low, high, p


def holm(p: np.ndarray) -> np.ndarray:
    """Holm (1979, Scand. J. Statistics 6) step-down adjusted p-values: the k-th smallest of m
    p-values becomes ``max_{j<=k} min(1, (m - j + 1) p_(j))``. Rejecting where the adjusted
    p is below alpha controls the family-wise error rate at alpha. NaN stays NaN."""

    def step_down(ordered: np.ndarray) -> np.ndarray:
        m = len(ordered)
        return np.minimum(1, np.maximum.accumulate((m - np.arange(m)) * ordered))

    return _adjusted(p, step_down)


def benjamini_hochberg(p: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg (1995, JRSS B 57) adjusted p-values (q-values): the k-th smallest
    of m p-values becomes ``min_{j>=k} min(1, m p_(j) / j)``. Calling rows with q below alpha
    "clear" keeps the expected share of false ones among them at alpha. NaN stays NaN."""

    def step_up(ordered: np.ndarray) -> np.ndarray:
        scaled = len(ordered) * ordered / np.arange(1, len(ordered) + 1)
        return np.minimum(1, np.minimum.accumulate(scaled[::-1])[::-1])

    return _adjusted(p, step_up)


def _adjusted(p: np.ndarray, adjust) -> np.ndarray:
    """``adjust`` (sorted finite p-values -> adjusted ones) applied to the finite p-values of
    ``p`` in their sorted order (ties kept stable), written back in place; NaN stays NaN."""
    p = np.asarray(p, float)
    out = np.full(p.shape, np.nan)
    ok = np.flatnonzero(np.isfinite(p))
    if ok.size:
        order = ok[np.argsort(p[ok], kind="stable")]
        out[order] = adjust(p[order])
    return out


def sidak_level(level: float, m: int) -> float:
    """Per-test confidence level so that ``m`` intervals hold together with ``level``
    (Šidák, 1967, JASA 62): ``level ** (1 / m)``; 0.95 over 4 lags is 0.98726."""
    return float(level ** (1 / max(m, 1)))


def alpha_interval(alpha: float, n: int, k: int, level: float = 0.95) -> tuple[float, float]:
    """Feldt's (1965, Psychometrika 30) interval of Cronbach's alpha from n respondents and k
    items: ``1 - (1 - alpha) * F_{1-g/2}`` to ``1 - (1 - alpha) * F_{g/2}`` with F on
    ``(n - 1, (n - 1)(k - 1))`` degrees of freedom and ``g = 1 - level``. NaN when alpha is
    NaN or n < 3, k < 2."""
    if not np.isfinite(alpha) or n < 3 or k < 2:
        return float("nan"), float("nan")
    d1, d2, g = n - 1, (n - 1) * (k - 1), 1 - level
    return (
        float(1 - (1 - alpha) * f_ppf(1 - g / 2, d1, d2)),
        float(1 - (1 - alpha) * f_ppf(g / 2, d1, d2)),
    )


def nps_interval(
    promoters: int, detractors: int, n: int, level: float = 0.95
) -> tuple[float, float]:
    """Adjusted-Wald interval of a Net Promoter Score on the -100..100 scale (Rocks, 2016,
    The American Statistician 70: 365): add 3/4 to the promoters, 3/4 to the detractors and 3
    to n, then ``nps -/+ z * sqrt((p + d - (p - d)^2) / n)`` with p, d the adjusted shares,
    clipped to -100..100. NaN without answers."""
    if n <= 0:
        return float("nan"), float("nan")
    na = n + 3
    p, d = (promoters + 0.75) / na, (detractors + 0.75) / na
    z = NormalDist().inv_cdf(0.5 + level / 2)
    half = z * math.sqrt(max(p + d - (p - d) ** 2, 0.0) / na)
    return float(max(-1.0, p - d - half) * 100), float(min(1.0, p - d + half) * 100)


def icc(values: np.ndarray, groups: np.ndarray) -> tuple[float, float]:
    """ICC(1) and ICC(2) of ``values`` nested in ``groups`` from a one-way ANOVA (Bliese,
    2000, in Klein & Kozlowski (eds), *Multilevel theory, research, and methods in
    organizations*, pp. 349-381; as R ``multilevel::ICC1`` and ``ICC2`` compute them)::

        ICC(1) = (MSB - MSW) / (MSB + (k - 1) * MSW)     # share of variance due to the group
        ICC(2) = (MSB - MSW) / MSB                        # reliability of the group means

    with ``k`` the mean group size (N / G). NaN values are left out; NaN with fewer than two
    groups or no within-group variation.
    """
    values = np.asarray(values, float)
    keep = np.isfinite(values)
    values, groups = values[keep], np.asarray(groups)[keep]
    labels, codes = np.unique(groups, return_inverse=True)
    g, n = labels.size, values.size
    if g < 2 or n - g < 1:
        return float("nan"), float("nan")
    sizes = np.bincount(codes)
    means = np.bincount(codes, weights=values) / sizes
    msb = float((sizes * (means - values.mean()) ** 2).sum() / (g - 1))
    msw = float(((values - means[codes]) ** 2).sum() / (n - g))
    k = n / g
    if msb <= 0 or msb + (k - 1) * msw <= 0:
        return float("nan"), float("nan")
    return (msb - msw) / (msb + (k - 1) * msw), (msb - msw) / msb


def _influence_weights(rate: np.ndarray, linear_map: np.ndarray) -> np.ndarray:
    """``linear_map`` rows divided by each question's answer rate (0 where never answered)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.nan_to_num(linear_map / rate[..., :, None])


def influence_values(x: np.ndarray, linear_map: np.ndarray) -> np.ndarray:
    """Respondents' influence values on scores that are linear maps of question means.

    ``x`` is respondents x questions (NaN = not answered); ``linear_map`` (questions x scores)
    maps question means to scores. With answer rate p_j and mean m_j of question j, respondent
    i moves the mean by ``present_ij * (x_ij - m_j) / p_j`` to first order (Davison & Hinkley,
    1997, sec. 2.7.4), so its influence on the scores is that row times the map; the mean of
    the influence values is 0 and their ``sd / sqrt(n)`` the scores' standard error.
    """
    present = ~np.isnan(x)
    centred = np.where(present, x - np.nanmean(np.where(present, x, np.nan), axis=0), 0.0)
    return np.nan_to_num(centred) @ _influence_weights(present.mean(axis=0), linear_map)


def influence_sd(x0: np.ndarray, mask: np.ndarray, means: np.ndarray, linear_map: np.ndarray):
    """The standard deviation (ddof=1) of :func:`influence_values` from answers with 0 for
    missing (``x0``), the 0/1 presence ``mask`` and the question ``means`` (see
    :func:`influence_sd_from_cross`)."""
    return influence_sd_from_cross(
        x0.T @ x0, x0.T @ mask, mask.T @ mask, x0.shape[0], means, linear_map
    )


def influence_sd_from_cross(
    xx: np.ndarray, xm: np.ndarray, mm: np.ndarray, n, means: np.ndarray, linear_map: np.ndarray
):
    """:func:`influence_sd` of n respondents from the cross products ``X0'X0``, ``X0'M`` and
    ``M'M`` of their answers (0 for missing) and presence mask. The influence values are
    ``I = Xc W`` with ``Xc = X0 - M diag(m)`` (m the question means) and W the map scaled by
    the answer rates ``diag(M'M) / n``; their column means are exactly 0, so
    ``var(I_k) = W_k' (Xc'Xc) W_k / (n - 1)`` with
    ``Xc'Xc = X0'X0 - X0'M diag(m) - diag(m) M'X0 + diag(m) M'M diag(m)``: the same numbers
    without a respondents x scores matrix. Stacked inputs (a leading groups axis, ``n`` and
    ``means`` per group) give one row of standard deviations per group."""
    n = np.asarray(n, float)
    mu = np.nan_to_num(np.asarray(means, float))
    shifted = xm * mu[..., None, :]
    centred = xx - shifted - np.swapaxes(shifted, -1, -2) + mu[..., :, None] * mu[..., None, :] * mm
    rate = np.diagonal(mm, axis1=-2, axis2=-1) / n[..., None]
    w = _influence_weights(rate, linear_map)
    var = (w * (centred @ w)).sum(axis=-2) / (n[..., None] - 1)
    return np.sqrt(np.maximum(var, 0.0))
