"""The report's findings as plain text, each sentence chosen by the statistical decision above it.

Every function here takes the numbers of :mod:`xmkit.analysis` (a score row, a gap table, a
:func:`~xmkit.analysis.linkage.strongest_lag` row, a wave comparison) and returns strings or
small dicts (view data, not HTML), so that a template can lay them out and a test can pin each
rule: a sentence that states a finding (agreement, gap, change, link, stage, target) is
reachable only through the decision that supports it —

* link: the Šidák-adjusted interval of the strongest lag excludes 0 (``linked``);
* gap: ``flagged`` (Holm-adjusted p below 0.05 and at least the framework's threshold);
* change: ``clear`` (Benjamini-Hochberg q below 0.05 across the table's rows);
* stage: the stages the overall interval spans (``stage_low`` .. ``stage_high``);
* target: ``status`` (met / not met / too close to call, from the practice's interval);
* agreement: r_wg against its threshold, ICC(2) against 0.7 (Bliese, 2000; LeBreton &
  Senter, 2008), with alpha's and the NPS's intervals shown beside them.

The executive summary's sentences follow the same decisions in fewer words; the stage's
generic description is quoted as what the stage typically means and followed by the practices
still below the stage's level (:func:`typical_stage`). A difference shown beside the two values
it compares is worked out from those values as shown (:func:`~xmkit.report.views.difference`).
"""

from __future__ import annotations

import math

import pandas as pd

from xmkit.framework import Framework, Stage
from xmkit.report.views import difference, difference_text

__all__ = [
    "ICC2_RELIABLE",
    "TYPICAL_EXCEPTIONS",
    "agreement_summary",
    "agreement_view",
    "change_reading",
    "change_sentence",
    "design_note",
    "gap_item",
    "gap_summary",
    "interval_text",
    "lag_text",
    "link_sentence",
    "link_summary",
    "name_list",
    "nps_text",
    "progress_summary",
    "raw_link_sentence",
    "reliability_note",
    "stage_phrase",
    "stage_sentence",
    "strongest_and_weakest",
    "target_headline",
    "target_label",
    "typical_stage",
]

TYPICAL_EXCEPTIONS = 6
"""Up to this many practices below the stage's level are named in the summary; more are
counted, with the three lowest named."""

ICC2_RELIABLE = 0.7
"""ICC(2) from which unit averages are read as reliable (Bliese, 2000; LeBreton & Senter, 2008,
Organizational Research Methods 11)."""


def interval_text(low: float, high: float, digits: int = 2) -> str:
    """``"+0.12 to +0.40"``, or "no interval"."""
    if pd.isna(low) or pd.isna(high):
        return "no interval"
    return f"{low:+.{digits}f} to {high:+.{digits}f}"


def lag_text(lag: int, period_name: str) -> str:
    """``"in the same quarter"`` / ``"2 quarters later"``."""
    if lag == 0:
        return f"in the same {period_name}"
    return f"{lag} {period_name}{'s' if lag != 1 else ''} later"


# ---- stage and targets ------------------------------------------------------------------------


def name_list(names: list[str]) -> str:
    """Names joined for a sentence: "A", "A and B", "A, B and C"."""
    return " and ".join([", ".join(names[:-1]), names[-1]] if len(names) > 1 else names)


def _stage_span(low: object, high: object) -> str:
    """Every stage from ``low`` to ``high`` for a sentence ("2 or 3", "2, 3 or 4"); "" when the
    interval stays within one stage or is unknown."""
    if pd.isna(low) or pd.isna(high) or int(low) == int(high):
        return ""
    span = list(range(int(low), int(high) + 1))
    return ", ".join(map(str, span[:-1])) + f" or {span[-1]}"


def stage_phrase(stage: int, low: object, high: object) -> str:
    """``"stage 3"`` when the overall interval stays within one stage, else ``"stage 3; could
    be 2 or 3"`` (every stage the interval spans)."""
    span = _stage_span(low, high)
    return f"stage {stage}; could be {span}" if span else f"stage {stage}"


def stage_sentence(who: str, overall: pd.Series, stages: int, scale_max: float) -> str:
    """The summary's opening: the stage, the overall score with its 95% interval and, when the
    interval crosses a stage threshold, every stage it spans."""
    text = (
        f"{who} is at stage {int(overall['stage'])} of {stages} ({overall['stage_name']}), with "
        f"an overall score of {overall['score']:.2f} out of {scale_max:g}"
    )
    if pd.notna(overall.get("ci_low")) and pd.notna(overall.get("ci_high")):
        text += f" (95% interval {overall['ci_low']:.2f} to {overall['ci_high']:.2f})"
    span = _stage_span(overall.get("stage_low"), overall.get("stage_high"))
    return text + (f"; within that interval it could be stage {span}." if span else ".")


