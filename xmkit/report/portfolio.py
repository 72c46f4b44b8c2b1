"""The portfolio page of a batch: every unit's scores, stages and a link to its report.

Used by ``templates/portfolio.ipynb``. It reads ``portfolio.csv`` (no respondent-level data)
and shows units below the minimum group size or that failed without any score.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

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
                    reason.get(s, f"fewer than {ctx.min_group_size} responses")
                    for s in others["status"]
                ],
            }
        )
        html += "<h3>Units without scores</h3>" + _table(rows)
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


def benchmark(ctx: PortfolioContext, industry: str = "", store: str = "", minimum: int = 5) -> str:
    """Each unit's overall percentile rank against the firm's benchmark (docs/benchmarks.md);
    no section without an industry. Only the units' own ranks and counts are shown."""
    if not industry or ctx.shown.empty:
        return ""
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
    view = client_view(ctx.client, scores, ctx.framework, industry, store, minimum, by="unit")
    overall = view[view["level"] == "overall"]
    size = overall.groupby("scope")["organizations"].max()
    if not overall["shown"].any():
        return _section(
            "benchmark",
            "Units against the benchmark",
            f"<p>The benchmark holds {int(size['all'])} comparable organizations, "
            f"{int(size['industry'])} of them in {esc(industry)}: percentile ranks need at least "
            f"{minimum}, so none are shown.</p>",
        )
    rank = overall.set_index(["unit", "scope"])["percentile"]
    units = overall.drop_duplicates("unit").sort_values("score", ascending=False)
    labels = {"industry": f"{industry} ({size['industry']})", "all": f"All ({size['all']})"}
    rows = pd.DataFrame(
        {
            "Unit": units["unit"],
            "Overall": units["score"].map(_num),
            **{
                f"Percentile, {labels[s]}": [
                    "" if pd.isna(rank[(u, s)]) else f"{rank[(u, s)]:.0f}" for u in units["unit"]
                ]
                for s in ("industry", "all")
            },
        }
    )
    dated = overall[overall["organizations"] > 0]
    body = (
        f"<p>Each unit's overall score as a percentile rank among the organizations in the "
        f"firm's benchmark (each once, with its latest assessment; {esc(ctx.client)}'s own "
        f"entries left out): {int(size['industry'])} in {esc(industry)} and {int(size['all'])} "
        f"in all, assessed from {esc(dated['first_period'].min())} to "
        f"{esc(dated['last_period'].max())}; a rank needs at least {minimum}.</p>"
    )
    if len(units) <= HEATMAP_EDGE * 2:
        chart = overall.assign(name=overall["unit"])
        body += figure(
            percentile_chart(chart, labels),
            f"Overall percentile rank of each unit in {industry} and among all organizations.",
            "Dot chart of each unit's percentile rank against the benchmark quartiles.",
        )
    return _section("benchmark", "Units against the benchmark", body + _table(rows))
