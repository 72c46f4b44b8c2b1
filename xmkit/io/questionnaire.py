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

import pandas as pd

from xmkit.framework import Framework
from xmkit.io.iorw import atomic_path, safe_cells
from xmkit.io.responses import META

FORMATS = ("csv", "xlsx", "qualtrics", "html")
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
    # openpyxl takes a third of a second to import: only when a workbook is written, not
    # in every ``xmkit`` command (the CLI imports this module for its list of formats)
    from openpyxl import Workbook
    from openpyxl.comments import Comment
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

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


def qualtrics_choice(framework: Framework, level: int, text: str) -> str:
    """A choice as ``"3 - Defined: <level text>"``.

    The leading number is what :func:`xmkit.load_responses` reads when an export holds choice
    text; Qualtrics' numeric export gives the same number as recode value (choices are 1..5 in
    order).
    """
    return _qualtrics_text(f"{level} - {framework.scale.labels[level]}: {text}")


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
    levels = range(framework.scale.min, framework.scale.max + 1)
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
                lines += [qualtrics_choice(framework, lvl, q.levels[lvl]) for lvl in levels]
                lines.append("")
    lines += ["[[Block:Comments]]", "", "[[Question:TE:Essay]]", "[[ID:comment]]"]
    lines += [_qualtrics_text(QUALTRICS_COMMENT), ""]
    return "\n".join(lines)


# ---- printable HTML ------------------------------------------------------------------------

PRINT_CSS = """
:root { --ink: #1d2733; --muted: #5b6675; --line: #c9d1dc; }
* { box-sizing: border-box; }
body { font: 11pt/1.45 system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif;
  color: var(--ink); margin: 0; }
main { max-width: 52rem; margin: 0 auto; padding: 1.5rem; }
h1 { font-size: 1.6rem; margin: 0 0 .3rem; }
h2 { font-size: 1.3rem; margin: 0 0 .2rem; padding-bottom: .2rem;
  border-bottom: 3px solid var(--accent, #444); }
h3 { font-size: 1.05rem; margin: 1.2rem 0 .4rem; color: var(--muted); }
.lead, .hint { color: var(--muted); }
.fields { display: grid; grid-template-columns: max-content 1fr; gap: .6rem 1rem;
  margin: 1rem 0 1.5rem; }
.fields span.fill { border-bottom: 1px solid var(--ink); min-height: 1.4rem; }
section.category { margin-top: 2rem; }
.question { border: 1px solid var(--line); border-radius: 6px; padding: .6rem .8rem;
  margin: .6rem 0; break-inside: avoid; page-break-inside: avoid; }
.question p { margin: 0 0 .4rem; font-weight: 600; }
.qid { font: 600 .8rem ui-monospace, monospace; color: var(--muted); margin-right: .4rem; }
ol.levels { list-style: none; margin: 0; padding: 0; }
ol.levels li { display: grid; grid-template-columns: 1.1rem 6.5rem 1fr; gap: .5rem;
  padding: .15rem 0; align-items: start; }
.box { width: .95rem; height: .95rem; border: 1.5px solid var(--ink); border-radius: 2px;
  margin-top: .2rem; }
.level { font-weight: 600; }
.comments { border: 1px solid var(--line); min-height: 8rem; border-radius: 6px; }
footer { color: var(--muted); font-size: .85rem; margin-top: 2rem; }
@page { size: A4; margin: 14mm 12mm; }
@media print {
  body { font-size: 10pt; }
  main { max-width: none; padding: 0; }
  section.category + section.category { break-before: page; page-break-before: always;
    margin-top: 0; }
  h2, h3 { break-after: avoid; page-break-after: avoid; }
  * { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
}
"""


def questionnaire_html(framework: Framework) -> str:
    """A printable questionnaire: one section per category, every level as a box to tick.

    Self-contained (no scripts, fonts or images to fetch) and every text HTML-escaped, since a
    framework may be adapted by anyone. The answers typed up into the CSV or XLSX template load
    as usual.
    """
    esc = html.escape
    labels = framework.scale.labels
    levels = range(framework.scale.min, framework.scale.max + 1)
    parts = [
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{esc(framework.name)} questionnaire</title><style>{PRINT_CSS}</style></head>",
        "<body><main>",
        f"<header><h1>{esc(framework.name)}</h1>",
        f'<p class="lead">{esc(framework.description)}</p>',
        '<p class="hint">For each question, tick the <strong>one</strong> level that best '
        "describes your organization or business unit today, or &ldquo;Don&rsquo;t know&rdquo;.",
        "</p>",
        '<div class="fields">',
        *(
            f'<label>{esc(name)}</label><span class="fill" data-field="{key}"></span>'
            for key, name in (
                ("respondent_id", "Respondent id"),
                ("unit", "Business unit"),
                ("role", "Role"),
            )
        ),
        "</div></header>",
    ]
    for category in framework.categories:
        parts.append(
            f'<section class="category" id="category-{esc(category.id)}" '
            f'style="--accent: {esc(category.color)}">'
            f'<h2>{esc(category.name)}</h2><p class="lead">{esc(category.description)}</p>'
        )
        for practice in category.practices:
            parts.append(f'<h3 id="practice-{esc(practice.id)}">{esc(practice.name)}</h3>')
            for q in practice.questions:
                items = [
                    f'<li data-level="{lvl}"><span class="box" aria-hidden="true"></span>'
                    f'<span class="level">{lvl} - {esc(labels[lvl])}</span>'
                    f"<span>{esc(q.levels[lvl])}</span></li>"
                    for lvl in levels
                ]
                items.append(
                    '<li data-level=""><span class="box" aria-hidden="true"></span>'
                    f'<span class="level">{esc(DONT_KNOW)}</span><span></span></li>'
                )
                parts.append(
                    f'<div class="question" id="q-{esc(q.id)}"><p><span class="qid">'
                    f"{esc(q.id)}</span>{esc(q.text)}</p>"
                    f'<ol class="levels">{"".join(items)}</ol></div>'
                )
        parts.append("</section>")
    parts += [
        '<section class="comments-section"><h3>Comments (optional)</h3>',
        '<div class="comments"></div></section>',
        f"<footer>{esc(framework.name)}, version {esc(framework.version)}. Made with xmkit."
        "</footer></main></body></html>\n",
    ]
    return "".join(parts)


def write_questionnaire(framework: Framework, fmt: str, output: str | Path) -> Path:
    """Write the blank questionnaire in ``fmt`` (one of :data:`FORMATS`), atomically."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown questionnaire format {fmt!r}; expected one of {FORMATS}")
    output = Path(output)
    with atomic_path(output) as tmp:
        if fmt == "csv":
            pd.DataFrame(columns=template_columns(framework)).to_csv(tmp, index=False)
        elif fmt == "xlsx":
            _write_xlsx(framework, tmp)
        elif fmt == "qualtrics":
            tmp.write_text(qualtrics_txt(framework), encoding="utf-8")
        else:
            tmp.write_text(questionnaire_html(framework), encoding="utf-8")
    return output