def typical_stage(stage: Stage, practices: pd.DataFrame, scale_min: float = 1) -> str:
    """The stage's generic description, framed as what the stage typically means, followed by
    the practices this client still scores below the stage's level.

    A stage description speaks of the typical organization ("reviewed together on a fixed
    schedule"); read as a statement about this client it can contradict the client's own
    practice scores. The rule is data-driven: a practice whose level (the whole part of its
    score) is below the stage's number is named as an exception, so a generic claim never
    stands unqualified next to scores that say otherwise. ``practices`` holds the shown
    practice rows (name, score) in framework order.
    """
    text = f'Stage {stage.stage}, {stage.name}, typically means: "{stage.description.strip()}"'
    shown = practices.dropna(subset=["score"])
    levels = shown["score"].map(lambda v: math.floor(max(v, scale_min) + 1e-9))
    below = shown.assign(level=levels)[levels < stage.stage]
    if below.empty or shown.empty:
        return text
    where = (
        f"at level {int(below['level'].iloc[0])}"
        if below["level"].nunique() == 1
        else f"below level {stage.stage}"
    )
    if len(below) > TYPICAL_EXCEPTIONS:
        lowest = below.sort_values("score", kind="stable").head(3)
        return text + (
            f" Here, {len(below)} of {len(shown)} practices still sit {where}; the lowest are "
            f"{name_list(lowest['name'].tolist())} (see Practices)."
        )
    if len(below) == len(shown):
        return text + f" Here, every practice still sits {where}."
    verb = "sits" if len(below) == 1 else "sit"
    return text + f" Here, {name_list(below['name'].tolist())} still {verb} {where}."


def strongest_and_weakest(rows: pd.DataFrame, kind: str) -> str | None:
    """``"Strongest practice: A (3.19); weakest: B (2.07)."``: every item that shows the top (or
    bottom) score is named, so a tie is not hidden by picking one of them."""
    rows = rows.dropna(subset=["score"])
    if len(rows) < 2:
        return None
    shown = rows["score"].map(lambda v: f"{v:.2f}")
    value = shown.astype(float)

    def named(target: float) -> str:
        picked = rows[value == target]
        return f"{name_list(picked['name'].tolist())} ({shown[picked.index[0]]})"

    if value.max() == value.min():
        return f"Every {kind} scores {shown.iloc[0]}."
    return f"Strongest {kind}: {named(value.max())}; weakest: {named(value.min())}."


def target_label(status: str | None) -> str:
    """The table's reading of a target status."""
    return {
        "met": "at target",
        "not met": "below target",
        "too close to call": "too close to call",
    }.get(status or "", "")


def target_headline(gaps: pd.DataFrame) -> str:
    """How many practices clearly meet, clearly miss, or are too close to their target to tell."""
    total = len(gaps)
    counts = gaps["status"].value_counts()
    met, not_met = int(counts.get("met", 0)), int(counts.get("not met", 0))
    close = int(counts.get("too close to call", 0))
    text = f"{met} of {total} practices at target, {not_met} below"
    text += (
        f", {close} too close to call (the target lies within the score's 95% interval)."
        if close
        else "."
    )
    missing = int(gaps["target_score"].isna().sum())
    if missing:
        text += f" {missing} practice(s) have no target."
    return text


# ---- gaps -------------------------------------------------------------------------------------


def gap_summary(gaps: pd.DataFrame, threshold: float) -> str | None:
    """The executive summary's sentence on perception gaps (None when no gap can be shown)."""
    shown = gaps[~gaps["suppressed"].astype(bool)].dropna(subset=["gap"])
    if shown.empty:
        return None
    flagged = shown[shown["flagged"].astype(bool)]
    if flagged.empty:
        return (
            f"No perception gap between roles stands out: none reaches {threshold} points with "
            "an interval that excludes 0 once the number of role and category comparisons is "
            "allowed for."
        )
    top = flagged.loc[flagged["gap"].abs().idxmax()]
    return (
        f"{len(flagged)} perception gap(s) stand out; the largest: {gap_item(top)}, beyond "
        "chance given the number of comparisons."
    )


def gap_item(row: pd.Series) -> str:
    """One flagged gap: which role rates which category higher, with its interval."""
    higher, lower = (
        (row["role_a"], row["role_b"]) if row["gap"] > 0 else (row["role_b"], row["role_a"])
    )
    low, high = sorted((abs(row["ci_low"]), abs(row["ci_high"])))
    # the difference of the two roles' scores as the roles table shows them
    size = abs(difference(row["score_a"], row["score_b"]))
    return (
        f"respondents in the {higher} role rate {row['category']} {size:.2f} points "
        f"higher than {lower} (95% interval {low:.2f} to {high:.2f})"
    )


# ---- waves ------------------------------------------------------------------------------------


