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
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from xmkit.errors import Problem, XmkitError
from xmkit.framework import Framework, load_framework
from xmkit.io.limits import (
    check_file_size,
    check_input_file,
    check_rows,
    check_unpacked_size,
    max_rows,
)
from xmkit.io.names import clean_names

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
# Files people send instead of a CSV or XLSX; named plainly instead of misread as text.
OTHER_FORMATS = {
    ".ods": "an OpenDocument spreadsheet",
    ".numbers": "an Apple Numbers file",
    ".json": "a JSON file",
    ".parquet": "a Parquet file",
    ".pdf": "a PDF document",
    ".doc": "a Word document",
    ".docx": "a Word document",
    ".pptx": "a PowerPoint file",
    ".zip": "a zip archive",
    ".sav": "an SPSS data file",
}
CURLY_QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"'})
SAMPLE_BYTES = 65536
DELIMITERS = (",", ";", "\t")
ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
CFB_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # OLE compound file: .xls, or an encrypted .xlsx
ENCRYPTED_STREAM = "EncryptedPackage".encode("utf-16-le")
HEADER_SEARCH_ROWS = 20
SPREADSHEET_ERROR = re.compile(
    r"^#(div/0!?|n/a|value!?|ref!?|name|num!?|null!?|spill!?|calc!?|getting_data|field!?)$"
)
_MONTH = (
    r"(jan|january|feb|february|mar|march|apr|april|may|jun|june|jul|july|aug|august|sep|sept"
    r"|september|oct|october|nov|november|dec|december)"
)
DATE_PATTERNS = [
    re.compile(r"^\d{4}-\d{1,2}-\d{1,2}([ t]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?)?$"),  # ISO, Excel cells
    re.compile(r"^\d{1,2}[/.]\d{1,2}[/.]\d{2,4}( \d{1,2}:\d{2}(:\d{2})?)?$"),  # 05/03/2026
    re.compile(rf"^\d{{1,2}}[- /]{_MONTH}([- /]\d{{2,4}})?$"),  # 5-Jan, 05 Mar 2026
    re.compile(rf"^{_MONTH}[- /]\d{{1,4}}$"),  # Jan-05, Mar 2026
]
_SUMMARY = ("total", "totals", "grand total", "subtotal", "sum", "average", "averages", "avg")
_SUMMARY += ("mean", "median", "overall", "count", "std dev")
SUMMARY_WORDS = {
    form
    for word in _SUMMARY
    for spelled in (word, word.upper(), word.title(), word.capitalize())
    for form in (spelled, spelled + ":")
}
TABLE_FORMATS = "a CSV file (.csv, .txt, .tsv) or an Excel workbook (.xlsx, .xlsm)"


@dataclass
class Loaded:
    """The result of reading a responses file: the table plus every problem found."""

    data: pd.DataFrame
    layout: str
    problems: list[Problem] = field(default_factory=list)
    rows: np.ndarray = field(default_factory=lambda: np.array([], dtype=int))
    """The file row of each row of ``data`` (the header is row 1)."""
    warnings: list[Problem] = field(default_factory=list)
    """Things changed while reading that do not make the file invalid (names cleaned)."""


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


def _fields(line: str, delimiter: str) -> int:
    return len(next(csv.reader([line], delimiter=delimiter), []))


def sniff_delimiter(first_line: str, more_lines: Sequence[str] = ()) -> str:
    """The delimiter that splits the header line into the most fields.

    With ``more_lines`` (the next lines of the file), a delimiter that splits every line into
    the header's number of fields wins over one that only splits the header more: a header
    of question texts full of commas in a semicolon file is not mistaken for a comma file.
    """
    counts = {d: _fields(first_line, d) for d in DELIMITERS}
    rows = [line for line in more_lines if line.strip()][:10]

    def consistent(d: str) -> bool:
        return counts[d] > 1 and all(_fields(line, d) == counts[d] for line in rows)

    return max(DELIMITERS, key=lambda d: (bool(rows) and consistent(d), counts[d], d == ","))


