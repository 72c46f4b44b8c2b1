"""Report charts (seaborn, and matplotlib directly where seaborn only adds time); every chart
gives each category the framework's colour.

Each function takes tidy data (as :func:`xmkit.score` returns) and returns a matplotlib Figure,
so the same charts serve notebooks, HTML and PDF. Colours come from :mod:`xmkit.report.palette`.

Charts are drawn :data:`WIDTH` inches wide with no text under 10 pt: a page scales an image to
its column, and on a 375 px phone a wider chart would shrink its labels below 9 px.
"""

from __future__ import annotations

import colorsys
import textwrap
from collections.abc import Iterable, Sequence

import matplotlib
import pandas as pd
import seaborn as sns
from matplotlib.axes import Axes
from matplotlib.colors import to_rgb
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.lines import Line2D
from matplotlib.textpath import text_to_path

from xmkit.framework import Framework
from xmkit.report import palette

__all__ = [
    "PLAIN_TEXT",
    "STYLE",
    "WIDTH",
    "category_chart",
    "figure_axes",
    "role_chart",
    "text_width",
    "unit_heatmap",
    "wrap_label",
]

WIDTH = 5.0
"""Inches: the widest chart whose 10 pt text stays >= 9 px in a 375 px phone's column."""
# Names come from clients: "$...$" in them must show as text, never be parsed as TeX. Every text
# of a chart is 10 pt (matplotlib's titles and seaborn's legends default to other sizes).
PLAIN_TEXT = matplotlib.rc_context(
    {
        "text.parse_math": False,
        "font.size": 10,
        "axes.titlesize": 10,
        "axes.labelsize": 10,
        "xtick.labelsize": 10,
        "ytick.labelsize": 10,
        "legend.fontsize": 10,
        "legend.title_fontsize": 10,
    }
)
STYLE = {"axes.spines.right": False, "axes.spines.top": False}


def figure_axes(
    width: float, height: float, margins: tuple[float, float, float, float] | None = None
) -> tuple[Figure, Axes]:
    """A figure outside pyplot: no global figure list, backend or rc change to leak.

    ``width`` is capped at :data:`WIDTH`, so that no chart's text shrinks out of reach on a
    phone. ``margins`` (left, bottom, right, top, in inches) fix the axes' place. Charts drawn for
    every report pass them: a constrained layout draws the figure several times to find the
    same margins, which costs more than the drawing itself. Without them the layout is
    constrained (charts made once per report, with legends of unknown size).
    """
    width = min(width, WIDTH)
    if margins is None:
        fig = Figure(figsize=(width, height), layout="constrained")
    else:
        left, bottom, right, top = margins
        fig = Figure(figsize=(width, height))
        fig.subplots_adjust(
            left=left / width,
            bottom=bottom / height,
            right=1 - right / width,
            top=1 - top / height,
        )
    with sns.axes_style("whitegrid", rc=STYLE):
        ax = fig.add_subplot()
    return fig, ax


def text_width(labels: Iterable[str], size: float = 10, bold: bool = False) -> float:
    """Width in inches of the widest line of ``labels``, from the font's metrics (no drawing)."""
    font = FontProperties(size=size, weight="bold" if bold else "normal")
    lines = [line for label in labels for line in str(label).splitlines()] or [""]
    measure = text_to_path.get_text_width_height_descent
    return max(measure(line, font, ismath=False)[0] for line in lines) / 72  # points to inches


def wrap_label(text: str, width: int = 28) -> str:
    """A long name (client text) on several lines, so it cannot squeeze the chart away."""
    return "\n".join(textwrap.wrap(str(text), width)) or str(text)


@PLAIN_TEXT
def category_chart(scores: pd.DataFrame, framework: Framework) -> Figure:
    """Category scores with their 95% confidence intervals, one colour per category."""
    cats = scores[scores["level"] == "category"].dropna(subset=["score"])
    order = [c.name for c in framework.categories if c.name in set(cats["name"])]
    margins = (text_width(order) + 0.2, 0.55, 0.2, 0.1)
    fig, ax = figure_axes(WIDTH, 0.65 + 0.45 * max(len(cats), 1), margins)
    bars = cats.set_index("name").reindex(order)
    # What seaborn's barplot draws for one bar per category (its colours at saturation 0.75,
    # categories top to bottom, no grid across them), drawn directly: two thirds of the chart's
    # time went to seaborn preparing data that is already one row per bar.
    for i, (name, value) in enumerate(bars["score"].items()):
        colour = sns.desaturate(framework.palette[name], 0.75)
        ax.barh(i - 0.4, value, height=0.8, align="edge", color=colour, facecolor=colour)
    ax.set_yticks(range(len(order)), order)
    ax.yaxis.grid(False)
    ax.set_ylim(len(order) - 0.5, -0.5, auto=None)  # as seaborn: later artists rescale it
    for i, row in enumerate(bars.itertuples()):
        if pd.notna(row.ci_low):
            ax.errorbar(
                row.score,
                i,
                xerr=[[row.score - row.ci_low], [row.ci_high - row.score]],
                fmt="none",
                ecolor="#222222",
                capsize=4,
                linewidth=1.2,
            )
        ax.text(
            framework.scale.min + 0.05,
            i,
            f"{row.score:.2f}",
            va="center",
            color=palette.ink_on(framework.palette[row.Index]),
            fontweight="bold",
        )
    ax.axvline(framework.gating.below, color="#888888", linestyle=":", linewidth=1)
    ax.set(
        xlim=(framework.scale.min, framework.scale.max),
        xlabel=f"score ({framework.scale.range_text})",
        ylabel="",
    )
    return fig


