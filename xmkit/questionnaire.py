"""Blank questionnaires that respondents fill in and :func:`xmkit.load_responses` reads back."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from openpyxl import Workbook
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from xmkit.framework import Framework
from xmkit.iorw import atomic_path, safe_cells
from xmkit.responses import META

FORMATS = ("csv", "xlsx")
TEMPLATE_ROWS = 1000
DONT_KNOW = "Don't know"


def template_columns(framework: Framework) -> list[str]:
    """The wide layout's header: respondent, unit, role, every question id, comment."""
    return [*META, *framework.question_ids, "comment"]


def question_sheet(framework: Framework) -> pd.DataFrame:
    """One row per question with its practice, category and the text of every level."""
    rows = []
    for category, practice in framework.practices:
        for q in practice.questions:
            rows.append(
                {
                    "question_id": q.id,
                    "category": category.name,
                    "practice": practice.name,
                    "question": q.text,
                    **{
                        f"level {lvl}: {framework.scale.labels[lvl]}": t
                        for lvl, t in q.levels.items()
                    },
                }
            )
    return pd.DataFrame(rows)


def _write_xlsx(framework: Framework, path: Path) -> None:
    wb = Workbook()
    ws = wb.active
    ws.title = "Responses"
    columns = template_columns(framework)
    texts = dict(
        zip(framework.questions["question_id"], framework.questions["question"], strict=True)
    )
    bold = Font(bold=True)
    for i, name in enumerate(columns, start=1):
        cell = ws.cell(row=1, column=i, value=name)
        cell.font = bold
        cell.fill = PatternFill("solid", fgColor="DDE4EE")
        if name in texts:
            cell.comment = Comment(texts[name], "xmkit")
        ws.column_dimensions[get_column_letter(i)].width = 14 if name in texts else 18
    ws.freeze_panes = "D2"
    levels = ",".join(str(v) for v in range(framework.scale.min, framework.scale.max + 1))
    validation = DataValidation(
        type="list",
        formula1=f'"{levels},{DONT_KNOW}"',
        allow_blank=True,
        showErrorMessage=True,
        errorTitle="Maturity level",
        error=f"Choose a level from {framework.scale.min} to {framework.scale.max}, "
        f"or {DONT_KNOW!r}. See the Questions sheet for what each level means.",
    )
    first, last = get_column_letter(len(META) + 1), get_column_letter(len(META) + len(texts))
    validation.add(f"{first}2:{last}{TEMPLATE_ROWS + 1}")
    ws.add_data_validation(validation)

    sheet = wb.create_sheet("Questions")
    table = safe_cells(question_sheet(framework))
    sheet.append(list(table.columns))
    for row in table.itertuples(index=False):
        sheet.append(list(row))
    for i in range(1, len(table.columns) + 1):
        sheet.cell(row=1, column=i).font = bold
        sheet.column_dimensions[get_column_letter(i)].width = 12 if i == 1 else 40
    for row in sheet.iter_rows(min_row=2):
        for cell in row:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    sheet.freeze_panes = "B2"
    wb.save(path)


def write_questionnaire(framework: Framework, fmt: str, output: str | Path) -> Path:
    """Write the blank questionnaire in ``fmt`` (csv or xlsx) to ``output``, atomically."""
    output = Path(output)
    with atomic_path(output) as tmp:
        if fmt == "csv":
            pd.DataFrame(columns=template_columns(framework)).to_csv(tmp, index=False)
        elif fmt == "xlsx":
            _write_xlsx(framework, tmp)
        else:
            raise ValueError(f"unknown questionnaire format {fmt!r}; expected one of {FORMATS}")
    return output