def _is_text_column(name: str) -> bool:
    """Columns read as text as they are: ids, unit, role, comments, question ids."""
    key = _norm(name)
    return any(
        key in SYNONYMS[role] or key.replace(" ", "_") in SYNONYMS[role]
        for role in ("respondent_id", "unit", "role", "comment", "question_id")
    )


def _known_headers(cells: Sequence[str], framework: Framework) -> int:
    """How many cells are headers xmkit knows: meta columns, question ids or question texts."""
    mapping, duplicates = _question_columns(list(cells), framework, None)
    meta = sum(
        _norm(c) in names or _norm(c).replace(" ", "_") in names
        for c in cells
        for names in SYNONYMS.values()
    )
    return len(mapping) + len(duplicates) + meta


def _header_below(
    path: Path, rows: Sequence[Sequence[str]], framework: Framework
) -> Problem | None:
    """A problem when the first row is not a header but one of the next rows is.

    Title rows above the header ("Employee survey 2026", an export date) and Excel's merged
    group cells ("Visualize" over three columns) push the real header down; reading the title
    as the header would report every column as unknown.
    """
    if not rows or _known_headers(rows[0], framework):
        return None
    for index, cells in enumerate(rows[1:HEADER_SEARCH_ROWS], start=1):
        if _known_headers(cells, framework) >= 2:
            first = next(
                (c for c in rows[0] if str(c).strip() and not _norm(c).startswith("unnamed:")),
                "",
            )
            return Problem(
                str(path),
                f"the header is not on the first row: row {index + 1} looks like the header "
                "(title rows or merged cells above it?)",
                row=1,
                value=str(first) or None,
                expected="the column headers (respondent_id, unit, role, question ids) on row 1:"
                " delete the rows above them",
            )
    return None


