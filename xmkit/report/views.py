"""View data shared by the report and the portfolio: tables, numbers and charts, no markup.

A section's view is plain data (strings, numbers, lists, dicts) that a template in
``xmkit/report/templates/`` turns into HTML; these are the pieces several sections use.
"""

from __future__ import annotations

import base64
import io
import warnings
from collections.abc import Sequence
from decimal import Decimal

import matplotlib
import pandas as pd

__all__ = ["SVG_RC", "difference", "difference_text", "figure", "num", "table"]

SVG_RC = {"svg.fonttype": "none", "svg.hashsalt": "xmkit"}


def num(value: float) -> str:
    """A score with two decimals; blank for a missing value."""
    return "" if pd.isna(value) else f"{value:.2f}"


def difference(a: float, b: float) -> float:
    """``a - b`` as the reader works it out from the shown values (two decimals each).

    A difference of the unrounded scores can disagree with the numbers beside it: 3.535 and
    2.949 show as 3.53 and 2.95, whose difference is 0.58, while 0.586 rounds to 0.59. The
    decimal arithmetic keeps 0.58 from becoming 0.5799999. NaN when either is missing.
    """
    if pd.isna(a) or pd.isna(b):
        return float("nan")
    return float(Decimal(num(a)) - Decimal(num(b)))


def difference_text(a: float, b: float) -> str:
    """``"+0.58"``: :func:`difference` with its sign; blank when either value is missing."""
    value = difference(a, b)
    return "" if pd.isna(value) else f"{value:+.2f}"


def table(
    frame: pd.DataFrame,
    classes: str = "",
    hidden: Sequence[str] | None = None,
    keep: int = 1,
) -> dict:
    """A table's view (``macros.table``): column names and rows of cells, as given.

    ``hidden`` holds, row by row, why a group shows no values ("" for a shown row): such a
    row keeps its first ``keep`` cells and states the reason once, in one cell across the
    other columns, instead of repeating it in every cell.
    """
    rows = [list(row) for row in frame.itertuples(index=False)]
    return {
        "columns": list(frame.columns),
        "rows": rows,
        "spans": list(hidden) if hidden is not None else [""] * len(rows),
        "keep": keep,
        "classes": classes,
    }


def figure(fig, caption: str, alt: str) -> dict:
    """A chart's view (``macros.figure``): the chart as an SVG data URI, caption and alt text.

    SVG keeps charts sharp in print and on any screen, is smaller and quicker to make than a
    PNG of the same quality; text stays text (selectable, found by PDF text search). A fixed
    hash salt and no date make the same chart the same bytes in every run. Embedded as an
    ``img`` (base64, which needs no escaping), the SVG cannot run scripts in the page.
    """
    buffer = io.BytesIO()
    with warnings.catch_warnings(), matplotlib.rc_context(SVG_RC):
        warnings.simplefilter("ignore")
        fig.savefig(buffer, format="svg", metadata={"Date": None})
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    return {"src": f"data:image/svg+xml;base64,{data}", "caption": caption, "alt": alt}
