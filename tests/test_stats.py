"""Statistics against reference libraries and brute force."""

import numpy as np
import pandas as pd
import pingouin
import pytest

import xmkit
from xmkit.analysis.stats import cronbach_alpha, pairwise_cov, rwg_j, to_index


def _survey(n: int, k: int, seed: int, missing: float = 0.05) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    latent = rng.normal(3, 0.8, size=(n, 1))
    data = np.clip(np.rint(latent + rng.normal(0, 0.7, size=(n, k))), 1, 5)
    data[rng.random(data.shape) < missing] = np.nan
    return pd.DataFrame(data, columns=[f"q{i}" for i in range(k)])


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_cronbach_alpha_equals_pingouin_with_missing_answers(seed):
    items = _survey(80, 9, seed)
    reference, _ = pingouin.cronbach_alpha(data=items)
    assert cronbach_alpha(items) == pytest.approx(reference, abs=1e-9)


def test_cronbach_alpha_equals_pingouin_on_complete_data():
    items = _survey(50, 4, 9, missing=0)
    assert cronbach_alpha(items) == pytest.approx(pingouin.cronbach_alpha(data=items)[0], abs=1e-9)


def test_pairwise_covariance_equals_pandas():
    items = _survey(60, 6, 4, missing=0.2)
    np.testing.assert_allclose(pairwise_cov(items.to_numpy()), items.cov().to_numpy(), atol=1e-12)


def test_rwg_single_item_by_hand():
    # answers 2, 3, 3, 4: s2 = 2/3; sigma2_EU for 5 options = 2; rwg = 1 - 1/3
    s2 = np.var([2, 3, 3, 4], ddof=1)
    assert rwg_j(np.array([s2]), 5) == pytest.approx(2 / 3)


def test_rwg_is_zero_when_disagreement_exceeds_chance():
    assert rwg_j(np.array([2.5, 3.0]), 5) == 0.0


def test_rwg_without_variances_is_nan():
    assert np.isnan(rwg_j(np.array([np.nan]), 5))


def test_index_maps_scale_ends_to_0_and_100():
    assert to_index(np.array([1, 3, 5]), 1, 5).tolist() == [0, 50, 100]


def test_index_follows_the_scale():
    """Hand-worked: 4 on 1-7 is half way (50); 7.5 on 0-10 is 75; 2.5 on 1-4 is 50."""
    assert to_index(np.array([1, 4, 7]), 1, 7).tolist() == [0, 50, 100]
    assert to_index(7.5, 0, 10) == 75
    assert to_index(2.5, 1, 4) == 50


def test_linearized_bootstrap_matches_brute_force_bootstrap(framework):
    """The fast interval of the overall and category scores agrees with a percentile bootstrap
    that recomputes every score from resampled respondents."""
    rng = np.random.default_rng(5)
    n = 150
    answers = _survey(n, len(framework.question_ids), 11, missing=0.08)
    answers.columns = framework.question_ids
    data = pd.concat(
        [
            pd.DataFrame({"respondent_id": [f"r{i}" for i in range(n)], "unit": "U", "role": "R"}),
            answers,
        ],
        axis=1,
    )
    fast = xmkit.score(data, framework, n_boot=2000, seed=3, ci_method="bootstrap")
    rows = fast["level"].isin(["overall", "category"])
    replicates = []
    for _ in range(600):
        sample = data.iloc[rng.integers(0, n, n)].reset_index(drop=True)
        replicates.append(xmkit.score(sample, framework, n_boot=0).loc[rows, "score"].to_numpy())
    low, high = np.percentile(np.array(replicates), [2.5, 97.5], axis=0)
    np.testing.assert_allclose(fast.loc[rows, "ci_low"], low, atol=0.03)
    np.testing.assert_allclose(fast.loc[rows, "ci_high"], high, atol=0.03)


# ---- distributions, multiplicity and reliability against scipy/statsmodels and by hand ------


@pytest.mark.parametrize("df", [1, 2.5, 4, 9, 29, 200])
def test_t_p_values_and_quantiles_equal_scipy(df):
    from scipy import stats

    from xmkit.analysis.stats import t_ppf, t_two_sided_p

    for t in (0.1, 1.0, 2.5, 6.0):
        assert t_two_sided_p(t, df) == pytest.approx(2 * stats.t.sf(t, df), abs=1e-10)
    for p in (0.975, 0.995, 0.99872):
        assert t_ppf(p, df) == pytest.approx(stats.t.ppf(p, df), abs=1e-7)


