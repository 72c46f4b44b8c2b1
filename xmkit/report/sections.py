"""The content of a client report: numbers, sentences and charts, as escaped HTML sections.

The report notebook (``templates/report.ipynb``) stays thin: it calls :func:`prepare` once
and shows each section. Every piece of text that comes from an input (client, unit, role,
framework wording) is HTML-escaped here; respondent-level answers never leave
:class:`ReportContext`, which only the kernel sees.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import io
import json
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import matplotlib
import pandas as pd

from xmkit.analysis.recommend import recommend
from xmkit.analysis.score import gaps_from_scores, score
from xmkit.errors import Problem, XmkitError
from xmkit.framework import Framework, load_framework
from xmkit.io.responses import load_responses
from xmkit.report import charts

SVG_RC = {"svg.fonttype": "none", "svg.hashsalt": "xmkit"}
INK = "#1f2a35"  # the page's text colour (report.css --ink)


def esc(value: object) -> str:
    """HTML-escape any value (quotes too), so input text is always shown as text."""
    return html.escape(str(value), quote=True)


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

    @property
    def overall(self) -> pd.Series:
        return self.scores[self.scores["level"] == "overall"].iloc[0]

    @property
    def suppressed(self) -> bool:
        return bool(self.overall["suppressed"])

    @property
    def scope(self) -> str:
        return self.unit if self.unit else "All business units"

    def fewer(self) -> str:
        return f"fewer than {self.min_group_size} responses"


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
) -> ReportContext:
    """Load, filter to the unit (if any) and compute every table the report needs.

    Comments are kept only with ``include_comments`` and only for groups (the unit, or each
    unit of a whole-organization report) that meet the minimum group size.

    The optional evidence inputs: ``metrics`` (a metrics file; ``ex`` and ``cx`` name the
    metrics to link, comma-separated or lists, default engagement and NPS), ``previous`` (the
    responses of an earlier wave, ``previous_period`` its name) and ``targets`` (a mapping, or
    its JSON text). Relative paths are read from the responses file's folder. In a unit report
    the metrics and the previous wave are filtered to the unit.
    """
    if not isinstance(framework, Framework):
        framework = load_framework(framework or None)
    data = (
        responses if isinstance(responses, pd.DataFrame) else load_responses(responses, framework)
    )
    min_size = min_group_size or framework.thresholds.min_group_size
    if unit:
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
    role_scores = score(data, framework, by="role", min_group_size=min_size, n_boot=0)
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
    evidence = _evidence_inputs(metrics, ex, cx, max_lag, unit, base, seed)
    waves = _waves_inputs(previous, data, unit, base, framework, min_size, n_boot, seed)
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


def _evidence_inputs(metrics, ex, cx, max_lag, unit, base: Path, seed: int) -> dict:
    """The metrics (filtered to the unit) and, for a whole organization, their linkage."""
    if metrics is None or (isinstance(metrics, str | Path) and not str(metrics).strip()):
        return {}
    from xmkit.analysis.linkage import _metric_name, linkage, strongest_lag
    from xmkit.io.metrics import load_metrics

    table = metrics if isinstance(metrics, pd.DataFrame) else load_metrics(_near(metrics, base))
    ex_names = [_metric_name(table, n) for n in _names(ex, "engagement")]
    cx_names = [_metric_name(table, n) for n in _names(cx, "NPS")]
    out: dict = {"ex": ex_names, "cx": cx_names}
    if unit:
        out["metrics"] = table[table["unit"] == unit].reset_index(drop=True)
        return out
    out["metrics"] = table
    pairs = [(e, c) for e in ex_names for c in cx_names if e != c]
    if not pairs:
        return out
    out["linkage"] = linkage(table, pairs[0][0], pairs[0][1], max_lag=int(max_lag), seed=seed)
    others = []
    for e, c in pairs[1:]:
        best = strongest_lag(linkage(table, e, c, max_lag=int(max_lag), seed=seed), "within")
        if best is not None:
            others.append(best)
    out["other_links"] = others
    return out


def _waves_inputs(previous, data, unit, base, framework, min_size, n_boot, seed) -> dict:
    """Change since the previous wave for this scope (and per unit for an organization)."""
    if previous is None or (isinstance(previous, str | Path) and not str(previous).strip()):
        return {}
    from xmkit.analysis.waves import compare_waves

    before = (
        previous
        if isinstance(previous, pd.DataFrame)
        else load_responses(_near(previous, base), framework)
    )
    if unit:
        before = before[before["unit"] == unit]
    out = {
        "waves": compare_waves(
            data, before, framework, min_group_size=min_size, n_boot=n_boot, seed=seed
        )
    }
    if not unit:
        by_unit = compare_waves(
            data, before, framework, by="unit", min_group_size=min_size, n_boot=n_boot, seed=seed
        )
        out["unit_waves"] = by_unit[by_unit["level"] == "overall"].reset_index(drop=True)
    return out


# ---- HTML building blocks ------------------------------------------------------------------


def _section(key: str, title: str, body: str) -> str:
    return f'<section class="section-{key}"><h2>{esc(title)}</h2>{body}</section>'


def _table(frame: pd.DataFrame, classes: str = "") -> str:
    head = "".join(f"<th>{esc(c)}</th>" for c in frame.columns)
    rows = "".join(
        "<tr>" + "".join(f"<td>{esc(v)}</td>" for v in row) + "</tr>"
        for row in frame.itertuples(index=False)
    )
    return (
        f'<div class="table-wrap"><table class="{esc(classes)}"><thead><tr>{head}</tr></thead>'
        f"<tbody>{rows}</tbody></table></div>"
    )


def figure(fig, caption: str, alt: str) -> str:
    """A chart as an embedded SVG image with its caption, kept together on one printed page.

    SVG keeps charts sharp in print and on any screen, is smaller and quicker to make than a
    PNG of the same quality; text stays text (selectable, found by PDF text search). A fixed
    hash salt and no date make the same chart the same bytes in every run.
    """
    buffer = io.BytesIO()
    with warnings.catch_warnings(), matplotlib.rc_context(SVG_RC):
        warnings.simplefilter("ignore")
        fig.savefig(buffer, format="svg", metadata={"Date": None})
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    return (
        f'<figure class="chart"><img src="data:image/svg+xml;base64,{data}" alt="{esc(alt)}">'
        f"<figcaption>{esc(caption)}</figcaption></figure>"
    )


def _num(value: float) -> str:
    return "" if pd.isna(value) else f"{value:.2f}"


def _withheld(ctx: ReportContext) -> str:
    return (
        f'<p class="withheld">{esc(ctx.fewer().capitalize())} were received for '
        f"{esc(ctx.scope)}, so no results are shown, to protect respondents' confidentiality."
        "</p>"
    )


# ---- sections ------------------------------------------------------------------------------


def cover(ctx: ReportContext) -> str:
    facts = [
        ("Client", ctx.client),
        ("Business unit", ctx.scope),
        ("Period", ctx.period or "not stated"),
        ("Respondents", f"{ctx.respondents}"),
        ("Report date", ctx.generated.isoformat()),
        ("Framework", f"{ctx.framework.name} (version {ctx.framework.version})"),
    ]
    rows = "".join(f"<tr><th>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in facts)
    return (
        '<header class="cover"><p class="kicker">EX/CX alignment maturity report</p>'
        f'<h1>{esc(ctx.client)}</h1><p class="subtitle">{esc(ctx.scope)}</p>'
        f'<table class="facts">{rows}</table></header>'
    )


def summary_sentences(ctx: ReportContext) -> list[str]:
    """The executive summary as plain sentences (text, not yet escaped)."""
    if ctx.suppressed:
        return [
            f"{ctx.fewer().capitalize()} were received, so no results are shown to protect "
            "respondents' confidentiality."
        ]
    o, fw = ctx.overall, ctx.framework
    stage = next(s for s in fw.stages if s.stage == o["stage"])
    sentences = [
        f"{ctx.scope if ctx.unit else ctx.client} is at stage {o['stage']} of "
        f"{len(fw.stages)}, {stage.name}, with an overall score of {o['score']:.2f} out of "
        f"{fw.scale.max}. {stage.description}"
    ]
    cats = ctx.scores[(ctx.scores["level"] == "category")].dropna(subset=["score"])
    if o["capped"]:
        gate = fw.category(fw.gating.category)
        gate_score = cats.set_index("id")["score"].get(gate.id)
        sentences.append(
            f"The overall score alone would reach stage {o['stage_uncapped']}, but {gate.name} "
            f"scores {gate_score:.2f}, below {fw.gating.below:.1f}, so the stage stays at "
            f"{fw.gating.max_stage} until it improves."
        )
    if len(cats):
        best, worst = cats.loc[cats["score"].idxmax()], cats.loc[cats["score"].idxmin()]
        sentences.append(
            f"The strongest category is {best['name']} ({best['score']:.2f}); the weakest is "
            f"{worst['name']} ({worst['score']:.2f})."
        )
    shown = ctx.gaps[~ctx.gaps["suppressed"]]
    if len(shown):
        top = shown.loc[shown["gap"].abs().idxmax()]
        higher, lower = (
            (top["role_a"], top["role_b"]) if top["gap"] > 0 else (top["role_b"], top["role_a"])
        )
        verdict = "a gap worth discussing" if top["flagged"] else "below the threshold"
        sentences.append(
            f"The largest perception gap: respondents in the {higher} role rate {top['category']} "
            f"{abs(top['gap']):.2f} points higher than {lower} ({verdict} of "
            f"{fw.thresholds.perception_gap})."
        )
    else:
        sentences.append(
            f"No perception gap between roles can be shown: comparing roles needs at least "
            f"{ctx.min_group_size} responses in each."
        )
    return sentences


def summary(ctx: ReportContext) -> str:
    body = "".join(f"<p>{esc(s)}</p>" for s in summary_sentences(ctx))
    first = ctx.steps.head(3)
    if len(first):
        items = "".join(
            f"<li><strong>{esc(s.practice)}</strong> ({esc(s.category)}, level "
            f"{s.current_level} to {s.target_level}): {esc(s.action)}</li>"
            for s in first.itertuples()
        )
        body += f"<p>The first three next steps:</p><ol>{items}</ol>"
    return _section("summary", "Executive summary", body)


def stage(ctx: ReportContext) -> str:
    if ctx.suppressed:
        return _section("stage", "Maturity stage", _withheld(ctx))
    o = ctx.overall
    rows = pd.DataFrame(
        [(s.stage, s.name, f"from {s.min_score:.1f}", s.description) for s in ctx.framework.stages],
        columns=["Stage", "Name", "Overall score", "What it looks like"],
    )
    caption = (
        f"Maturity stage: {ctx.scope} reaches stage {o['stage']} ({o['stage_name']}); the "
        f"marker shows the overall score of {o['score']:.2f}."
    )
    track = stage_track(o["score"], int(o["stage"]), ctx.framework)
    return _section(
        "stage",
        "Maturity stage",
        f'<figure class="chart">{track}<figcaption>{esc(caption)}</figcaption></figure>'
        + _table(rows),
    )


def stage_track(score: float, stage: int, framework: Framework) -> str:
    """The stages as a track drawn in HTML: reached stages filled, the score marked above."""
    low, high = framework.scale.min, framework.scale.max
    bounds = [s.min_score for s in framework.stages] + [high]
    segments = "".join(
        f'<div class="seg{" reached" if s.stage <= stage else ""}" '
        f'style="flex-grow:{hi - lo:.3f}">{s.stage}. {esc(s.name)}</div>'
        for s, lo, hi in zip(framework.stages, bounds[:-1], bounds[1:], strict=True)
    )
    left = (score - low) / (high - low) * 100
    return (
        f'<div class="stage-track" role="img" aria-label="stage {stage} of '
        f'{len(framework.stages)}, overall score {score:.2f}">{segments}'
        f'<div class="marker" style="left:{left:.1f}%">overall {score:.2f}</div></div>'
    )


def categories(ctx: ReportContext) -> str:
    if ctx.suppressed:
        return _section("categories", "Category scores", _withheld(ctx))
    cats = ctx.scores[ctx.scores["level"].isin(["overall", "category"])]
    fig = charts.category_chart(ctx.scores, ctx.framework)
    table = pd.DataFrame(
        {
            "Category": cats["name"],
            "Score (1-5)": cats["score"].map(_num),
            "Index (0-100)": cats["index"].map(lambda v: f"{v:.0f}"),
            "95% interval": [
                f"{_num(lo)} to {_num(hi)}"
                for lo, hi in zip(cats["ci_low"], cats["ci_high"], strict=True)
            ],
            "Respondents": cats["n"],
        }
    )
    caption = (
        "Category scores with 95% bootstrap confidence intervals; the dotted line marks "
        f"{ctx.framework.gating.below:.1f}, the level {ctx.framework.category(ctx.framework.gating.category).name} "  # noqa: E501
        "must reach before the stage can pass "
        f"{ctx.framework.gating.max_stage}."
    )
    return _section(
        "categories", "Category scores", figure(fig, caption, "Category scores") + _table(table)
    )


def _score_colour(score: float, framework: Framework) -> tuple[str, str]:
    """Background and text colour of a score on the red-yellow-green scale of the charts."""
    low, high = framework.scale.min, framework.scale.max
    red, green, blue, _ = matplotlib.colormaps["RdYlGn"]((score - low) / (high - low))
    luminance = 0.2126 * red + 0.7152 * green + 0.0722 * blue
    return matplotlib.colors.to_hex((red, green, blue)), "#ffffff" if luminance < 0.45 else INK


def practice_grid(scores: pd.DataFrame, framework: Framework) -> str:
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
                cells.append(f'<td class="empty">{esc(p.name)}<span>not shown</span></td>')
                continue
            background, ink = _score_colour(value, framework)
            cells.append(
                f'<td style="background:{background};color:{ink}">{esc(p.name)}'
                f"<span>{value:.2f} (level {int(value)})</span></td>"
            )
        rows.append(
            f'<tr><th scope="row" style="color:{esc(cat.color)}">{esc(cat.name)}</th>'
            f"{''.join(cells)}</tr>"
        )
    low, high = framework.scale.min, framework.scale.max
    stops = ", ".join(_score_colour(low + (high - low) * i / 4, framework)[0] for i in range(5))
    return (
        f'<table class="practice-grid">{"".join(rows)}</table>'
        f'<div class="scale-legend"><span>{low}</span>'
        f'<span class="ramp" style="background:linear-gradient(to right, {stops})"></span>'
        f"<span>{high}</span></div>"
    )


def practices(ctx: ReportContext) -> str:
    if ctx.suppressed:
        return _section("practices", "Practices", _withheld(ctx))
    caption = (
        "Every practice by category: the colour shows the score, the level is its whole part "
        "(1 absent to 5 leading)."
    )
    return _section(
        "practices",
        "Practices",
        f'<figure class="grid">{practice_grid(ctx.scores, ctx.framework)}'
        f"<figcaption>{esc(caption)}</figcaption></figure>",
    )


def units(ctx: ReportContext) -> str:
    """Business units at a glance (whole-organization reports only)."""
    if ctx.unit or ctx.unit_scores.empty:
        return ""
    overall = ctx.unit_scores[ctx.unit_scores["level"] == "overall"]
    hidden = overall[overall["suppressed"]]["unit"].tolist()
    body = ""
    if (~overall["suppressed"]).any():
        fig = charts.unit_heatmap(ctx.unit_scores[~ctx.unit_scores["suppressed"]], ctx.framework)
        body += figure(
            fig, "Overall and category scores of each business unit.", "Business unit heatmap"
        )
    table = pd.DataFrame(
        {
            "Business unit": overall["unit"],
            "Respondents": overall["n"],
            "Overall": [
                ctx.fewer() if s else _num(v)
                for v, s in zip(overall["score"], overall["suppressed"], strict=True)
            ],
            "Stage": [
                "" if s else f"{st} {nm}"
                for st, nm, s in zip(
                    overall["stage"], overall["stage_name"], overall["suppressed"], strict=True
                )
            ],
        }
    )
    body += _table(table)
    if hidden:
        body += f"<p>{len(hidden)} unit(s) with {esc(ctx.fewer())} are listed without scores.</p>"
    return _section("units", "Business units", body)


def roles(ctx: ReportContext) -> str:
    if ctx.suppressed:
        return _section("roles", "Perception gaps between roles", _withheld(ctx))
    cats = ctx.role_scores[ctx.role_scores["level"] == "category"]
    overall = ctx.role_scores[ctx.role_scores["level"] == "overall"].set_index("role")
    table = cats.pivot_table(
        index="role", columns="name", values="score", aggfunc="first", dropna=False
    )
    table = table.reindex(columns=[c.name for c in ctx.framework.categories]).map(_num)
    suppressed = overall["suppressed"].reindex(table.index).fillna(True).astype(bool)
    table.loc[suppressed.to_numpy()] = ctx.fewer()
    table.insert(
        0,
        "Respondents",
        [
            ctx.fewer() if s else str(n)
            for n, s in zip(overall["n"].reindex(table.index), suppressed, strict=True)
        ],
    )
    table = table.reset_index().rename(columns={"role": "Role"})
    body = ""
    if (~cats["suppressed"]).any():
        fig = charts.role_chart(cats[~cats["suppressed"]], ctx.framework)
        body += figure(
            fig,
            f"Category scores as each role sees them (roles with {ctx.fewer()} are not shown).",
            "Scores by role",
        )
    body += _table(table)
    flagged = ctx.gaps[ctx.gaps["flagged"]].copy()
    if len(flagged):
        flagged["size"] = flagged["gap"].abs()
        items = "".join(
            f"<li>{esc(r.category)}: {esc(r.role_a)} {r.score_a:.2f} vs {esc(r.role_b)} "
            f"{r.score_b:.2f} (gap {r.gap:+.2f})</li>"
            for r in flagged.sort_values("size", ascending=False).itertuples()
        )
        body += (
            f"<p>Gaps of {ctx.framework.thresholds.perception_gap} points or more between roles "
            f"that each have enough responses:</p><ul>{items}</ul>"
        )
    else:
        body += (
            "<p>No two roles with enough responses differ by "
            f"{ctx.framework.thresholds.perception_gap} points or more in any category.</p>"
        )
    return _section("roles", "Perception gaps between roles", body)


def agreement(ctx: ReportContext) -> str:
    if ctx.suppressed:
        return _section("agreement", "Agreement", _withheld(ctx))
    threshold = ctx.framework.thresholds.rwg_low
    prac = ctx.scores[ctx.scores["level"] == "practice"]
    low = prac[prac["rwg"] < threshold]
    if len(low):
        items = "".join(
            f"<li>{esc(r.name)}: r<sub>wg</sub> {r.rwg:.2f}</li>"
            for r in low.sort_values("rwg").itertuples()
        )
        body = (
            f"<p>No shared view yet on these practices (agreement r<sub>wg</sub> below "
            f"{threshold}): respondents describe them very differently, so talk through what "
            f"is really happening before acting on their scores.</p><ul>{items}</ul>"
        )
    else:
        body = (
            f"<p>Respondents broadly agree on every practice (r<sub>wg</sub> of at least "
            f"{threshold}), so the scores describe a shared view.</p>"
        )
    return _section("agreement", "Agreement", body)


def _lag_text(lag: int, period_name: str) -> str:
    if lag == 0:
        return f"in the same {period_name}"
    return f"{lag} {period_name}{'s' if lag != 1 else ''} later"


def _ci(low: float, high: float, digits: int = 2) -> str:
    if pd.isna(low) or pd.isna(high):
        return "no interval"
    return f"{low:+.{digits}f} to {high:+.{digits}f}"


EVIDENCE_TITLE = "Evidence: does EX lead CX here?"


def evidence(ctx: ReportContext) -> str:
    """Does the EX metric lead the CX metric across this client's units? ("" without metrics)."""
    if ctx.metrics is None:
        return ""
    from xmkit.analysis.linkage import strongest_lag
    from xmkit.report import evidence_charts

    ex, cx, per = ctx.ex[0], ctx.cx[0], ctx.period_name
    if ctx.unit:
        return _section("evidence", EVIDENCE_TITLE, _unit_evidence(ctx, ex, cx))
    result = ctx.linkage
    if result is None:
        body = "<p>The EX and CX metrics named are the same metric: nothing to link.</p>"
        return _section("evidence", EVIDENCE_TITLE, body)
    best = strongest_lag(result, "within")
    if best is None:
        body = (
            f"<p>There are not enough units and {esc(per)}s with both {esc(ex)} and {esc(cx)} "
            "to correlate them.</p>"
        )
        return _section("evidence", EVIDENCE_TITLE, body)
    lag = int(best["lag"])
    clear = best["ci_low"] > 0 or best["ci_high"] < 0
    direction = "higher" if best["r"] > 0 else "lower"
    head = (
        f"Within business units, {ex} is most strongly linked with {cx} "
        f"{_lag_text(lag, per)}: r = {best['r']:.2f} (95% interval {_ci(best['ci_low'], best['ci_high'])}; "  # noqa: E501
        f"{best['n_units']} units, {best['n_pairs']} unit-{per} pairs). "
    )
    head += (
        f"When a unit's {ex} rises above its usual level, its {cx} tends to be {direction} "
        f"{_lag_text(lag, per)}; the interval excludes 0."
        if clear
        else "The interval includes 0, so this is no clear evidence either way."
    )
    body = f'<p class="headline">{esc(head)}</p>'
    body += figure(
        evidence_charts.lag_chart(result, per),
        f"Correlation of {ex} with {cx} at each lag, between and within units, with 95% "
        "intervals; an interval crossing 0 is compatible with no link.",
        "Correlation by lag",
    )
    body += figure(
        evidence_charts.linkage_scatter(ctx.metrics, ex, cx, lag, "within", per),
        f"Within units: {ex} against {cx} {_lag_text(lag, per)}, each unit centred on its own "
        "averages "
        "(the data of the within-unit correlation).",
        "EX against CX at the strongest lag",
    )
    table = result.sort_values(["lag", "kind"])
    body += _table(
        pd.DataFrame(
            {
                f"{cx} measured": [_lag_text(int(v), per) for v in table["lag"]],
                "Reading": [
                    "within units" if k == "within" else "between units" for k in table["kind"]
                ],
                "r": table["r"].map(_num),
                "95% interval": [
                    _ci(lo, hi) for lo, hi in zip(table["ci_low"], table["ci_high"], strict=True)
                ],
                "Units": table["n_units"],
                "Pairs": table["n_pairs"],
            }
        )
    )
    for other in ctx.other_links:
        body += (
            f"<p>{esc(other['ex'])} and {esc(other['cx'])}: strongest within units "
            f"{esc(_lag_text(int(other['lag']), per))}, r = {other['r']:.2f} "
            f"({esc(_ci(other['ci_low'], other['ci_high']))}).</p>"
        )
    caveats = [
        "Correlation is not causation: a third factor (a new manager, staffing, a "
        "reorganization) can move both metrics, with different delays.",
        f"Few units give wide intervals: with {best['n_units']} units an interval that includes "
        "0 means no evidence either way, not evidence of no link.",
        f"Several lags were tested ({len(table)} intervals): by chance alone one of them can "
        "exclude 0; trust a lag that stands out, makes sense and is seen again next year.",
        "Between units compares stronger and weaker units; within units asks whether a unit's "
        "own changes in EX are followed by changes in CX. Only the second dates a lead, and "
        "neither implies the other.",
    ]
    body += "<p>Read with care:</p><ul>" + "".join(f"<li>{esc(c)}</li>" for c in caveats)
    return _section("evidence", EVIDENCE_TITLE, body + "</ul>")