def _read_csv(
    path: Path, encoding: str, delimiter: str, missing: list[str], nrows: int
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
    options = {"skiprows": [1, 2] if qualtrics else None, "nrows": nrows, **common}
    table = pd.read_csv(
        path, na_values={c: missing for c in top.columns if c not in text_cols}, **options
    )
    # Asking pandas for text up front is slower than re-reading the rare id or unit column it
    # took for numbers (so that "007" stays "007").
    retype = [c for c in text_cols if not pd.api.types.is_string_dtype(table[c].dtype)]
    if retype:
        table[retype] = pd.read_csv(path, usecols=retype, dtype=str, **options)[retype]
    return table, texts


def _not_a_table(path: Path, head: bytes) -> Problem | None:
    """A problem when a file's first bytes show it is not delimited text at all."""
    what = None
    if head.startswith(ZIP_MAGIC):
        what, fix = "an Excel workbook (or another zip archive)", "the .xlsx suffix, or CSV"
    elif head.startswith(CFB_MAGIC):
        what, fix = "an old .xls or a password-protected workbook", "CSV or an unprotected .xlsx"
    elif head.startswith(b"%PDF"):
        what, fix = "a PDF document", "the responses exported as CSV or XLSX"
    elif not head.startswith((b"\xff\xfe", b"\xfe\xff")) and b"\x00" in head:
        what, fix = "binary data", "the responses exported as CSV or XLSX"
    if what is None:
        return None
    return Problem(
        str(path), f"the file is {what}, not delimited text", expected=f"{TABLE_FORMATS}; {fix}"
    )


def _tail(path: Path, encoding: str) -> str:
    """The last few kilobytes of a text file, decoded (for the truncation check)."""
    size = path.stat().st_size
    start = max(0, size - 4096)
    if encoding == "utf-16":
        start -= start % 2
    with path.open("rb") as fh:
        fh.seek(start)
        data = fh.read()
    if encoding == "utf-16":
        with path.open("rb") as fh:
            bom = fh.read(2)
        encoding = "utf-16-le" if bom == b"\xff\xfe" else "utf-16-be"
    return data.decode(encoding.replace("-sig", ""), errors="replace")


def _check_complete(path: Path, table: pd.DataFrame, encoding: str, delimiter: str, first: int):
    """Raise when the file's last line was cut off: no final newline and fields missing.

    A copy or download that stopped half-way leaves the last respondent with fewer fields than
    the header; pandas would fill them with blanks, silently losing answers.
    """
    tail = _tail(path, encoding)
    if not tail or tail.endswith(("\n", "\r")) or len(table) == 0:
        return
    lines = tail.splitlines()
    last = lines[-1]
    found, wanted = _fields(last, delimiter), len(table.columns)
    # A hand-made file may leave trailing empty fields out on every row: only a last row
    # shorter than the row before it is a cut.
    previous = _fields(lines[-2], delimiter) if len(lines) >= 3 else wanted
    if found < min(wanted, previous):
        raise XmkitError(
            Problem(
                str(path),
                f"the last row is incomplete ({found} of {wanted} fields): the file seems to be "
                "cut off",
                row=first + len(table) - 1,
                value=last,
                expected="the complete file: export, download or copy it again",
            )
        )


def _parser_problem(path: Path, exc: Exception, delimiter: str, header: Problem | None) -> Problem:
    """A located, plain-language problem for pandas' tokenizer errors."""
    if header is not None:
        return header
    message = re.sub(r"\s+", " ", str(exc)).strip()
    match = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", message)
    if match:
        wanted, row, found = map(int, match.groups())
        return Problem(
            str(path),
            f"this row has {found} fields, the header has {wanted}",
            row=row,
            expected=f"the same number of {delimiter!r}-separated fields on every row (a "
            f"{delimiter!r} inside a cell must be in double quotes)",
        )
    match = re.search(r"EOF inside string starting at row (\d+)", message)
    if match:
        return Problem(
            str(path),
            "the file ends inside a quoted text that is never closed: it seems to be cut off, "
            "or a quote is missing",
            row=int(match.group(1)) + 1,
            expected='the complete file; a double quote inside a cell is written as ""',
        )
    match = re.search(r"line (\d+)", message)
    return Problem(
        str(path),
        f"the file cannot be parsed as a table: {message}",
        row=int(match.group(1)) if match else None,
        expected=f"the same number of {delimiter!r}-separated fields on every row",
    )


def _read_text_table(path: Path, framework: Framework) -> tuple[pd.DataFrame, dict | None]:
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
    problem = _not_a_table(path, head[:4096])
    if problem:
        raise XmkitError(problem)
    truncated = len(head) > SAMPLE_BYTES
    encoding = sniff_encoding(head[:SAMPLE_BYTES], truncated=truncated)
    lines = head[:SAMPLE_BYTES].decode(encoding, errors="replace").lstrip("\ufeff").splitlines()
    if truncated and len(lines) > 1:
        lines = lines[:-1]  # the sample's last line may be cut
    delimiter = sniff_delimiter(lines[0] if lines else "", lines[1:11])
    limit = max_rows()

    def header_problem() -> Problem | None:
        rows = [next(csv.reader([ln], delimiter=sniff_delimiter(ln)), []) for ln in lines[:20]]
        return _header_below(path, rows, framework)

    try:
        try:
            table, texts = _read_csv(path, encoding, delimiter, framework.scale.missing, limit + 1)
        except UnicodeDecodeError:
            if encoding != "utf-8":
                raise
            # Looked like UTF-8 at the start, but Excel's Windows-1252 further down.
            encoding = "cp1252"
            table, texts = _read_csv(path, encoding, delimiter, framework.scale.missing, limit + 1)
    except pd.errors.ParserError as exc:
        raise XmkitError(_parser_problem(path, exc, delimiter, header_problem())) from None
    except UnicodeDecodeError as exc:
        raise XmkitError(
            Problem(str(path), f"the file is not valid {encoding} text ({exc})")
        ) from None
    except pd.errors.EmptyDataError:
        raise XmkitError(Problem(str(path), "the file is empty")) from None
    check_rows(path, len(table), limit)
    if len(table.columns) == 1:
        raise XmkitError(
            header_problem()
            or Problem(
                str(path),
                "the file has a single column: its fields are not separated by a comma, "
                "semicolon or tab",
                row=1,
                value=lines[0] if lines else None,
                expected="a CSV file whose fields are separated by ',', ';' or tab",
            )
        )
    _check_complete(path, table, encoding, delimiter, 4 if texts is not None else 2)
    table.columns = [str(c).strip() for c in table.columns]
    if texts is not None:
        texts = {str(k).strip(): v for k, v in texts.items()}
    return table, texts


def _encrypted(path: Path) -> bool:
    """An OLE compound file holding an ``EncryptedPackage`` stream: Excel's encrypted .xlsx."""
    overlap = len(ENCRYPTED_STREAM)
    previous = b""
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            if ENCRYPTED_STREAM in previous[-overlap:] + chunk:
                return True
            previous = chunk
    return False


def _open_workbook(path: Path) -> None:
    """Check that an .xlsx file is a readable, reasonably sized workbook before pandas opens it."""
    with path.open("rb") as fh:
        head = fh.read(4096)
    if head.startswith(CFB_MAGIC):
        if _encrypted(path):
            raise XmkitError(
                Problem(
                    str(path),
                    "the workbook is password-protected (encrypted)",
                    expected="the workbook saved without a password (Excel: File > Info > "
                    "Protect Workbook > Encrypt with Password, clear it), or exported as CSV",
                )
            )
        raise XmkitError(
            Problem(
                str(path),
                f"the file is an old Excel 97-2003 (.xls) workbook named {path.suffix}",
                expected="the workbook saved as .xlsx (Excel Workbook) or as CSV",
            )
        )
    if not head.startswith(ZIP_MAGIC):
        if not head.strip():
            raise XmkitError(Problem(str(path), "the file is empty", expected=TABLE_FORMATS))
        text = b"\x00" not in head and not head.startswith(b"%PDF")
        raise XmkitError(
            Problem(
                str(path),
                f"the file is {'text (a CSV file?)' if text else 'not a workbook'}, "
                f"named {path.suffix}",
                expected="an Excel workbook saved as .xlsx"
                + ("; a CSV file needs the .csv suffix" if text else ""),
            )
        )
    try:
        with zipfile.ZipFile(path) as archive:
            check_unpacked_size(path, archive)
            names = set(archive.namelist())
    except zipfile.BadZipFile:
        raise XmkitError(
            Problem(
                str(path),
                "the workbook is damaged or incomplete (cut off while copying or downloading?)",
                expected="the workbook saved again from Excel, or exported as CSV",
            )
        ) from None
    if "xl/workbook.xml" not in names:
        raise XmkitError(
            Problem(
                str(path),
                "the file is a zip archive but not an Excel workbook",
                expected="an Excel workbook saved as .xlsx",
            )
        )


def _read_excel_table(path: Path) -> pd.DataFrame:
    _open_workbook(path)
    limit = max_rows()
    try:
        table = pd.read_excel(
            path,
            sheet_name=0,
            dtype=str,
            keep_default_na=False,
            na_filter=False,
            nrows=limit + 1,
        )
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
        raise XmkitError(
            Problem(
                str(path),
                "the first sheet is empty",
                expected="the responses on the first sheet, headers on row 1",
            )
        )
    check_rows(path, len(table), limit)
    table.columns = [str(c).strip() for c in table.columns]
    return table


def read_table(
    path: str | Path, framework: Framework | None = None
) -> tuple[pd.DataFrame, dict | None]:
    """Read any supported file: the table and, for a Qualtrics export, each column's text.

    The size limit (:mod:`xmkit.io.limits`) is checked before anything is read, the row limit
    while reading; files that are no table at all (PDF, an encrypted workbook, a workbook with
    a .csv name) are named as such.
    """
    path = Path(path)
    check_input_file(path)
    if path.is_dir():
        raise XmkitError(Problem(str(path), "this is a folder", expected="a CSV or XLSX file"))
    suffix = path.suffix.lower()
    if suffix == ".xls":
        raise XmkitError(
            Problem(
                str(path),
                "old .xls workbooks are not supported",
                expected="the file saved as .xlsx or CSV",
            )
        )
    if suffix in OTHER_FORMATS:
        raise XmkitError(
            Problem(
                str(path),
                f"{OTHER_FORMATS[suffix]} is not a responses table",
                expected=f"{TABLE_FORMATS} (save or export it as one)",
            )
        )
    check_file_size(path)
    if suffix in EXCEL_SUFFIXES:
        return _read_excel_table(path), None
    return _read_text_table(path, framework or load_framework())


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
        if SPREADSHEET_ERROR.match(key):
            return "is a spreadsheet error value (a formula failed?)"
        if any(p.match(key) for p in DATE_PATTERNS):
            return "is a date (Excel turns entries like 1-5 into dates)"
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


@dataclass
class _OutOfRange:
    """Whole-number answers outside the scale, counted across a file to spot another scale."""

    answered: int = 0
    count: int = 0
    low: float = np.inf
    high: float = -np.inf

    def add(self, values: np.ndarray) -> None:
        if len(values):
            self.count += len(values)
            self.low = min(self.low, float(values.min()))
            self.high = max(self.high, float(values.max()))

    def problem(self, name: str, parser: _AnswerParser) -> Problem | None:
        """One clear sentence when the answers look like a 0-10 (or 1-7) scale, else None.

        A few stray 6s are typos, reported cell by cell; when many answers (at least 3, and
        at least 5% of all answers) lie outside the scale, the whole file was most likely
        collected on another scale, and rescaling is the consultant's decision.
        """
        if self.count < 3 or self.count < 0.05 * self.answered:
            return None
        if self.low < 0 or self.high > 100:
            return None
        if self.high <= 7 and self.low >= 1:
            guess = "1-7"
        elif self.high <= 10:
            guess = "0-10"
        else:
            guess = "0-100 (percent?)"
        return Problem(
            name,
            f"answers look like a {guess} scale: {self.count} answers from {self.low:g} to "
            f"{self.high:g} lie outside {parser.low}-{parser.high}",
            expected=f"answers on the framework's {parser.low}-{parser.high} scale: rescale "
            "them before loading, or use a framework whose scale matches",
        )


def _question_columns(
    columns: list[str], framework: Framework, texts: dict[str, str] | None
) -> tuple[dict[str, str], dict[str, str]]:
    """Map file columns to question ids by id, by ``[id]``/``id.`` prefix, or by question text.

    Returns the mapping and the columns that repeat a question already mapped (duplicates),
    each with its question id.
    """
    by_id = {q.lower(): q for q in framework.question_ids}
    by_text = {
        _norm(t): qid
        for qid, t in zip(
            framework.questions["question_id"], framework.questions["question"], strict=True
        )
    }
    mapping: dict[str, str] = {}
    duplicates: dict[str, str] = {}
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
            duplicates[col] = qid
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


def _is_number_dtype(dtype: object) -> bool:
    return pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)


