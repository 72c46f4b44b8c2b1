"""The portfolio page of a batch: every unit's scores, stages and a link to its report.

Used by ``templates/portfolio.ipynb``. It reads ``portfolio.csv`` (no respondent-level data)
and shows units below the minimum group size or that failed without any score.
"""

from __future__ import annotations

import datetime as dt
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from xmkit.analysis.disclosure import NOTICE, PROTECTING
from xmkit.framework import Framework, load_framework
from xmkit.report import charts, evidence_charts, views
from xmkit.report.markup import section
from xmkit.report.views import num

__all__ = [
    "HEATMAP_EDGE",
    "PortfolioContext",
    "benchmark",
    "cover",
    "heatmap",
    "prepare",
    "ranking",
    "stages",
    "trend",
]

HEATMAP_EDGE = 25  # above twice this many units the heatmap shows the top and bottom only


@dataclass
class PortfolioContext:
    client: str
    period: str
    framework: Framework
    min_group_size: int
    table: pd.DataFrame

    @property
    def shown(self) -> pd.DataFrame:
        """Units with scores: rendered, and at or above the minimum group size."""
        ok = self.table["status"].isin(["done", "unchanged"])
        return self.table[ok & self.table["overall"].notna()]


def prepare(
    portfolio: str | Path,
    client: str,
    period: str = "",
    framework: str | Path | None = None,
    min_group_size: int | None = None,
) -> PortfolioContext:
    """Read the batch's portfolio table; ``min_group_size`` None means the framework's."""
    fw = load_framework(framework or None)
    table = pd.read_csv(
        portfolio, dtype={"unit": str, "report": str}, keep_default_na=False, na_values=[""]
    )
    table["report"] = table["report"].fillna("")
    min_size = min_group_size or fw.thresholds.min_group_size
    return PortfolioContext(client, period, fw, min_size, table)


@section("cover")
def cover(ctx: PortfolioContext) -> dict:
    counts = ctx.table["status"].value_counts()
    facts = [
        ("Client", ctx.client),
        ("Period", ctx.period or "not stated"),
        ("Business units", str(len(ctx.table))),
        ("Reports", str(int(counts.get("done", 0) + counts.get("unchanged", 0)))),
        ("Below the minimum group size", str(int(counts.get("skipped", 0)))),
        ("Failed", str(int(counts.get("failed", 0)))),
        ("Date", dt.date.today().isoformat()),
    ]
    return {
        "kicker": "EX/CX alignment portfolio",
        "client": ctx.client,
        "subtitle": "",
        "facts": facts,
    }


@section("heatmap")
def heatmap(ctx: PortfolioContext) -> dict:
    view = {"title": "Units by category", "chart": None}
    shown = ctx.shown
    if shown.empty:
        return view
    names = {"overall": "Overall", **{c.id: c.name for c in ctx.framework.categories}}
    span = ctx.framework.scale.range_text
    caption = f"Overall and category scores of every unit with enough responses ({span})."
    if len(shown) > 2 * HEATMAP_EDGE:
        ranked = shown.sort_values("overall", ascending=False)
        shown = pd.concat([ranked.head(HEATMAP_EDGE), ranked.tail(HEATMAP_EDGE)])
        caption = (
            f"Overall and category scores ({span}) of the {HEATMAP_EDGE} highest and "
            f"{HEATMAP_EDGE} lowest units by overall score; the ranking below lists all "
            f"{len(ranked)}."
        )
    long = shown.melt(id_vars="unit", value_vars=list(names), var_name="id", value_name="score")
    long["name"] = long["id"].map(names)
    fig = charts.unit_heatmap(long, ctx.framework)
    return view | {"chart": views.figure(fig, caption, "Units by category")}


@section("stages")
def stages(ctx: PortfolioContext) -> dict | None:
    shown = ctx.shown
    if shown.empty:
        return None
    counts = shown["stage"].astype(int).value_counts()
    rows = pd.DataFrame(
        {
            "Stage": [s.stage for s in ctx.framework.stages],
            "Name": [s.name for s in ctx.framework.stages],
            "Units": [int(counts.get(s.stage, 0)) for s in ctx.framework.stages],
            "Capped by Converge": [
                int(
                    ((shown["stage"] == s.stage) & (shown["capped"] == True))  # noqa: E712
                    .sum()
                )
                for s in ctx.framework.stages
            ],
        }
    )
    fig, ax = charts.figure_axes(charts.WIDTH, 2.6)
    # Stage names on lines of a word or two, so that five fit side by side in the chart's width
    names = rows.assign(Name=[textwrap.fill(n, 7, break_long_words=False) for n in rows["Name"]])
    charts.sns.barplot(data=names, x="Name", y="Units", color="#2F5D8A", ax=ax)
    ax.set(xlabel="", ylabel="units")
    caption = "How many units are at each maturity stage."
    return {
        "title": "Stage distribution",
        "chart": views.figure(fig, caption, "Stage distribution"),
        "table": views.table(rows),
    }