def _unit_evidence(ctx: ReportContext, ex: str, cx: str) -> str:
    """One unit: its own series, since a correlation across units needs several units."""
    per = ctx.period_name
    body = (
        f"<p>Whether {esc(ex)} leads {esc(cx)} is judged across the organization's business "
        f"units; one unit's few {esc(per)}s are too few for a meaningful correlation, so this "
        f"report shows {esc(ctx.scope)}'s own figures only. See the whole-organization report "
        "for the evidence.</p>"
    )
    own = ctx.metrics[ctx.metrics["metric"].isin([ex, cx])]
    if own.empty:
        return body + f"<p>No {esc(ex)} or {esc(cx)} figures for {esc(ctx.scope)}.</p>"
    order = own.drop_duplicates("period").sort_values("t" if "t" in own else "period")["period"]
    wide = own.pivot_table(index="period", columns="metric", values="value", aggfunc="first")
    wide = wide.reindex(index=order, columns=[c for c in (ex, cx) if c in set(own["metric"])])
    wide = wide.map(lambda v: "" if pd.isna(v) else f"{v:g}").reset_index()
    return body + _table(wide.rename(columns={"period": per.capitalize()}))


def progress_title(ctx: ReportContext) -> str:
    return f"Progress since {ctx.previous_period or 'the previous assessment'}"


