"""Which column of a survey export is what: respondent id, unit, role, comment, each question.

Survey platforms name columns in their own ways: by an export tag (``Q14_1``, ``v1_1``), by the
question text, by text decorated with the matrix title (Qualtrics ``matrix - row``, Google
Forms ``Title [row]``, LimeSurvey ``code. text``), or over two header rows (SurveyMonkey,
Qualtrics). This module gives each column its candidate names and maps them to the roles
xmkit needs, so the export loads as downloaded; everything else is ignored and listed.

Roles can be named explicitly (:class:`ColumnRoles`: ``--unit-column`` and friends, or
``columns:`` in ``assessment.yaml``); without that, the common headers in :data:`ROLE_NAMES`
are recognised.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property, lru_cache

from pydantic import BaseModel, ConfigDict, Field

from xmkit.errors import Problem
from xmkit.framework import Framework

__all__ = [
    "DERIVED",
    "PLACEHOLDERS",
    "ROLES",
    "ROLE_NAMES",
    "ColumnMap",
    "ColumnRoles",
    "Header",
    "headers_from",
    "map_columns",
    "norm_header",
    "short",
]

ROLES = ("respondent_id", "unit", "role", "comment", "date")
# Headers recognised without a flag (compared after norm_header). Deliberately narrow:
# "location", "team" or "site" often mean something else in an export (Qualtrics'
# LocationLatitude, a team question), so those need --unit-column.
ROLE_NAMES: dict[str, tuple[str, ...]] = {
    "respondent_id": (
        "respondent_id",
        "respondent id",
        "respondentid",
        "respondent",
        "responseid",
        "response id",
        "response_id",
        "id",
        "participant id",
        "participant_id",
        "participantid",
    ),
    "unit": (
        "unit",
        "business unit",
        "business_unit",
        "unit name",
        "department",
        "division",
        "business area",
        "org unit",
        "organizational unit",
        "organisational unit",
    ),
    "role": ("role", "job role", "respondent role", "your role", "role group"),
    "comment": ("comment", "comments", "free text", "remarks", "any other comments"),
    # Narrow on purpose: a platform's StartDate or RecordedDate is named with --date-column.
    "date": ("date", "response date", "response_date", "date of response"),
}
# Columns a platform derives from a question (Qualtrics NPS group, "other" text, display
# order): they must never take the question from its real column.
DERIVED = re.compile(r"_(nps_group|text|do)$|_do_|_\d+_text$", re.IGNORECASE)
DASHES = str.maketrans(dict.fromkeys("\u2010\u2011\u2012\u2013\u2014\u2015\u2212", "-"))
QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "`": "'"})
# LimeSurvey "code. text" and "code[SQ001]. text" headings.
CODE_TEXT = re.compile(r"^([a-z][a-z0-9_]*(?:\[[a-z0-9_]+\])?)\.\s+(.+)$")
CODE_SUB = re.compile(r"^([a-z][a-z0-9_]*?)_?\[(?:sq0*)?([a-z0-9]+)\]$")
ROW_IN_BRACKETS = re.compile(r"^.*\[(.+)\]$")
HOW_RANK = {"id": 0, "tag": 1, "text": 2}
# SurveyMonkey's second-row text under a single-answer question: the question names the column.
PLACEHOLDERS = ("response", "open-ended response")


def norm_header(text: object) -> str:
    """Header text for comparing: NFKC, straight quotes, plain dashes, single spaces, lower case.

    Surrounding spaces and ``.:?*`` are dropped, so "Your role?" and "your role" are equal.
    """
    return _norm_text(str(text))


@lru_cache(maxsize=2048)
def _norm_text(text: str) -> str:
    # cached: matching compares every header with every synonym and question many times
    text = unicodedata.normalize("NFKC", text).translate(QUOTES).translate(DASHES)
    return re.sub(r"\s+", " ", text).strip().strip(" .:?*").lower()


def short(text: object, width: int = 80) -> str:
    """A header as quoted in a message: at most ``width`` characters (exports have huge ones)."""
    text = re.sub(r"\s+", " ", str(text)).strip()
    return text if len(text) <= width else text[: width - 3] + "..."


class ColumnRoles(BaseModel):
    """Which columns hold the respondent id, unit, role and comment, and optionally each question.

    Each value is a header as the export shows it (first-row text, second-row text, or both);
    case and surrounding spaces do not matter. ``questions`` maps question ids to headers, as
    ``xmkit inspect -o`` writes it, for exports whose headers cannot be recognised.
    """

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    id: str | None = Field(default=None, min_length=1)
    unit: str | None = Field(default=None, min_length=1)
    role: str | None = Field(default=None, min_length=1)
    comment: str | None = Field(default=None, min_length=1)
    date: str | None = Field(default=None, min_length=1)
    """The day each response was given: the report's fieldwork dates (first and last)."""
    questions: dict[str, str] = Field(default_factory=dict)

    def named(self) -> dict[str, str]:
        """The roles given, keyed like :data:`ROLES`."""
        given = {"respondent_id": self.id, "unit": self.unit, "role": self.role}
        given["comment"] = self.comment
        given["date"] = self.date
        return {role: name for role, name in given.items() if name}


