"""Does every claim a report makes keep its promise? A simulation through the public API.

Prints one table (Markdown) with, each from several hundred seeded replications:

* coverage of the 95% intervals of the overall and category scores at n = 5, 10, 30 and 200
  respondents (the default Student-t interval; the old percentile bootstrap beside it);
* the false-link rate on panels with no EX-CX link but a trend, a season and shocks shared by
  all units (40 units x 12 periods, lags 0-3), for the default reading and the raw one;
* the detection rate of a planted lead (40 units x 12 periods, EX leading CX by 2 periods);
* the share of organizations with at least one flagged perception gap when five roles of five
  respondents come from one population;
* the coverage of the 95% interval of the overall change between two waves, for independent
  samples and for the same respondents answering twice (paired).

Targets (issue 15): coverage >= 0.93 at n = 5, 10, 30; false links <= 10%; lag-2 detection >=
90%; gap false flags <= 10%; waves coverage 0.93-0.97. Takes minutes; not part of ``make
test``. Run it with ``nice``: ``nice python bench/validate_statistics.py [--quick] [--seed 1]``.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

import xmkit
from xmkit.analysis.linkage import linkage, strongest_lag
from xmkit.analysis.score import perception_gaps
from xmkit.analysis.waves import compare_waves

__all__ = ["main"]

FRAMEWORK = xmkit.load_framework()
QIDS = FRAMEWORK.question_ids


def answers(rng: np.random.Generator, trait: np.ndarray, shift: float = 0.0) -> np.ndarray:
    """1-5 answers of respondents with latent ``trait``: item difficulty + noise, 5% missing."""
    difficulty = np.linspace(-0.6, 0.6, len(QIDS))
    raw = 3.0 + trait[:, None] + shift + difficulty + rng.normal(0, 0.8, (len(trait), len(QIDS)))
    out = np.clip(np.rint(raw), 1, 5)
    out[rng.random(out.shape) < 0.05] = np.nan
    return out


def responses(values: np.ndarray, unit: str = "U", role: str = "R", ids=None) -> pd.DataFrame:
    n = len(values)
    ids = ids if ids is not None else [f"r{i}" for i in range(n)]
    meta = pd.DataFrame({"respondent_id": ids, "unit": unit, "role": role})
    return pd.concat([meta, pd.DataFrame(values, columns=QIDS)], axis=1)


def population_scores(rng: np.random.Generator, shift: float = 0.0) -> pd.Series:
    """The population's overall and category scores, from a very large sample."""
    big = responses(answers(rng, rng.normal(0, 0.6, 200_000), shift))
    s = xmkit.score(big, FRAMEWORK, n_boot=0, min_group_size=1)
    rows = s[s["level"].isin(["overall", "category"])]
    return rows.set_index("id")["score"]


def coverage(rng, truth: pd.Series, n: int, reps: int, method: str) -> tuple[float, float]:
    """Share of intervals covering the truth: (overall, all categories pooled)."""
    hits_overall, hits_cat = [], []
    for _ in range(reps):
        data = responses(answers(rng, rng.normal(0, 0.6, n)))
        s = xmkit.score(
            data,
            FRAMEWORK,
            min_group_size=1,
            n_boot=400,
            seed=int(rng.integers(1 << 31)),
            ci_method=method,
        )
        rows = s[s["level"].isin(["overall", "category"])].set_index("id")
        inside = (rows["ci_low"] <= truth) & (truth <= rows["ci_high"])
        hits_overall.append(bool(inside["overall"]))
        hits_cat += inside.drop("overall").tolist()
    return float(np.mean(hits_overall)), float(np.mean(hits_cat))


def ar1(rng, units: int, periods: int, phi: float) -> np.ndarray:
    out = np.empty((units, periods))
    out[:, 0] = rng.normal(0, 1 / np.sqrt(1 - phi**2), units)
    for t in range(1, periods):
        out[:, t] = phi * out[:, t - 1] + rng.normal(0, 1, units)
    return out


def panel(rng, beta: float, lead: int = 2, units: int = 40, periods: int = 12) -> pd.DataFrame:
    """EX = unit level + AR(1) + shared movements; CX = its own unit level + beta * EX's
    time-varying part ``lead`` periods earlier + AR(1) noise + the same shared movements (a
    trend, a season and organization-wide shocks)."""
    steps = periods + lead
    ex_part = ar1(rng, units, steps, 0.6)
    t = np.arange(periods)
    shared = 0.15 * t + 0.8 * np.sin(2 * np.pi * t / 4) + rng.normal(0, 0.8, periods)
    ex = rng.normal(0, 1, units)[:, None] + ex_part[:, lead:] + shared
    cx = (
        rng.normal(0, 1, units)[:, None]
        + beta * ex_part[:, :periods]
        + 0.8 * ar1(rng, units, periods, 0.6)
        + shared
    )
    unit = np.repeat([f"U{u:02d}" for u in range(units)], periods)
    period = np.tile(np.arange(1, periods + 1), units)
    return pd.concat(
        [
            pd.DataFrame({"unit": unit, "period": period, "metric": "EX", "value": ex.ravel()}),
            pd.DataFrame({"unit": unit, "period": period, "metric": "CX", "value": cx.ravel()}),
        ],
        ignore_index=True,
    )


