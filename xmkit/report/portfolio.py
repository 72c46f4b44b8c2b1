"""The portfolio page of a batch: every unit's scores, stages and links to its report files.

Used by ``templates/portfolio.ipynb``. It reads the batch's portfolio table (no
respondent-level data; :func:`xmkit.batch.run.portfolio_table`) and shows units below the
minimum group size or that failed without any score. Every view stays legible at hundreds of
units: charts give each unit a fixed row height or show the top and bottom units, and a table
beside each chart lists every unit.
"""

from __future__ import annotations

import datetime as dt
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import pandas as pd

from xmkit.analysis.disclosure import NOTICE, PROTECTING
from xmkit.analysis.ranks import rank_label
from xmkit.framework import Framework, load_framework
from xmkit.io.paths import download_name, portfolio_title, report_title
from xmkit.io.portfolio_files import headers
from xmkit.report import charts, portfolio_charts, views
from xmkit.report.markup import section
from xmkit.report.views import num

__all__ = [
    "HEATMAP_EDGE",
    "MOVERS_EDGE",
    "ORGANIZATION",
    "PortfolioContext",
    "benchmark",
    "cover",
    "downloads",
    "heatmap",
    "prepare",
    "ranking",
    "stages",
    "trend",
]

HEATMAP_EDGE = 10  # above twice this many units the heatmap shows the top and bottom only
MOVERS_EDGE = 12  # above twice this many units the trend chart shows the largest rises and falls
ORGANIZATION = "organization"  # the status of the table's row for all units together
FILES = {"report_pdf": "PDF", "report_ipynb": "notebook"}  # a unit's files besides its page


@dataclass
class PortfolioContext:
    client: str
    period: str
    framework: Framework
    min_group_size: int
    table: pd.DataFrame
    downloads: list[str] = field(default_factory=list)
    """Files beside the page to link (portfolio.xlsx, portfolio.csv, portfolio.pdf)."""

    @property
    def units(self) -> pd.DataFrame:
        """One row per unit (without the organization row)."""
        return self.table[self.table["status"] != ORGANIZATION]

    @property
    def organization(self) -> pd.Series | None:
        """All units together, when the table has the row and it has scores."""
        rows = self.table[self.table["status"] == ORGANIZATION]
        if rows.empty or pd.isna(rows["overall"].iloc[0]):
            return None
        return rows.iloc[0]

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
    downloads: str = "",
) -> PortfolioContext:
    """Read the batch's portfolio table (as the batch passes it, or ``portfolio.csv`` with its
    readable headers); ``min_group_size`` None means the framework's; ``downloads`` are the
    comma-separated files beside the page to link."""
    fw = load_framework(framework or None)
    links = ["report", *FILES]
    ids = {name: item for item, name in headers(fw).items()}  # portfolio.csv as people read it
    text = {c: str for c in ["unit", *links]}
    table = pd.read_csv(
        portfolio,
        dtype=text | {name: str for name, item in ids.items() if item in text},
        keep_default_na=False,
        na_values=[""],
    ).rename(columns=ids)
    if "capped" in table:
        table["capped"] = table["capped"].replace({"yes": True, "no": False})
    for column in links:
        table[column] = table[column].fillna("") if column in table else ""
    min_size = min_group_size or fw.thresholds.min_group_size
    files = [name for name in downloads.split(",") if name]
    return PortfolioContext(client, period, fw, min_size, table, files)


def _href(path: str) -> str:
    """A relative link to a file beside the portfolio: URL-quoted, never leaving the folder."""
    return quote(Path(path).as_posix()) if path and ".." not in Path(path).parts else ""