@PLAIN_TEXT
def role_chart(role_scores: pd.DataFrame, framework: Framework) -> Figure:
    """Each role's category scores as dots (roles below the minimum are left out)."""
    shown = role_scores.dropna(subset=["score"]).assign(role=lambda d: d["role"].map(wrap_label))
    rows = max(shown["role"].nunique(), 1)
    legend_rows = -(-len(framework.categories) // 2)
    bottom = 0.6 + 0.22 * legend_rows
    margins = (text_width(shown["role"].unique()) + 0.2, bottom, 0.2, 0.1)
    fig, ax = figure_axes(WIDTH, bottom + 0.1 + 0.45 * rows, margins)
    # What seaborn's stripplot draws here (no jitter, no dodge), drawn directly: roles in order
    # of appearance top to bottom, a dot per category in its colour, edges in a grey darker
    # than every colour (not drawn: width 0), a legend entry per category of the framework.
    names = [c.name for c in framework.categories]
    grey = 0.6 * min(colorsys.rgb_to_hls(*to_rgb(framework.palette[n]))[1] for n in names)
    marks = {"s": 81, "edgecolor": (grey, grey, grey), "linewidth": 0, "zorder": 3}
    order = list(dict.fromkeys(shown["role"]))
    for i, role in enumerate(order):
        dots = shown[shown["role"] == role]
        points = ax.scatter(dots["score"], [i] * len(dots), **marks)
        points.set_facecolors([framework.palette[n] for n in dots["name"]])
    ax.set_yticks(range(len(order)), order)
    ax.yaxis.grid(False)
    ax.set_ylim(len(order) - 0.5, -0.5, auto=None)
    ax.set(
        xlim=(framework.scale.min, framework.scale.max),
        xlabel=f"category score ({framework.scale.range_text})",
        ylabel="",
    )
    handles = [
        Line2D(
            [],
            [],
            linestyle="",
            marker="o",
            markersize=9,
            markerfacecolor=framework.palette[n],
            markeredgewidth=0,
            markeredgecolor=(grey, grey, grey),
            color=framework.palette[n],
            zorder=3,
        )
        for n in names
    ]
    fig.legend(handles, names, loc="lower center", ncol=2, frameon=False)
    return fig


@PLAIN_TEXT
def unit_heatmap(
    unit_scores: pd.DataFrame, framework: Framework, order: Sequence[str] | None = None
) -> Figure:
    """Units x categories (and overall) heatmap for a whole-organization or portfolio view.

    Units run from top to bottom in ``order`` (the report's unit order, so the table beside
    the chart lists them alike), by overall score without it.
    """
    table = unit_scores.pivot_table(
        index="unit", columns="name", values="score", dropna=False, aggfunc="first"
    )
    columns = ["Overall", *[c.name for c in framework.categories]]
    table = table.reindex(columns=columns).dropna(how="all")
    if order is None:
        table = table.sort_values("Overall", ascending=False)
    else:
        table = table.reindex([u for u in order if u in table.index])
    table.index = table.index.map(wrap_label)
    low, high = framework.scale.min, framework.scale.max
    levels = list(range(low, high + 1))  # a cell takes its level's colour, as a practice tile
    # The column names stand at 45 degrees: five of them side by side would not fit the width.
    bottom = 0.25 + 0.71 * text_width(table.columns)
    margins = (text_width(table.index) + 0.2, bottom, 0.1, 0.1)
    fig, ax = figure_axes(WIDTH, bottom + 0.2 + 0.38 * max(len(table), 1), margins)
    sns.heatmap(  # every cell shows its score: the colour bar would only repeat the scale
        table,
        annot=True,
        fmt=".2f",
        cmap=matplotlib.colors.ListedColormap(
            [palette.score_colour(v, low, high)[0] for v in levels]
        ),
        norm=matplotlib.colors.BoundaryNorm([*levels, high + 1], len(levels)),
        linewidths=1,
        linecolor="white",
        cbar=False,
        ax=ax,
    )
    for text in ax.texts:  # each score in the ink that reads best on its level's colour
        text.set_color(palette.score_colour(float(text.get_text()), low, high)[1])
    ax.set(xlabel="", ylabel="")
    ax.tick_params(axis="x", labelrotation=45)
    for tick in ax.get_xticklabels():
        tick.set_horizontalalignment("right")
        tick.set_rotation_mode("anchor")
    return fig
