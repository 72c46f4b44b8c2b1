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
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import matplotlib
import pandas as pd

from xmkit import charts
from xmkit.errors import Problem, XmkitError
from xmkit.framework import Framework, load_framework
from xmkit.recommend import recommend
from xmkit.responses import load_responses
from xmkit.score import gaps_from_scores, score

SVG_RC = {"svg.fonttype": "none", "svg.hashsalt": "xmkit"}


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
) -> ReportContext:
    """Load, filter to the unit (if any) and compute every table the report needs.

    Comments are kept only with ``include_comments`` and only for groups (the unit, or each
    unit of a whole-organization report) that meet the minimum group size.
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
        steps=recommend(scores, framework),
        n_boot=n_boot,
        seed=seed,
        include_comments=include_comments,
        comments=comments,
        comments_withheld=withheld if include_comments else 0,
    )


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


def practices(ctx: ReportContext) -> str:
    if ctx.suppressed:
        return _section("practices", "Practices", _withheld(ctx))
    fig = charts.practice_heatmap(ctx.scores, ctx.framework)
    caption = (
        "Every practice by category: the colour shows the score, the level is its whole part "
        "(1 absent to 5 leading)."
    )
    return _section("practices", "Practices", figure(fig, caption, "Practice heatmap"))


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


def next_steps(ctx: ReportContext) -> str:
    if ctx.suppressed or ctx.steps.empty:
        return _section(
            "next_steps",
            "Recommended next steps and roadmap",
            _withheld(ctx)
            if ctx.suppressed
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
    intro = (
        "<p>Weakest practices first; foundations in the other categories come before "
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


def show(section_html: str) -> None:
    """Display a section in the notebook (the HTML export collects these outputs)."""
    from IPython.display import HTML, display

    if section_html:
        display(HTML(section_html))
