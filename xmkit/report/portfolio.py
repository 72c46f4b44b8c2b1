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
from xmkit.report import charts, evidence_charts
from xmkit.report.sections import _num, _section, _table, esc, figure

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
    min_group_size: int = 5,
) -> PortfolioContext:
    fw = load_framework(framework or None)
    table = pd.read_csv(
        portfolio, dtype={"unit": str, "report": str}, keep_default_na=False, na_values=[""]
    )
    table["report"] = table["report"].fillna("")
    return PortfolioContext(client, period, fw, min_group_size, table)


def cover(ctx: PortfolioContext) -> str:
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
    rows = "".join(f"<tr><th>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in facts)
    return (
        '<header class="cover"><p class="kicker">EX/CX alignment portfolio</p>'
        f'<h1>{esc(ctx.client)}</h1><table class="facts">{rows}</table></header>'
    )


def heatmap(ctx: PortfolioContext) -> str:
    shown = ctx.shown
    if shown.empty:
        return _section("heatmap", "Units by category", "<p>No unit has scores to show.</p>")
    names = {"overall": "Overall", **{c.id: c.name for c in ctx.framework.categories}}
    caption = "Overall and category scores of every unit with enough responses (1-5)."
    if len(shown) > 2 * HEATMAP_EDGE:
        ranked = shown.sort_values("overall", ascending=False)
        shown = pd.concat([ranked.head(HEATMAP_EDGE), ranked.tail(HEATMAP_EDGE)])
        caption = (
            f"Overall and category scores (1-5) of the {HEATMAP_EDGE} highest and "
            f"{HEATMAP_EDGE} lowest units by overall score; the ranking below lists all "
            f"{len(ranked)}."
        )
    long = shown.melt(id_vars="unit", value_vars=list(names), var_name="id", value_name="score")
    long["name"] = long["id"].map(names)
    fig = charts.unit_heatmap(long, ctx.framework)
    return _section("heatmap", "Units by category", figure(fig, caption, "Units by category"))


def stages(ctx: PortfolioContext) -> str:
    shown = ctx.shown
    if shown.empty:
        return ""
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
    return _section(
        "stages", "Stage distribution", figure(fig, caption, "Stage distribution") + _table(rows)
    )


def ranking(ctx: PortfolioContext) -> str:
    """Every unit, ranked by overall score, linked to its report; others listed without score."""
    cats = [c for c in ctx.framework.categories]
    ranked = ctx.shown.sort_values("overall", ascending=False)
    head = "".join(
        f"<th>{esc(h)}</th>"
        for h in ["#", "Unit", "Respondents", "Overall", *[c.name for c in cats], "Stage"]
    )
    body = ""
    for i, row in enumerate(ranked.itertuples(), start=1):
        link = f'<a href="{esc(row.report)}">{esc(row.unit)}</a>' if row.report else esc(row.unit)
        cells = [
            str(i),
            link,
            esc(row.respondents),
            _num(row.overall),
            *[_num(getattr(row, c.id)) for c in cats],
            esc(f"{int(row.stage)} {row.stage_name}" + (" (capped)" if row.capped is True else "")),
        ]
        body += "<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>"
    html = (
        f'<div class="table-wrap"><table class="ranking"><thead><tr>{head}</tr></thead>'
        f"<tbody>{body}</tbody></table></div>"
    )
    others = ctx.table[~ctx.table["unit"].isin(ranked["unit"])]
    if len(others):
        reason = {"skipped": f"fewer than {ctx.min_group_size} responses", "failed": "failed"}
        rows = pd.DataFrame(
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
        html += "<h3>Units without scores</h3>" + _table(rows)
        if "withheld" in others and others["withheld"].eq(PROTECTING).any():
            html += f'<p class="notice">{esc(NOTICE)}</p>'
    return _section("ranking", "Ranking", html)


def trend(ctx: PortfolioContext) -> str:
    """Each unit's overall score now and in the earlier wave (when the assessment has one)."""
    table = ctx.shown
    if "previous_overall" not in table or table["previous_overall"].isna().all():
        return ""
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
    fig = evidence_charts.trend_chart(long)
    listing = pd.DataFrame(
        {
            "Unit": rows["unit"],
            label: rows["previous_overall"].map(_num),
            ctx.period or "now": rows["overall"].map(_num),
            "Change": [f"{v:+.2f}" for v in rows["change"]],
        }
    )
    caption = (
        f"Overall score of each unit in {label} and {ctx.period or 'now'}; units too small in "
        "either wave, or new, are left out."
    )
    return _section(
        "trend", f"Trend since {label}", figure(fig, caption, "Trend over waves") + _table(listing)
    )
