"""Questionnaires for survey tools and paper: Qualtrics Advanced Format TXT and printable HTML.

The Qualtrics file is checked against the format's rules by a small parser written from
Qualtrics' description of the Advanced Format (``[[AdvancedFormat]]`` first, ``[[Block:...]]``,
``[[Question:...]]`` followed by ``[[ID:...]]`` and one line of text, ``[[Choices]]`` with one
choice per line, ``[[PageBreak]]``). The round trip builds, from that parsed survey, the CSV
Qualtrics exports for its responses (three header rows, its own metadata columns, choice text or
numeric values) and runs the real ``xmkit validate`` and ``xmkit score`` on it.
"""

from __future__ import annotations

import csv
import html
import json
import re
import subprocess
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from chromium import require_chromium

import xmkit
from xmkit.framework import Framework
from xmkit.io.questionnaire import DONT_KNOW, FORMATS, template_columns

BUNDLED = Path(xmkit.__file__).parent / "frameworks" / "ex_cx_alignment.yaml"
QUESTION_TYPES = {"MC:SingleAnswer:Vertical", "TE:SingleLine", "TE:Essay", "DB"}
HOSTILE = "Line one\nline two <script>alert(1)</script> & [[Block:Evil]] ]] end"


# ---- a checker for Qualtrics' Advanced Format ------------------------------------------------


@dataclass
class Question:
    kind: str
    id: str
    text: str
    choices: list[str] = field(default_factory=list)


@dataclass
class Block:
    name: str
    questions: list[Question] = field(default_factory=list)


def parse_advanced_format(text: str) -> list[Block]:
    """Parse an Advanced Format TXT survey, asserting every rule of the format on the way.

    Rules: the first line is ``[[AdvancedFormat]]``; every ``[[...]]`` is a known tag alone on
    its line and no text line contains ``[[`` or ``]]``; questions sit in blocks; a question
    is ``[[Question:<type>]]``, ``[[ID:<id>]]``, then exactly one line of text; a multiple
    choice question then has ``[[Choices]]`` and one choice per line up to a blank line; ids are
    unique.
    """
    lines = text.split("\n")
    assert lines[0] == "[[AdvancedFormat]]", "the file must start with [[AdvancedFormat]]"
    blocks: list[Block] = []
    ids: set[str] = set()
    i = 1
    while i < len(lines):
        line = lines[i]
        if not line.strip() or line == "[[PageBreak]]":
            i += 1
            continue
        if match := re.fullmatch(r"\[\[Block:([^\[\]]+)\]\]", line):
            blocks.append(Block(match.group(1)))
            i += 1
            continue
        match = re.fullmatch(r"\[\[Question:([A-Za-z:]+)\]\]", line)
        assert match, f"line {i + 1}: expected a block, question or page break, got {line!r}"
        kind = match.group(1)
        assert kind in QUESTION_TYPES, f"line {i + 1}: unknown question type {kind!r}"
        assert blocks, f"line {i + 1}: a question before the first block"
        ident = re.fullmatch(r"\[\[ID:([A-Za-z0-9_]+)\]\]", lines[i + 1])
        assert ident, f"line {i + 2}: [[ID:...]] must follow the question tag"
        assert ident.group(1) not in ids, f"line {i + 2}: id {ident.group(1)!r} used twice"
        ids.add(ident.group(1))
        body = lines[i + 2]
        assert body.strip(), f"line {i + 3}: the question has no text"
        assert "[[" not in body and "]]" not in body, f"line {i + 3}: text reads as a tag"
        question = Question(kind, ident.group(1), body)
        i += 3
        if kind.startswith("MC"):
            assert lines[i] == "[[Choices]]", f"line {i + 1}: multiple choice needs [[Choices]]"
            i += 1
            while i < len(lines) and lines[i].strip():
                assert "[[" not in lines[i] and "]]" not in lines[i], f"line {i + 1}: a tag"
                question.choices.append(lines[i])
                i += 1
            assert question.choices, f"question {question.id}: no choices"
        else:
            assert i >= len(lines) or not lines[i].strip(), f"line {i + 1}: text on two lines"
        blocks[-1].questions.append(question)
    return blocks