def design_note(design: str | None, n_matched: int = 0) -> str:
    """Which interval the comparison used, in words."""
    if design == "paired":
        return (
            f"The same {n_matched} respondents answered both waves, so each change is measured "
            "on them (paired)."
        )
    if design == "partly paired":
        return (
            f"{n_matched} respondents answered both waves; their own changes and the other "
            "respondents are combined in the intervals."
        )
    return "The two waves are treated as different samples of respondents (independent)."


def change_reading(row: pd.Series) -> str:
    """The table's reading of one change: "clear change" only when its q-value allows it."""
    return "clear change" if bool(row.get("clear", False)) else ""


def change_sentence(row: pd.Series, who: str, before: str) -> str:
    """The headline sentence on the overall change since the previous wave."""
    head = (
        f"The overall score of {who} went from {row['score_before']:.2f} in {before} to "
        f"{row['score_now']:.2f}: a change of "
        f"{difference_text(row['score_now'], row['score_before'])} (95% interval "
        f"{interval_text(row['ci_low'], row['ci_high'])}), "
    )
    if change_reading(row):
        return head + "a clear change."
    return head + "within what chance alone could give, so not a clear change."


def progress_summary(row: pd.Series, before: str) -> str:
    """The summary's short version of :func:`change_sentence`."""
    head = (
        f"Since {before} the overall score has moved from {row['score_before']:.2f} to "
        f"{row['score_now']:.2f} ({difference_text(row['score_now'], row['score_before'])})"
    )
    if change_reading(row):
        return head + ", a clear change."
    return head + ", within what chance alone could give (not a clear change)."


# ---- linkage ----------------------------------------------------------------------------------


def link_sentence(best: pd.Series, ex: str, cx: str, per: str) -> str:
    """The evidence headline: strongest lag, its interval adjusted for the lags tested, and a
    link claimed only when that adjusted interval excludes 0."""
    lag = int(best["lag"])
    when = lag_text(lag, per)
    head = (
        f"Within business units, once changes common to all units in a {per} are removed, "
        f"{ex} is most strongly linked with {cx} {when}: r = {best['r']:.2f} (95% interval "
        f"{interval_text(best['ci_low_adj'], best['ci_high_adj'])} allowing for the "
        f"{int(best['n_lags'])} lags tested; {best['n_units']} units, {best['n_pairs']} "
        f"unit-{per} pairs). "
    )
    if best["linked"]:
        direction = "higher" if best["r"] > 0 else "lower"
        return head + (
            f"When a unit's {ex} rises above its usual level, its {cx} tends to be "
            f"{direction} {when}; the interval excludes 0."
        )
    return head + "The interval includes 0, so this is no clear evidence either way."


def link_summary(best: pd.Series, ex: str, cx: str, per: str) -> str:
    """The summary's short version of :func:`link_sentence`, with the same rule for a link."""
    when = lag_text(int(best["lag"]), per)
    if best["linked"]:
        direction = "higher" if best["r"] > 0 else "lower"
        return (
            f"Evidence: within business units, a rise in {ex} goes with {direction} {cx} "
            f"{when} (r = {best['r']:.2f}; its interval, allowing for the lags tested, "
            "excludes 0)."
        )
    return (
        f"Evidence: no clear link yet between {ex} and {cx} within business units (strongest "
        f"r = {best['r']:.2f}, {when}; its interval includes 0)."
    )


def raw_link_sentence(raw_best: pd.Series | None, ex: str, cx: str, per: str) -> str:
    """The raw reading (common period effects kept), for comparison only."""
    if raw_best is None:
        return f"Raw reading (changes common to all units kept): not enough data for {ex}."
    return (
        f"Raw reading, with changes common to all units kept (for comparison only: a trend or "
        f"season shared by all units shows up here as a link): strongest {lag_text(int(raw_best['lag']), per)}, "  # noqa: E501
        f"r = {raw_best['r']:.2f} ({interval_text(raw_best['ci_low_adj'], raw_best['ci_high_adj'])} "  # noqa: E501
        "allowing for the lags tested)."
    )


def reliability_note(readings: list[dict]) -> str | None:
    """How much of the linked metrics' movement is sampling noise (from their answer counts)."""
    readings = [r for r in readings if r]
    if not readings:
        return None
    parts = [
        f"{r['metric']} rests on a median of {r['median_n']:.0f} answers per unit and period; "
        f"about {100 * (1 - r['reliability']):.0f}% of its movement within units is sampling "
        "noise"
        for r in readings
    ]
    return (
        "; ".join(parts) + ". Noise weakens any correlation (a measured r is about "
        "sqrt(reliability of EX x reliability of CX) times the true one), so a weak or unclear "
        "link may partly reflect too few answers."
    )


