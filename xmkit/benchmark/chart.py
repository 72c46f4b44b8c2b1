"""The benchmark chart: the client's percentile rank per category, against the quartiles.

The x axis is the benchmark distribution itself (0 = below every stored organization, 100 =
above every one), so the chart places the client without showing any organization's score.
"""

from __future__ import annotations

import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure

from xmkit.report.charts import PLAIN_TEXT, figure_axes

__all__ = ["percentile_chart"]

QUARTER_SHADES = ("#f3d9d5", "#f7ebd9", "#e3efe0", "#d3e8d0")


@PLAIN_TEXT
def percentile_chart(view: pd.DataFrame, scope_labels: dict[str, str]) -> Figure:
    """One row per item (overall first), one marker per scope at its percentile rank.

    ``view`` is :func:`xmkit.benchmark.compare.compare`'s table; rows not ``shown`` are left
    out. ``scope_labels`` names the scopes in the legend (e.g. the industry and its size).
    """
    shown = view[view["shown"]].copy()
    shown["benchmark"] = shown["scope"].map(scope_labels)
    order = list(dict.fromkeys(view["name"]))
    fig, ax = figure_axes(7.5, 0.55 * len(order) + 1.3)
    for i, shade in enumerate(QUARTER_SHADES):
        ax.axvspan(25 * i, 25 * (i + 1), color=shade, zorder=0)
    ax.axvline(50, color="#6b7785", linewidth=1, linestyle="--", zorder=1)
    sns.stripplot(
        data=shown,
        x="percentile",
        y="name",
        hue="benchmark",
        order=order,
        hue_order=[scope_labels[s] for s in ("industry", "all") if s in scope_labels],
        palette=["#1f5f8b", "#d17a22"],
        dodge=True,
        jitter=False,
        size=9,
        ax=ax,
        zorder=3,
    )
    ax.set_xlim(0, 100)
    ax.set_xticks([0, 25, 50, 75, 100])
    ax.set_xlabel("Percentile rank among stored organizations (50 = median organization)")
    ax.set_ylabel("")
    if ax.get_legend() is not None:
        sns.move_legend(ax, "upper center", bbox_to_anchor=(0.5, -0.25), ncol=2, title=None)
    return fig
