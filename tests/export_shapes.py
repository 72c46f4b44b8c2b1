"""Answers in a wide table written in the shapes survey platforms export.

Each writer takes the wide table (respondent_id, unit, role, one column per question id, whole
answers) and writes a file laid out the way that platform's export is documented: its metadata
columns, its header rows and its question headers. The bundled questionnaire is assumed to
have been built on the platform as one matrix (grid) per practice, titled with the practice
name, one row per question, plus a unit and a role question. tests/data/exports/ holds a
small sample of each, made by ``python tests/export_shapes.py``.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd

from xmkit.framework import Framework, load_framework

UNIT_QUESTION = "Which business unit do you work in?"
ROLE_QUESTION = "What is your role?"


def _questions(framework: Framework) -> pd.DataFrame:
    """Question id, text, practice name and position within the practice (1, 2, 3)."""
    q = framework.questions.copy()
    q["row"] = q.groupby("practice_id").cumcount() + 1
    q["matrix"] = q.groupby("practice_id", sort=False).ngroup() + 1
    return q


def _label(framework: Framework, value: object) -> str:
    """An answer as the choice text a respondent clicked, e.g. "3 - Defined"."""
    if pd.isna(value) or value == "":
        return ""
    level = int(value)
    return f"{level} - {framework.scale.labels[level]}"


def _write_rows(path: Path, rows: list[list[object]], line_end: str = "\r\n") -> Path:
    with path.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh, lineterminator=line_end).writerows(rows)
    return path


def qualtrics(data: pd.DataFrame, framework: Framework, path: Path) -> Path:
    """Qualtrics (current): three header rows, tags Q1_1, texts "matrix - row", JSON ImportIds.

    Adds what real exports have: metadata columns, an NPS question with its derived
    Q40_NPS_GROUP column, an "other" text column, one preview and one test response, one
    response that never got past the first page (no answers), and one unfinished response.
    """
    q = _questions(framework)
    meta = [
        ("StartDate", "Start Date", '{"ImportId":"startDate","timeZone":"America/Denver"}'),
        ("EndDate", "End Date", '{"ImportId":"endDate","timeZone":"America/Denver"}'),
        ("Status", "Response Type", '{"ImportId":"status"}'),
        ("IPAddress", "IP Address", '{"ImportId":"ipAddress"}'),
        ("Progress", "Progress", '{"ImportId":"progress"}'),
        ("Duration (in seconds)", "Duration (in seconds)", '{"ImportId":"duration"}'),
        ("Finished", "Finished", '{"ImportId":"finished"}'),
        ("RecordedDate", "Recorded Date", '{"ImportId":"recordedDate"}'),
        ("ResponseId", "Response ID", '{"ImportId":"_recordId"}'),
        ("ExternalReference", "External Data Reference", '{"ImportId":"externalDataReference"}'),
        ("DistributionChannel", "Distribution Channel", '{"ImportId":"distributionChannel"}'),
        ("UserLanguage", "User Language", '{"ImportId":"userLanguage"}'),
        ("Q1", UNIT_QUESTION, '{"ImportId":"QID1"}'),
        ("Q2", ROLE_QUESTION, '{"ImportId":"QID2"}'),
    ]
    # The NPS group comes first: it must not take question v1_1 from its real column.
    first = q.iloc[0]
    meta.append(
        (
            f"Q3_{first['row']}_NPS_GROUP",
            f"{first['practice']} - {first['question']}",
            '{"ImportId":"QID3_NPS_GROUP"}',
        )
    )
    for _, r in q.iterrows():
        n = r["matrix"] + 2
        meta.append(
            (
                f"Q{n}_{r['row']}",
                f"{r['practice']} - {r['question']}",
                f'{{"ImportId":"QID{n}_{r["row"]}"}}',
            )
        )
    meta += [
        ("Q40", "How likely are you to recommend us as an employer?", '{"ImportId":"QID40"}'),
        ("Q41_4_TEXT", "What else? - Other - Text", '{"ImportId":"QID41_4_TEXT"}'),
    ]
    rows = [[m[0] for m in meta], [m[1] for m in meta], [m[2] for m in meta]]

    def row(rid, unit, role, answers, status="IP Address", finished="True", channel="anonymous"):
        cells = ["2026-05-04 09:12:00", "2026-05-04 09:20:31", status, "192.0.2.10", "100"]
        cells += ["511", finished, "2026-05-04 09:20:32", rid, "", channel, "EN", unit, role]
        cells.append("Promoter" if answers[0] == 5 else "Passive")
        cells += answers
        return [*cells, "9", ""]

    qids = framework.question_ids
    for i, rec in enumerate(data.to_dict("records")):
        finished = "False" if i == 1 else "True"
        rows.append(
            row(
                rec["respondent_id"],
                rec["unit"],
                rec["role"],
                [rec[x] for x in qids],
                finished=finished,
            )
        )
        if i == 2:
            rows.append(
                row(
                    "R_preview1",
                    "Stores North",
                    "Manager",
                    [1] * len(qids),
                    "Survey Preview",
                    channel="preview",
                )
            )
            rows.append(
                row(
                    "R_test0001",
                    "Stores South",
                    "Manager",
                    [5] * len(qids),
                    "Survey Test",
                    channel="test",
                )
            )
            rows.append(row("R_empty001", "", "", [""] * len(qids), finished="False"))
    return _write_rows(path, rows)


def qualtrics_2016(data: pd.DataFrame, framework: Framework, path: Path) -> Path:
    """Qualtrics 2016-17: three header rows, ImportIds in single quotes, ``\\r\\r\\n`` line ends."""
    q = _questions(framework)
    meta = [
        ("ResponseID", "ResponseID", "{'ImportId': 'responseId'}"),
        ("ResponseSet", "ResponseSet", "{'ImportId': 'responseSet'}"),
        ("IPAddress", "IPAddress", "{'ImportId': 'ipAddress'}"),
        ("StartDate", "StartDate", "{'ImportId': 'startDate'}"),
        ("EndDate", "EndDate", "{'ImportId': 'endDate'}"),
        ("ExternalDataReference", "ExternalDataReference", "{'ImportId': 'externalDataReference'}"),
        ("Finished", "Finished", "{'ImportId': 'finished'}"),
        ("Status", "Status", "{'ImportId': 'status'}"),
        ("Q1", UNIT_QUESTION, "{'ImportId': 'QID1'}"),
        ("Q2", ROLE_QUESTION, "{'ImportId': 'QID2'}"),
    ]
    for _, r in q.iterrows():
        n = r["matrix"] + 2
        meta.append(
            (
                f"Q{n}_{r['row']}",
                f"{r['practice']}-{r['question']}",
                f"{{'ImportId': 'QID{n}_{r['row']}'}}",
            )
        )
    rows = [[m[0] for m in meta], [m[1] for m in meta], [m[2] for m in meta]]
    for rec in data.to_dict("records"):
        cells = [rec["respondent_id"], "Default Response Set", "192.0.2.7", "2017-03-01 10:00:00"]
        cells += ["2017-03-01 10:09:00", "", "1", "0", rec["unit"], rec["role"]]
        rows.append(cells + [rec[x] for x in framework.question_ids])
    # Written by a tool that turned each "\r\n" into "\r\r\n".
    return _write_rows(path, rows, line_end="\r\r\n")


def surveymonkey(data: pd.DataFrame, framework: Framework, path: Path) -> Path:
    """SurveyMonkey: two header rows; a matrix's title over its first column, rows below."""
    q = _questions(framework)
    first = ["Respondent ID", "Collector ID", "Start Date", "End Date", "IP Address"]
    first += ["Email Address", "First Name", "Last Name", "Custom Data 1"]
    second = [""] * len(first)
    first += [UNIT_QUESTION, ROLE_QUESTION]
    second += ["Response", "Response"]
    for _practice, group in q.groupby("matrix", sort=True):
        titles = [group["practice"].iloc[0]] + [""] * (len(group) - 1)
        first += titles
        second += group["question"].tolist()
    first.append("Anything else you would like to tell us?")
    second.append("Open-Ended Response")
    rows = [first, second]
    for i, rec in enumerate(data.to_dict("records")):
        cells = [
            rec["respondent_id"],
            "431234567",
            "05/04/2026 09:12:00 AM",
            "05/04/2026 09:20:31 AM",
        ]
        cells += ["192.0.2.10", "", "", "", "", rec["unit"], rec["role"]]
        cells += [_label(framework, rec[x]) for x in q["question_id"]]
        rows.append([*cells, "More training, please." if i == 0 else ""])
    return _write_rows(path, rows)