@section("cover")
def cover(ctx: PortfolioContext) -> dict:
    counts = ctx.units["status"].value_counts()
    facts = [
        ("Client", ctx.client),
        ("Period", ctx.period or "not stated"),
        ("Business units", str(len(ctx.units))),
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


@section("downloads")
def downloads(ctx: PortfolioContext) -> dict | None:
    """Links to the portfolio's own files: the workbook, the table, the PDF."""
    what = {
        "portfolio.xlsx": "Excel workbook: units, categories and practices",
        "portfolio.csv": "the same table as CSV",
        "portfolio.pdf": "this page as PDF",
    }
    title = portfolio_title(ctx.client, ctx.period)
    files = [
        {
            "href": _href(f),
            "name": f,
            "download": download_name(title, Path(f).suffix.lstrip(".")),
            "what": what.get(f, ""),
        }
        for f in ctx.downloads
    ]
    return {"title": "Files", "files": files} if files else None


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


def _stage(row) -> str:
    return f"{int(row.stage)} {row.stage_name}" + (" (capped)" if row.capped is True else "")


def _interval(row) -> str:
    low, high = getattr(row, "overall_low", None), getattr(row, "overall_high", None)
    return "" if pd.isna(low) or pd.isna(high) else f"{low:.2f}\u2013{high:.2f}"


@section("ranking")
def ranking(ctx: PortfolioContext) -> dict:
    """Every unit, ranked by overall score with its 95% interval and rank range (tied where
    intervals overlap, :mod:`xmkit.analysis.ranks`), linked to its report files; all units
    together first; units without scores listed with the reason."""
    cats = list(ctx.framework.categories)
    ranked = ctx.shown.sort_values(["overall", "unit"], ascending=[False, True])
    ranges = "rank_best" in ranked and ranked["rank_best"].notna().all()

    def row_view(row, rank: str, tie: bool, name: str) -> dict:
        return {
            "rank": rank,
            "tie": tie,
            "unit": name,
            "report": _href(row.report),
            "files": [
                {
                    "href": _href(path),
                    "name": label,
                    "download": download_name(
                        report_title(ctx.client, name, ctx.period), Path(path).suffix.lstrip(".")
                    ),
                }
                for c, label in FILES.items()
                if (path := getattr(row, c, ""))
            ],
            "respondents": row.respondents,
            "overall": num(row.overall),
            "interval": _interval(row),
            "scores": [num(getattr(row, c.id)) for c in cats],
            "stage": _stage(row),
        }

    rows = []
    if (org := ctx.organization) is not None:
        whole = next(pd.DataFrame([org]).assign(report="").itertuples())
        rows.append(row_view(whole, "", False, "All units") | {"organization": True})
    for i, row in enumerate(ranked.itertuples(), start=1):
        best, worst = (int(row.rank_best), int(row.rank_worst)) if ranges else (i, i)
        rows.append(row_view(row, rank_label(best, worst), best != worst, row.unit))
    others = ctx.units[~ctx.units["unit"].isin(ranked["unit"])]
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
    ties = sum(r["tie"] for r in rows)
    return {
        "title": "Ranking",
        "columns": [
            "Rank",
            "Unit",
            "Respondents",
            "Overall",
            "95% interval",
            *[c.name for c in cats],
            "Stage",
            *(["Files"] if any(r["files"] for r in rows) else []),
        ],
        "rows": rows,
        "files": any(r["files"] for r in rows),
        "note": (
            f"A unit ranks above another only when their 95% intervals do not overlap; "
            f"{ties} of {len(ranked)} units share a rank range (shown as, e.g., 4\u20137) with "
            "units the data cannot tell apart."
            if ranges and ties
            else "No two units' 95% intervals overlap: every rank is clear."
            if ranges and len(ranked) > 1
            else ""
        ),
        "missing": views.table(missing) if len(others) else None,
        "notice": NOTICE
        if "withheld" in others and others["withheld"].eq(PROTECTING).any()
        else None,
    }


def _change(before: float, after: float, label: str) -> str:
    """The change as the shown (rounded) scores give it, so the numbers in a row add up."""
    if pd.isna(before):
        return f"not comparable: new or too small in {label}"
    return f"{round(after, 2) - round(before, 2):+.2f}"


@section("trend")
def trend(ctx: PortfolioContext) -> dict | None:
    """Each unit's overall score now and in the earlier wave (when the assessment has one).

    The chart shows every unit up to ``2 * MOVERS_EDGE`` units, else the ``MOVERS_EDGE``
    largest rises and falls; the table beside it lists every unit with scores, all units
    together first, so no unit is missing whatever the size.
    """
    table = ctx.shown
    if "previous_overall" not in table or table["previous_overall"].isna().all():
        return None
    label = str(table["previous_wave"].dropna().iloc[0])
    now = ctx.period or "now"
    frame = table.assign(
        previous=table["previous_overall"].astype(float),
        overall=table["overall"].astype(float),
        change=table["change"].astype(float),
    )
    both = frame.dropna(subset=["previous"]).sort_values(
        ["change", "unit"], ascending=[False, True]
    )
    caption = (
        f"Overall score of each unit in {label} (grey) and {now} (dark); a blue line is a rise, "
        "an orange one a fall. The table lists every unit."
    )
    chart_rows = both
    if len(both) > 2 * MOVERS_EDGE:
        rises, falls = both.head(MOVERS_EDGE), both.tail(MOVERS_EDGE)
        chart_rows = pd.concat([rises, falls])
        caption = (
            f"The {MOVERS_EDGE} largest rises and {MOVERS_EDGE} largest falls of the overall "
            f"score from {label} (grey) to {now} (dark), of {len(both)} units; the table lists "
            "every unit."
        )
    scale = ctx.framework.scale
    fig = portfolio_charts.movers_chart(chart_rows, label, now, (scale.min, scale.max))
    listing = pd.concat([frame[frame["previous"].notna()], frame[frame["previous"].isna()]])
    listing = listing.sort_values(["change", "unit"], ascending=[False, True], na_position="last")
    rows = [
        [u, num(p), num(o), _change(p, o, label)]
        for u, p, o in zip(listing["unit"], listing["previous"], listing["overall"], strict=True)
    ]
    org = ctx.organization
    if org is not None and pd.notna(org.get("previous_overall")):
        before, after = float(org["previous_overall"]), float(org["overall"])
        rows.insert(0, ["All units", num(before), num(after), _change(before, after, label)])
    return {
        "title": f"Trend since {label}",
        "chart": views.figure(fig, caption, "Trend over waves"),
        "table": views.table(
            pd.DataFrame(rows, columns=["Unit", label, now, "Change"]), classes="trend"
        ),
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