def progress(ctx: ReportContext) -> str:
    """Change since the previous wave, with intervals ("" without a previous wave)."""
    if ctx.waves is None:
        return ""
    from xmkit.report import evidence_charts

    title, before = progress_title(ctx), ctx.previous_period or "the previous assessment"
    waves = ctx.waves
    overall = waves[waves["level"] == "overall"].iloc[0]
    if overall["suppressed"]:
        body = (
            f"<p>No comparison with {esc(before)} is shown for {esc(ctx.scope)}: one of the two "
            f"waves has {esc(ctx.fewer())} (or none), and a change would reveal a small group's "
            "answers.</p>"
        )
        return _section("progress", title, body)
    clear = overall["ci_low"] > 0 or overall["ci_high"] < 0
    sentence = (
        f"The overall score of {ctx.unit or ctx.client} went from "
        f"{overall['score_before']:.2f} in {before} to {overall['score_now']:.2f}: "
        f"a change of {overall['change']:+.2f} (95% interval "
        f"{_ci(overall['ci_low'], overall['ci_high'])}), "
        + (
            "a clear change."
            if clear
            else "within what chance alone could give, so not a clear change."
        )
    )
    body = f'<p class="headline">{esc(sentence)}</p>'
    body += figure(
        evidence_charts.wave_chart(waves, ctx.framework),
        f"Change of the overall and category scores since {before}, with 95% intervals.",
        "Change since the previous assessment",
    )
    rows = waves[waves["level"].isin(["overall", "category", "practice"]) & ~waves["suppressed"]]
    body += _table(
        pd.DataFrame(
            {
                "Item": [
                    {"overall": "Overall score", "category": f"{n} (category)"}.get(lv, n)
                    for n, lv in zip(rows["name"], rows["level"], strict=True)
                ],
                before: rows["score_before"].map(_num),
                "Now": rows["score_now"].map(_num),
                "Change": rows["change"].map(lambda v: "" if pd.isna(v) else f"{v:+.2f}"),
                "95% interval": [
                    _ci(lo, hi) for lo, hi in zip(rows["ci_low"], rows["ci_high"], strict=True)
                ],
                "Reading": [
                    "clear change" if (lo > 0 or hi < 0) else ""
                    for lo, hi in zip(rows["ci_low"], rows["ci_high"], strict=True)
                ],
            }
        )
    )
    body += (
        '<p>"Clear change" marks a change whose 95% interval excludes 0; the two waves are '
        "different samples of respondents.</p>"
    )
    if ctx.unit_waves is not None and len(ctx.unit_waves):
        units = ctx.unit_waves
        shown = units[~units["suppressed"]]
        if len(shown):
            body += "<h3>Business units</h3>" + _table(
                pd.DataFrame(
                    {
                        "Business unit": shown["unit"],
                        before: shown["score_before"].map(_num),
                        "Now": shown["score_now"].map(_num),
                        "Change": shown["change"].map(lambda v: f"{v:+.2f}"),
                        "95% interval": [
                            _ci(lo, hi)
                            for lo, hi in zip(shown["ci_low"], shown["ci_high"], strict=True)
                        ],
                    }
                )
            )
        hidden = units[units["suppressed"]]["unit"].tolist()
        if hidden:
            body += (
                f"<p>Not compared, with {esc(ctx.fewer())} in one of the waves or absent from "
                f"one: {esc(', '.join(map(str, hidden)))}.</p>"
            )
    return _section("progress", title, body)