def microsoft_forms(data: pd.DataFrame, framework: Framework, path: Path) -> Path:
    """Microsoft Forms (Excel download): one row of headers, one column per Likert statement."""
    q = _questions(framework)
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Sheet1"
    ws.append(
        [
            "ID",
            "Start time",
            "Completion time",
            "Email",
            "Name",
            "Last modified time",
            UNIT_QUESTION,
            ROLE_QUESTION,
            *q["question"].tolist(),
        ]
    )
    for i, rec in enumerate(data.to_dict("records"), start=1):
        cells = [i, "5/4/26 9:12:00", "5/4/26 9:20:31", "anonymous", "", ""]
        cells += [rec["unit"], rec["role"]]
        ws.append(
            cells
            + [
                framework.scale.labels[int(rec[x])] if rec[x] != "" else ""
                for x in q["question_id"]
            ]
        )
    wb.save(path)
    return path


def google_forms(data: pd.DataFrame, framework: Framework, path: Path) -> Path:
    """Google Forms (Sheets CSV): Timestamp first, grid rows as ``Grid title [row text]``."""
    q = _questions(framework)
    header = ["Timestamp", "Email address", UNIT_QUESTION, ROLE_QUESTION]
    header += [f"{r['practice']} [{r['question']}]" for _, r in q.iterrows()]
    rows = [header]
    for rec in data.to_dict("records"):
        cells = ["2026/05/04 9:12:00 AM GMT+1", "", rec["unit"], rec["role"]]
        rows.append(cells + [_label(framework, rec[x]) for x in q["question_id"]])
    return _write_rows(path, rows)