def _check_numbers(
    numbers: np.ndarray,
    rows: np.ndarray,
    column: str,
    parser: _AnswerParser,
    name: str,
    problems: list[Problem],
    outside: _OutOfRange,
) -> None:
    """Check one column of answers pandas read as numbers, in one vectorized pass.

    Every fractional or out-of-range cell becomes a problem and NaN (in place); there is no
    Python loop over cells unless a cell is bad.
    """
    present = ~np.isnan(numbers)
    with np.errstate(invalid="ignore"):
        bad = present & (
            (numbers < parser.low) | (numbers > parser.high) | (numbers != np.floor(numbers))
        )
    outside.answered += int(np.count_nonzero(present))
    if not bad.any():
        return
    wrong = numbers[bad]
    outside.add(wrong[wrong == np.floor(wrong)])
    for r, v in zip(rows[bad], wrong, strict=True):
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


def _parse_answers(
    values: pd.Series,
    rows: np.ndarray,
    qid: str,
    column: str,
    parser: _AnswerParser,
    name: str,
    problems: list[Problem],
    outside: _OutOfRange | None = None,
) -> np.ndarray:
    """Answers of one question as floats (NaN missing); every bad cell becomes a problem.

    Columns pandas already read as numbers are checked in one vectorized pass; text columns
    are parsed once per distinct value. Whole numbers outside the scale are also counted in
    ``outside``, to recognize a file collected on another scale.
    """
    outside = outside if outside is not None else _OutOfRange()
    if _is_number_dtype(values.dtype):
        numbers = values.to_numpy(dtype=float, na_value=np.nan, copy=True)
        _check_numbers(numbers, rows, column, parser, name, problems, outside)
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
        wrong = [
            float(m.group(1))
            for v in text[mask]
            if messages[v] == "out of range"
            and (m := re.match(r"^\s*([+-]?\d+)", v.replace(",", ".")))
        ]
        outside.add(np.asarray(wrong, dtype=float))
    result = numbers.to_numpy(dtype=float)
    outside.answered += len(result) - int(np.isnan(result).sum())
    if messages:
        outside.answered += int(mask.sum())
    return result


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