def targets(ctx: ReportContext) -> str:
    """Each practice's gap to its target ("" without targets)."""
    if ctx.target_gaps is None:
        return ""
    if ctx.suppressed:
        return _section("targets", "Targets", _withheld(ctx))
    gaps = ctx.target_gaps
    total = len(gaps)
    met = int(gaps["met"].fillna(False).sum())
    with_target = gaps.dropna(subset=["target_score"])
    body = (
        f'<p class="headline">{met} of {total} practices at target.'
        + (
            f" {total - len(with_target)} practice(s) have no target."
            if len(with_target) < total
            else ""
        )
        + "</p>"
    )
    kinds = ctx.targets.set_index("practice_id")["kind"] if ctx.targets is not None else pd.Series()
    table = gaps.sort_values("gap", ascending=False, na_position="last")
    body += _table(
        pd.DataFrame(
            {
                "Practice": table["practice"],
                "Category": [ctx.framework.category(c).name for c in table["category_id"]],
                "Score": table["score"].map(_num),
                "Target": [
                    ""
                    if pd.isna(t)
                    else (f"level {t:.0f}" if kinds.get(p) == "level" else f"{t:.2f}")
                    for t, p in zip(table["target_score"], table["practice_id"], strict=True)
                ],
                "Gap": table["gap"].map(lambda v: "" if pd.isna(v) else f"{v:+.2f}"),
                "Status": [
                    "" if pd.isna(g) else ("at target" if g <= 1e-9 else "below target")
                    for g in table["gap"]
                ],
            }
        )
    )
    body += (
        "<p>Gap = target minus score (positive: still below target). A level target means a "
        "score of at least that level. The next steps below start with the largest gaps; "
        "practices already at target are left out of them.</p>"
    )
    return _section("targets", "Targets", body)