def write_survey(run_cli, tmp_path: Path, *extra: object) -> list[Block]:
    path = tmp_path / "survey.txt"
    result = run_cli("questionnaire", "--format", "qualtrics", "-o", path, *extra)
    assert result.returncode == 0, result.stderr
    return parse_advanced_format(path.read_text(encoding="utf-8"))


def hostile_framework(tmp_path: Path) -> Path:
    """The bundled framework with markup, tags and line breaks in names and texts."""
    data = yaml.safe_load(BUNDLED.read_text(encoding="utf-8"))
    category = data["categories"][0]
    category["name"] = "Visualize <b>&</b> [[PageBreak]]"
    question = category["practices"][0]["questions"][0]
    question["text"] = HOSTILE
    question["levels"][2] = "Level [[Choices]]\ntwo"
    path = tmp_path / "hostile.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


# ---- the Qualtrics survey ----------------------------------------------------------------------


def test_qualtrics_txt_has_a_block_per_category_with_every_question_and_its_levels(
    run_cli, tmp_path, framework
):
    blocks = write_survey(run_cli, tmp_path)

    names = [c.name for c in framework.categories]
    assert [b.name for b in blocks] == ["About you", *names, "Comments"]
    about = {q.id: q.kind for q in blocks[0].questions}
    assert about == {"intro": "DB", "unit": "TE:SingleLine", "role": "TE:SingleLine"}
    assert [(q.id, q.kind) for q in blocks[-1].questions] == [("comment", "TE:Essay")]
    labels = framework.scale.labels
    for block, category in zip(blocks[1:-1], framework.categories, strict=True):
        asked = [q for q in block.questions if q.kind != "DB"]
        expected = [q for p in category.practices for q in p.questions]
        assert [q.id for q in asked] == [q.id for q in expected], block.name
        for mine, theirs in zip(asked, expected, strict=True):
            assert mine.kind == "MC:SingleAnswer:Vertical"
            assert mine.text == theirs.text
            assert mine.choices == [
                f"{lvl} - {labels[lvl]}: {text}" for lvl, text in theirs.levels.items()
            ]
            assert DONT_KNOW not in mine.choices  # no recode value outside 1..5


def test_qualtrics_txt_keeps_every_text_on_one_line_and_escaped(run_cli, tmp_path, framework):
    blocks = write_survey(run_cli, tmp_path, "--framework", hostile_framework(tmp_path))

    assert len(blocks) == len(framework.categories) + 2  # no block smuggled in by a text
    assert blocks[1].name == "Visualize <b>&</b> PageBreak"
    first = next(q for q in blocks[1].questions if q.id == "v1_1")
    assert first.text == (
        "Line one line two &lt;script&gt;alert(1)&lt;/script&gt; &amp; "
        "&#91;&#91;Block:Evil&#93;&#93; &#93;&#93; end"
    )
    assert html.unescape(first.text) == " ".join(HOSTILE.split())  # shown as written
    assert first.choices[1] == "2 - Emerging: Level &#91;&#91;Choices&#93;&#93; two"
    assert len(first.choices) == 5


# ---- the round trip: what Qualtrics exports loads as it is --------------------------------------