def test_f_quantile_equals_scipy():
    from scipy import stats

    from xmkit.analysis.stats import f_ppf

    for d1, d2, p in [(4, 12, 0.975), (29, 145, 0.025), (9, 9, 0.5)]:
        assert f_ppf(p, d1, d2) == pytest.approx(stats.f.ppf(p, d1, d2), rel=1e-7)


def test_holm_and_benjamini_hochberg_equal_pingouin():
    from xmkit.analysis.stats import benjamini_hochberg, holm

    p = np.array([0.01, 0.04, 0.03, 0.005, 0.2, 0.6])
    _, ref_holm = pingouin.multicomp(p, method="holm")
    _, ref_bh = pingouin.multicomp(p, method="fdr_bh")
    np.testing.assert_allclose(holm(p), ref_holm, atol=1e-12)
    np.testing.assert_allclose(benjamini_hochberg(p), ref_bh, atol=1e-12)
    assert np.isnan(holm(np.array([np.nan, 0.01]))[0])


def test_sidak_level_over_four_lags_by_hand():
    from xmkit.analysis.stats import sidak_level

    assert sidak_level(0.95, 4) == pytest.approx(0.95**0.25)
    assert sidak_level(0.95, 1) == pytest.approx(0.95)


def test_icc1_icc2_by_hand():
    """Three groups of three: values (1, 2, 3), (2, 3, 4), (5, 6, 7); group means 2, 3, 6,
    grand mean 11/3. SSB = 3 * ((2 - 11/3)^2 + (3 - 11/3)^2 + (6 - 11/3)^2) = 26, MSB = 13;
    SSW = 3 * 2 = 6, MSW = 1; k = 3. ICC(1) = (13 - 1) / (13 + 2 * 1) = 0.8; ICC(2) = 12 / 13."""
    from xmkit.analysis.stats import icc

    values = np.array([1, 2, 3, 2, 3, 4, 5, 6, 7], dtype=float)
    groups = np.repeat(["a", "b", "c"], 3)
    icc1, icc2 = icc(values, groups)
    assert icc1 == pytest.approx(0.8)
    assert icc2 == pytest.approx(12 / 13)


def test_icc1_equals_pingouin_icc1_on_balanced_groups():
    """On balanced groups ICC(1) is the one-way random-effects ICC (Shrout & Fleiss ICC1),
    which pingouin computes with groups as targets and members as raters."""
    from xmkit.analysis.stats import icc

    rng = np.random.default_rng(3)
    values = (rng.normal(0, 1, 8)[:, None] + rng.normal(0, 1.5, (8, 6))).ravel()
    groups = np.repeat(np.arange(8), 6)
    table = pd.DataFrame({"g": groups, "m": np.tile(np.arange(6), 8), "v": values})
    ref = pingouin.intraclass_corr(table, targets="g", raters="m", ratings="v").set_index("Type")
    icc1, icc2 = icc(values, groups)
    assert icc1 == pytest.approx(ref.loc["ICC(1,1)", "ICC"], abs=1e-10)
    assert icc2 == pytest.approx(ref.loc["ICC(1,k)", "ICC"], abs=1e-10)


def test_feldt_interval_of_alpha_by_hand():
    """n = 30, k = 5, alpha = 0.8: F(29, 116) quantiles give the interval."""
    from scipy import stats

    from xmkit.analysis.stats import alpha_interval

    low, high = alpha_interval(0.8, 30, 5)
    assert low == pytest.approx(1 - 0.2 * stats.f.ppf(0.975, 29, 116), abs=1e-8)
    assert high == pytest.approx(1 - 0.2 * stats.f.ppf(0.025, 29, 116), abs=1e-8)
    assert low < 0.8 < high


def test_nps_adjusted_wald_interval_by_hand():
    """10 answers: 5 promoters, 2 detractors. Adjusted: p = 5.75/13, d = 2.75/13;
    half = 1.96 * sqrt((p + d - (p - d)^2) / 13)."""
    from xmkit.analysis.stats import nps_interval

    p, d = 5.75 / 13, 2.75 / 13
    half = 1.959964 * np.sqrt((p + d - (p - d) ** 2) / 13)
    low, high = nps_interval(5, 2, 10)
    assert low == pytest.approx((p - d - half) * 100, abs=1e-3)
    assert high == pytest.approx((p - d + half) * 100, abs=1e-3)
    assert high - low > 40  # about +-25 points at 10 answers


