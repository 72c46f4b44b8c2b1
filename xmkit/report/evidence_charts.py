"""Charts for the evidence sections: EX-CX linkage by lag, its scatter, wave change and trend.

Like :mod:`xmkit.report.charts`, every function takes tidy data and returns a matplotlib Figure made
with :func:`xmkit.report.charts.figure_axes` (no pyplot state), :data:`~xmkit.report.charts.WIDTH`
wide; categories keep the framework's colours, other series take :mod:`xmkit.report.palette`'s.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure

from xmkit.analysis.linkage import linkage_pairs
from xmkit.framework import Framework
from xmkit.report import palette
from xmkit.report.charts import PLAIN_TEXT, WIDTH, figure_axes
from xmkit.report.views import difference_text

__all__ = [
    "KIND_COLORS",
    "KIND_LABELS",
    "OVERALL_COLOR",
    "lag_chart",
    "linkage_scatter",
    "trend_chart",
    "wave_chart",
]

KIND_COLORS = {"between": "#9A9A9A", "within": palette.CATEGORY_COLOURS[0]}
KIND_LABELS = {"between": "between units", "within": "within units (vs own average)"}
OVERALL_COLOR = palette.NEUTRAL


def _empty(fig: Figure, ax, message: str) -> Figure:
    ax.text(
        0.5, 0.5, message, ha="center", va="center", transform=ax.transAxes, color=palette.MUTED
    )
    ax.set_axis_off()
    return fig


@PLAIN_TEXT
def lag_chart(linkage_df: pd.DataFrame, period_name: str = "period") -> Figure:
    """Correlation ``r`` with its 95% CI at each lag, between and within units side by side.

    A CI that crosses the zero line is compatible with no link at that lag.
    """
    fig, ax = figure_axes(WIDTH, 3.4)
    shown = linkage_df.dropna(subset=["r"])
    if shown.empty:
        return _empty(fig, ax, "not enough units and periods to correlate")
    offsets = {"between": -0.12, "within": 0.12}
    for kind, group in shown.groupby("kind", sort=True):
        x = group["lag"].to_numpy(dtype=float) + offsets.get(kind, 0.0)
        r = group["r"].to_numpy()
        low, high = group["ci_low"].to_numpy(), group["ci_high"].to_numpy()
        has_ci = ~np.isnan(low)
        ax.errorbar(
            x[has_ci],
            r[has_ci],
            yerr=[r[has_ci] - low[has_ci], high[has_ci] - r[has_ci]],
            fmt="none",
            ecolor=KIND_COLORS.get(kind, "#333333"),
            capsize=4,
            linewidth=1.4,
        )
        ax.scatter(
            x, r, s=55, color=KIND_COLORS.get(kind, "#333333"), label=KIND_LABELS.get(kind, kind)
        )
    ax.axhline(0, color="#444444", linewidth=0.9)
    lags = sorted(shown["lag"].unique())
    ax.set_xticks(lags)
    ax.set_xticklabels([_lag_label(k, period_name) for k in lags])
    ax.set(
        xlim=(lags[0] - 0.5, lags[-1] + 0.5),  # room for the outer lags' two markers
        ylim=(-1.05, 1.05),
        ylabel="correlation r (95% CI)",
        xlabel="",
    )
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=2, frameon=False)
    return fig


def _lag_label(lag: int, period_name: str) -> str:
    """The lag in words, on two lines: several stand side by side under a narrow chart."""
    if lag == 0:
        return f"same\n{period_name}"
    plural = "s" if abs(lag) != 1 else ""
    if lag > 0:
        return f"CX {lag} {period_name}{plural}\nlater"
    return f"CX {-lag} {period_name}{plural}\nearlier"


@PLAIN_TEXT
def linkage_scatter(
    metrics: pd.DataFrame,
    ex: str,
    cx: str,
    lag: int,
    kind: str = "within",
    period_name: str = "period",
    remove_period_means: bool = False,
) -> Figure:
    """EX against CX ``lag`` periods later, with a least-squares line.

    ``kind="within"``: every unit-period pair, each centred on its unit's averages (the data of
    the within-unit r); ``"between"``: one labelled point per unit (its averages).
    """
    points = linkage_pairs(metrics, ex, cx, lag, kind, remove_period_means)
    fig, ax = figure_axes(WIDTH, 3.6)
    if len(points) < 3:
        return _empty(fig, ax, "not enough units and periods to show")
    color = KIND_COLORS.get(kind, "#1F4E79")
    sns.regplot(
        data=points,
        x="ex",
        y="cx",
        ci=None,
        ax=ax,
        color=color,
        scatter_kws={"s": 28 if kind == "within" else 55, "alpha": 0.7 if kind == "within" else 1},
        line_kws={"linewidth": 1.6},
    )
    if kind == "between" and len(points) <= 15:
        for row in points.itertuples():
            ax.annotate(str(row.unit), (row.ex, row.cx), xytext=(4, 4), textcoords="offset points")
    r = np.corrcoef(points["ex"], points["cx"])[0, 1]
    n_units = points["unit"].nunique()
    note = f"r = {r:.2f}, {n_units} units" + (
        f", {len(points)} unit-{period_name}s" if kind == "within" else ""
    )
    ax.set_title(note, loc="left", color="#333333")
    suffix = " (vs unit's own average)" if kind == "within" else " (unit average)"
    when = _lag_label(lag, period_name).replace("CX ", "").replace("\n", " ")
    ax.set(xlabel=f"{ex}{suffix}", ylabel=f"{cx}, {when}{suffix}")
    return fig


@PLAIN_TEXT
def wave_chart(compare_df: pd.DataFrame, framework: Framework) -> Figure:
    """Change of the overall and category scores since the previous wave, with 95% CIs.

    ``compare_df`` is :func:`xmkit.analysis.waves.compare_waves` output for one group.
    """
    rows = compare_df[compare_df["level"].isin(["overall", "category"])]
    order = ["Overall", *[c.name for c in framework.categories]]
    rows = rows.set_index("name").reindex([n for n in order if n in set(rows["name"])])
    fig, ax = figure_axes(WIDTH, 1.0 + 0.38 * max(len(rows), 1))
    shown = rows.dropna(subset=["change"])
    if shown.empty:
        return _empty(fig, ax, "no comparison to show (too few responses in a wave)")
    palette = {**framework.palette, "Overall": OVERALL_COLOR}
    positions = {name: i for i, name in enumerate(rows.index)}
    for name, row in shown.iterrows():
        y = positions[name]
        ax.barh(y, row["change"], color=palette.get(name, OVERALL_COLOR), height=0.6)
        positive = row["change"] >= 0
        end = row["ci_high"] if positive else row["ci_low"]
        end = row["change"] if pd.isna(end) else end
        ax.text(  # the number beyond the bar's interval, on the side it points to
            end + (0.015 if positive else -0.015),
            y,
            difference_text(row["score_now"], row["score_before"]),  # as the table shows it
            va="center",
            ha="left" if positive else "right",
            color="#222222",
        )
        if pd.notna(row["ci_low"]):
            ax.errorbar(
                row["change"],
                y,
                xerr=[[row["change"] - row["ci_low"]], [row["ci_high"] - row["change"]]],
                fmt="none",
                ecolor="#222222",
                capsize=4,
                linewidth=1.2,
            )
    for name in rows.index.difference(shown.index):
        ax.text(0, positions[name], "  not shown", va="center", color=palette.MUTED)
    ax.axvline(0, color="#444444", linewidth=0.9)
    ax.set_yticks(range(len(rows)))
    ax.set_yticklabels(list(rows.index))
    ax.invert_yaxis()
    span = np.nanmax(np.abs(shown[["change", "ci_low", "ci_high"]].to_numpy(dtype=float)))
    span = max(0.3, float(span) * 1.3)
    ax.set(xlim=(-span, span), xlabel="change since previous wave\n(score points, 95% CI)")
    return fig


@PLAIN_TEXT
def trend_chart(
    trend_df: pd.DataFrame, by: str = "unit", scale: tuple[int, int] = (1, 5)
) -> Figure:
    """Each unit's overall score across waves (rows of ``by``, wave, wave_order and score).

    ``scale`` is the framework's (min, max): the axis spans it.
    """
    shown = trend_df.dropna(subset=["score"])
    fig, ax = figure_axes(WIDTH, 4.2)
    if shown.empty:
        return _empty(fig, ax, "no scores to show")
    series = list(dict.fromkeys(shown.sort_values(by)[by]))
    waves = trend_df.drop_duplicates("wave_order").sort_values("wave_order")["wave"].tolist()
    sns.lineplot(
        data=shown,
        x="wave_order",
        y="score",
        hue=by,
        hue_order=series,
        palette=palette.category_colours(len(series)),
        marker="o",
        ax=ax,
        sort=True,
    )
    ax.set_xticks(range(len(waves)))
    ax.set_xticklabels(waves)
    ax.set_xlim(-0.3, len(waves) - 0.7)
    ax.set(ylim=scale, xlabel="", ylabel=f"overall score ({scale[0]}-{scale[1]})")
    ax.legend(title="", loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=2, frameon=False)
    return fig