def next_steps(ctx: ReportContext) -> str:
    if ctx.suppressed or ctx.steps.empty:
        return _section(
            "next_steps",
            "Recommended next steps and roadmap",
            _withheld(ctx)
            if ctx.suppressed
            else "<p>Every practice has reached its target: keep measuring to stay there.</p>"
            if ctx.targets is not None
            else "<p>Every practice is at the top level: keep measuring to stay there.</p>",
        )
    body = ""
    for horizon in ctx.framework.roadmap.horizons:
        steps = ctx.steps[ctx.steps["horizon"] == horizon.name]
        if steps.empty:
            continue
        items = "".join(
            f'<li><strong>{esc(s.practice)}</strong> <span class="tag">{esc(s.category)}, level '
            f"{s.current_level} to {s.target_level}</span><br>{esc(s.action)}"
            + (
                " <em>(after the other categories reach level "
                f"{ctx.framework.roadmap.later_until_level})</em>"
                if s.deferred
                else ""
            )
            + "</li>"
            for s in steps.itertuples()
        )
        body += f'<h3>{esc(horizon.name)}</h3><ol start="{steps["priority"].min()}">{items}</ol>'
    first = (
        "Practices furthest below their targets first (see Targets), then practices without a "
        "target; practices already at target are left out. Foundations"
        if ctx.targets is not None
        else "Weakest practices first; foundations"
    )
    intro = (
        f"<p>{esc(first)} in the other categories come before "
        f"{esc(ctx.framework.category(ctx.framework.roadmap.later_category).name)} steps until "
        f"they reach level {ctx.framework.roadmap.later_until_level}.</p>"
    )
    return _section("next_steps", "Recommended next steps and roadmap", intro + body)


