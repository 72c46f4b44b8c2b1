"""``portfolio.csv`` and ``portfolio.xlsx``: the batch's portfolio table, made for people.

The table of :func:`xmkit.batch.run.portfolio_table` keeps ids and full precision for the
portfolio notebook. The files people open get readable headers (category and practice names),
the organization row first, and numbers rounded to 3 decimals (CSV) or shown with number
formats (XLSX: sheets Units, Categories and Practices, a frozen header row and unit column,
a colour scale on the scores, column widths, links to each unit's report files). Text from the
data is neutralized against spreadsheet formulas (:func:`xmkit.io.iorw.safe_cells`).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from xmkit.framework import Framework
from xmkit.io.iorw import atomic_path, safe_cells, write_table

__all__ = ["DECIMALS", "SHEETS", "headers", "people_table", "write_csv", "write_xlsx"]

DECIMALS = 3
SHEETS = ("Units", "Categories", "Practices")
LINK_HEADERS = {"report": "Report (HTML)", "report_pdf": "Report (PDF)", "report_ipynb": "Notebook"}
SCORE_FORMAT, CHANGE_FORMAT, COUNT_FORMAT = "0.00", "+0.00;-0.00;0.00", "0"
# a colour-blind-safe diverging scale (orange - white - blue) over the framework's scale
LOW, MID, HIGH = "F1A340", "F7F7F7", "6BAED6"


def headers(framework: Framework) -> dict[str, str]:
    """Readable column names of the portfolio table's columns (id -> header), all distinct."""
    gate = next(
        (c.name for c in framework.categories if c.id == framework.gating.category),
        framework.gating.category,
    )
    fixed = {
        "unit": "Unit",
        "status": "Status",
        "respondents": "Respondents",
        "overall": "Overall",
        "overall_low": "Overall 95% low",
        "overall_high": "Overall 95% high",
        "rank_best": "Rank (best)",
        "rank_worst": "Rank (worst)",
        "stage": "Stage",
        "stage_name": "Stage name",
        "capped": f"Capped by {gate}",
        "withheld": "Why no scores",
        "previous_wave": "Previous wave",
        "previous_overall": "Previous overall",
        "change": "Change",
        **LINK_HEADERS,
    }
    names = dict(fixed)
    items = [(c.id, c.name) for c in framework.categories]
    items += [(p.id, p.name) for _, p in framework.practices]
    for item, name in items:
        names[item] = name if name not in names.values() else f"{name} ({item})"
    return names


def _order(framework: Framework) -> list[str]:
    first = ["unit", "status", "respondents", "overall", "overall_low", "overall_high"]
    first += ["rank_best", "rank_worst", "stage", "stage_name", "capped", "withheld"]
    first += ["previous_wave", "previous_overall", "change"]
    items = [c.id for c in framework.categories] + [p.id for _, p in framework.practices]
    return [*first, *items, *LINK_HEADERS]


def people_table(table: pd.DataFrame, framework: Framework) -> pd.DataFrame:
    """The portfolio table for people: the organization row first, readable headers, numbers
    rounded to :data:`DECIMALS` (counts, stages and ranks as whole numbers)."""
    order = [c for c in _order(framework) if c in table.columns]
    out = table[order].copy()
    out = pd.concat([out[out["status"] == "organization"], out[out["status"] != "organization"]])
    whole = {"respondents", "stage", "rank_best", "rank_worst"}
    text = {"unit", "status", "stage_name", "capped", "withheld", "previous_wave", *LINK_HEADERS}
    for column in out.columns:
        if column in whole:
            out[column] = pd.to_numeric(out[column]).round().astype("Int64")
        elif column not in text:
            out[column] = pd.to_numeric(out[column]).astype(float).round(DECIMALS)
    if "capped" in out:
        out["capped"] = out["capped"].map({True: "yes", False: "no"})
    return out.rename(columns=headers(framework)).reset_index(drop=True)


def write_csv(table: pd.DataFrame, framework: Framework, target: Path) -> Path:
    """``portfolio.csv``: :func:`people_table`, atomically and injection-safe."""
    return write_table(people_table(table, framework), target)


def write_xlsx(table: pd.DataFrame, framework: Framework, target: Path) -> Path:
    """``portfolio.xlsx``: sheets Units, Categories and Practices (see the module docstring)."""
    from openpyxl import Workbook
    from openpyxl.formatting.rule import ColorScaleRule
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    people = people_table(table, framework)
    names = headers(framework)
    categories = [names[c.id] for c in framework.categories]
    practices = [names[p.id] for _, p in framework.practices]
    scores = {names["overall"], *categories, *practices, names["previous_overall"]}
    scores |= {names["overall_low"], names["overall_high"]}
    items = set(categories) | set(practices)
    sheets = {
        "Units": [c for c in people.columns if c not in items],
        "Categories": [names["unit"], names["overall"], *categories],
        "Practices": [names["unit"], *practices],
    }
    scale = framework.scale
    colours = ColorScaleRule(
        start_type="num",
        start_value=scale.min,
        start_color=LOW,
        mid_type="num",
        mid_value=(scale.min + scale.max) / 2,
        mid_color=MID,
        end_type="num",
        end_value=scale.max,
        end_color=HIGH,
    )
    book = Workbook()
    book.remove(book.active)
    for title, wanted in sheets.items():
        columns = [c for c in wanted if c in people.columns]  # no scores when every unit failed
        sheet = book.create_sheet(title)
        frame = safe_cells(people[columns])
        sheet.append(list(frame.columns))
        for row in frame.itertuples(index=False):
            sheet.append([None if pd.isna(v) else v for v in row])
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        sheet.freeze_panes = "B2"  # the header row and the unit column stay in view
        last = len(frame) + 1
        for i, column in enumerate(columns, start=1):
            letter = get_column_letter(i)
            cells = [row[0] for row in sheet.iter_rows(min_row=2, min_col=i, max_col=i)]
            fmt = {names["change"]: CHANGE_FORMAT}.get(column)
            fmt = fmt or (SCORE_FORMAT if column in scores else None)
            fmt = fmt or (COUNT_FORMAT if pd.api.types.is_integer_dtype(people[column]) else None)
            for cell in cells:
                if fmt:
                    cell.number_format = fmt
                if column in LINK_HEADERS.values() and cell.value:
                    cell.hyperlink = cell.value  # relative: opens beside the workbook
                    cell.style = "Hyperlink"
            if column in scores and last > 1:
                sheet.conditional_formatting.add(f"{letter}2:{letter}{last}", colours)
            longest = max([len(str(column))] + [len(str(c.value or "")) for c in cells])
            sheet.column_dimensions[letter].width = min(max(longest + 2, 8), 40)
    with atomic_path(target) as tmp:
        book.save(tmp)
    return target