def nps_text(value: float, low: float, high: float) -> str:
    """``"+32 (95% interval +10 to +52)"``, or the value alone without an interval."""
    if pd.isna(value):
        return ""
    if pd.isna(low) or pd.isna(high):
        return f"{value:g}"
    return f"{value:+.0f} (95% interval {low:+.0f} to {high:+.0f})"


# ---- agreement and reliability ----------------------------------------------------------------


def agreement_view(
    scores: pd.DataFrame, unit_scores: pd.DataFrame | None, framework: Framework
) -> dict:
    """The agreement section's findings: r_wg per practice, alpha with its interval per
    category, ICC(1)/ICC(2) per category across units.

    Returns ``{"low_rwg": [(practice, rwg)], "rwg_sentence", "alpha": [(category, text)],
    "icc": [(category, icc1, icc2)], "icc_sentence"}``; ``icc_sentence`` is None without
    several units.
    """
    threshold = framework.thresholds.rwg_low
    prac = scores[(scores["level"] == "practice")].dropna(subset=["rwg"])
    low = prac[prac["rwg"] < threshold]  # in framework order, as every practice list
    if len(low):
        rwg_sentence = (
            f"Respondents describe {len(low)} practice(s) very differently (r_wg below "
            f"{threshold}, compared with a uniform null — answers spread evenly over the scale "
            "by chance): talk through what is really happening before acting on their scores."
        )
    elif len(prac):
        rwg_sentence = (
            f"Agreement within the group reaches r_wg {threshold} or more on every practice "
            "(against a uniform null: answers spread evenly over the scale by chance). With "
            "few questions per practice r_wg is easily high, so read this as no sign of "
            "disagreement rather than proof of a shared view."
        )
    else:
        rwg_sentence = "Agreement cannot be computed: too few answers per question."
    cats = scores[scores["level"] == "category"]
    alpha = [
        (
            r["name"],
            f"{r['alpha']:.2f} (95% interval {r['alpha_low']:.2f} to {r['alpha_high']:.2f})"
            if pd.notna(r.get("alpha_low"))
            else f"{r['alpha']:.2f}",
        )
        for _, r in cats.dropna(subset=["alpha"]).iterrows()
    ]
    icc_rows: list[tuple[str, float, float]] = []
    icc_sentence = None
    if unit_scores is not None and "icc2" in unit_scores.columns:
        first = unit_scores[unit_scores["level"] == "category"].drop_duplicates("id")
        icc_rows = [
            (r["name"], r["icc1"], r["icc2"])
            for _, r in first.iterrows()
            if pd.notna(r["icc1"]) and pd.notna(r["icc2"])
        ]
        if icc_rows:
            weak = [name for name, _, icc2 in icc_rows if icc2 < ICC2_RELIABLE]
            icc_sentence = (
                "Unit averages are reliable for every category: ICC(2) of at least "
                f"{ICC2_RELIABLE} means units differ consistently, beyond the people who "
                "happened to answer."
                if not weak
                else f"Unit averages of {', '.join(weak)} are not reliable (ICC(2) below "
                f"{ICC2_RELIABLE}): differences between units there are largely the chance of "
                "who answered, so compare units on them with care."
            )
    return {
        "low_rwg": list(zip(low["name"], low["rwg"], strict=True)),
        "rwg_sentence": rwg_sentence,
        "alpha": alpha,
        "icc": icc_rows,
        "icc_sentence": icc_sentence,
    }


def agreement_summary(scores: pd.DataFrame, framework: Framework) -> str | None:
    """The summary's sentence on agreement within the group (None without any r_wg).

    When most practices fall below the framework's r_wg threshold the group holds differing
    views rather than one: its averages then describe nobody, which the reader must know
    before acting on any score. A few low practices are named; none gets a plain statement.
    """
    threshold = framework.thresholds.rwg_low
    prac = scores[scores["level"] == "practice"].dropna(subset=["rwg"])
    if prac.empty:
        return None
    low = prac[prac["rwg"] < threshold]
    if low.empty:
        return (
            f"No practice shows marked disagreement among respondents (r_wg of at least "
            f"{threshold} on all {len(prac)})."
        )
    lo, hi = f"{low['rwg'].min():.2f}", f"{low['rwg'].max():.2f}"
    spread = lo if lo == hi else f"{lo}-{hi}"
    if 2 * len(low) > len(prac):
        return (
            f"Respondents do not share a view on {len(low)} of {len(prac)} practices (r_wg "
            f"{spread}, below {threshold}): read the scores as an average of differing views, "
            "not a common one, and talk them through before acting on them."
        )
    return (
        f"Respondents see {name_list(low['name'].tolist())} very differently (r_wg {spread}, "
        f"below {threshold}): talk {'it' if len(low) == 1 else 'these'} through before acting "
        f"on {'its score' if len(low) == 1 else 'their scores'}."
    )