def test_linearized_t_interval_is_the_student_interval_of_a_mean():
    """For a single question the linearized t interval is Student's interval of its mean."""
    from scipy import stats

    from xmkit.analysis.stats import influence_sd, influence_values, linearized_t_interval

    x = np.array([[4.0], [5.0], [3.0], [4.0], [2.0]])
    infl = influence_values(x, np.eye(1))
    sd = influence_sd(x, np.ones_like(x), np.array([3.6]), np.eye(1))
    assert sd[0] == pytest.approx(infl[:, 0].std(ddof=1))
    low, high, se, df = linearized_t_interval(np.array([3.6]), sd, 5)
    ref = stats.t.interval(0.95, 4, loc=3.6, scale=stats.sem(x[:, 0]))
    assert (low[0], high[0]) == pytest.approx(ref, abs=1e-8)
    assert df == 4 and se[0] == pytest.approx(stats.sem(x[:, 0]))


def test_influence_sd_equals_the_spread_of_the_influence_values_with_missing_answers():
    from xmkit.analysis.stats import influence_sd, influence_values

    x = _survey(40, 6, 5, missing=0.2).to_numpy()
    linear_map = np.random.default_rng(0).random((6, 3))
    present = ~np.isnan(x)
    sd = influence_sd(np.where(present, x, 0), present.astype(float), np.nanmean(x, 0), linear_map)
    np.testing.assert_allclose(sd, influence_values(x, linear_map).std(axis=0, ddof=1))


def test_category_interval_keeps_95_percent_at_five_respondents(framework):
    """A small seeded coverage check (bench/validate_statistics.py runs the full one)."""
    rng = np.random.default_rng(7)
    big = _survey(40_000, len(framework.question_ids), 1, missing=0.05)
    big.columns = framework.question_ids
    truth = xmkit.score(big, framework, n_boot=0, min_group_size=1)
    truth = truth[truth["level"] == "overall"]["score"].iloc[0]
    hits = []
    for seed in range(80):
        sample = _survey(5, len(framework.question_ids), 100 + seed, missing=0.05)
        sample.columns = framework.question_ids
        row = xmkit.score(sample, framework, min_group_size=1).iloc[0]
        hits.append(row["ci_low"] <= truth <= row["ci_high"])
    assert 0.88 <= np.mean(hits) <= 1.0
    del rng


def test_cross_product_forms_equal_the_direct_ones_for_a_stack_of_groups():
    """Covariances, alphas and influence spreads of several groups computed at once from
    X0'X0, X0'M and M'M equal the ones computed group by group from the answers."""
    from xmkit.analysis.stats import (
        alpha_from_cov,
        cov_from_cross,
        influence_sd,
        influence_sd_from_cross,
    )

    groups = [_survey(n, 6, seed, missing=0.25).to_numpy() for n, seed in [(30, 1), (8, 2)]]
    groups.append(np.where(np.arange(6) == 2, np.nan, _survey(12, 6, 3).to_numpy()))
    linear_map = np.random.default_rng(0).random((6, 3))
    parts = []
    for x in groups:
        present = ~np.isnan(x)
        x0, m = np.where(present, x, 0.0), present.astype(float)
        means = x0.sum(axis=0) / np.maximum(m.sum(axis=0), 1)  # 0 where never answered
        parts.append((x0.T @ x0, x0.T @ m, m.T @ m, x0, m, means))
    xx, xm, mm = (np.stack([p[i] for p in parts]) for i in range(3))
    covs = cov_from_cross(xx, xm, mm)
    sds = influence_sd_from_cross(
        xx, xm, mm, [len(x) for x in groups], np.stack([p[5] for p in parts]), linear_map
    )
    for i, (x, (*_, x0, m, means)) in enumerate(zip(groups, parts, strict=True)):
        np.testing.assert_allclose(covs[i], pairwise_cov(x), atol=1e-12)
        assert alpha_from_cov(covs)[i] == pytest.approx(alpha_from_cov(pairwise_cov(x)))
        np.testing.assert_allclose(sds[i], influence_sd(x0, m, means, linear_map), atol=1e-12)
    # the third group never answered question 2: alpha over the other five items
    items = pd.DataFrame(groups[2]).drop(columns=2)
    assert alpha_from_cov(covs)[2] == pytest.approx(pingouin.cronbach_alpha(data=items)[0])


def test_rwg_from_mean_variances_equals_rwg_j_element_by_element():
    from xmkit.analysis.stats import rwg_j_from_mean

    variances = [np.array([0.5, 0.9, 1.2]), np.array([2.5, 3.0]), np.array([0.2])]
    means, counts = [v.mean() for v in variances], [v.size for v in variances]
    expected = [rwg_j(v, 5) for v in variances] + [np.nan]
    np.testing.assert_allclose(rwg_j_from_mean([*means, np.nan], [*counts, 0], 5), expected)