def link_rates(rng, reps: int, beta: float, raw: bool = False) -> tuple[float, float]:
    """(share of panels whose strongest lag is called linked, share linked at lag 2)."""
    linked = at_two = 0
    for _ in range(reps):
        result = linkage(
            panel(rng, beta),
            "EX",
            "CX",
            max_lag=3,
            n_boot=500,
            seed=int(rng.integers(1 << 31)),
            remove_period_means=not raw,
        )
        best = strongest_lag(result, "within")
        if best is not None and best["linked"]:
            linked += 1
            at_two += int(best["lag"]) == 2
    return linked / reps, at_two / reps


def gap_false_flags(rng, reps: int, roles: int = 5, size: int = 5) -> float:
    flagged = 0
    for _ in range(reps):
        parts = [
            responses(answers(rng, rng.normal(0, 0.6, size)), role=f"Role {r}")
            for r in range(roles)
        ]
        data = pd.concat(parts, ignore_index=True)
        data["respondent_id"] = [f"r{i}" for i in range(len(data))]
        flagged += bool(perception_gaps(data, FRAMEWORK).query("flagged").shape[0])
    return flagged / reps


def waves_coverage(rng, reps: int, n: int, paired: bool, truth: float) -> tuple[float, float]:
    """(coverage of the overall change's interval, its mean width)."""
    hits, widths = [], []
    for _ in range(reps):
        trait = rng.normal(0, 0.6, n)
        before = responses(answers(rng, trait))
        later = trait if paired else rng.normal(0, 0.6, n)
        ids = None if paired else [f"s{i}" for i in range(n)]
        now = responses(answers(rng, later, shift=0.2), ids=ids)
        w = compare_waves(now, before, FRAMEWORK, min_group_size=1)
        row = w[w["level"] == "overall"].iloc[0]
        assert row["design"] == ("paired" if paired else "independent"), row["design"]
        hits.append(row["ci_low"] <= truth <= row["ci_high"])
        widths.append(row["ci_high"] - row["ci_low"])
    return float(np.mean(hits)), float(np.mean(widths))


def waves_false_clear(rng, reps: int, n: int) -> float:
    """Share of tables (overall, categories, practices) with a clear change and no true one."""
    hits = 0
    for _ in range(reps):
        trait = rng.normal(0, 0.6, n)
        before = responses(answers(rng, trait))
        now = responses(answers(rng, trait))
        w = compare_waves(now, before, FRAMEWORK, min_group_size=1)
        hits += bool(w["clear"].any())
    return hits / reps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer replications (a smoke run)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    reps = 60 if args.quick else 300
    link_reps = 40 if args.quick else 200
    rng = np.random.default_rng(args.seed)
    start = time.perf_counter()
    truth = population_scores(rng)
    rows = []
    for n in (5, 10, 30, 200):
        r = reps if n < 200 else reps // 2
        t_overall, t_cat = coverage(rng, truth, n, r, "t")
        b_overall, b_cat = coverage(rng, truth, n, r // 2, "bootstrap")
        rows.append(
            (
                f"Coverage, n = {n} (overall / categories)",
                f"{t_overall:.3f} / {t_cat:.3f}",
                f"percentile bootstrap: {b_overall:.3f} / {b_cat:.3f}",
                ">= 0.93" if n < 200 else "",
            )
        )
    false_link, _ = link_rates(rng, link_reps, beta=0.0)
    raw_link, _ = link_rates(rng, link_reps // 2, beta=0.0, raw=True)
    rows.append(
        (
            "False links, shared trend (strongest of lags 0-3)",
            f"{false_link:.3f}",
            f"raw reading (period effects kept): {raw_link:.3f}",
            "<= 0.10",
        )
    )
    detected, at_two = link_rates(rng, link_reps, beta=0.4)
    rows.append(
        (
            "Lag-2 lead detected (40 units x 12 periods, beta 0.4)",
            f"{at_two:.3f}",
            f"linked at any lag: {detected:.3f}",
            ">= 0.90",
        )
    )
    rows.append(
        (
            "Gap false flags (5 identical roles of 5)",
            f"{gap_false_flags(rng, reps):.3f}",
            "share of organizations with any flag",
            "<= 0.10",
        )
    )
    true_change = float(population_scores(rng, shift=0.2)["overall"] - truth["overall"])
    for n in (10, 30):
        ind, ind_w = waves_coverage(rng, reps // 2, n, False, true_change)
        pai, pai_w = waves_coverage(rng, reps // 2, n, True, true_change)
        rows.append(
            (
                f"Waves coverage, n = {n} (independent / paired)",
                f"{ind:.3f} / {pai:.3f}",
                f"mean width {ind_w:.2f} / {pai_w:.2f}",
                "0.93-0.97",
            )
        )
    rows.append(
        (
            "Waves: tables with a false clear change (paired, n = 30)",
            f"{waves_false_clear(rng, reps // 2, 30):.3f}",
            "any of the rows; BH at 5%",
            "",
        )
    )
    print("| Check | Result | Beside it | Target |")
    print("|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    print(
        f"\n{reps} replications per coverage cell ({reps // 2} at n = 200, half for the "
        f"bootstrap), {link_reps} panels per link rate, seed {args.seed}; "
        f"{time.perf_counter() - start:.0f} s."
    )


if __name__ == "__main__":
    main()