@dataclass
class Header:
    """One column of the table and the texts the export shows for it."""

    column: str
    first: str
    second: str = ""
    group: str = ""
    """The nearest non-blank first-row text to the left (a SurveyMonkey matrix title)."""

    @cached_property
    def names(self) -> list[str]:
        """Every name the column goes by, normalized, most specific first."""
        first = "" if norm_header(self.first).startswith("unnamed:") else self.first
        second = "" if norm_header(self.second) in PLACEHOLDERS else self.second
        parts = [first, second]
        if second:
            title = first or self.group
            parts += [f"{title} - {second}", f"{title} {second}"]
        return list(dict.fromkeys(n for p in parts if (n := norm_header(p))))

    @cached_property
    def role_names(self) -> set[str]:
        """Names for recognising a role: also each part of a LimeSurvey ``code. text``."""
        out = set(self.names)
        for name in self.names:
            match = CODE_TEXT.match(name)
            if match:
                out |= {match.group(1), norm_header(match.group(2))}
        return out

    @property
    def shown(self) -> str:
        """The header as a person would recognise it in the export."""
        first = "" if norm_header(self.first).startswith("unnamed:") else self.first
        if (
            first
            and self.second
            and norm_header(self.second) not in (*PLACEHOLDERS, norm_header(first))
        ):
            return short(f"{first} / {self.second}")
        return short(first or (f"{self.group} / {self.second}" if self.group else self.second))


def headers_from(columns: Sequence[str], second: Mapping[str, str] | None = None) -> list[Header]:
    """Headers of a table whose optional second header row is ``second`` (column -> text)."""
    headers, group = [], ""
    for col in columns:
        text = str(col)
        blank = not text.strip() or norm_header(text).startswith("unnamed:")
        group = group if blank else text
        row2 = str((second or {}).get(col, "") or "")
        headers.append(Header(str(col), text, "" if row2.lower() == "nan" else row2, group))
    return headers


@dataclass
class ColumnMap:
    """The outcome of matching a table's columns: roles, questions and what is ignored."""

    roles: dict[str, str | None]
    questions: dict[str, tuple[str, str]]
    """Question id -> (column, how it matched: id, tag, text or named)."""
    duplicates: dict[str, str] = field(default_factory=dict)
    """Column -> question id, for columns repeating a question already matched as well."""
    ignored: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    @property
    def by_column(self) -> dict[str, str]:
        return {col: qid for qid, (col, _) in self.questions.items()}


def _tag_candidates(name: str) -> list[str]:
    """Ids a header may spell: itself, LimeSurvey ``code[SQ001]``, ``code. text``, ``[id] text``."""
    out = [name]
    match = CODE_TEXT.match(name)
    if match:
        out.append(match.group(1))
    for cand in list(out):
        sub = CODE_SUB.match(cand)
        if sub:
            out += [f"{sub.group(1)}_{sub.group(2)}", f"{sub.group(1)}{sub.group(2)}"]
    head = re.match(r"^\[?([a-z][a-z0-9]*_[a-z0-9]+)\]?(?:[\s.:)\]-]|$)", name)
    if head:
        out.append(head.group(1))
    return out


def _text_candidates(name: str) -> list[str]:
    """Question texts a header may hold under platform decorations."""
    out = [name]
    match = CODE_TEXT.match(name)
    if match:
        out.append(match.group(2))
    for cand in list(out):
        row = ROW_IN_BRACKETS.match(cand)
        if row:
            out.append(norm_header(row.group(1)))
        # Qualtrics "matrix - row" ("matrix-row" in 2016-17 exports): any tail after a dash.
        pieces = cand.split("-")
        out += ["-".join(pieces[i:]).strip() for i in range(1, len(pieces))]
    return out


