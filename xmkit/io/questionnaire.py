"""Blank questionnaires that respondents fill in and :func:`xmkit.load_responses` reads back.

Formats: ``csv`` (the wide header), ``xlsx`` (dropdowns and level descriptions), ``qualtrics``
(Qualtrics' Advanced Format TXT for *Import survey*: a block per category, question ids kept as
export tags, so the survey tool's CSV export loads as it is) and ``html`` (a self-contained,
printable paper questionnaire).
"""

from __future__ import annotations

import html
import re
from pathlib import Path
from typing import TYPE_CHECKING

from xmkit.io.iorw import atomic_path, safe_cells

if TYPE_CHECKING:  # the CLI imports this module for FORMATS: pandas only when writing
    import pandas as pd

    from xmkit.framework import Framework, Question

__all__ = [
    "DONT_KNOW",
    "FORMATS",
    "QUALTRICS_COMMENT",
    "QUALTRICS_ROLE",
    "QUALTRICS_UNIT",
    "SUFFIXES",
    "TEMPLATE_ROWS",
    "qualtrics_choice",
    "qualtrics_txt",
    "question_sheet",
    "questionnaire_format",
    "questionnaire_html",
    "template_columns",
    "write_questionnaire",
]

FORMATS = ("csv", "xlsx", "qualtrics", "html")
TEMPLATE_ROWS = 1000
DONT_KNOW = "Don't know"


def template_columns(framework: Framework) -> list[str]:
    """The wide layout's header: respondent, unit, role, every question id, comment."""
    from xmkit.io.responses import META

    return [*META, *framework.question_ids, "comment"]


def question_sheet(framework: Framework) -> pd.DataFrame:
    """One row per question with its practice, category and the text of every level."""
    import pandas as pd

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
                        f"level {lvl}: {framework.scale.label(lvl)}": q.levels.get(lvl, "")
                        for lvl in framework.scale.points
                    },
                }
            )
    return pd.DataFrame(rows)


def _write_xlsx(framework: Framework, path: Path) -> None:
    # openpyxl takes a third of a second to import: only when a workbook is written, not
    # in every ``xmkit`` command (the CLI imports this module for its list of formats)
    from openpyxl import Workbook
    from openpyxl.comments import Comment
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    from xmkit.io.responses import META

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
    levels = ",".join(str(v) for v in framework.scale.points)
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


# ---- Qualtrics Advanced Format TXT ------------------------------------------------------------

QUALTRICS_UNIT = "Which business unit do you work in?"
QUALTRICS_ROLE = "What is your role? (for example: executive, manager, frontline, XM team, HR team)"
QUALTRICS_COMMENT = "Anything you would like to add? (optional)"


def _qualtrics_text(text: str) -> str:
    """One line of Qualtrics text: no line breaks, HTML-escaped, nothing that reads as a tag.

    Qualtrics treats question and choice text as HTML, a line break would end the question text
    (the next line becomes a choice, or an error), ``[[...]]`` is a tag and ``${...}`` piped
    text; so every text goes through here. Brackets and ``$`` become HTML character references,
    which Qualtrics shows as the characters they stand for.
    """
    line = html.escape(re.sub(r"\s+", " ", str(text)).strip(), quote=False)
    return line.replace("[", "&#91;").replace("]", "&#93;").replace("$", "&#36;")


def _qualtrics_name(text: str) -> str:
    """A block name: one line without square brackets (a name is not HTML, so no escaping)."""
    return re.sub(r"\s+", " ", re.sub(r"[\[\]]", "", str(text))).strip() or "Block"


def qualtrics_choice(framework: Framework, question: Question, level: int) -> str:
    """A choice as ``"3 - Defined: <level text>"`` (see :meth:`Framework.choice`).

    The leading number is what :func:`xmkit.load_responses` reads when an export holds choice
    text; Qualtrics' numeric export gives the choice's position (1, 2, ...) as recode value,
    which is the level on a scale starting at 1. On a scale starting at 0, export choice text
    (or set the recode values to 0..10 in Qualtrics).
    """
    return _qualtrics_text(framework.choice(question, level))