def _limesurvey_code(r: pd.Series) -> tuple[str, str]:
    """LimeSurvey codes: one array question per practice (V1), subquestions SQ001, SQ002, ..."""
    return str(r["practice_code"]), f"SQ{r['row']:03d}"


def limesurvey(data: pd.DataFrame, framework: Framework, path: Path, codes: bool = False) -> Path:
    """LimeSurvey CSV: ``code. text`` headings (or codes only, with answer codes 1..5).

    One array question per practice, coded like the question ids (v1_1 is subquestion SQ001
    of array V1), a unit and a role question; one response not submitted (blank submitdate).
    """
    q = _questions(framework)
    q["practice_code"] = q["question_id"].str.split("_").str[0].str.upper()
    meta = [("id", "Response ID"), ("submitdate", "Date submitted"), ("lastpage", "Last page")]
    meta += [("startlanguage", "Start language"), ("seed", "Seed")]
    meta += [("unit", UNIT_QUESTION), ("role", ROLE_QUESTION)]
    header = [code if codes else f"{code}. {text}" for code, text in meta]
    for _, r in q.iterrows():
        code, sub = _limesurvey_code(r)
        header.append(
            f"{code}[{sub}]" if codes else f"{code}[{sub}]. {r['practice']} [{r['question']}]"
        )
    rows = [header]
    for i, rec in enumerate(data.to_dict("records"), start=1):
        submitted = "" if i == 2 else "2026-05-04 09:20:31"
        cells = [i, submitted, "3", "en", "1234567", rec["unit"], rec["role"]]
        answers = [
            ("" if rec[x] == "" else int(rec[x])) if codes else _label(framework, rec[x])
            for x in q["question_id"]
        ]
        rows.append(cells + answers)
    return _write_rows(path, rows)


def limesurvey_codes(data: pd.DataFrame, framework: Framework, path: Path) -> Path:
    return limesurvey(data, framework, path, codes=True)


# name: (writer, file name, the flags a consultant gives xmkit for it)
SHAPES: dict[str, tuple[Callable[..., Path], str, list[str]]] = {
    "qualtrics": (
        qualtrics,
        "qualtrics.csv",
        ["--unit-column", UNIT_QUESTION, "--role-column", "Q2"],
    ),
    "qualtrics_2016": (
        qualtrics_2016,
        "qualtrics_2016.csv",
        ["--unit-column", "q1", "--role-column", ROLE_QUESTION],
    ),
    "surveymonkey": (
        surveymonkey,
        "surveymonkey.csv",
        ["--unit-column", UNIT_QUESTION, "--role-column", ROLE_QUESTION],
    ),
    "microsoft_forms": (
        microsoft_forms,
        "microsoft_forms.xlsx",
        ["--unit-column", UNIT_QUESTION, "--role-column", "  what is your ROLE? "],
    ),
    "google_forms": (
        google_forms,
        "google_forms.csv",
        ["--unit-column", UNIT_QUESTION, "--role-column", ROLE_QUESTION],
    ),
    "limesurvey": (
        limesurvey,
        "limesurvey.csv",
        ["--unit-column", "unit", "--role-column", "role"],
    ),
    "limesurvey_codes": (
        limesurvey_codes,
        "limesurvey_codes.csv",
        ["--unit-column", "unit", "--role-column", "role"],
    ),
}


def flags_to_columns(flags: list[str]) -> dict[str, str]:
    """``--unit-column X --role-column Y`` as the ``columns=`` argument of load_responses."""
    return {
        flags[i].removeprefix("--").removesuffix("-column"): flags[i + 1]
        for i in range(0, len(flags), 2)
    }


def main(folder: Path) -> None:
    """Write the committed samples: eight respondents each, one answer left blank."""
    framework = load_framework()
    rng = np.random.default_rng(14)
    n = 8
    units, roles = ("Stores North", "Stores South", "E-commerce"), ("Executive", "Manager")
    data = pd.DataFrame(
        {
            "respondent_id": [f"R_{i:04d}" for i in range(1, n + 1)],
            "unit": [units[i % len(units)] for i in range(n)],
            "role": [roles[i % len(roles)] for i in range(n)],
        }
    )
    qids = framework.question_ids
    answers = pd.DataFrame(rng.integers(1, 6, (n, len(qids))), columns=qids).astype(object)
    answers.iloc[3, 5] = ""
    data = pd.concat([data, answers], axis=1)
    folder.mkdir(parents=True, exist_ok=True)
    for writer, name, _ in SHAPES.values():
        writer(data, framework, folder / name)


if __name__ == "__main__":
    main(Path(__file__).parent / "data" / "exports")
