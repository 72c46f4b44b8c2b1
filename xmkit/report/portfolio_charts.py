"""Charts of the portfolio page that must stay legible however many units there are.

Each chart gives every unit it shows a fixed height (the figure grows, the text does not
shrink) and labels units on the axis, so there is no legend to cut and no colour per unit.
"""

from __future__ import annotations

import pandas as pd
from matplotlib.figure import Figure

from xmkit.report.charts import figure_axes

__all__ = ["ROW_INCHES", "movers_chart"]

ROW_INCHES = 0.26  # height of one unit's row: 9 pt labels never overlap
LABEL = 28  # characters of a unit's name on the axis; the table beside the chart has them all
BEFORE, NOW = "#9E9E9E", "#1F4E79"
UP, DOWN = "#2166AC", "#D6604D"  # blue and vermilion-orange: told apart with any colour vision


def movers_chart(rows: pd.DataFrame, before: str, now: str, scale: tuple[float, float]) -> Figure:
    """One row per unit (columns ``unit``, ``previous``, ``overall``, ``change``, in the order
    given): a grey dot at the earlier score, a dark dot at today's, joined by a line whose
    colour says rise or fall. ``before`` and ``now`` name the waves in the key.

    The axis spans the scores shown (at least one point of the scale), so small moves stay
    visible; it is labelled with its values, never implying a zero.
    """
    longest = max(len(str(u)) for u in rows["unit"])
    left = 0.25 + 0.075 * min(longest, LABEL)
    height = 0.9 + ROW_INCHES * len(rows)
    fig, ax = figure_axes(5.5, height, margins=(left, 0.55, 0.2, 0.35))
    y = range(len(rows))
    for i, row in zip(y, rows.itertuples(), strict=True):
        colour = UP if row.change >= 0 else DOWN
        ax.plot([row.previous, row.overall], [i, i], color=colour, linewidth=2, zorder=1)
    ax.scatter(rows["previous"], list(y), color=BEFORE, s=22, zorder=2, label=before)
    ax.scatter(rows["overall"], list(y), color=NOW, s=26, zorder=3, label=now)
    labels = [u if len(u) <= LABEL else u[: LABEL - 1] + "\u2026" for u in map(str, rows["unit"])]
    ax.set_yticks(list(y), labels, fontsize=9)
    ax.set_ylim(len(rows) - 0.5, -0.5)
    values = pd.concat([rows["previous"], rows["overall"]])
    centre = (values.min() + values.max()) / 2
    half = max((values.max() - values.min()) / 2 + 0.1, 0.5)
    low, high = max(scale[0], centre - half), min(scale[1], centre + half)
    ax.set_xlim(low, high)
    ax.set_xlabel(f"overall score ({scale[0]:g}-{scale[1]:g})")
    ax.grid(axis="x", color="#E0E0E0", linewidth=0.6)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.legend(
        loc="lower left",
        bbox_to_anchor=(0, 1.0),
        ncol=2,
        frameon=False,
        fontsize=9,
        borderaxespad=0,
    )
    return fig