METADATA = [  # (export tag, question text, ImportId) of Qualtrics' own columns
    ("StartDate", "Start Date", '{"ImportId":"startDate","timeZone":"Europe/Berlin"}'),
    ("EndDate", "End Date", '{"ImportId":"endDate","timeZone":"Europe/Berlin"}'),
    ("Status", "Response Type", '{"ImportId":"status"}'),
    ("IPAddress", "IP Address", '{"ImportId":"ipAddress"}'),
    ("Progress", "Progress", '{"ImportId":"progress"}'),
    ("Duration (in seconds)", "Duration (in seconds)", '{"ImportId":"duration"}'),
    ("Finished", "Finished", '{"ImportId":"finished"}'),
    ("RecordedDate", "Recorded Date", '{"ImportId":"recordedDate","timeZone":"Europe/Berlin"}'),
    ("ResponseId", "Response ID", '{"ImportId":"_recordId"}'),
    ("RecipientLastName", "Recipient Last Name", '{"ImportId":"recipientLastName"}'),
    ("RecipientFirstName", "Recipient First Name", '{"ImportId":"recipientFirstName"}'),
    ("RecipientEmail", "Recipient Email", '{"ImportId":"recipientEmail"}'),
    ("ExternalReference", "External Data Reference", '{"ImportId":"externalDataReference"}'),
    ("LocationLatitude", "Location Latitude", '{"ImportId":"locationLatitude"}'),
    ("LocationLongitude", "Location Longitude", '{"ImportId":"locationLongitude"}'),
    ("DistributionChannel", "Distribution Channel", '{"ImportId":"distributionChannel"}'),
    ("UserLanguage", "User Language", '{"ImportId":"userLanguage"}'),
]
RESPONDENTS = [  # (ResponseId, unit, role, finished)
    ("R_1a2B3c4D5e6F7g8", "Filiale Köln", "Manager", True),
    ("R_2b3C4d5E6f7G8h9", "Filiale Köln", "Frontline", True),
    ("R_3c4D5e6F7g8H9i0", "E-commerce", "Executive", True),
    ("R_4d5E6f7G8h9I0j1", "E-commerce", "XM team", True),
    ("R_5e6F7g8H9i0J1k2", "E-commerce", "Frontline", True),
    ("R_6f7G8h9I0j1K2l3", "Filiale Köln", "HR team", False),  # left after 20 questions
]


def answer_matrix(framework: Framework) -> np.ndarray:
    """Levels 1..5 (NaN where skipped): seeded, a few skips, the unfinished one stops early."""
    rng = np.random.default_rng(7)
    answers = rng.integers(1, 6, size=(len(RESPONDENTS), len(framework.question_ids))).astype(float)
    answers[0, [3, 17]] = np.nan
    answers[-1, 20:] = np.nan
    return answers


def qualtrics_export(blocks: list[Block], answers: np.ndarray, numeric: bool, path: Path) -> Path:
    """The CSV Qualtrics exports for responses to the parsed survey, header rows and all.

    Columns: Qualtrics' metadata, then every question that records an answer, in survey order,
    headed by its export tag (the ``[[ID:...]]``), its text and ``{"ImportId":"QIDn"}`` (text
    entry: ``QIDn_TEXT``). Answers are recode values (``numeric``) or the choice text, which
    Qualtrics exports as plain text. UTF-8 with a byte order mark, CRLF line ends.
    """
    questions = [q for b in blocks for q in b.questions]
    qid = {q.id: f"QID{n}" for n, q in enumerate(questions, start=1)}
    asked = [q for q in questions if q.kind != "DB"]
    header = [m[0] for m in METADATA] + [q.id for q in asked]
    texts = [m[1] for m in METADATA] + [html.unescape(q.text) for q in asked]
    imports = [m[2] for m in METADATA] + [
        json.dumps(
            {"ImportId": qid[q.id] + ("_TEXT" if q.kind.startswith("TE") else "")},
            separators=(",", ":"),
        )
        for q in asked
    ]
    mc = [q for q in asked if q.kind.startswith("MC")]
    rows = []
    for r, (response_id, unit, role, finished) in enumerate(RESPONDENTS):
        meta = {
            "StartDate": f"2026-03-0{r + 1} 09:15:00",
            "EndDate": f"2026-03-0{r + 1} 09:29:41",
            "Status": "0" if numeric else "IP Address",
            "Progress": "100" if finished else "56",
            "Duration (in seconds)": str(881 + r),
            "Finished": ("1" if finished else "0") if numeric else str(finished),
            "RecordedDate": f"2026-03-0{r + 1} 09:29:42",
            "ResponseId": response_id,
            "LocationLatitude": "50.9375",
            "LocationLongitude": "6.9603",
            "DistributionChannel": "anonymous",
            "UserLanguage": "DE",
        }
        cells = {"unit": unit, "role": role, "comment": "Gut, aber:\nmehr Tempo" if r == 1 else ""}
        for j, q in enumerate(mc):
            level = answers[r, j]
            if np.isnan(level):
                cells[q.id] = ""
            elif numeric:
                cells[q.id] = str(int(level))
            else:
                cells[q.id] = html.unescape(q.choices[int(level) - 1])
        rows.append([meta.get(m[0], "") for m in METADATA] + [cells[q.id] for q in asked])
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh, quoting=csv.QUOTE_MINIMAL)
        writer.writerows([header, texts, imports, *rows])
    return path