class _Questions:
    """Lookup of a framework's questions by id, compact id and text."""

    def __init__(self, framework: Framework) -> None:
        questions = framework.questions
        self.by_id = {q.lower(): q for q in questions["question_id"]}
        compact: dict[str, list[str]] = {}
        for q in questions["question_id"]:
            compact.setdefault(re.sub(r"[^a-z0-9]", "", q.lower()), []).append(q)
        self.compact = {k: v[0] for k, v in compact.items() if len(v) == 1}
        self.by_text = {
            norm_header(t): q
            for q, t in zip(questions["question_id"], questions["question"], strict=True)
        }

    def match(self, header: Header) -> tuple[str, str] | None:
        """(question id, how) for a column, or None; derived columns never match."""
        if DERIVED.search(header.first.strip()):
            return None
        names = header.names
        for name in names:
            if name in self.by_id:
                return self.by_id[name], "id"
        for name in names:
            for cand in _tag_candidates(name):
                qid = self.by_id.get(cand) or self.compact.get(re.sub(r"[^a-z0-9]", "", cand))
                if qid and re.search(r"\d", cand):
                    return qid, "tag"
        for name in names:
            for cand in _text_candidates(name):
                if cand in self.by_text:
                    return self.by_text[cand], "text"
        for name in names:  # form tools append the scale or an id to the text
            for cand in _text_candidates(name):
                qid = next((q for t, q in self.by_text.items() if cand.startswith(t)), None)
                if qid:
                    return qid, "text"
        return None


def _find_named(headers: list[Header], name: str) -> Header | None:
    wanted = norm_header(name)
    return next(
        (h for h in headers if wanted in h.role_names or norm_header(h.column) == wanted), None
    )


def _not_found(file: str, what: str, name: str, headers: list[Header]) -> Problem:
    some = ", ".join(repr(h.shown) for h in headers[:8])
    return Problem(
        file,
        f"no column named {short(name)!r} for the {what}",
        row=1,
        expected=f"a header of the file (case and spaces do not matter), e.g. {some}"
        + (", ..." if len(headers) > 8 else ""),
    )


def map_columns(
    headers: list[Header],
    framework: Framework,
    roles: ColumnRoles | None = None,
    file: str = "responses",
) -> ColumnMap:
    """Match every column to a role or a question; the rest is ignored.

    Named roles and questions (``roles``) come first, then questions by id, tag or text (a
    column matched by id beats one matched by text), then the usual role headers among the
    columns left.
    """
    roles = roles or ColumnRoles()
    problems: list[Problem] = []
    taken: dict[str, str] = {}
    found: dict[str, str | None] = dict.fromkeys(ROLES)
    what = {"respondent_id": "respondent id", "unit": "unit", "role": "role"}
    for role, name in roles.named().items():
        header = _find_named(headers, name)
        if header is None:
            problems.append(_not_found(file, what.get(role, role), name, headers))
        else:
            found[role], taken[header.column] = header.column, role
    questions: dict[str, tuple[str, str]] = {}
    known = set(framework.question_ids)
    for qid, name in roles.questions.items():
        header = _find_named(headers, name)
        if qid not in known:
            problems.append(
                Problem(file, f"columns.questions names an unknown question {qid!r}", value=name)
            )
        elif header is None:
            problems.append(_not_found(file, f"question {qid}", name, headers))
        else:
            questions[qid], taken[header.column] = (header.column, "named"), qid
    lookup = _Questions(framework)
    matches = [
        (h, m) for h in headers if h.column not in taken and (m := lookup.match(h)) is not None
    ]
    duplicates: dict[str, str] = {}
    for header, (qid, how) in sorted(matches, key=lambda hm: HOW_RANK[hm[1][1]]):
        if qid not in questions:
            questions[qid] = (header.column, how)
        elif how != "text" or questions[qid][1] == "text":
            duplicates[header.column] = qid  # an id written twice is a mistake to report
        # else: the question's text next to its tagged column (a label copy) is ignored
    used = set(taken) | {c for c, _ in questions.values()} | set(duplicates)
    for role in ROLES:
        if found[role] is None:
            # The most specific header wins: "unit" over "department" when a file has both.
            ranked = [
                (min(ROLE_NAMES[role].index(n) for n in names), i, h.column)
                for i, h in enumerate(headers)
                if h.column not in used and (names := h.role_names & set(ROLE_NAMES[role]))
            ]
            if ranked:
                found[role] = min(ranked)[2]
                used.add(found[role])
    ignored = [h.column for h in headers if h.column not in used]
    questions = {q: questions[q] for q in framework.question_ids if q in questions}
    return ColumnMap(found, questions, duplicates, ignored, problems)
