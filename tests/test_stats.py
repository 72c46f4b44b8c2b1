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
    fast = xmkit.score(data, framework, n_boot=2000, seed=3)
    rows = fast["level"].isin(["overall", "category"])
    replicates = []
    for _ in range(600):
        sample = data.iloc[rng.integers(0, n, n)].reset_index(drop=True)
        replicates.append(xmkit.score(sample, framework, n_boot=0).loc[rows, "score"].to_numpy())
    low, high = np.percentile(np.array(replicates), [2.5, 97.5], axis=0)
    np.testing.assert_allclose(fast.loc[rows, "ci_low"], low, atol=0.03)
    np.testing.assert_allclose(fast.loc[rows, "ci_high"], high, atol=0.03)