def expected_scores(answers: np.ndarray, framework: Framework) -> dict[str, float]:
    """Category and overall scores worked out from the answers, independently of xmkit.score."""
    question = dict(zip(framework.question_ids, np.nanmean(answers, axis=0), strict=True))
    out = {}
    for c in framework.categories:
        practices = [np.mean([question[q.id] for q in p.questions]) for p in c.practices]
        out[c.id] = float(np.mean(practices))
    out["overall"] = float(np.mean([out[c.id] for c in framework.categories]))
    return out


@pytest.mark.parametrize("numeric", [False, True], ids=["choice-text", "numeric-values"])
def test_qualtrics_export_of_answers_validates_and_scores_without_reshaping(
    run_cli, tmp_path, framework, numeric
):
    blocks = write_survey(run_cli, tmp_path)
    answers = answer_matrix(framework)
    export = qualtrics_export(blocks, answers, numeric, tmp_path / "export.csv")

    checked = run_cli("validate", export)
    assert checked.returncode == 0, checked.stderr
    assert "valid (qualtrics layout): 6 respondents, 2 units, 5 roles" in checked.stdout
    answered = int(np.isfinite(answers).sum())
    assert f"{answered}/{answers.size} answers given" in checked.stdout

    data = xmkit.load_responses(export, framework)
    assert data["respondent_id"].tolist() == [r[0] for r in RESPONDENTS]
    assert data["unit"].tolist() == [r[1] for r in RESPONDENTS]
    assert data["role"].tolist() == [r[2] for r in RESPONDENTS]
    np.testing.assert_array_equal(data[framework.question_ids].to_numpy(), answers)
    assert data.loc[1, "comment"] == "Gut, aber:\nmehr Tempo"

    scored = run_cli("score", export, "-o", tmp_path / "scores.csv", "--bootstrap", "0")
    assert scored.returncode == 0, scored.stderr
    scores = pd.read_csv(tmp_path / "scores.csv")
    expected = expected_scores(answers, framework)
    got = scores[scores["level"].isin(["category", "overall"])].set_index("id")["score"]
    for item, value in expected.items():
        assert got[item] == pytest.approx(value, abs=1e-9), item
    assert not scores["suppressed"].any()
    printed = run_cli("score", export, "--bootstrap", "0")
    assert printed.returncode == 0, printed.stderr
    assert f"{expected['overall']:.2f}" in printed.stdout


# ---- the printable questionnaire ---------------------------------------------------------------


