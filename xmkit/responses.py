"""Loading questionnaire responses from the files people actually have.

Every supported layout is turned into one tidy table: one row per respondent with
``respondent_id``, ``unit``, ``role``, an optional ``comment`` and one float column per
question id (NaN where the answer is blank or "don't know"). Supported layouts, detected
from the content rather than the file name:

* **wide**: ``respondent_id, unit, role, <question ids...>, [comment]`` (CSV or XLSX);
* **long**: ``respondent_id, unit, role, question_id, answer``;
* **qualtrics**: a Qualtrics CSV export with three header rows (ids, question text,
  ``{"ImportId": ...}``); questions match by id or by text;
* **form**: exports from form tools whose headers are the question text.

Text files may be UTF-8 (with or without BOM), UTF-16 or Windows-1252, delimited by
comma, semicolon or tab.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from xmkit.errors import Problem, XmkitError
from xmkit.framework import Framework, load_framework

META = ("respondent_id", "unit", "role")
SYNONYMS: dict[str, tuple[str, ...]] = {
    "respondent_id": (
        "respondent_id",
        "respondent id",
        "respondent",
        "responseid",
        "response id",
        "response_id",
        "id",
    ),
    "unit": ("unit", "business unit", "business_unit", "unit name"),
    "role": ("role", "job role", "respondent role"),
    "comment": ("comment", "comments", "free text", "remarks"),
    "question_id": ("question_id", "question id", "question"),
    "answer": ("answer", "value", "response", "score"),
}
# Columns that survey tools add and that carry nothing to score.
TOOL_COLUMNS = {
    "timestamp",
    "startdate",
    "enddate",
    "status",
    "ipaddress",
    "progress",
    "duration (in seconds)",
    "finished",
    "recordeddate",
    "recipientlastname",
    "recipientfirstname",
    "recipientemail",
    "externalreference",
    "locationlatitude",
    "locationlongitude",
    "distributionchannel",
    "userlanguage",
    "start time",
    "completion time",
    "email",
    "name",
    "last modified time",
    "submitted at",
    "submission id",
}
EXCEL_SUFFIXES = {".xlsx", ".xlsm"}
CURLY_QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"'})
SAMPLE_BYTES = 65536
DELIMITERS = (",", ";", "\t")


@dataclass
class Loaded:
    """The result of reading a responses file: the table plus every problem found."""

    data: pd.DataFrame
    layout: str
    problems: list[Problem] = field(default_factory=list)
    rows: np.ndarray = field(default_factory=lambda: np.array([], dtype=int))
    """The file row of each row of ``data`` (the header is row 1)."""


def _norm(text: object) -> str:
    """Lower-case, single-spaced, straight quotes, no surrounding punctuation: for matching."""
    text = str(text).translate(CURLY_QUOTES)
    return re.sub(r"\s+", " ", text).strip().strip(" .:?*").lower()


def sniff_encoding(head: bytes, truncated: bool = False) -> str:
    """Encoding from a BOM, else UTF-8 if it decodes, else Windows-1252 (Excel's 'CSV').

    ``truncated`` says the sample is not the whole file, so a multi-byte character cut at its
    end is still UTF-8.
    """
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    if head.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if not (truncated and exc.start >= len(head) - 3):
            return "cp1252"
    return "utf-8"


def sniff_delimiter(first_line: str) -> str:
    """The delimiter that splits the header line into the most fields."""
    counts = {d: len(next(csv.reader([first_line], delimiter=d))) for d in DELIMITERS}
    return max(DELIMITERS, key=lambda d: (counts[d], d == ","))


def _is_text_column(name: str) -> bool:
    """Columns read as text as they are: ids, unit, role, comments, question ids."""
    key = _norm(name)
    return any(
        key in SYNONYMS[role] or key.replace(" ", "_") in SYNONYMS[role]
        for role in ("respondent_id", "unit", "role", "comment", "question_id")
    )


def _read_csv(
    path: Path, encoding: str, delimiter: str, missing: list[str]
) -> tuple[pd.DataFrame, dict | None]:
    """The table (answers numeric where clean) and, for Qualtrics, each column's text."""
    # Empty lines are kept (and dropped later as blank rows) so row numbers match the file.
    common = {
        "sep": delimiter,
        "encoding": encoding,
        "keep_default_na": False,
        "skip_blank_lines": False,
    }
    top = pd.read_csv(path, nrows=2, dtype=str, **common)
    qualtrics = (
        len(top) == 2
        and top.iloc[1].astype(str).str.contains('{"importid"', case=False, regex=False).any()
    )
    texts = dict(zip(top.columns, top.iloc[0].astype(str), strict=True)) if qualtrics else None
    text_cols = [c for c in top.columns if _is_text_column(c)]
    # Missing-answer tokens in their usual spellings, so clean columns stay numeric.
    missing = sorted({v for t in missing for v in (t, t.upper(), t.title(), t.capitalize())})
    options = {"skiprows": [1, 2] if qualtrics else None, **common}
    table = pd.read_csv(
        path, na_values={c: missing for c in top.columns if c not in text_cols}, **options
    )
    # Asking pandas for text up front is slower than re-reading the rare id or unit column it
    # took for numbers (so that "007" stays "007").
    retype = [c for c in text_cols if not pd.api.types.is_string_dtype(table[c].dtype)]
    if retype:
        table[retype] = pd.read_csv(path, usecols=retype, dtype=str, **options)[retype]
    return table, texts


def _read_text_table(path: Path, missing: list[str]) -> tuple[pd.DataFrame, dict | None]:
    """Read a delimited text file.

    Returns the table and, for a Qualtrics export (three header rows), the question text of
    each column. Answer columns are parsed as numbers by pandas where
    they are clean (the common, fast case); anything else arrives as text and is parsed cell by
    cell later, so every bad cell can be reported.
    """
    with path.open("rb") as fh:
        head = fh.read(SAMPLE_BYTES + 1)
    if not head.strip(b"\x00\xef\xbb\xbf\xff\xfe \r\n\t"):
        raise XmkitError(
            Problem(
                str(path), "the file is empty", expected="a header row and one row per respondent"
            )
        )
    encoding = sniff_encoding(head[:SAMPLE_BYTES], truncated=len(head) > SAMPLE_BYTES)
    lines = head.decode(encoding, errors="replace").lstrip("\ufeff").splitlines()
    delimiter = sniff_delimiter(lines[0] if lines else "")
    try:
        try:
            table, texts = _read_csv(path, encoding, delimiter, missing)
        except UnicodeDecodeError:
            if encoding != "utf-8":
                raise
            # Looked like UTF-8 at the start, but Excel's Windows-1252 further down.
            encoding = "cp1252"
            table, texts = _read_csv(path, encoding, delimiter, missing)
    except pd.errors.ParserError as exc:
        message = re.sub(r"\s+", " ", str(exc)).strip()
        match = re.search(r"line (\d+)", message)
        raise XmkitError(
            Problem(
                str(path),
                f"the file cannot be parsed as a table: {message}",
                row=int(match.group(1)) if match else None,
                expected=f"the same number of {delimiter!r}-separated fields on every row",
            )
        ) from None
    except UnicodeDecodeError as exc:
        raise XmkitError(
            Problem(str(path), f"the file is not valid {encoding} text ({exc})")
        ) from None
    except pd.errors.EmptyDataError:
        raise XmkitError(Problem(str(path), "the file is empty")) from None
    table.columns = [str(c).strip() for c in table.columns]
    if texts is not None:
        texts = {str(k).strip(): v for k, v in texts.items()}
    return table, texts


def _read_excel_table(path: Path) -> pd.DataFrame:
    try:
        table = pd.read_excel(path, sheet_name=0, dtype=str, keep_default_na=False, na_filter=False)
    except ValueError as exc:
        raise XmkitError(Problem(str(path), f"the workbook cannot be read: {exc}")) from None
    except Exception as exc:  # zip, XML and encryption errors all mean the same to a user
        raise XmkitError(
            Problem(
                str(path),
                f"the workbook cannot be opened ({type(exc).__name__})",
                expected="an unprotected .xlsx file saved by Excel or a compatible tool",
            )
        ) from None
    if table.empty and len(table.columns) == 0:
        raise XmkitError(Problem(str(path), "the first sheet is empty"))
    table.columns = [str(c).strip() for c in table.columns]
    return table


def read_table(
    path: str | Path, framework: Framework | None = None
) -> tuple[pd.DataFrame, dict | None]:
    """Read any supported file: the table and, for a Qualtrics export, each column's text."""
    path = Path(path)
    if not path.exists():
        raise XmkitError(Problem(str(path), "file not found"))
    if path.is_dir():
        raise XmkitError(Problem(str(path), "this is a folder", expected="a CSV or XLSX file"))
    if path.suffix.lower() == ".xls":
        raise XmkitError(
            Problem(
                str(path),
                "old .xls workbooks are not supported",
                expected="the file saved as .xlsx or CSV",
            )
        )
    if path.suffix.lower() in EXCEL_SUFFIXES:
        return _read_excel_table(path), None
    fw = framework or load_framework()
    return _read_text_table(path, fw.scale.missing)


def _find(columns: list[str], role: str) -> str | None:
    """The column whose header names the given meta role, if any."""
    wanted = SYNONYMS[role]
    for col in columns:
        if _norm(col) in wanted or _norm(col).replace(" ", "_") in wanted:
            return col
    return None


class _AnswerParser:
    """Turns answer cells into numbers, caching by distinct value (surveys repeat a lot)."""

    def __init__(self, framework: Framework) -> None:
        scale = framework.scale
        self.low, self.high = scale.min, scale.max
        self.missing = {_norm(m) for m in scale.missing}
        self.labels = {_norm(text): level for level, text in scale.labels.items()}
        self.level_texts = {
            q.id: {_norm(text): level for level, text in q.levels.items()}
            for _, p in framework.practices
            for q in p.questions
        }
        self.expected = f'a whole number from {self.low} to {self.high}, or blank / "don\'t know"'

    def parse(self, value: str, question_id: str) -> float | str:
        """A level as float, NaN for missing, or an error message for a bad value."""
        key = _norm(value)
        if key in self.missing:
            return np.nan
        text = key.replace(",", ".")
        match = re.match(r"^([+-]?\d+(?:\.\d+)?)(?:\s*[-–:.)]\s*\D.*)?$", text)
        if match:
            number = float(match.group(1))
            if number != int(number):
                return "not a whole number"
            if not self.low <= number <= self.high:
                return "out of range"
            return number
        level = self.labels.get(key) or self.level_texts.get(question_id, {}).get(key)
        if level is not None:
            return float(level)
        return "not a number"


def _question_columns(
    columns: list[str], framework: Framework, texts: dict[str, str] | None
) -> tuple[dict[str, str], list[str]]:
    """Map file columns to question ids by id, by ``[id]``/``id.`` prefix, or by question text.

    Returns the mapping and the list of columns that matched twice (duplicates).
    """
    by_id = {q.lower(): q for q in framework.question_ids}
    by_text = {
        _norm(t): qid
        for qid, t in zip(
            framework.questions["question_id"], framework.questions["question"], strict=True
        )
    }
    mapping: dict[str, str] = {}
    duplicates: list[str] = []
    for col in columns:
        candidates = [_norm(col)]
        if texts and col in texts:
            candidates.append(_norm(texts[col]))
        qid = None
        for cand in candidates:
            head = re.match(r"^\[?([a-z]\d+_\d+)\]?(?:[\s.:)\]-]|$)", cand)
            qid = by_id.get(cand) or (by_id.get(head.group(1)) if head else None)
            qid = qid or by_text.get(cand)
            if qid is None:  # form tools often append the id or the scale to the text
                qid = next((q for t, q in by_text.items() if cand.startswith(t)), None)
            if qid:
                break
        if qid is None:
            continue
        if qid in mapping.values():
            duplicates.append(col)
            continue
        mapping[col] = qid
    return mapping, duplicates


def _detect_layout(table: pd.DataFrame, texts: dict | None) -> str:
    columns = list(table.columns)
    if texts is not None:
        return "qualtrics"
    if _find(columns, "question_id") and _find(columns, "answer"):
        return "long"
    return "wide"


def _text(values: pd.Series) -> pd.Series:
    """Cells as stripped text, blank for missing."""
    if isinstance(values.dtype, pd.StringDtype):
        return values.fillna("").str.strip()
    return values.astype(object).where(values.notna(), "").astype(str).str.strip()


def _is_blank(values: pd.Series) -> np.ndarray:
    if pd.api.types.is_numeric_dtype(values.dtype):
        return values.isna().to_numpy()
    return _text(values).eq("").to_numpy()


def _parse_answers(
    values: pd.Series,
    rows: np.ndarray,
    qid: str,
    column: str,
    parser: _AnswerParser,
    name: str,
    problems: list[Problem],
) -> np.ndarray:
    """Answers of one question as floats (NaN missing); every bad cell becomes a problem.

    Columns pandas already read as numbers are checked in one vectorized pass; text columns
    are parsed once per distinct value.
    """
    if pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(values):
        numbers = values.to_numpy(dtype=float, na_value=np.nan, copy=True)
        with np.errstate(invalid="ignore"):
            bad = ~np.isnan(numbers) & (
                (numbers < parser.low) | (numbers > parser.high) | (numbers != np.floor(numbers))
            )
        for r, v in zip(rows[bad], numbers[bad], strict=True):
            why = "out of range" if v == np.floor(v) else "not a whole number"
            problems.append(
                Problem(
                    name,
                    f"answer {why}",
                    row=int(r),
                    column=column,
                    value=f"{v:g}",
                    expected=parser.expected,
                )
            )
        numbers[bad] = np.nan
        return numbers
    text = _text(values)
    parsed = {u: parser.parse(u, qid) for u in pd.unique(text)}
    messages = {u: v for u, v in parsed.items() if isinstance(v, str)}
    numbers = text.map({u: (np.nan if isinstance(v, str) else v) for u, v in parsed.items()})
    if messages:
        mask = text.isin(list(messages)).to_numpy()
        for r, v in zip(rows[mask], text[mask], strict=True):
            problems.append(
                Problem(
                    name,
                    f"answer {messages[v]}",
                    row=int(r),
                    column=column,
                    value=v,
                    expected=parser.expected,
                )
            )
    return numbers.to_numpy(dtype=float)


def _long_to_wide(
    table: pd.DataFrame,
    name: str,
    framework: Framework,
    parser: _AnswerParser,
    problems: list[Problem],
) -> pd.DataFrame:
    """Pivot the long layout to one row per respondent, checking it on the way."""
    columns = list(table.columns)
    cols = {role: _find(columns, role) for role in (*META, "question_id", "answer")}
    for role in META:
        if cols[role] is None:
            problems.append(
                Problem(
                    name,
                    f"missing column {role!r}",
                    row=1,
                    expected=f"a {role} column in the long layout",
                )
            )
    if problems:
        return pd.DataFrame()
    long = pd.DataFrame({role: _text(table[col]) for role, col in cols.items() if role != "answer"})
    long["_row"] = np.arange(len(table)) + 2
    known = {q.lower(): q for q in framework.question_ids}
    long["question_id"] = long["question_id"].str.lower().map(known)
    unknown = long["question_id"].isna().to_numpy()
    for row, raw in zip(
        long["_row"][unknown], _text(table[cols["question_id"]])[unknown], strict=True
    ):
        problems.append(
            Problem(
                name,
                "unknown question id",
                row=int(row),
                column=cols["question_id"],
                value=raw,
                expected="one of the framework's question ids",
            )
        )
    long["answer"] = np.nan
    for qid, idx in long.groupby("question_id").groups.items():
        long.loc[idx, "answer"] = _parse_answers(
            table.loc[idx, cols["answer"]],
            long.loc[idx, "_row"].to_numpy(),
            qid,
            cols["answer"],
            parser,
            name,
            problems,
        )
    long = long[~unknown]
    dup = long.duplicated(subset=["respondent_id", "question_id"], keep="first").to_numpy()
    for row, qid in zip(long["_row"][dup], long["question_id"][dup], strict=True):
        problems.append(
            Problem(
                name,
                "this respondent answers this question twice",
                row=int(row),
                column=cols["question_id"],
                value=qid,
                expected="one row per respondent and question",
            )
        )
    long = long[~dup]
    meta = long.groupby("respondent_id", sort=False)[["unit", "role"]].nunique()
    for rid in meta.index[(meta > 1).any(axis=1)]:
        problems.append(
            Problem(
                name,
                "respondent has more than one unit or role",
                column=cols["respondent_id"],
                value=str(rid),
                expected="the same unit and role on all of a respondent's rows",
            )
        )
    answers = long.pivot(index="respondent_id", columns="question_id", values="answer")
    firsts = long.groupby("respondent_id", sort=False).agg(
        unit=("unit", "first"), role=("role", "first"), _row=("_row", "first")
    )
    wide = firsts.join(answers).reset_index()
    for qid in framework.question_ids:
        if qid not in wide:
            wide[qid] = np.nan
    return wide


def _to_standard(
    table: pd.DataFrame, texts: dict | None, name: str, framework: Framework
) -> Loaded:
    """Rename columns to the standard ones and parse answers, collecting every problem."""
    problems: list[Problem] = []
    parser = _AnswerParser(framework)
    layout = _detect_layout(table, texts)
    if layout == "long":
        table = _long_to_wide(table, name, framework, parser, problems)
        if table.empty:
            return Loaded(pd.DataFrame(), layout, problems)
        rows = table.pop("_row").to_numpy()
    else:
        rows = np.arange(len(table)) + (4 if layout == "qualtrics" else 2)
    columns = list(table.columns)
    mapping, duplicate_cols = _question_columns(columns, framework, texts)
    if layout == "wide" and any(_norm(c) not in framework.question_ids for c in mapping):
        layout = "form"
    for col in duplicate_cols:
        problems.append(
            Problem(
                name,
                "this question appears in more than one column",
                row=1,
                column=col,
                expected="each question once",
            )
        )
    meta_cols = {role: _find(columns, role) for role in (*META, "comment")}
    missing_q = [q for q in framework.question_ids if q not in mapping.values()]
    if missing_q:
        problems.append(
            Problem(
                name,
                f"{len(missing_q)} question column(s) missing: {', '.join(missing_q)}",
                row=1,
                expected="one column per question id of the framework",
            )
        )
    for role in ("unit", "role"):
        if meta_cols[role] is None:
            problems.append(
                Problem(
                    name, f"missing column {role!r}", row=1, expected=f"a column named {role!r}"
                )
            )
    used = set(mapping) | {c for c in meta_cols.values() if c} | set(duplicate_cols)
    for col in columns:
        if col in used or _norm(col) in TOOL_COLUMNS or _norm(col).startswith("unnamed:"):
            continue
        if layout == "wide" or re.fullmatch(r"[a-z]\d+_\d+", _norm(col)):
            problems.append(
                Problem(
                    name,
                    "unknown column",
                    row=1,
                    column=col,
                    expected="a question id of the framework, respondent_id, unit, role or comment",
                )
            )

    # Rows that are blank in every cell (Excel leaves them) are not respondents.
    blank = np.ones(len(table), dtype=bool)
    for col in columns:
        blank &= _is_blank(table[col])
    table, rows = table[~blank], rows[~blank]
    if table.empty:
        problems.append(
            Problem(
                name, "the file has a header but no responses", expected="one row per respondent"
            )
        )

    out = pd.DataFrame(index=table.index)
    rid_col = meta_cols["respondent_id"]
    out["respondent_id"] = _text(table[rid_col]) if rid_col else [f"r{r}" for r in rows]
    for role in ("unit", "role"):
        col = meta_cols[role]
        out[role] = _text(table[col]) if col else ""
        if col:
            for r in rows[out[role].eq("").to_numpy()]:
                problems.append(
                    Problem(
                        name,
                        f"{role} is blank",
                        row=int(r),
                        column=col,
                        expected=f"the respondent's {role}",
                    )
                )
    if rid_col:
        ids = out["respondent_id"]
        for r in rows[ids.eq("").to_numpy()]:
            problems.append(
                Problem(
                    name,
                    "respondent id is blank",
                    row=int(r),
                    column=rid_col,
                    expected="a unique id per respondent",
                )
            )
        dup = (ids.ne("") & ids.duplicated(keep=False)).to_numpy()
        if dup.any():
            first_row = dict(zip(ids[dup][::-1], rows[dup][::-1], strict=True))
            for r, v in zip(rows[dup], ids[dup], strict=True):
                if r != first_row[v]:
                    problems.append(
                        Problem(
                            name,
                            "duplicate respondent id",
                            row=int(r),
                            column=rid_col,
                            value=v,
                            expected=f"a unique id (first used on row {first_row[v]})",
                        )
                    )
    if meta_cols["comment"]:
        out["comment"] = _text(table[meta_cols["comment"]])
    answers = {
        qid: _parse_answers(table[col], rows, qid, col, parser, name, problems)
        for col, qid in mapping.items()
    }
    answers.update({qid: np.full(len(table), np.nan) for qid in missing_q})
    out = pd.concat(
        [out, pd.DataFrame(answers, index=table.index)[framework.question_ids]], axis=1
    ).reset_index(drop=True)
    problems.sort(key=lambda p: (p.row or 0, p.column or ""))
    return Loaded(out, layout, problems, np.asarray(rows, dtype=int))


def read_responses(path: str | Path, framework: Framework | None = None) -> Loaded:
    """Read and check a responses file, collecting every problem instead of stopping at one."""
    framework = framework or load_framework()
    try:
        table, texts = read_table(path, framework)
    except XmkitError as exc:
        return Loaded(pd.DataFrame(), "unknown", exc.problems)
    return _to_standard(table, texts, str(path), framework)


def load_responses(path: str | Path, framework: Framework | None = None) -> pd.DataFrame:
    """Load a responses file into one row per respondent; raise :class:`XmkitError` if invalid.

    Missing answers ("", "don't know", "N/A", ...) are NaN, never zero.
    """
    loaded = read_responses(path, framework)
    if loaded.problems:
        raise XmkitError(loaded.problems)
    return loaded.data


def wide_from_long(data: pd.DataFrame, framework: Framework) -> pd.DataFrame:
    """Accept responses in the long layout (``question_id``, ``answer``) as a DataFrame."""
    wide = data.pivot_table(
        index=["respondent_id", "unit", "role"],
        columns="question_id",
        values="answer",
        aggfunc="first",
    ).reset_index()
    for q in framework.question_ids:
        if q not in wide:
            wide[q] = np.nan
    return wide[[*META, *framework.question_ids]]
