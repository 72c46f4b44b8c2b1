"""Write the committed text files of the bad-input corpus (``python tests/data/bad/generate.py``).

Each file is one mistake a consultant on a deadline really makes, on top of an otherwise valid
8-respondent questionnaire; ``cases.yaml`` says what xmkit must answer to each. Large and
binary cases (a 200 MB file, an encrypted workbook, a truncated zip, ...) are not committed:
``tests/test_bad_inputs.py`` makes them at test time. Deterministic: running this again
rewrites the same bytes.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
BUNDLED = HERE.parents[2] / "xmkit" / "frameworks" / "ex_cx_alignment.yaml"
MINI = HERE.parent / "mini_framework.yaml"

QIDS = [
    q["id"]
    for c in yaml.safe_load(BUNDLED.read_text(encoding="utf-8"))["categories"]
    for p in c["practices"]
    for q in p["questions"]
]
HEADER = ["respondent_id", "unit", "role", *QIDS, "comment"]
UNITS = ["Stores North", "Stores North", "E-commerce", "E-commerce"] * 2
ROLES = ["Executive", "Manager", "Frontline", "XM team"] * 2


def rows(n: int = 8) -> list[list[str]]:
    """A valid table (header first): answers 1-5 from a fixed pattern, a few comments."""
    table = [list(HEADER)]
    for i in range(n):
        answers = [str((i + j) % 5 + 1) for j in range(len(QIDS))]
        comment = "Leadership talks about customers a lot." if i % 3 == 0 else ""
        table.append([f"R{i + 1:02d}", UNITS[i % 8], ROLES[i % 8], *answers, comment])
    return table


def text(table: list[list[str]], delimiter: str = ",", newline: str = "\n") -> str:
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter, lineterminator=newline).writerows(table)
    return buffer.getvalue()


def col(name: str) -> int:
    return HEADER.index(name)


def write(name: str, content: str | bytes) -> None:
    path = HERE / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, str):
        content = content.encode("utf-8")
    path.write_bytes(content)


def responses() -> None:
    write("valid_responses.csv", text(rows()))

    t = rows()
    t[3][col("a2_1")] = "#DIV/0!"
    t[5][col("c1_1")] = "#N/A"
    t[2][col("v1_1")] = "Don\u2019t know"  # a typographic apostrophe, as Excel types it
    write(
        "responses/excel_saved_cp1252_error_values.csv",
        text(t, ";", "\r\n").encode("cp1252"),
    )

    t = rows()
    t[0][col("v1_1")] = ""  # Excel's merge & center left the header cell blank
    write("responses/merged_header_cell.csv", text(t))

    t = rows()
    t.append(["Total", "", "", *[str(8 * 3)] * len(QIDS), ""])
    t.append(["Average", "", "", *["3.4"] * len(QIDS), ""])
    write("responses/stray_total_and_average_rows.csv", text(t))

    t = rows()
    t[2][col("v2_3")] = "three"
    t[4][col("i1_1")] = "4 stars"
    t[6][col("c3_2")] = "high"
    write("responses/text_in_number_columns.csv", text(t))

    t = rows()
    for r, row in enumerate(t[1:], start=1):
        for j, q in enumerate(QIDS):
            row[col(q)] = str((r * 3 + j) % 11)  # 0..10
    write("responses/answers_on_a_0_to_10_scale.csv", text(t))

    t = rows()
    t[1][col("v3_1")] = "2026-01-05"
    t[3][col("a1_3")] = "05/01/2026"
    t[5][col("i2_2")] = "5-Jan"  # what Excel shows after someone typed 1-5
    write("responses/mixed_date_formats_in_answers.csv", text(t))

    t = rows()
    at = col("comment")
    for row in t:
        row.insert(at, row[col("v2_2")])
    write("responses/duplicate_question_column.csv", text(t))

    t = rows()
    body = text(t)
    write(
        "responses/title_rows_above_header.csv",
        "Northwind employee survey\nExported 2026-11-02 from the HR portal\n\n" + body,
    )

    t = rows()
    groups = [""] * len(HEADER)
    for j, q in enumerate(QIDS):
        if j % 9 == 0:
            groups[col(q)] = ["Visualize", "Analyze", "Involve", "Converge"][j // 9]
    write("responses/merged_group_header_above_ids.csv", text([groups, *t]))

    body = text(rows())
    cut = body.rstrip("\n")
    write("responses/truncated_last_row.csv", cut[: len(cut) - 60])

    t = rows()
    t[-1][col("comment")] = "We never get to see what customers say, so we guess"
    body = text(t)
    assert body.endswith('guess"\n')
    write("responses/truncated_inside_quoted_comment.csv", body[: -len(' we guess"\n')])

    write("responses/pipe_delimited.csv", text(rows(), "|"))
    write("responses/empty.csv", b"")
    write("responses/only_blank_lines.csv", b"\r\n\r\n   \r\n")
    write("responses/header_only.csv", text(rows(0)))

    lines = text(rows()).splitlines()
    lines[4] += ",5"
    write("responses/row_with_an_extra_field.csv", "\n".join(lines) + "\n")

    t = rows()
    t[0][col("v1_1")] = "v1_l"  # a typo: letter l for digit 1
    write("responses/typo_in_question_id.csv", text(t))

    t = [row[:2] + row[3:] for row in rows()]
    write("responses/missing_role_column.csv", text(t))

    t = rows()
    t[6][0] = "R02"
    write("responses/duplicate_respondent_id.csv", text(t))

    t = rows()
    t[2][col("v1_2")] = "3.5"
    t[4][col("a3_1")] = "6"
    t[7][col("c2_2")] = "-1"
    write("responses/fractional_and_out_of_range_answers.csv", text(t))

    long = [["respondent_id", "unit", "role", "question_id", "answer"]]
    for row in rows()[1:]:
        for q in QIDS:
            long.append([row[0], row[1], row[2], q, row[col(q)]])
    long[5][3] = "x9_9"
    long[40][4] = "seven"
    long[80][1] = "Head Office"  # R03 in a second unit
    write("responses/long_layout_bad_rows.csv", text(long))

    base = rows()
    tags = ["ResponseId", "unit", "role", *QIDS]
    textrow = ["Response ID", "unit", "role", *[f"Question {q}" for q in QIDS]]
    imports = [f'{{"ImportId":"{t}"}}' for t in tags]
    data = [[r[0], r[1], r[2], *r[3 : 3 + len(QIDS)]] for r in base[1:]]
    data[1][3 + 4] = "Very high"
    write("responses/qualtrics_export_bad_answer.csv", text([tags, textrow, imports, *data]))

    write("responses/responses.ods", b"not really an ods; the suffix alone must be enough")


def frameworks() -> None:
    mini = MINI.read_text(encoding="utf-8")

    def dump(name: str, obj: object) -> None:
        write(f"frameworks/{name}", yaml.safe_dump(obj, sort_keys=False, allow_unicode=True))

    broken = yaml.safe_load(mini)
    del broken["categories"][0]["practices"][0]["questions"][0]["levels"][5]
    dump("levels_1_to_4.yaml", broken)

    broken = yaml.safe_load(mini)
    questions = [q for c in broken["categories"] for p in c["practices"] for q in p["questions"]]
    questions[1]["id"] = questions[0]["id"]
    dump("duplicate_question_id.yaml", broken)

    broken = yaml.safe_load(mini)
    broken["categories"][0]["descripton"] = broken["categories"][0].pop("description")
    dump("misspelled_key.yaml", broken)

    broken = yaml.safe_load(mini)
    broken["stages"][1], broken["stages"][2] = broken["stages"][2], broken["stages"][1]
    dump("stages_out_of_order.yaml", broken)

    write("frameworks/tab_indented.yaml", mini.replace("\n  min: 1", "\n\tmin: 1", 1))
    write(
        "frameworks/python_object_tag.yaml",
        "!!python/object/apply:os.system ['touch XMKIT_PWNED_BY_FRAMEWORK']\n",
    )
    write("frameworks/empty.yaml", "")
    write("frameworks/a_list_not_a_mapping.yaml", "- id: mini\n- name: Mini\n")
    write(
        "frameworks/windows_1252.yaml",
        mini.replace("Foundations.", "Don\u2019t panic.").encode("cp1252"),
    )
    laughs = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for prev, name in zip("abcdefgh", "bcdefghi", strict=True):
        laughs.append(f"{name}: &{name} [{', '.join([f'*{prev}'] * 9)}]")
    write("frameworks/billion_laughs.yaml", "\n".join([*laughs, "categories: *i", ""]))


def assessments() -> None:
    """Self-contained assessment folders: ``assessment.yaml`` and, where needed, responses."""
    valid = text(rows())

    def folder(name: str, content: str, responses: str | None = valid) -> None:
        write(f"assessments/{name}/assessment.yaml", content)
        if responses is not None:
            write(f"assessments/{name}/responses.csv", responses)

    folder("missing_client", "period: 2026 Q4\n")
    folder("misspelled_key", "client: Acme\nmin_groupsize: 5\n")
    folder("tab_indented", "client: Acme\nperiod:\n\t2026 Q4\n")
    folder(
        "python_object_tag",
        "client: !!python/object/apply:os.system ['touch XMKIT_PWNED_BY_ASSESSMENT']\n",
    )
    folder("a_list_not_a_mapping", "- client: Acme\n- responses: responses.csv\n")
    folder("min_group_size_zero", "client: Acme\nmin_group_size: 0\n")
    folder("responses_file_missing", "client: Acme\nresponses: answers.csv\n", None)
    folder("responses_file_invalid", "client: Acme\n", text(rows(0)))


if __name__ == "__main__":
    responses()
    frameworks()
    assessments()
