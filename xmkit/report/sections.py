"""The content of a client report: the report context and each section's view data.

The report notebook (``templates/report.ipynb``) stays thin: it calls :func:`prepare` once
and shows each section. A section computes plain view data (numbers, sentences, tables,
charts); its template in ``xmkit/report/templates/sections/`` holds the markup and, with
autoescaping, shows every piece of input text (client, unit, role, framework wording) as
text. Respondent-level answers never leave :class:`ReportContext`, which only the kernel sees.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from xmkit.analysis.disclosure import SMALL, mask, notice, protect_metrics
from xmkit.analysis.recommend import recommend
from xmkit.analysis.score import gaps_from_scores, score
from xmkit.analysis.withholding import unit_withholding
from xmkit.errors import Problem, XmkitError
from xmkit.framework import Framework, load_framework
from xmkit.io.responses import load_responses
from xmkit.report import charts, findings, palette, views
from xmkit.report.handover import roadmap_table
from xmkit.report.markup import section
from xmkit.report.views import num

__all__ = [
    "EVIDENCE_TITLE",
    "ReportContext",
    "agreement",
    "benchmark",
    "categories",
    "comments",
    "cover",
    "cover_facts",
    "evidence",
    "method",
    "next_steps",
    "practice_grid",
    "practices",
    "prepare",
    "progress",
    "progress_title",
    "questions",
    "roles",
    "show",
    "stage",
    "stage_track",
    "summary",
    "summary_sentences",
    "targets",
    "unit_order",
    "units",
]


@dataclass
class ReportContext:
    """Everything one report shows, computed once."""

    client: str
    unit: str | None
    period: str
    framework: Framework
    min_group_size: int
    respondents: int
    scores: pd.DataFrame
    role_scores: pd.DataFrame
    unit_scores: pd.DataFrame
    gaps: pd.DataFrame
    steps: pd.DataFrame
    n_boot: int
    seed: int
    generated: dt.date = field(default_factory=dt.date.today)
    include_comments: bool = False
    comments: dict[str, list[str]] = field(default_factory=dict)
    """Free-text comments by group, only of groups with at least ``min_group_size`` responses."""
    comments_withheld: int = 0
    """Groups whose comments are not shown because they are below the minimum size."""
    metrics: pd.DataFrame | None = None
    """Client metrics (unit, period, metric, value; one unit's in a unit report), or None."""
    ex: list[str] = field(default_factory=list)
    cx: list[str] = field(default_factory=list)
    max_lag: int = 3
    period_name: str = "period"
    linkage: pd.DataFrame | None = None
    """EX-CX :func:`~xmkit.analysis.linkage.linkage` (whole-organization reports)."""
    linkage_raw: pd.DataFrame | None = None
    """The same with common period effects kept (``remove_period_means=False``)."""
    reliability: list[dict] = field(default_factory=list)
    """:func:`~xmkit.analysis.linkage.reliability` of the linked metrics (answers-based)."""
    other_links: list[pd.Series] = field(default_factory=list)
    """The strongest within-unit lag of every other EX x CX pair."""
    waves: pd.DataFrame | None = None
    """This scope against the previous wave (:func:`~xmkit.analysis.waves.compare_waves`)."""
    unit_waves: pd.DataFrame | None = None
    """Overall change per business unit (whole-organization reports only)."""
    previous_period: str = ""
    targets: pd.DataFrame | None = None
    """Target score per practice (:func:`xmkit.analysis.targets.parse_targets`), or None."""
    target_gaps: pd.DataFrame | None = None
    firm: str = ""
    logo: str = ""
    """The firm's logo as a data URI (:func:`xmkit.io.logo.logo_data_uri`), or ""."""
    headcounts: dict[str, int] | None = None
    """People invited per business unit (checked against the responses), or None."""
    fieldwork: dict | None = None
    """``{"start": date, "end": date}`` of the fieldwork, or None."""

    @property
    def overall(self) -> pd.Series:
        # The row by its position: a boolean mask first copies the matching rows of every
        # column, nine times the cost, and sections ask for this row a dozen times a report.
        return self.scores.iloc[np.flatnonzero(self.scores["level"].to_numpy() == "overall")[0]]

    @property
    def suppressed(self) -> bool:
        return bool(self.overall["suppressed"])

    @property
    def scope(self) -> str:
        return self.unit if self.unit else "All business units"

    def fewer(self) -> str:
        return f"fewer than {self.min_group_size} responses"

    def hidden_label(self, reason: str) -> str:
        """What a hidden group's row says: its size below the minimum, or protection."""
        return self.fewer() if reason == SMALL else "hidden to protect respondents"

    def notice(self) -> str:
        """The one-line notice when the rule hides any group of this report ("" if none)."""
        tables = [self.scores, self.role_scores, self.unit_scores]
        tables += [t for t in (self.waves, self.unit_waves) if t is not None]
        reasons = [r for t in tables if "suppressed_reason" in t for r in t["suppressed_reason"]]
        return notice([r for r in reasons if r != SMALL])


def prepare(
    responses: str | Path | pd.DataFrame,
    client: str,
    unit: str | None = None,
    period: str = "",
    framework: Framework | str | Path | None = None,
    min_group_size: int | None = None,
    n_boot: int = 1000,
    seed: int = 0,
    include_comments: bool = False,
    metrics: str | Path | pd.DataFrame | None = None,
    ex: str | Sequence[str] = (),
    cx: str | Sequence[str] = (),
    max_lag: int = 3,
    period_name: str = "",
    previous: str | Path | pd.DataFrame | None = None,
    previous_period: str = "",
    targets: str | Mapping | None = None,
    reading: str | Mapping | None = None,
    withhold: str | Mapping | None = None,
    firm: str | None = None,
    logo: str | Path | None = None,
    headcounts: str | Mapping | None = None,
    fieldwork: str | Mapping | None = None,
) -> ReportContext:
    """Load, filter to the unit (if any) and compute every table the report needs.

    Comments are kept only with ``include_comments`` and only for groups (the unit, or each
    unit of a whole-organization report) that meet the minimum group size.

    The optional evidence inputs: ``metrics`` (a metrics file; ``ex`` and ``cx`` name the
    metrics to link, comma-separated or lists, default engagement and NPS), ``previous`` (the
    responses of an earlier wave, ``previous_period`` its name) and ``targets`` (a mapping, or
    its JSON text). Relative paths are read from the responses file's folder. In a unit report
    the metrics and the previous wave are filtered to the unit. ``reading`` (a mapping, or its
    JSON text) holds the options of :func:`xmkit.io.responses.read_responses`: column roles,
    ``strict``, ``include_test_responses``, ``finished_only``.
    What the disclosure rule
    hides of the unit and its roles beside the other units is hidden here too: ``withhold``
    (:func:`~xmkit.analysis.withholding.unit_withholding` of this unit, or its JSON text) when
    the data holds this unit only, as in a batch; otherwise it is worked out from ``data``.
    ``firm``, ``logo``, ``headcounts`` and ``fieldwork`` are the hand-over details of
    :mod:`xmkit.report.handover` (the last two as mappings or their JSON text).
    """
    if not isinstance(framework, Framework):
        framework = load_framework(framework or None)
    # How to read the file (column roles, row options), as JSON from the notebook.
    options = json.loads(reading) if isinstance(reading, str) and reading else dict(reading or {})
    data = (
        responses
        if isinstance(responses, pd.DataFrame)
        else load_responses(responses, framework, **options)
    )
    min_size = min_group_size or framework.thresholds.min_group_size
    hidden: dict = {}
    if unit:
        if isinstance(withhold, str) and withhold.strip():
            hidden = json.loads(withhold)
        elif isinstance(withhold, Mapping):
            hidden = dict(withhold)
        elif unit in set(data["unit"]):
            hidden = unit_withholding(data, framework, min_size, [unit]).get(unit, {})
        if unit not in set(data["unit"]):
            units = ", ".join(sorted(map(str, data["unit"].unique())))
            raise XmkitError(
                Problem(
                    str(responses) if not isinstance(responses, pd.DataFrame) else "responses",
                    f"no responses for unit {unit!r}",
                    expected=f"one of: {units}",
                )
            )
        data = data[data["unit"] == unit]
    scores = score(data, framework, min_group_size=min_size, n_boot=n_boot, seed=seed)
    role_scores = score(data, framework, by="role", min_group_size=min_size, n_boot=n_boot)
    if hidden.get("unit") or hidden.get("roles"):
        scores = mask(scores, {(lv, i): r for lv, i, r in hidden["unit"]}, ["level", "id"])
        role_scores = mask(
            role_scores,
            {(ro, lv, i): r for ro, lv, i, r in hidden["roles"]},
            ["role", "level", "id"],
        )
    unit_scores = (
        score(data, framework, by="unit", min_group_size=min_size, n_boot=0)
        if not unit
        else scores.iloc[0:0]
    )
    groups = scores if unit else unit_scores
    shown = groups[(groups["level"] == "overall") & ~groups["suppressed"]]
    comments: dict[str, list[str]] = {}
    if include_comments and "comment" in data.columns:
        shown_units = set(shown["unit"]) if not unit else {unit} if len(shown) else set()
        for name, texts in data.groupby("unit", sort=True)["comment"]:
            if name in shown_units:
                given = {str(t).strip() for t in texts if not pd.isna(t) and str(t).strip()}
                # Sorted, not in file order, which could point at a respondent.
                comments[str(name)] = sorted(given, key=str.lower)
    withheld = 0 if unit else int((unit_scores["level"] == "overall").sum() - len(shown))
    base = Path(responses).parent if not isinstance(responses, pd.DataFrame) else Path(".")
    steps = recommend(scores, framework)
    target_table = gap_table = None
    if isinstance(targets, str):
        targets = _json_targets(targets)
    if targets:
        from xmkit.analysis.targets import apply_targets, parse_targets, target_gaps

        target_table = parse_targets(targets, framework)
        gap_table = target_gaps(scores, target_table, framework)
        steps = apply_targets(steps, scores, target_table, framework)
    from xmkit.report.handover import handover_inputs

    extras = handover_inputs(data, unit, firm, logo, headcounts, fieldwork, base, min_size)
    evidence = _evidence_inputs(metrics, ex, cx, max_lag, unit, base, seed, min_size)
    waves = _waves_inputs(previous, data, unit, base, framework, min_size, n_boot, seed, scores)
    return ReportContext(
        client=client,
        unit=unit or None,
        period=period,
        framework=framework,
        min_group_size=min_size,
        respondents=len(data),
        scores=scores,
        role_scores=role_scores[role_scores["level"].isin(["overall", "category"])],
        unit_scores=unit_scores[unit_scores["level"].isin(["overall", "category"])],
        gaps=gaps_from_scores(role_scores, framework),
        steps=steps,
        n_boot=n_boot,
        seed=seed,
        include_comments=include_comments,
        comments=comments,
        comments_withheld=withheld if include_comments else 0,
        max_lag=int(max_lag),
        period_name=period_name or "period",
        previous_period=previous_period,
        targets=target_table,
        target_gaps=gap_table,
        **evidence,
        **waves,
        **extras,
    )


def _names(value: str | Sequence[str], default: str) -> list[str]:
    items = value.split(",") if isinstance(value, str) else list(value)
    return [str(i).strip() for i in items if str(i).strip()] or [default]


def _near(path: str | Path, base: Path) -> Path:
    """A path as given if absolute, else relative to the responses file's folder."""
    path = Path(path)
    return path if path.is_absolute() else base / path


def _json_targets(text: str) -> dict | None:
    if not text.strip():
        return None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise XmkitError(
            Problem("targets", f"not valid JSON: {exc}", expected='{"all": {"level": 3}}')
        ) from None
    return value


def _evidence_inputs(metrics, ex, cx, max_lag, unit, base: Path, seed: int, min_size: int) -> dict:
    """The metrics (filtered to the unit) and, for a whole organization, their linkage.

    Metrics built from respondents (with ``n``) follow the disclosure rule.
    """
    if metrics is None or (isinstance(metrics, str | Path) and not str(metrics).strip()):
        return {}
    from xmkit.analysis.linkage import linkage, metric_name, reliability, strongest_lag
    from xmkit.io.metrics import load_metrics

    table = (
        protect_metrics(metrics, min_size)
        if isinstance(metrics, pd.DataFrame)
        else load_metrics(_near(metrics, base), min_group_size=min_size)
    )
    ex_names = [metric_name(table, n) for n in _names(ex, "engagement")]
    cx_names = [metric_name(table, n) for n in _names(cx, "NPS")]
    out: dict = {"ex": ex_names, "cx": cx_names}
    if unit:
        out["metrics"] = table[table["unit"] == unit].reset_index(drop=True)
        return out
    out["metrics"] = table
    pairs = [(e, c) for e in ex_names for c in cx_names if e != c]
    if not pairs:
        return out
    first_ex, first_cx = pairs[0]
    out["linkage"] = linkage(table, first_ex, first_cx, max_lag=int(max_lag), seed=seed)
    out["linkage_raw"] = linkage(
        table, first_ex, first_cx, max_lag=int(max_lag), seed=seed, remove_period_means=False
    )
    out["reliability"] = [reliability(table, m) for m in (first_ex, first_cx)]
    others = []
    for e, c in pairs[1:]:
        best = strongest_lag(linkage(table, e, c, max_lag=int(max_lag), seed=seed), "within")
        if best is not None:
            others.append(best)
    out["other_links"] = others
    return out


def _waves_inputs(previous, data, unit, base, framework, min_size, n_boot, seed, scores) -> dict:
    """Change since the previous wave for this scope (and per unit for an organization).

    A unit's change is hidden for every item hidden in either wave's units breakdown.
    """
    if previous is None or (isinstance(previous, str | Path) and not str(previous).strip()):
        return {}
    from xmkit.analysis.waves import compare_waves

    before = (
        previous
        if isinstance(previous, pd.DataFrame)
        else load_responses(_near(previous, base), framework)
    )
    hidden_before: dict = {}
    if unit:
        if unit in set(before["unit"]):
            plan = unit_withholding(before, framework, min_size, [unit]).get(unit, {})
            hidden_before = {(lv, i): r for lv, i, r in plan.get("unit", [])}
        before = before[before["unit"] == unit]
    waves = compare_waves(
        data, before, framework, min_group_size=min_size, n_boot=n_boot, seed=seed
    )
    now = scores[scores["suppressed"]]
    hidden_now = {(lv, i): r for lv, i, r in now[["level", "id", "suppressed_reason"]].values}
    out = {"waves": mask(waves, {**hidden_before, **hidden_now}, ["level", "id"])}
    if not unit:
        by_unit = compare_waves(
            data, before, framework, by="unit", min_group_size=min_size, n_boot=n_boot, seed=seed
        )
        out["unit_waves"] = by_unit[by_unit["level"] == "overall"].reset_index(drop=True)
    return out


# ---- view-data building blocks ---------------------------------------------------------------


def _withheld(ctx: ReportContext, title: str) -> dict:
    """A section that shows only the confidentiality notice."""
    return {"title": title, "withheld": _withheld_sentence(ctx)}


def _steps(steps: pd.DataFrame) -> list[dict]:
    return steps.to_dict("records")


def _withheld_sentence(ctx: ReportContext) -> str:
    if ctx.overall["suppressed_reason"] == SMALL:
        return (
            f"{ctx.fewer().capitalize()} were received for {ctx.scope}, so no results are "
            "shown, to protect respondents' confidentiality."
        )
    return (
        f"No results are shown for {ctx.scope}: beside the other units' results they would let "
        "a smaller group's answers be worked out, so they are hidden to protect respondents."
    )


# ---- sections ------------------------------------------------------------------------------
# Each function computes its section's view data (plain values, no markup); the ``section``
# decorator renders it with ``templates/sections/<key>.html.j2``, so ``cover(ctx)`` is HTML
# and ``cover.view(ctx)`` the data.


def cover_facts(ctx: ReportContext) -> list[tuple[str, str]]:
    return [
        ("Client", ctx.client),
        ("Business unit", ctx.scope),
        ("Period", ctx.period or "not stated"),
        ("Respondents", f"{ctx.respondents}"),
        ("Report date", ctx.generated.isoformat()),
        ("Framework", f"{ctx.framework.name} (version {ctx.framework.version})"),
    ]


@section("cover")
def cover(ctx: ReportContext) -> dict:
    return {
        "kicker": "EX/CX alignment maturity report",
        "client": ctx.client,
        "subtitle": ctx.scope,
        "facts": cover_facts(ctx),
        "firm": ctx.firm,
        "logo": ctx.logo,
    }


def summary_sentences(ctx: ReportContext) -> list[str]:
    """The executive summary as plain sentences (text, not yet escaped), each from this
    client's own results: the stage with its interval, what the stage typically means with
    the practices that do not fit it yet, the cap, the strongest and weakest practices and
    categories, agreement, the largest reliable perception gap and, when given, progress,
    targets and the evidence headline."""
    if ctx.suppressed:
        return [_withheld_sentence(ctx)]
    o, fw = ctx.overall, ctx.framework
    stage = next(s for s in fw.stages if s.stage == o["stage"])
    who = ctx.scope if ctx.unit else ctx.client
    prac = ctx.scores[ctx.scores["level"] == "practice"].dropna(subset=["score"])
    cats = ctx.scores[(ctx.scores["level"] == "category")].dropna(subset=["score"])
    sentences = [
        findings.stage_sentence(who, o, len(fw.stages), fw.scale.max),
        findings.typical_stage(stage, prac, fw.scale.min),
    ]
    gate = fw.category(fw.gating.category)
    gate_score = cats.set_index("id")["score"].get(gate.id, float("nan"))
    if o["capped"]:
        sentences.append(
            f"The overall score alone would reach stage {o['stage_uncapped']}, but {gate.name} "
            f"scores {gate_score:.2f}, below {fw.gating.below:.1f}, so the stage stays at "
            f"{fw.gating.max_stage} until it improves."
        )
    elif o["stage"] >= fw.gating.max_stage and gate_score < fw.gating.below:  # the cap is next
        sentences.append(
            f"The stage is not capped, but {gate.name} scores {gate_score:.2f}, below "
            f"{fw.gating.below:.1f}: the stage cannot pass {fw.gating.max_stage} until it "
            "gets there."
        )
    # how far respondents agree comes before the scores it qualifies
    sentences.append(findings.agreement_summary(ctx.scores, fw) or "")
    extremes = [findings.strongest_and_weakest(prac, "practice")]
    extremes.append(findings.strongest_and_weakest(cats, "category"))
    sentences.append(" ".join(e for e in extremes if e))
    gap_sentence = findings.gap_summary(ctx.gaps, fw.thresholds.perception_gap)
    if gap_sentence:
        sentences.append(gap_sentence)
    else:
        sentences.append(
            "No perception gap between roles can be shown: comparing two roles needs "
            + (
                "at least one response in each."
                if ctx.min_group_size == 1
                else f"at least {ctx.min_group_size} responses in each."
            )
        )
    if ctx.waves is not None:
        change = ctx.waves[ctx.waves["level"] == "overall"].iloc[0]
        if not change["suppressed"]:
            before = ctx.previous_period or "the previous assessment"
            sentences.append(findings.progress_summary(change, before))
    if ctx.target_gaps is not None:
        sentences.append(f"Against the targets: {findings.target_headline(ctx.target_gaps)}")
    if ctx.linkage is not None:
        from xmkit.analysis.linkage import strongest_lag

        best = strongest_lag(ctx.linkage, "within")
        if best is not None:
            sentences.append(findings.link_summary(best, ctx.ex[0], ctx.cx[0], ctx.period_name))
    return [s for s in sentences if s]


@section("summary")
def summary(ctx: ReportContext) -> dict:
    return {
        "title": "Executive summary",
        "sentences": summary_sentences(ctx),
        "steps": _steps(ctx.steps.head(3)),
    }


@section("stage")
def stage(ctx: ReportContext) -> dict:
    if ctx.suppressed:
        return _withheld(ctx, "Maturity stage")
    o = ctx.overall
    rows = pd.DataFrame(
        [(s.stage, s.name, f"from {s.min_score:.1f}", s.description) for s in ctx.framework.stages],
        columns=["Stage", "Name", "Overall score", "What it looks like"],
    )
    where = findings.stage_phrase(int(o["stage"]), o.get("stage_low"), o.get("stage_high"))
    caption = (
        f"Maturity stage: {ctx.scope} reaches {where} ({o['stage_name']}, given the 95% "
        f"interval of the overall score, {num(o['ci_low'])} to {num(o['ci_high'])}); the "
        f"marker shows the overall score of {o['score']:.2f}"
        + (", capped at this stage while the gating category is weak." if o["capped"] else ".")
    )
    return {
        "title": "Maturity stage",
        "track": stage_track(o["score"], int(o["stage"]), ctx.framework, bool(o["capped"])),
        "caption": caption,
        "table": views.table(rows),
    }


def stage_track(score: float, stage: int, framework: Framework, capped: bool = False) -> dict:
    """The stages as a track drawn in HTML: reached stages filled, the score marked above.

    The marker sits inside the reported stage's own segment, at the score's place between
    that stage's threshold and the next one, so it can never point at another stage; a
    capped score (above the cap's range) is drawn at the segment's end and labelled capped.
    """
    high = framework.scale.max
    bounds = [s.min_score for s in framework.stages] + [high]
    segments = []
    for s, lo, hi in zip(framework.stages, bounds[:-1], bounds[1:], strict=True):
        segment = {"stage": s.stage, "name": s.name, "grow": f"{hi - lo:.3f}", "left": None}
        segment["reached"] = s.stage <= stage
        if s.stage == stage:
            within = min(max((score - lo) / (hi - lo), 0.0), 1.0)
            # kept off the segment's edges so the pointer's whole width stays inside it
            segment["left"] = f"{5 + within * 90:.1f}"
        segments.append(segment)
    return {
        "stage": stage,
        "stages": len(framework.stages),
        "score": f"{score:.2f}",
        "capped": capped,
        "segments": segments,
    }


@section("categories")
def categories(ctx: ReportContext) -> dict:
    if ctx.suppressed:
        return _withheld(ctx, "Category scores")
    cats = ctx.scores[ctx.scores["level"].isin(["overall", "category"])]
    fig = charts.category_chart(ctx.scores, ctx.framework)
    table = pd.DataFrame(
        {
            "Category": cats["name"],
            f"Score ({ctx.framework.scale.range_text})": cats["score"].map(num),
            "Index (0-100)": cats["index"].map(lambda v: f"{v:.0f}"),
            "95% interval": [
                f"{num(lo)} to {num(hi)}"
                for lo, hi in zip(cats["ci_low"], cats["ci_high"], strict=True)
            ],
            "Respondents": cats["n"],
        }
    )
    caption = (
        "Category scores with 95% confidence intervals; the dotted line marks "
        f"{ctx.framework.gating.below:.1f}, the level {ctx.framework.category(ctx.framework.gating.category).name} "  # noqa: E501
        "must reach before the stage can pass "
        f"{ctx.framework.gating.max_stage}."
    )
    return {
        "title": "Category scores",
        "chart": views.figure(fig, caption, "Category scores"),
        "table": views.table(table),
    }


def _score_colour(score: float, framework: Framework) -> tuple[str, str]:
    """Background and text colour of a score on the charts' colour-blind-safe score ramp."""
    return palette.score_colour(score, framework.scale.min, framework.scale.max)


def practice_grid(scores: pd.DataFrame, framework: Framework) -> dict:
    """Every practice by category as tiles coloured by score, drawn in HTML.

    A table rather than a chart image: its text stays readable at phone width (an image
    scales its labels down), is read out by screen readers and found by PDF text search, and
    it costs nothing to draw, where a seaborn heatmap was a fifth of a batch report's time.
    """
    practice_scores = scores[scores["level"] == "practice"].set_index("id")["score"]
    rows = []
    for cat in framework.categories:
        cells = []
        for p in cat.practices:
            value = practice_scores.get(p.id, float("nan"))
            if pd.isna(value):
                cells.append({"name": p.name, "score": None})
                continue
            background, ink = _score_colour(value, framework)
            cells.append(
                {
                    "name": p.name,
                    "score": f"{value:.2f}",
                    "level": int(value),
                    "background": background,
                    "ink": ink,
                }
            )
        rows.append({"name": cat.name, "color": cat.color, "cells": cells})
    return {"rows": rows, "low": framework.scale.min, "high": framework.scale.max}


@section("practices")
def practices(ctx: ReportContext) -> dict:
    if ctx.suppressed:
        return _withheld(ctx, "Practices")
    caption = (
        "Every practice by category: the colour shows the level, the score's whole part "
        "(1 absent to 5 leading), darker for higher."
    )
    return {
        "title": "Practices",
        "grid": practice_grid(ctx.scores, ctx.framework),
        "caption": caption,
    }


def unit_order(ctx: ReportContext) -> list[str]:
    """The one order of the business units in a report: shown units by overall score, highest
    first (ties by name), then the hidden ones by name. The heatmap, the units table and the
    progress table all follow it, so a unit is found at the same place in each."""
    overall = ctx.unit_scores[ctx.unit_scores["level"] == "overall"]
    shown = overall[~overall["suppressed"]].sort_values(
        ["score", "unit"], ascending=[False, True], kind="stable"
    )
    hidden = overall[overall["suppressed"]].sort_values("unit", kind="stable")
    return [*shown["unit"], *hidden["unit"]]


@section("units")
def units(ctx: ReportContext) -> dict | None:
    """Business units at a glance (whole-organization reports only)."""
    if ctx.unit or ctx.unit_scores.empty:
        return None
    order = unit_order(ctx)
    overall = ctx.unit_scores[ctx.unit_scores["level"] == "overall"].set_index("unit")
    overall = overall.reindex(order).reset_index()
    chart = None
    if (~overall["suppressed"]).any():
        fig = charts.unit_heatmap(
            ctx.unit_scores[~ctx.unit_scores["suppressed"]], ctx.framework, order=order
        )
        chart = views.figure(
            fig, "Overall and category scores of each business unit.", "Business unit heatmap"
        )
    table = pd.DataFrame(
        {
            "Business unit": overall["unit"],
            "Respondents": overall["n"],
            "Overall": [
                ctx.hidden_label(r) if s else num(v)
                for v, s, r in zip(
                    overall["score"],
                    overall["suppressed"],
                    overall["suppressed_reason"],
                    strict=True,
                )
            ],
            "Stage": [
                "" if s else f"{st} {nm}" + (" (capped)" if not pd.isna(c) and c else "")
                for st, nm, c, s in zip(
                    overall["stage"],
                    overall["stage_name"],
                    overall["capped"],
                    overall["suppressed"],
                    strict=True,
                )
            ],
        }
    )
    return {
        "title": "Business units",
        "chart": chart,
        "table": views.table(table, hidden=table["Overall"].where(overall["suppressed"], "")),
        "hidden": int(overall["suppressed"].sum()),
        "notice": ctx.notice() if overall["suppressed"].any() else "",
    }


@section("roles")
def roles(ctx: ReportContext) -> dict:
    title = "Perception gaps between roles"
    if ctx.suppressed:
        return _withheld(ctx, title)
    cats = ctx.role_scores[ctx.role_scores["level"] == "category"]
    overall = ctx.role_scores[ctx.role_scores["level"] == "overall"].set_index("role")
    table = cats.pivot_table(
        index="role", columns="name", values="score", aggfunc="first", dropna=False
    )
    table = table.reindex(columns=[c.name for c in ctx.framework.categories]).map(num)
    suppressed = overall["suppressed"].reindex(table.index).fillna(True).astype(bool)
    reasons = overall["suppressed_reason"].reindex(table.index).fillna(SMALL)
    # a hidden role is one line: its name, then the reason once across the other columns
    hidden = [ctx.hidden_label(r) if s else "" for s, r in zip(suppressed, reasons, strict=True)]
    table.loc[suppressed[suppressed].index] = ""
    table.insert(
        0,
        "Respondents",
        [
            "" if s else str(n)
            for n, s in zip(overall["n"].reindex(table.index), suppressed, strict=True)
        ],
    )
    table = table.reset_index().rename(columns={"role": "Role"})
    chart = None
    if (~cats["suppressed"]).any():
        fig = charts.role_chart(cats[~cats["suppressed"]], ctx.framework)
        chart = views.figure(
            fig,
            f"Category scores as each role sees them (roles with {ctx.fewer()} are not shown).",
            "Scores by role",
        )
    flagged = ctx.gaps[ctx.gaps["flagged"].astype(bool)]
    threshold = ctx.framework.thresholds.perception_gap
    if len(flagged):
        flagged = flagged.assign(size=flagged["gap"].abs()).sort_values("size", ascending=False)
    none = (
        "No perception gap can be shown: no two roles each have enough responses (at least "
        f"{ctx.min_group_size})."
    )
    return {
        "title": title,
        "chart": chart,
        "table": views.table(table, hidden=hidden),
        "notice": ctx.notice() if suppressed.any() else "",
        "threshold": threshold,
        "flagged": [
            {"category": r["category"], "text": findings.gap_item(r)} for _, r in flagged.iterrows()
        ],
        "summary": findings.gap_summary(ctx.gaps, threshold) or none,
    }


@section("agreement")
def agreement(ctx: ReportContext) -> dict:
    if ctx.suppressed:
        return _withheld(ctx, "Agreement")
    view = findings.agreement_view(ctx.scores, ctx.unit_scores, ctx.framework)
    icc = None
    if view["icc_sentence"]:
        table = pd.DataFrame(view["icc"], columns=["Category", "ICC(1)", "ICC(2)"])
        icc = views.table(table.assign(**{c: table[c].map(num) for c in ("ICC(1)", "ICC(2)")}))
    return {
        "title": "Agreement",
        "rwg_sentence": view["rwg_sentence"],
        "low": [{"name": n, "rwg": f"{v:.2f}"} for n, v in view["low_rwg"]],
        "alpha": [{"name": n, "text": t} for n, t in view["alpha"]],
        "icc_sentence": view["icc_sentence"],
        "icc": icc,
    }


_lag_text = findings.lag_text
_ci = findings.interval_text


EVIDENCE_TITLE = "Evidence: does EX lead CX here?"


@section("evidence")
def evidence(ctx: ReportContext) -> dict | None:
    """Does the EX metric lead the CX metric across this client's units? (None without metrics)."""
    if ctx.metrics is None:
        return None
    from xmkit.analysis.linkage import strongest_lag
    from xmkit.report import evidence_charts

    ex, cx, per = ctx.ex[0], ctx.cx[0], ctx.period_name
    view = {"title": EVIDENCE_TITLE, "ex": ex, "cx": cx, "per": per}
    if ctx.unit:
        return view | _unit_evidence(ctx, ex, cx)
    result = ctx.linkage
    if result is None:
        return view | {"kind": "same"}
    best = strongest_lag(result, "within")
    if best is None:
        return view | {"kind": "few"}
    lag = int(best["lag"])
    head = findings.link_sentence(best, ex, cx, per)
    note = findings.reliability_note(ctx.reliability)
    table = result.sort_values(["lag", "kind"])
    caveats = [
        "Correlation is not causation: a third factor (a new manager, staffing, a "
        "reorganization) can move both metrics, with different delays.",
        f"Few units give wide intervals: with {best['n_units']} units an interval that includes "
        "0 means no evidence either way, not evidence of no link.",
        f"Several lags were tested: the headline interval is widened for the "
        f"{int(best['n_lags'])} lags (Šidák), while the table shows each lag's own 95% "
        "interval, one of which can exclude 0 by chance alone.",
        f"Changes shared by all units in a {per} (a trend, a season, a company-wide event) are "
        "removed before correlating, so they do not count as a link. "
        + (
            findings.raw_link_sentence(
                strongest_lag(ctx.linkage_raw, "within") if ctx.linkage_raw is not None else None,
                ex,
                cx,
                per,
            )
        ),
        "Between units compares stronger and weaker units; within units asks whether a unit's "
        "own changes in EX are followed by changes in CX. Only the second dates a lead, and "
        "neither implies the other.",
    ]
    return view | {
        "kind": "linked",
        "headline": head,
        "note": note,
        "charts": [
            views.figure(
                evidence_charts.lag_chart(result, per),
                f"Correlation of {ex} with {cx} at each lag, between and within units (changes "
                "common to all units removed), with 95% intervals per lag; an interval crossing 0 "
                "is compatible with no link.",
                "Correlation by lag",
            ),
            views.figure(
                evidence_charts.linkage_scatter(ctx.metrics, ex, cx, lag, "within", per),
                f"Within units: {ex} against {cx} {_lag_text(lag, per)}, each unit centred on "
                "its own averages (the data of the within-unit correlation).",
                "EX against CX at the strongest lag",
            ),
        ],
        "table": views.table(
            pd.DataFrame(
                {
                    f"{cx} measured": [_lag_text(int(v), per) for v in table["lag"]],
                    "Reading": [
                        "within units" if k == "within" else "between units" for k in table["kind"]
                    ],
                    "r": table["r"].map(num),
                    "95% interval": [
                        _ci(lo, hi)
                        for lo, hi in zip(table["ci_low"], table["ci_high"], strict=True)
                    ],
                    "Units": table["n_units"],
                    "Pairs": table["n_pairs"],
                }
            )
        ),
        "others": [
            {
                "ex": other["ex"],
                "cx": other["cx"],
                "lag": _lag_text(int(other["lag"]), per),
                "r": f"{other['r']:.2f}",
                "ci": _ci(other["ci_low_adj"], other["ci_high_adj"]),
            }
            for other in ctx.other_links
        ],
        "caveats": caveats,
    }


def _unit_evidence(ctx: ReportContext, ex: str, cx: str) -> dict:
    """One unit: its own series, since a correlation across units needs several units."""
    view = {"kind": "unit", "scope": ctx.scope, "table": None}
    own = ctx.metrics[ctx.metrics["metric"].isin([ex, cx])]
    if own.empty:
        return view
    order = own.drop_duplicates("period").sort_values("t" if "t" in own else "period")["period"]
    if {"ci_low", "ci_high"} <= set(own.columns):  # NPS from answers: with its interval
        own = own.assign(
            value=[
                findings.nps_text(v, lo, hi)
                for v, lo, hi in zip(own["value"], own["ci_low"], own["ci_high"], strict=True)
            ]
        )
    wide = own.pivot_table(index="period", columns="metric", values="value", aggfunc="first")
    wide = wide.reindex(index=order, columns=[c for c in (ex, cx) if c in set(own["metric"])])
    wide = wide.map(lambda v: "" if pd.isna(v) else v if isinstance(v, str) else f"{v:g}")
    wide = wide.reset_index()
    return view | {
        "table": views.table(wide.rename(columns={"period": ctx.period_name.capitalize()}))
    }


def progress_title(ctx: ReportContext) -> str:
    return f"Progress since {ctx.previous_period or 'the previous assessment'}"


@section("progress")
def progress(ctx: ReportContext) -> dict | None:
    """Change since the previous wave, with intervals (None without a previous wave)."""
    if ctx.waves is None:
        return None
    from xmkit.report import evidence_charts

    before = ctx.previous_period or "the previous assessment"
    view = {
        "title": progress_title(ctx),
        "before": before,
        "scope": ctx.scope,
        "fewer": ctx.fewer(),
        "headline": "",
    }
    waves = ctx.waves
    overall = waves[waves["level"] == "overall"].iloc[0]
    if overall["suppressed"]:
        return view
    view["headline"] = findings.change_sentence(overall, ctx.unit or ctx.client, before)
    view["design"] = findings.design_note(overall["design"], int(overall["n_matched"]))
    view["chart"] = views.figure(
        evidence_charts.wave_chart(waves, ctx.framework),
        f"Change of the overall and category scores since {before}, with 95% intervals.",
        "Change since the previous assessment",
    )
    rows = waves[waves["level"].isin(["overall", "category", "practice"]) & ~waves["suppressed"]]
    view["table"] = views.table(
        pd.DataFrame(
            {
                "Item": [
                    {"overall": "Overall score", "category": f"{n} (category)"}.get(lv, n)
                    for n, lv in zip(rows["name"], rows["level"], strict=True)
                ],
                before: rows["score_before"].map(num),
                "Now": rows["score_now"].map(num),
                "Change": [
                    views.difference_text(now, then)
                    for now, then in zip(rows["score_now"], rows["score_before"], strict=True)
                ],
                "95% interval": [
                    _ci(lo, hi) for lo, hi in zip(rows["ci_low"], rows["ci_high"], strict=True)
                ],
                "Reading": [findings.change_reading(r) for _, r in rows.iterrows()],
            }
        )
    )
    view["units"], view["hidden"] = None, []
    if ctx.unit_waves is not None and len(ctx.unit_waves):
        units = ctx.unit_waves
        place = {u: i for i, u in enumerate(unit_order(ctx))}  # units new or gone: last
        rank = units["unit"].map(place).fillna(len(place))
        units = units.assign(rank=rank).sort_values(["rank", "unit"], kind="stable")
        shown = units[~units["suppressed"]]
        if len(shown):
            view["units"] = views.table(
                pd.DataFrame(
                    {
                        "Business unit": shown["unit"],
                        before: shown["score_before"].map(num),
                        "Now": shown["score_now"].map(num),
                        "Change": [
                            views.difference_text(now, then)
                            for now, then in zip(
                                shown["score_now"], shown["score_before"], strict=True
                            )
                        ],
                        "95% interval": [
                            _ci(lo, hi)
                            for lo, hi in zip(shown["ci_low"], shown["ci_high"], strict=True)
                        ],
                        "Reading": [findings.change_reading(r) for _, r in shown.iterrows()],
                    }
                )
            )
        view["hidden"] = [str(u) for u in units[units["suppressed"]]["unit"]]
    return view


@section("targets")
def targets(ctx: ReportContext) -> dict | None:
    """Each practice's gap to its target (None without targets)."""
    if ctx.target_gaps is None:
        return None
    if ctx.suppressed:
        return _withheld(ctx, "Targets")
    gaps = ctx.target_gaps
    kinds = ctx.targets.set_index("practice_id")["kind"] if ctx.targets is not None else pd.Series()
    table = gaps  # in framework order, as every practice list of the report
    return {
        "title": "Targets",
        "headline": findings.target_headline(gaps),
        "table": views.table(
            pd.DataFrame(
                {
                    "Practice": table["practice"],
                    "Category": [ctx.framework.category(c).name for c in table["category_id"]],
                    "Score": table["score"].map(num),
                    "Target": [
                        ""
                        if pd.isna(t)
                        else (f"level {t:.0f}" if kinds.get(p) == "level" else f"{t:.2f}")
                        for t, p in zip(table["target_score"], table["practice_id"], strict=True)
                    ],
                    "Gap": [
                        views.difference_text(t, v)
                        for t, v in zip(table["target_score"], table["score"], strict=True)
                    ],
                    "Status": table["status"].map(findings.target_label),
                }
            )
        ),
    }


@section("next_steps")
def next_steps(ctx: ReportContext) -> dict:
    title = "Recommended next steps and roadmap"
    if ctx.suppressed:
        return _withheld(ctx, title)
    roadmap = ctx.framework.roadmap
    horizons = []
    for horizon in roadmap.horizons if not ctx.steps.empty else ():
        steps = ctx.steps[ctx.steps["horizon"] == horizon.name]
        if len(steps):
            horizons.append(
                {"name": horizon.name, "start": steps["priority"].min(), "steps": _steps(steps)}
            )
    order = (
        "Practices furthest below their targets first (see Targets), then practices without a "
        "target; practices already at target are left out. Foundations"
        if ctx.targets is not None
        else "Weakest practices first; foundations"
    )
    practices = ctx.scores[ctx.scores["level"] == "practice"].dropna(subset=["score"])
    waiting = practices[
        (practices["category_id"] != roadmap.later_category)
        & (practices["score"] < roadmap.later_until_level)
    ]
    return {
        "title": title,
        "targets": ctx.targets is not None,
        "empty": ctx.steps.empty,
        "waiting": findings.name_list(waiting["name"].tolist()),
        "capped": not ctx.suppressed and bool(ctx.overall["capped"]),
        "deferred": not ctx.steps.empty and bool(ctx.steps["deferred"].any()),
        "horizons": horizons,
        "order": order,
        "later": ctx.framework.category(roadmap.later_category).name,
        "until": roadmap.later_until_level,
        "roadmap": roadmap_table(ctx.steps, ctx.framework),
    }


@section("comments")
def comments(ctx: ReportContext) -> dict | None:
    """Free-text comments, only when asked for and only of groups at the minimum size.

    Shown without respondent ids, roles or answers, in alphabetical order (not file order),
    each group under its business unit; groups below the minimum size show nothing.
    """
    if not ctx.include_comments:
        return None
    return {
        "title": "Comments",
        "size": ctx.min_group_size,
        "groups": [(group, texts) for group, texts in ctx.comments.items() if texts],
        "none_shown": "No comments to show."
        if not ctx.suppressed
        else f"{ctx.fewer().capitalize()}: no comments are shown.",
        "withheld_units": ctx.comments_withheld,
        "fewer": ctx.fewer(),
    }


@section("questions")
def questions(ctx: ReportContext) -> dict:
    """Appendix: every question with its score, answers, unanswered share and level.

    The unanswered share is the part of the group's respondents without a scored answer
    ("don't know", not applicable or blank). A question answered by fewer than the minimum
    group size shows no score, as a group that small would not.
    """
    title = "Appendix: the questions behind the scores"
    if ctx.suppressed:
        return _withheld(ctx, title)
    rows = ctx.scores[ctx.scores["level"] == "question"].set_index("id")
    scale = ctx.framework.scale
    table = []
    for cat in ctx.framework.categories:
        for p in cat.practices:
            for q in p.questions:
                row = rows.loc[q.id] if q.id in rows.index else None
                n = 0 if row is None or pd.isna(row["n"]) else int(row["n"])
                shown = n >= ctx.min_group_size and row is not None and pd.notna(row["score"])
                level = (
                    int(min(scale.max, max(scale.min, math.floor(row["score"] + 1e-9))))
                    if shown
                    else 0
                )
                table.append(
                    {
                        "Question": q.text,
                        "Practice": p.name,
                        "Score": num(row["score"]) if shown else ctx.fewer(),
                        "Answers": n,
                        "Unanswered": f"{1 - n / ctx.respondents:.0%}" if ctx.respondents else "",
                        "Level": f"{level} {scale.labels.get(level, '')}".strip() if shown else "",
                    }
                )
    caption = (
        f"Every question of the framework ({ctx.respondents} respondents); Unanswered is "
        "the share who answered don't know, not applicable or nothing; the level is the "
        "whole part of the score."
    )
    return {"title": title, "caption": caption, "table": views.table(pd.DataFrame(table))}


@section("method")
def method(ctx: ReportContext) -> dict:
    fw = ctx.framework
    labels = ", ".join(f"{k} {v}" for k, v in fw.scale.labels.items())
    items = [
        f"Scale: each question is answered on {fw.scale.min}-{fw.scale.max} ({labels}); blank "
        'and "don\'t know" answers count as missing, never as zero.',
        "Question score = mean of its answers; practice = mean of its questions; category = "
        "mean of its practices; overall = mean of the categories"
        + (" (weighted)" if len({c.weight for c in fw.categories}) > 1 else "")
        + f"; index = (score - {fw.scale.min}) / {fw.scale.max - fw.scale.min} x 100.",
        f"Stage: the highest stage whose threshold the overall score reaches, capped at stage "
        f"{fw.gating.max_stage} while {fw.category(fw.gating.category).name} is below "
        f"{fw.gating.below}.",
        "Confidence intervals: 95% Student-t intervals (n - 1 degrees of freedom) on the "
        "linearized scores, which keep 95% coverage from 5 respondents; the stage is given "
        "with every stage its interval spans, and a target is met, not met or too close to "
        "call by the practice's interval.",
        f"Agreement: r_wg(J) (James, Demaree and Wolf, 1984) against a uniform null (answers "
        f"spread evenly over the scale); below {fw.thresholds.rwg_low} reads as no shared view. "
        "Consistency: Cronbach's alpha per category with Feldt's interval. Unit averages: "
        "ICC(1), the share of answer variance due to the unit, and ICC(2), the reliability of "
        f"the unit averages, from {findings.ICC2_RELIABLE} reads as reliable (Bliese, 2000).",
        f"Perception gaps: difference of category scores between two roles, highlighted from "
        f"{fw.thresholds.perception_gap} points when its interval excludes 0 after a Holm "
        "adjustment for the number of role pairs and categories compared.",
        f"Confidentiality: no result is shown for a group with fewer than "
        f"{ctx.min_group_size} responses, nor for a group whose result would let a hidden "
        "group's answers be worked out by subtraction (the next-smallest group is hidden too), "
        "and no individual answer appears in this report.",
        f"Framework: {fw.name}, version {fw.version} ({len(fw.question_ids)} questions).",
    ]
    if fw.reverse_ids:
        items.insert(
            1,
            f"Reverse-coded questions ({', '.join(fw.reverse_ids)}): an answer a is "
            f"scored {fw.scale.min} + {fw.scale.max} - a.",
        )
    return {"title": "Method", "items": items}


@section("benchmark")
def benchmark(
    ctx: ReportContext, industry: str | None = None, store: str | None = None, minimum: int = 5
) -> dict | None:
    """Percentile ranks against the firm's benchmark store (docs/benchmarks.md); no section
    without an industry. Only counts and the client's own ranks are shown."""
    if not industry:
        return None
    title = "Benchmark"
    if ctx.suppressed:
        return _withheld(ctx, title)
    from xmkit.benchmark.chart import percentile_chart
    from xmkit.benchmark.compare import client_view

    view = client_view(ctx.client, ctx.scores, ctx.framework, industry, store or "", minimum)
    who = ctx.unit or ctx.client
    top = view[view["level"] == "overall"].set_index("scope")
    size = {s: int(top.loc[s, "organizations"]) for s in ("industry", "all")}
    base = {"title": title, "industry": industry, "size": size, "minimum": minimum}
    if not top["shown"].any():
        return base | {"shown": False}
    periods = top[top["organizations"] > 0]
    labels = {"industry": f"{industry} ({size['industry']})", "all": f"All ({size['all']})"}
    rank = view.set_index(["id", "scope"])["percentile"]
    items = view.drop_duplicates("id")
    rows = pd.DataFrame(
        {
            "Item": items["name"],
            "Score": items["score"].map(num),
            **{
                f"Percentile, {labels[s]}": [
                    f"fewer than {minimum}" if pd.isna(v) else f"{v:.0f}"
                    for v in rank.xs(s, level="scope")[items["id"]]
                ]
                for s in ("industry", "all")
            },
        }
    )
    return base | {
        "shown": True,
        "who": who,
        "client": ctx.client,
        "span": f"{periods['first_period'].min()} to {periods['last_period'].max()}",
        "table": views.table(rows, "benchmark"),
        "chart": views.figure(
            percentile_chart(view, labels),
            f"Percentile ranks of {who} in {industry} and among all organizations.",
            "Dot chart of percentile ranks per category against the benchmark quartiles.",
        ),
    }


def show(*sections: str) -> None:
    """Display sections in the notebook as one output (the HTML export collects outputs).

    The templates show every section from one cell: each cell costs a kernel round trip,
    which adds up to a third of a report's time in a batch.
    """
    from IPython.display import HTML, display

    if page := "".join(sections):
        display(HTML(page))