class _Questionnaire(HTMLParser):
    """Collects sections, questions and their options from the HTML questionnaire."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.sections: list[str] = []
        self.headings: list[str] = []
        self.options: dict[str, list[str]] = {}
        self.text: list[str] = []
        self._question: str | None = None
        self._heading = False
        self._option: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attr = dict(attrs)
        self.tags.append(tag)
        if tag == "section" and "category" in (attr.get("class") or ""):
            self.sections.append(attr["id"])
        if tag == "h2":
            self._heading, self.headings = True, [*self.headings, ""]
        if tag == "div" and (attr.get("id") or "").startswith("q-"):
            self._question = attr["id"][2:]
            self.options[self._question] = []
        if tag == "li" and self._question:
            self._option = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "h2":
            self._heading = False
        if tag == "li" and self._option is not None:
            self.options[self._question].append(" ".join(self._option))
            self._option = None
        if tag == "ol":
            self._question = None

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self._heading:
            self.headings[-1] += data
        if self._option is not None and data.strip():
            self._option.append(data.strip())


def write_html(run_cli, tmp_path: Path, *extra: object) -> Path:
    path = tmp_path / "questionnaire.html"
    result = run_cli("questionnaire", "--format", "html", "-o", path, *extra)
    assert result.returncode == 0, result.stderr
    return path


def test_html_questionnaire_has_a_section_per_category_and_every_level_to_tick(
    run_cli, tmp_path, framework
):
    page = write_html(run_cli, tmp_path).read_text(encoding="utf-8")
    parsed = _Questionnaire()
    parsed.feed(page)

    assert parsed.sections == [f"category-{c.id}" for c in framework.categories]
    assert parsed.headings == [c.name for c in framework.categories]
    assert list(parsed.options) == framework.question_ids
    labels = framework.scale.labels
    for _, practice in framework.practices:
        for q in practice.questions:
            assert parsed.options[q.id] == [
                *(f"{lvl} - {labels[lvl]} {text}" for lvl, text in q.levels.items()),
                DONT_KNOW,
            ]
    assert "@media print" in page and "@page" in page and "break-inside: avoid" in page
    assert "script" not in parsed.tags and not re.search(r"(src|href)=", page)  # stands alone


def test_html_questionnaire_escapes_every_text(run_cli, tmp_path):
    path = write_html(run_cli, tmp_path, "--framework", hostile_framework(tmp_path))
    page = path.read_text(encoding="utf-8")
    parsed = _Questionnaire()
    parsed.feed(page)

    assert "<script>" not in page and "script" not in parsed.tags and "b" not in parsed.tags
    assert HOSTILE in "".join(parsed.text)  # shown as text, line break and all
    assert "Visualize <b>&</b> [[PageBreak]]" in parsed.headings


def test_html_questionnaire_prints_each_category_from_a_new_page(run_cli, tmp_path, framework):
    require_chromium()
    from xmkit.render.pdf import html_to_pdf

    pdf = html_to_pdf(write_html(run_cli, tmp_path), tmp_path / "questionnaire.pdf")
    text = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    pages = [p for p in text.split("\f") if p.strip()]
    # every page starts with the running header (the page title and "Confidential")
    header = {f"{framework.name} questionnaire", "Confidential", ""}
    starts = [next(ln.strip() for ln in p.splitlines() if ln.strip() not in header) for p in pages]
    first, *others = framework.categories
    assert starts[0] == framework.name and first.name in pages[0].splitlines()
    for category in others:
        assert category.name in starts, f"{category.name} does not start a page"


# ---- the other formats are unchanged -----------------------------------------------------------


def test_questionnaire_formats_keep_csv_and_xlsx_and_add_qualtrics_and_html(
    run_cli, tmp_path, framework
):
    assert FORMATS == ("csv", "xlsx", "qualtrics", "html")
    result = run_cli("questionnaire", "--format", "csv", "-o", tmp_path / "blank.csv")
    assert result.returncode == 0, result.stderr
    header = (tmp_path / "blank.csv").read_text(encoding="utf-8").strip()
    assert header == ",".join(template_columns(framework))
    wrong = run_cli("questionnaire", "--format", "pdf", "-o", tmp_path / "x.pdf")
    assert wrong.returncode == 2
    assert "qualtrics" in wrong.stderr and "html" in wrong.stderr