def qualtrics_txt(framework: Framework) -> str:
    """The questionnaire in Qualtrics' Advanced Format TXT (Survey > Tools > Import survey).

    One block per category, a page per practice, one single-answer question per framework
    question with its levels as choices in scale order, and ``[[ID:...]]`` set to the question
    id, which Qualtrics uses as the export tag: the CSV export then has the columns ``unit``,
    ``role``, ``v1_1``, ... that xmkit reads. Question text is the framework's as it is, so
    columns still match by text if someone renames the export tags. No "don't know" choice: a
    skipped question exports blank, which is missing, and no recode value falls outside the
    scale.
    """
    levels = framework.scale.points
    lines = ["[[AdvancedFormat]]", "", "[[Block:About you]]", ""]
    intro = (
        f"{framework.name}. For each question, choose the level that best describes your "
        "organization or business unit today. Leave a question blank if you don't know."
    )
    lines += ["[[Question:DB]]", "[[ID:intro]]", _qualtrics_text(intro), ""]
    for qid, text in (("unit", QUALTRICS_UNIT), ("role", QUALTRICS_ROLE)):
        lines += ["[[Question:TE:SingleLine]]", f"[[ID:{qid}]]", _qualtrics_text(text), ""]
    for category in framework.categories:
        lines += [f"[[Block:{_qualtrics_name(category.name)}]]", ""]
        for i, practice in enumerate(category.practices):
            if i:
                lines += ["[[PageBreak]]", ""]
            about = f"<strong>{_qualtrics_text(practice.name)}</strong>: "
            lines += ["[[Question:DB]]", f"[[ID:about_{practice.id}]]"]
            lines += [about + _qualtrics_text(practice.description), ""]
            for q in practice.questions:
                lines += ["[[Question:MC:SingleAnswer:Vertical]]", f"[[ID:{q.id}]]"]
                lines += [_qualtrics_text(q.text), "[[Choices]]"]
                lines += [qualtrics_choice(framework, q, lvl) for lvl in levels]
                lines.append("")
    lines += ["[[Block:Comments]]", "", "[[Question:TE:Essay]]", "[[ID:comment]]"]
    lines += [_qualtrics_text(QUALTRICS_COMMENT), ""]
    return "\n".join(lines)


# ---- printable HTML ------------------------------------------------------------------------


def questionnaire_html(framework: Framework) -> str:
    """A printable questionnaire: one section per category, every level as a box to tick.

    Self-contained (no scripts, fonts or images to fetch) and every text HTML-escaped, since a
    framework may be adapted by anyone. The answers typed up into the CSV or XLSX template load
    as usual.
    """
    from xmkit.report.markup import page, render  # Jinja2 only when writing HTML

    labels = framework.scale.labels
    heads = {p: f"{p} - {labels[p]}" if labels.get(p) else str(p) for p in framework.scale.points}
    view = {
        "name": framework.name,
        "description": framework.description,
        "fields": [("respondent_id", "Respondent id"), ("unit", "Business unit"), ("role", "Role")],
        "dont_know": DONT_KNOW,
        "categories": [
            {
                "id": category.id,
                "name": category.name,
                "description": category.description,
                "color": category.color,
                "practices": [
                    {
                        "id": practice.id,
                        "name": practice.name,
                        "questions": [
                            {
                                "id": q.id,
                                "text": q.text,
                                "levels": [(p, heads[p], q.levels.get(p, "")) for p in heads],
                            }
                            for q in practice.questions
                        ],
                    }
                    for practice in category.practices
                ],
            }
            for category in framework.categories
        ],
    }
    return page(
        f"{framework.name} questionnaire",
        render("questionnaire.html.j2", **view),
        css="questionnaire.css",
        footer=f"{framework.name}, version {framework.version}. Made with xmkit.",
    )


SUFFIXES = {".csv": "csv", ".xlsx": "xlsx", ".txt": "qualtrics", ".html": "html", ".htm": "html"}
"""The format each output suffix means: ``-o survey.txt`` is the Qualtrics import file."""


def questionnaire_format(output: str | Path, fmt: str | None = None) -> str:
    """The format to write: ``fmt`` if given, else the one the suffix of ``output`` names.

    A format that contradicts a known suffix (``--format xlsx -o form.csv``) is refused: the
    file would not be what its name says, and reading it back would fail in a confusing way.
    """
    suffix = Path(output).suffix.lower()
    implied = SUFFIXES.get(suffix)
    if fmt is not None and fmt not in FORMATS:
        raise ValueError(f"unknown questionnaire format {fmt!r}; expected one of {FORMATS}")
    if fmt is None and implied is None:
        known = ", ".join(SUFFIXES)
        raise ValueError(
            f"cannot tell the format from {suffix or 'no suffix'!r}: name the file "
            f"with one of {known}, or give --format"
        )
    if fmt is not None and implied is not None and fmt != implied:
        raise ValueError(
            f"--format {fmt} contradicts the file name {Path(output).name!r} ({suffix} is "
            f"{implied}); change one of them"
        )
    return fmt or implied


def write_questionnaire(framework: Framework, fmt: str | None, output: str | Path) -> Path:
    """Write the blank questionnaire atomically, in ``fmt`` or the format ``output`` names."""
    fmt = questionnaire_format(output, fmt)
    output = Path(output)
    with atomic_path(output) as tmp:
        if fmt == "csv":
            import pandas as pd

            pd.DataFrame(columns=template_columns(framework)).to_csv(tmp, index=False)
        elif fmt == "xlsx":
            _write_xlsx(framework, tmp)
        elif fmt == "qualtrics":
            tmp.write_text(qualtrics_txt(framework), encoding="utf-8")
        else:
            tmp.write_text(questionnaire_html(framework), encoding="utf-8")
    return output