@section("ranking")
def ranking(ctx: PortfolioContext) -> dict:
    """Every unit, ranked by overall score, linked to its report; others listed without score."""
    cats = list(ctx.framework.categories)
    ranked = ctx.shown.sort_values("overall", ascending=False)
    rows = [
        {
            "rank": i,
            "unit": row.unit,
            "report": row.report,
            "respondents": row.respondents,
            "scores": [num(row.overall), *[num(getattr(row, c.id)) for c in cats]],
            "stage": f"{int(row.stage)} {row.stage_name}"
            + (" (capped)" if row.capped is True else ""),
        }
        for i, row in enumerate(ranked.itertuples(), start=1)
    ]
    others = ctx.table[~ctx.table["unit"].isin(ranked["unit"])]
    reason = {"skipped": f"fewer than {ctx.min_group_size} responses", "failed": "failed"}
    missing = pd.DataFrame(
        {
            "Unit": others["unit"],
            "Why no scores": [
                w
                if isinstance(w, str) and w and s != "failed"
                else reason.get(s, reason["skipped"])
                for s, w in zip(
                    others["status"],
                    others.get("withheld", pd.Series([""] * len(others), index=others.index)),
                    strict=True,
                )
            ],
        }
    )
    return {
        "title": "Ranking",
        "columns": ["#", "Unit", "Respondents", "Overall", *[c.name for c in cats], "Stage"],
        "rows": rows,
        "missing": views.table(missing) if len(others) else None,
        "notice": NOTICE
        if "withheld" in others and others["withheld"].eq(PROTECTING).any()
        else None,
    }


@section("trend")
def trend(ctx: PortfolioContext) -> dict | None:
    """Each unit's overall score now and in the earlier wave (when the assessment has one)."""
    table = ctx.shown
    if "previous_overall" not in table or table["previous_overall"].isna().all():
        return None
    label = str(table["previous_wave"].dropna().iloc[0])
    rows = table.dropna(subset=["previous_overall"]).sort_values("change", ascending=False)
    long = pd.concat(
        [
            pd.DataFrame(
                {
                    "unit": rows["unit"],
                    "wave": label,
                    "wave_order": 0,
                    "score": rows["previous_overall"],
                }
            ),
            pd.DataFrame(
                {
                    "unit": rows["unit"],
                    "wave": ctx.period or "now",
                    "wave_order": 1,
                    "score": rows["overall"],
                }
            ),
        ]
    )
    scale = ctx.framework.scale
    fig = evidence_charts.trend_chart(long, scale=(scale.min, scale.max))
    listing = pd.DataFrame(
        {
            "Unit": rows["unit"],
            label: rows["previous_overall"].map(num),
            ctx.period or "now": rows["overall"].map(num),
            "Change": [f"{v:+.2f}" for v in rows["change"]],
        }
    )
    caption = (
        f"Overall score of each unit in {label} and {ctx.period or 'now'}; units too small in "
        "either wave, or new, are left out."
    )
    return {
        "title": f"Trend since {label}",
        "chart": views.figure(fig, caption, "Trend over waves"),
        "table": views.table(listing),
    }


@section("benchmark")
def benchmark(
    ctx: PortfolioContext, industry: str | None = None, store: str | None = None, minimum: int = 5
) -> dict | None:
    """Each unit's overall percentile rank against the firm's benchmark (docs/benchmarks.md);
    no section without an industry. Only the units' own ranks and counts are shown."""
    if not industry or ctx.shown.empty:
        return None
    from xmkit.benchmark.chart import percentile_chart
    from xmkit.benchmark.compare import client_view

    items = [("overall", "overall", "Overall")]
    items += [("category", c.id, c.name) for c in ctx.framework.categories]
    scores = pd.DataFrame(
        [
            {"unit": row["unit"], "level": level, "id": item, "name": name, "score": row[item]}
            for _, row in ctx.shown.iterrows()
            for level, item, name in items
        ]
    ).astype({"score": float})
    view = client_view(ctx.client, scores, ctx.framework, industry, store or "", minimum, by="unit")
    overall = view[view["level"] == "overall"]
    size = overall.groupby("scope")["organizations"].max()
    counts = {"industry": int(size["industry"]), "all": int(size["all"])}
    base = {"title": "Units against the benchmark", "industry": industry, "size": counts}
    base["minimum"] = minimum
    if not overall["shown"].any():
        return base | {"shown": False}
    rank = overall.set_index(["unit", "scope"])["percentile"]
    units = overall.drop_duplicates("unit").sort_values("score", ascending=False)
    labels = {"industry": f"{industry} ({counts['industry']})", "all": f"All ({counts['all']})"}
    rows = pd.DataFrame(
        {
            "Unit": units["unit"],
            "Overall": units["score"].map(num),
            **{
                f"Percentile, {labels[s]}": [
                    "" if pd.isna(rank[(u, s)]) else f"{rank[(u, s)]:.0f}" for u in units["unit"]
                ]
                for s in ("industry", "all")
            },
        }
    )
    dated = overall[overall["organizations"] > 0]
    chart = None
    if len(units) <= HEATMAP_EDGE * 2:
        chart = views.figure(
            percentile_chart(overall.assign(name=overall["unit"]), labels),
            f"Overall percentile rank of each unit in {industry} and among all organizations.",
            "Dot chart of each unit's percentile rank against the benchmark quartiles.",
        )
    return base | {
        "shown": True,
        "who": "each unit",
        "client": ctx.client,
        "span": f"{dated['first_period'].min()} to {dated['last_period'].max()}",
        "table": views.table(rows),
        "chart": chart,
    }
