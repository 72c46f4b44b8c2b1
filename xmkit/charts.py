"""Report charts drawn with seaborn; every chart gives each category the framework's colour.

Each function takes tidy data (as :func:`xmkit.score` returns) and returns a matplotlib Figure,
so the same charts serve notebooks, HTML and PDF.
"""

from __future__ import annotations

import textwrap

import matplotlib
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from xmkit.framework import Framework

# Names come from clients: "$...$" in them must show as text, never be parsed as TeX.
PLAIN_TEXT = matplotlib.rc_context({"text.parse_math": False})
STYLE = {"axes.spines.right": False, "axes.spines.top": False}


def figure_axes(width: float, height: float) -> tuple[Figure, Axes]:
    """A figure outside pyplot: no global figure list, backend or rc change to leak."""
    fig = Figure(figsize=(width, height), layout="constrained")
    with sns.axes_style("whitegrid", rc=STYLE):
        ax = fig.add_subplot()
    return fig, ax


@PLAIN_TEXT
def category_chart(scores: pd.DataFrame, framework: Framework) -> Figure:
    """Category scores with their 95% confidence intervals, one colour per category."""
    cats = scores[scores["level"] == "category"].dropna(subset=["score"])
    fig, ax = figure_axes(8, 0.6 + 0.55 * max(len(cats), 1))
    order = [c.name for c in framework.categories if c.name in set(cats["name"])]
    sns.barplot(
        data=cats,
        y="name",
        x="score",
        hue="name",
        palette=framework.palette,
        legend=False,
        ax=ax,
        order=order,
    )
    for i, row in enumerate(cats.set_index("name").reindex(order).itertuples()):
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
    ax.set(xlim=(framework.scale.min, framework.scale.max), xlabel="score (1-5)", ylabel="")
    return fig


@PLAIN_TEXT
def practice_heatmap(scores: pd.DataFrame, framework: Framework) -> Figure:
    """Categories x practices grid: colour by score, each cell naming the practice and level."""
    practices = scores[scores["level"] == "practice"].set_index("id")
    width = max(len(c.practices) for c in framework.categories)
    values = np.full((len(framework.categories), width), np.nan)
    labels = np.full(values.shape, "", dtype=object)
    for i, cat in enumerate(framework.categories):
        for j, p in enumerate(cat.practices):
            score = practices["score"].get(p.id, np.nan)
            values[i, j] = score
            name = "\n".join(textwrap.wrap(p.name, 20))
            shown = "not shown" if pd.isna(score) else f"{score:.2f} (level {int(score)})"
            labels[i, j] = f"{name}\n{shown}"
    fig, ax = figure_axes(9, 1.45 * len(framework.categories) + 0.4)
    sns.heatmap(
        values,
        annot=labels,
        fmt="",
        cmap="RdYlGn",
        vmin=framework.scale.min,
        vmax=framework.scale.max,
        linewidths=2,
        linecolor="white",
        cbar_kws={"label": "score (1-5)", "shrink": 0.8},
        annot_kws={"fontsize": 9.5},
        ax=ax,
    )
    ax.set_yticks(np.arange(len(framework.categories)) + 0.5)
    ax.set_yticklabels([c.name for c in framework.categories], rotation=0, fontweight="bold")
    for tick, cat in zip(ax.get_yticklabels(), framework.categories, strict=True):
        tick.set_color(cat.color)
    ax.set_xticks([])
    return fig


@PLAIN_TEXT
def role_chart(role_scores: pd.DataFrame, framework: Framework) -> Figure:
    """Each role's category scores as dots (roles below the minimum are left out)."""
    shown = role_scores.dropna(subset=["score"])
    fig, ax = figure_axes(8, 0.8 + 0.45 * max(shown["role"].nunique(), 1))
    sns.stripplot(
        data=shown,
        x="score",
        y="role",
        hue="name",
        palette=framework.palette,
        hue_order=[c.name for c in framework.categories],
        size=9,
        jitter=False,
        dodge=False,
        ax=ax,
    )
    ax.set(
        xlim=(framework.scale.min, framework.scale.max), xlabel="category score (1-5)", ylabel=""
    )
    ax.legend(title="", loc="upper center", bbox_to_anchor=(0.5, -0.25), ncol=4, frameon=False)
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
    fig, ax = figure_axes(8, 0.8 + 0.38 * max(len(table), 1))
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
        cbar_kws={"label": "score (1-5)"},
    )
    ax.set(xlabel="", ylabel="")
    for tick in ax.get_xticklabels():
        tick.set_color(framework.palette.get(tick.get_text(), "#222222"))
    return fig
