"""Report charts (seaborn, and matplotlib directly where seaborn only adds time); every chart
gives each category the framework's colour.

Each function takes tidy data (as :func:`xmkit.score` returns) and returns a matplotlib Figure,
so the same charts serve notebooks, HTML and PDF.
"""

from __future__ import annotations

import colorsys
import textwrap
from collections.abc import Iterable

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

__all__ = [
    "PLAIN_TEXT",
    "STYLE",
    "category_chart",
    "figure_axes",
    "role_chart",
    "text_width",
    "unit_heatmap",
    "wrap_label",
]

# Names come from clients: "$...$" in them must show as text, never be parsed as TeX.
PLAIN_TEXT = matplotlib.rc_context({"text.parse_math": False})
STYLE = {"axes.spines.right": False, "axes.spines.top": False}


def figure_axes(
    width: float, height: float, margins: tuple[float, float, float, float] | None = None
) -> tuple[Figure, Axes]:
    """A figure outside pyplot: no global figure list, backend or rc change to leak.

    ``margins`` (left, bottom, right, top, in inches) fix the axes' place. Charts drawn for
    every report pass them: a constrained layout draws the figure several times to find the
    same margins, which costs more than the drawing itself. Without them the layout is
    constrained (charts made once per report, with legends of unknown size).
    """
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
    fig, ax = figure_axes(8, 0.75 + 0.55 * max(len(cats), 1), margins)
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
            color="white",
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
    margins = (text_width(shown["role"].unique()) + 0.2, 0.95, 0.2, 0.1)
    fig, ax = figure_axes(8, 1.05 + 0.45 * rows, margins)
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
    fig.legend(handles, names, loc="lower center", ncol=4, frameon=False)
    return fig


@PLAIN_TEXT
def unit_heatmap(unit_scores: pd.DataFrame, framework: Framework) -> Figure:
    """Units x categories (and overall) heatmap for a whole-organization or portfolio view."""
    table = unit_scores.pivot_table(
        index="unit", columns="name", values="score", dropna=False, aggfunc="first"
    )
    order = ["Overall", *[c.name for c in framework.categories]]
    table = table.reindex(columns=order).dropna(how="all")
    table = table.sort_values("Overall", ascending=False)
    table.index = table.index.map(wrap_label)
    margins = (text_width(table.index) + 0.2, 0.45, 0.1, 0.1)
    fig, ax = figure_axes(8, 0.55 + 0.38 * max(len(table), 1), margins)
    sns.heatmap(
        table,
        annot=True,
        fmt=".2f",
        cmap="RdYlGn",
        vmin=framework.scale.min,
        vmax=framework.scale.max,
        linewidths=1,
        linecolor="white",
        ax=ax,
        cbar_kws={"label": f"score ({framework.scale.range_text})"},
    )
    ax.set(xlabel="", ylabel="")
    for tick in ax.get_xticklabels():
        tick.set_color(framework.palette.get(tick.get_text(), "#222222"))
    return fig