def comments(ctx: ReportContext) -> str:
    """Free-text comments, only when asked for and only of groups at the minimum size.

    Shown without respondent ids, roles or answers, in alphabetical order (not file order),
    each group under its business unit; groups below the minimum size show nothing.
    """
    if not ctx.include_comments:
        return ""
    size = ctx.min_group_size
    body = (
        f"<p>Free-text comments as respondents wrote them, for groups of at least {size} "
        "responses only, in alphabetical order and without names, ids or roles.</p>"
    )
    given = {group: texts for group, texts in ctx.comments.items() if texts}
    for group, texts in given.items():
        items = "".join(f"<li>{esc(t)}</li>" for t in texts)
        body += f'<h3>{esc(group)}</h3><ul class="comments">{items}</ul>'
    if not given:
        body += (
            "<p>No comments to show.</p>"
            if not ctx.suppressed
            else f"<p>{esc(ctx.fewer().capitalize())}: no comments are shown.</p>"
        )
    if ctx.comments_withheld:
        body += (
            f"<p>Comments of {ctx.comments_withheld} unit(s) with {esc(ctx.fewer())} are not "
            "shown.</p>"
        )
    return _section("comments", "Comments", body)


def method(ctx: ReportContext) -> str:
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
        f"Confidence intervals: 95% percentile bootstrap over respondents ({ctx.n_boot} "
        f"replicates, seed {ctx.seed}).",
        f"Agreement: r_wg(J) (James, Demaree and Wolf, 1984) with a uniform null; below "
        f"{fw.thresholds.rwg_low} reads as no shared view. Consistency: Cronbach's alpha per "
        "category.",
        f"Perception gaps: difference of category scores between two roles, highlighted from "
        f"{fw.thresholds.perception_gap} points.",
        f"Confidentiality: no result is shown for a group with fewer than "
        f"{ctx.min_group_size} responses, and no individual answer appears in this report.",
        f"Framework: {fw.name}, version {fw.version} ({len(fw.question_ids)} questions).",
    ]
    body = "<ul>" + "".join(f"<li>{esc(i)}</li>" for i in items) + "</ul>"
    return _section("method", "Method", body)


