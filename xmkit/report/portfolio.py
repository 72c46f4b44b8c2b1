"""The portfolio page of a batch: every unit's scores, stages and a link to its report.

Used by ``templates/portfolio.ipynb``. It reads ``portfolio.csv`` (no respondent-level data)
and shows units below the minimum group size or that failed without any score.
"""

from __future__ import annotations

import datetime as dt
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
    fig, ax = charts.figure_axes(7, 2.4)
    charts.sns.barplot(data=rows, x="Name", y="Units", color="#2F5D8A", ax=ax)
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
