"""View data shared by the report and the portfolio: tables, numbers and charts, no markup.

A section's view is plain data (strings, numbers, lists, dicts) that a template in
``xmkit/report/templates/`` turns into HTML; these are the pieces several sections use.
"""

from __future__ import annotations

import base64
import io
import warnings

import matplotlib
import pandas as pd

__all__ = ["SVG_RC", "figure", "num", "table"]

SVG_RC = {"svg.fonttype": "none", "svg.hashsalt": "xmkit"}


def num(value: float) -> str:
    """A score with two decimals; blank for a missing value."""
    return "" if pd.isna(value) else f"{value:.2f}"


def table(frame: pd.DataFrame, classes: str = "") -> dict:
    """A table's view (``macros.table``): column names and rows of cells, as given."""
    return {
        "columns": list(frame.columns),
        "rows": [list(row) for row in frame.itertuples(index=False)],
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