def _letter(index: int) -> str:
    """The spreadsheet letter of a 0-based column index: 0 -> A, 26 -> AA."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _summary_rows(
    table: pd.DataFrame,
    out: pd.DataFrame,
    meta_cols: dict[str, str | None],
    rows: np.ndarray,
    name: str,
    suspects: set[int],
) -> list[Problem]:
    """Those of the ``suspects`` rows that are a spreadsheet's total or average line.

    Reported (not skipped): only the consultant knows whether "Total" is a summary line to
    delete or, improbably, a respondent. Looks at the id, unit and role cells and the first
    column.
    """
    candidates = [(role, meta_cols[role]) for role in META if meta_cols[role]]
    first = table.columns[0] if len(table.columns) else None
    if first is not None and first not in {c for _, c in candidates}:
        candidates.append(("", first))
    where = np.isin(rows, list(suspects))
    rows = rows[where]
    found: dict[int, Problem] = {}
    for role, col in candidates:
        values = (out[role] if role else _text(table[col]))[where]
        hits = values.isin(SUMMARY_WORDS).to_numpy()
        for r, v in zip(rows[hits], values[hits], strict=True):
            found.setdefault(
                int(r),
                Problem(
                    name,
                    "this row looks like a total or average row, not a respondent",
                    row=int(r),
                    column=col,
                    value=v,
                    expected="one row per respondent: delete summary rows before loading",
                ),
            )
    return list(found.values())


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
    meta_cols = {role: _find(columns, role) for role in (*META, "comment")}
    if not mapping and not any(meta_cols.values()):
        head = [columns, *table.head(HEADER_SEARCH_ROWS - 1).astype(str).to_numpy().tolist()]
        header = _header_below(Path(name), head, framework)
        if header is not None:
            return Loaded(pd.DataFrame(), layout, [header])
    qids = framework.question_ids  # a property that builds a new list: read it once
    known_ids = set(qids)
    if layout == "wide" and any(_norm(c) not in known_ids for c in mapping):
        layout = "form"
    first_of = {qid: col for col, qid in mapping.items()}
    for col, qid in duplicate_cols.items():
        base = re.sub(r"\.\d+$", "", col)  # pandas renames a repeated header "v1_1" "v1_1.1"
        problems.append(
            Problem(
                name,
                f"question {qid} appears in more than one column (columns "
                f"{_letter(columns.index(first_of[qid]))} and {_letter(columns.index(col))})",
                row=1,
                column=base if base in columns else col,
                expected="each question in one column: delete or rename the copy",
            )
        )
    mapped = set(mapping.values())
    missing_q = [q for q in qids if q not in mapped]
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
    for index, col in enumerate(columns):
        if _norm(col).startswith("unnamed:") or not col:
            # A blank header cell (Excel's merged or deleted header): fine while the column
            # is empty, but answers under it would be silently lost.
            filled = ~_is_blank(table[col])
            if filled.any():
                problems.append(
                    Problem(
                        name,
                        f"column {_letter(index)} has no header but holds data (a merged or "
                        "blank header cell?)",
                        row=1,
                        value=str(table[col][filled].iloc[0]),
                        expected="a header on every column that holds data: respondent_id, "
                        "unit, role, a question id or comment",
                    )
                )
            continue
        if col in used or _norm(col) in TOOL_COLUMNS:
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
        if not blank.any():  # usually after the first column: ids are never all blank
            break
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
    warnings = []
    for role in ("unit", "role"):
        col = meta_cols[role]
        out[role] = _text(table[col]) if col else ""
        if col:
            out[role], changed = clean_names(out[role])
            if changed.any():
                first = int(rows[changed.to_numpy()][0])
                warnings.append(
                    Problem(
                        name,
                        f"{int(changed.sum())} {role} name(s) held control, bidirectional or "
                        f"zero-width characters: control characters removed, the others shown "
                        f"escaped (first on row {first})",
                        column=col,
                        value=out[role].iloc[int(np.argmax(changed.to_numpy()))],
                    )
                )
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
        # Line breaks as "\n": a lone "\r" (old Mac, some form tools) would end a row in any
        # CSV written from this table later without quotes, splitting a respondent in two.
        comments = _text(table[meta_cols["comment"]])
        out["comment"] = comments.str.replace(r"\r\n?", "\n", regex=True)
    outside = _OutOfRange()
    answers = {
        qid: _parse_answers(table[col], rows, qid, col, parser, name, problems, outside)
        for col, qid in mapping.items()
    }
    # A total or average row always trips a check (sums out of range, fractional means, blank
    # role), so only rows with a problem are looked at: no cost on a clean file.
    suspects = {p.row for p in problems if p.row is not None and p.row > 1}
    totals = _summary_rows(table, out, meta_cols, rows, name, suspects) if suspects else []
    if totals:
        # One mistake, not forty: the row's other problems go, and so do its answers.
        flagged = {p.row for p in totals}
        keep = ~np.isin(rows, list(flagged))
        table, out, rows = table[keep], out[keep], rows[keep]
        problems = [p for p in problems if p.row not in flagged] + totals
        outside = _OutOfRange()
        answers = {
            qid: _parse_answers(table[col], rows, qid, col, parser, name, [], outside)
            for col, qid in mapping.items()
        }
    scale = outside.problem(name, parser)
    if scale is not None:
        problems.append(scale)
    if len(table) and answers and outside.answered == 0:  # all blank or "don't know"
        problems.append(
            Problem(
                name,
                'no answers to score: every answer is blank or "don\'t know"',
                expected="at least one answer on the framework's scale",
            )
        )
    answers.update({qid: np.full(len(table), np.nan) for qid in missing_q})
    out = pd.concat([out, pd.DataFrame(answers, index=table.index)[qids]], axis=1).reset_index(
        drop=True
    )
    problems.sort(key=lambda p: (p.row or 0, p.column or ""))
    return Loaded(out, layout, problems, np.asarray(rows, dtype=int), warnings)


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