def benchmark(ctx: ReportContext, industry: str = "", store: str = "", minimum: int = 5) -> str:
    """Percentile ranks against the firm's benchmark store (docs/benchmarks.md); no section
    without an industry. Only counts and the client's own ranks are shown."""
    if not industry:
        return ""
    title = "Benchmark"
    if ctx.suppressed:
        return _section("benchmark", title, _withheld(ctx))
    from xmkit.benchmark.chart import percentile_chart
    from xmkit.benchmark.compare import client_view

    view = client_view(ctx.client, ctx.scores, ctx.framework, industry, store, minimum)
    who = ctx.unit or ctx.client
    top = view[view["level"] == "overall"].set_index("scope")
    size = {s: int(top.loc[s, "organizations"]) for s in ("industry", "all")}
    if not top["shown"].any():
        return _section(
            "benchmark",
            title,
            f"<p>The benchmark holds {size['all']} comparable organizations, "
            f"{size['industry']} of them in {esc(industry)}: percentile ranks need at least "
            f"{minimum}, so none are shown.</p>",
        )
    periods = top[top["organizations"] > 0]
    span = f"{periods['first_period'].min()} to {periods['last_period'].max()}"
    labels = {"industry": f"{industry} ({size['industry']})", "all": f"All ({size['all']})"}
    rank = view.set_index(["id", "scope"])["percentile"]
    items = view.drop_duplicates("id")
    rows = pd.DataFrame(
        {
            "Item": items["name"],
            "Score": items["score"].map(_num),
            **{
                f"Percentile, {labels[s]}": [
                    f"fewer than {minimum}" if pd.isna(v) else f"{v:.0f}"
                    for v in rank.xs(s, level="scope")[items["id"]]
                ]
                for s in ("industry", "all")
            },
        }
    )
    body = (
        f"<p>Percentile ranks of {esc(who)} among the organizations in the firm's "
        f"benchmark (each once, with its latest assessment; {esc(ctx.client)}'s own entries "
        f"left out): {size['industry']} in {esc(industry)} and {size['all']} in all, assessed "
        f"from {esc(span)}. A rank is given only where at least {minimum} organizations "
        "qualify; 50 is the median organization. No other organization's scores are shown."
        "</p>" + _table(rows, "benchmark")
    )
    body += figure(
        percentile_chart(view, labels),
        f"Percentile ranks of {who} in {industry} and among all organizations.",
        "Dot chart of percentile ranks per category against the benchmark quartiles.",
    )
    return _section("benchmark", title, body)


def show(*sections: str) -> None:
    """Display sections in the notebook as one output (the HTML export collects outputs).

    The templates show every section from one cell: each cell costs a kernel round trip,
    which adds up to a third of a report's time in a batch.
    """
    from IPython.display import HTML, display

    if page := "".join(sections):
        display(HTML(page))
