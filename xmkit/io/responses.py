"""Loading questionnaire responses from the files people actually have.

Every supported layout is turned into one tidy table: one row per respondent with
``respondent_id``, ``unit``, ``role``, an optional ``comment`` and one float column per
question id (NaN where the answer is blank or "don't know"). Supported layouts, detected
from the content rather than the file name:

* **wide**: ``respondent_id, unit, role, <question ids...>, [comment]`` (CSV or XLSX);
* **long**: ``respondent_id, unit, role, question_id, answer``;
* **qualtrics**: a Qualtrics export with three header rows (ids, question text,
  ``{"ImportId": ...}``, single-quoted in 2016-17 exports); questions match by id or by text;
* **surveymonkey**: two header rows (question, then row text or "Response");
* **form**: exports from form tools whose headers are the question text (Google Forms,
  Microsoft Forms, LimeSurvey).

Which column is what is decided in :mod:`xmkit.io.columns`; columns that are neither a role nor
a question are ignored and listed in :attr:`Loaded.notes`. Test and preview responses and rows
without any answer are left out and counted.

Text files may be UTF-8 (with or without BOM), UTF-16 or Windows-1252, delimited by
comma, semicolon or tab.
"""

from __future__ import annotations

import csv
import io
import re
import warnings
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from xmkit.errors import Problem, XmkitError
from xmkit.framework import Framework, load_framework
from xmkit.io.answers import AnswerParser, narrower_scale
from xmkit.io.answers import norm as _norm
from xmkit.io.columns import (
    ROLE_NAMES,
    ColumnMap,
    ColumnRoles,
    Header,
    headers_from,
    map_columns,
    norm_header,
    short,
)
from xmkit.io.limits import (
    check_file_size,
    check_input_file,
    check_rows,
    check_unpacked_size,
    max_rows,
)
from xmkit.io.names import clean_names

__all__ = [
    "CFB_MAGIC",
    "DELIMITERS",
    "ENCRYPTED_STREAM",
    "EXCEL_SUFFIXES",
    "FINISHED_COLUMNS",
    "HEADER_SEARCH_ROWS",
    "IMPORT_ID",
    "META",
    "NOT_FINISHED",
    "NOT_STATED",
    "ONE_GROUP",
    "OTHER_FORMATS",
    "SAMPLE_BYTES",
    "SUBMITTED_COLUMNS",
    "SUMMARY_WORDS",
    "SYNONYMS",
    "TABLE_FORMATS",
    "TEST_COLUMNS",
    "TEST_VALUES",
    "TEXT_ROLE_NAMES",
    "ZIP_MAGIC",
    "HeaderRows",
    "Loaded",
    "ReadOptions",
    "load_responses",
    "read_responses",
    "read_table",
    "sniff_delimiter",
    "sniff_encoding",
    "wide_from_long",
]

META = ("respondent_id", "unit", "role")
# Columns of the long layout (roles are matched in xmkit.io.columns).
SYNONYMS: dict[str, tuple[str, ...]] = {
    "question_id": ("question_id", "question id", "question"),
    "answer": ("answer", "value", "response", "score"),
}
# Qualtrics marks preview and test responses in these columns with these values.
TEST_COLUMNS = {"status", "distributionchannel", "distribution channel", "response type"}
TEST_VALUES = {"survey preview", "survey test", "preview", "test"}
FINISHED_COLUMNS = {"finished"}
NOT_FINISHED = {"false", "0", "0.0", "no"}
SUBMITTED_COLUMNS = {"submitdate", "date submitted"}  # LimeSurvey: blank until submitted
TEXT_ROLE_NAMES = frozenset().union(*ROLE_NAMES.values())
NOT_STATED = "Not stated"
ONE_GROUP = {"unit": "Whole organization", "role": "All roles"}
IMPORT_ID = r"\{\s*['\"]importid['\"]"
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
SAMPLE_BYTES = 65536
DELIMITERS = (",", ";", "\t")
ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
CFB_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # OLE compound file: .xls, or an encrypted .xlsx
ENCRYPTED_STREAM = "EncryptedPackage".encode("utf-16-le")
HEADER_SEARCH_ROWS = 20
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
class HeaderRows:
    """The extra header rows of an export: how many rows the header takes, each column's text."""

    layout: str
    rows: int
    texts: dict[str, str]


@dataclass
class Loaded:
    """The result of reading a responses file: the table plus every problem found."""

    data: pd.DataFrame
    layout: str
    problems: list[Problem] = field(default_factory=list)
    rows: np.ndarray = field(default_factory=lambda: np.array([], dtype=int))
    """The file row of each row of ``data`` (the header is row 1)."""
    notes: list[str] = field(default_factory=list)
    """What was ignored, left out or grouped, one sentence each (shown, not errors)."""
    columns: ColumnMap | None = None
    headers: list[Header] = field(default_factory=list)
    excluded: dict[str, int] = field(default_factory=dict)
    """Rows left out, by reason: test, unfinished, empty."""

    warnings: list[Problem] = field(default_factory=list)
    """Things that load but deserve a look (answers that fit a narrower scale)."""


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


def _is_text_column(name: str, named: frozenset[str] = frozenset()) -> bool:
    """Columns read as text as they are: ids, unit, role, comments, question ids."""
    keys = Header(name, name).role_names
    keys |= {k.replace(" ", "_") for k in keys}
    return bool(keys & named or keys & TEXT_ROLE_NAMES or keys & set(SYNONYMS["question_id"]))


def _known_headers(cells: Sequence[str], framework: Framework) -> int:
    """How many cells are headers xmkit knows: meta columns, question ids or question texts."""
    found = map_columns(headers_from([str(c) for c in cells]), framework)
    return len(found.questions) + len(found.duplicates) + sum(map(bool, found.roles.values()))


def _header_rows(top: pd.DataFrame) -> HeaderRows | None:
    """The extra header rows of a Qualtrics or SurveyMonkey export, from the first data rows."""
    if len(top) >= 2 and top.iloc[1].astype(str).str.contains(IMPORT_ID, case=False).any():
        layout, rows = "qualtrics", 3
    elif (
        len(top) >= 1
        and not str(top.iloc[0, 0]).strip()
        and top.iloc[0].astype(str).map(norm_header).isin(["response", "open-ended response"]).any()
    ):
        layout, rows = "surveymonkey", 2
    else:
        return None
    texts = {str(c): str(v) for c, v in zip(top.columns, top.iloc[0], strict=True)}
    return HeaderRows(layout, rows, texts)


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
    path: Path,
    encoding: str,
    delimiter: str,
    nrows: int,
    named: frozenset[str] = frozenset(),
    text: str | None = None,
) -> tuple[pd.DataFrame, HeaderRows | None]:
    """The table (answers numeric where clean) and the extra header rows of an export.

    ``text`` is the decoded file when it had to be repaired first (``\\r\\r\\n`` line ends).
    """

    def source() -> Path | io.StringIO:
        return path if text is None else io.StringIO(text)

    # Empty lines are kept (and dropped later as blank rows) so row numbers match the file.
    common = {"sep": delimiter, "keep_default_na": False, "skip_blank_lines": False}
    if text is None:
        common["encoding"] = encoding
    top = pd.read_csv(source(), nrows=2, dtype=str, **common)
    header = _header_rows(top)
    text_cols = [c for c in top.columns if _is_text_column(c, named)]
    if header is not None:  # the question is in the second row; answers stay as they are
        text_cols += [c for c in top.columns if norm_header(header.texts[c]) in named]
    # Blank answers are NaN, so clean columns arrive as numbers; a column with worded missing
    # answers ("N/A", "Don't know") arrives as text and is parsed once per distinct value.
    # Listing those words here as well made every read slower than the text path they save.
    skip = list(range(1, header.rows)) if header else None
    options = {"skiprows": skip, "nrows": nrows, **common}
    table = pd.read_csv(
        source(), na_values={c: [""] for c in top.columns if c not in text_cols}, **options
    )
    # Asking pandas for text up front is slower than re-reading the rare id or unit column it
    # took for numbers (so that "007" stays "007").
    retype = [c for c in text_cols if not pd.api.types.is_string_dtype(table[c].dtype)]
    if retype:
        table[retype] = pd.read_csv(source(), usecols=retype, dtype=str, **options)[retype]
    return table, header


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


def _read_text_table(
    path: Path, framework: Framework, named: frozenset[str] = frozenset()
) -> tuple[pd.DataFrame, HeaderRows | None]:
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

    def read(encoding: str) -> tuple[pd.DataFrame, HeaderRows | None]:
        text = None
        if b"\r\r\n" in head:  # a CRLF file saved again with CRLF: one blank line per row
            text = path.read_bytes().decode(encoding).lstrip("\ufeff").replace("\r\r\n", "\r\n")
        return _read_csv(path, encoding, delimiter, limit + 1, named, text)

    try:
        try:
            table, texts = read(encoding)
        except UnicodeDecodeError:
            if encoding != "utf-8":
                raise
            # Looked like UTF-8 at the start, but Excel's Windows-1252 further down.
            encoding = "cp1252"
            table, texts = read(encoding)
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
    _check_complete(path, table, encoding, delimiter, texts.rows + 1 if texts else 2)
    table.columns = [str(c).strip() for c in table.columns]
    if texts is not None:
        texts.texts = {str(k).strip(): v for k, v in texts.texts.items()}
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


def _split_header_rows(table: pd.DataFrame) -> tuple[pd.DataFrame, HeaderRows | None]:
    """A workbook export's extra header rows taken out of its data (all cells are text)."""
    header = _header_rows(table.head(2))
    if header is None:
        return table, None
    return table.iloc[header.rows - 1 :].reset_index(drop=True), header


def read_table(
    path: str | Path, framework: Framework | None = None, named: frozenset[str] = frozenset()
) -> tuple[pd.DataFrame, HeaderRows | None]:
    """Read any supported file: the table and, for a two- or three-row header, its second row.

    ``named`` are normalized headers the user named as roles: read as text, like ids.

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
        return _split_header_rows(_read_excel_table(path))
    return _read_text_table(path, framework or load_framework(), named)


def _find(columns: list[str], role: str) -> str | None:
    """The column whose header names the given meta role, if any."""
    wanted = SYNONYMS[role]
    for col in columns:
        if _norm(col) in wanted or _norm(col).replace(" ", "_") in wanted:
            return col
    return None


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

    def problem(self, name: str, parser: AnswerParser) -> Problem | None:
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


def _detect_layout(table: pd.DataFrame, texts: HeaderRows | None) -> str:
    columns = list(table.columns)
    if texts is not None:
        return texts.layout
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
    parser: AnswerParser,
    name: str,
    problems: list[Problem],
    outside: _OutOfRange,
) -> None:
    """Check one column of answers pandas read as numbers, in one vectorized pass.

    Every fractional or out-of-range cell becomes a problem and NaN (in place); there is no
    Python loop over cells unless a cell is bad.
    """
    missing = np.isnan(numbers)
    outside.answered += len(numbers) - int(np.count_nonzero(missing))
    # The usual clean column is settled by its range and one check for fractions.
    if missing.all():
        return
    # fmin/fmax skip NaN; x - floor(x) is in [0, 1) for any finite x, NaN compares False
    in_range = parser.low <= np.fmin.reduce(numbers) and np.fmax.reduce(numbers) <= parser.high
    if in_range and not (numbers - np.floor(numbers) > 0).any():
        return
    with np.errstate(invalid="ignore"):
        bad = ~missing & (
            (numbers < parser.low) | (numbers > parser.high) | (numbers != np.floor(numbers))
        )
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
    parser: AnswerParser,
    name: str,
    problems: list[Problem],
    outside: _OutOfRange | None = None,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """Answers of one question as floats (NaN missing); every bad cell becomes a problem.

    Columns pandas already read as numbers are checked in one vectorized pass; text columns
    are parsed once per distinct value. Whole numbers outside the scale are also counted in
    ``outside``, to recognize a file collected on another scale. ``out`` receives the
    answers (a column of the answer matrix) instead of a new array.
    """
    outside = outside if outside is not None else _OutOfRange()
    out = np.empty(len(values)) if out is None else out
    if _is_number_dtype(values.dtype):
        np.copyto(out, values.to_numpy(dtype=float, na_value=np.nan, copy=False))
        _check_numbers(out, rows, column, parser, name, problems, outside)
        return out
    # Each distinct cell is stripped and parsed once, then spread by its codes: per cell, the
    # stripping and a dict map cost ten times more. Cells that differ only in spaces become
    # one text.
    codes, distinct = pd.factorize(values, use_na_sentinel=False)
    texts = _text(pd.Series(distinct)).tolist()
    parsed = parser.parse_column(texts, qid)
    lookup = np.array([np.nan if isinstance(parsed[t], str) else parsed[t] for t in texts], float)
    result = np.take(lookup, codes, out=out) if len(codes) else out
    bad = np.array([isinstance(parsed[t], str) for t in texts], dtype=bool)
    mask = bad[codes] if bad.any() else None
    if mask is not None:
        shown = np.asarray(texts, dtype=object)[codes[mask]]
        for r, v in zip(rows[mask], shown, strict=True):
            problems.append(
                Problem(
                    name,
                    f"answer {parsed[v]}",
                    row=int(r),
                    column=column,
                    value=v,
                    expected=parser.expected,
                )
            )
        wrong = [
            float(m.group(0))
            for v in shown
            if parsed[v] == "out of range" and (m := re.search(r"[+-]?\d+", v))
        ]
        outside.add(np.asarray(wrong, dtype=float))
    outside.answered += len(result) - int(np.isnan(result).sum())
    if mask is not None:
        outside.answered += int(mask.sum())
    return result


def _answer_matrix(
    table: pd.DataFrame,
    mapping: dict[str, str],
    rows: np.ndarray,
    qids: list[str],
    parser: AnswerParser,
    name: str,
    problems: list[Problem],
) -> tuple[np.ndarray, dict[str, np.ndarray], _OutOfRange]:
    """Every question's answers in one array, in the framework's order and column by column
    (as scoring reads them; NaN for a question without a column), each answer column parsed
    straight into it; also those columns by question, and the out-of-scale count."""
    matrix = np.empty((len(table), len(qids)), order="F")
    position = {qid: i for i, qid in enumerate(qids)}
    matrix[:, [position[q] for q in qids if q not in mapping.values()]] = np.nan
    outside = _OutOfRange()
    answers = {
        qid: _parse_answers(
            table[col], rows, qid, col, parser, name, problems, outside, matrix[:, position[qid]]
        )
        for col, qid in mapping.items()
    }
    return matrix, answers, outside


def _long_to_wide(
    table: pd.DataFrame,
    name: str,
    framework: Framework,
    parser: AnswerParser,
    problems: list[Problem],
    roles: ColumnRoles | None = None,
) -> pd.DataFrame:
    """Pivot the long layout to one row per respondent, checking it on the way.

    Unit and role are optional here too (one group when absent, "Not stated" when blank).
    """
    columns = list(table.columns)
    cols = {role: _find(columns, role) for role in ("question_id", "answer")}
    found = map_columns(headers_from(columns), framework, roles, name)
    problems += found.problems
    cols.update({role: found.roles[role] for role in META})
    for role in ("unit", "role"):
        if cols[role] is None:
            table = table.assign(**{f"_{role}": ONE_GROUP[role]})
            cols[role] = f"_{role}"
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
    for role in ("unit", "role"):
        long[role] = long[role].where(long[role].ne(""), NOT_STATED)
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


def _flagged(table: pd.DataFrame, headers: list[Header], names: set[str], values: set[str]):
    """Rows whose cell in a column named one of ``names`` is one of ``values`` (normalized)."""
    hit = np.zeros(len(table), dtype=bool)
    column = None
    for h in headers:
        if h.role_names & names:
            cells = _text(table[h.column]).map(norm_header)
            found = cells.isin(values).to_numpy()
            if found.any():
                hit |= found
                column = column or h.shown
    return hit, column


def _row_filters(
    table: pd.DataFrame,
    rows: np.ndarray,
    headers: list[Header],
    options: ReadOptions,
    notes: list[str],
    excluded: dict[str, int],
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, str | None]:
    """Leave out test and preview responses (and, if asked, unfinished ones), with a note.

    Also returns the file rows of the unfinished responses kept, and the column saying so.
    """
    test, column = _flagged(table, headers, TEST_COLUMNS, TEST_VALUES)
    if test.any():
        if options.include_test_responses:
            notes.append(
                f"kept {int(test.sum())} test or preview responses (column {column!r}) "
                "because --include-test-responses was given"
            )
        else:
            excluded["test"] = int(test.sum())
            notes.append(
                f"left out {excluded['test']} test or preview responses (column {column!r}); "
                "--include-test-responses keeps them"
            )
            table, rows = table[~test], rows[~test]
    unfinished, column = _flagged(table, headers, FINISHED_COLUMNS, NOT_FINISHED)
    submitted = [h for h in headers if h.role_names & SUBMITTED_COLUMNS]
    if submitted and not unfinished.any():
        unfinished, column = _is_blank(table[submitted[0].column]), submitted[0].shown
    kept = rows[:0]
    if unfinished.any():
        count = int(unfinished.sum())
        if options.finished_only:
            excluded["unfinished"] = count
            notes.append(f"left out {count} unfinished responses (column {column!r})")
            table, rows = table[~unfinished], rows[~unfinished]
        else:
            kept = rows[unfinished]
    return table, rows, kept, column


def _roles_text(
    table: pd.DataFrame,
    cmap: ColumnMap,
    rows: np.ndarray,
    notes: list[str],
    warnings: list[Problem],
    name: str,
) -> pd.DataFrame:
    """Respondent id, unit and role of each row; blank unit or role becomes "Not stated".

    Names are cleaned (:func:`xmkit.io.names.clean_names`) once, here, so terminal, files and
    workbooks all show the same name; a warning says how many were changed.
    """
    out = pd.DataFrame(index=table.index)
    rid_col = cmap.roles["respondent_id"]
    out["respondent_id"] = _text(table[rid_col]) if rid_col else [f"r{r}" for r in rows]
    for role in ("unit", "role"):
        col = cmap.roles[role]
        if col is None:
            out[role] = ONE_GROUP[role]
            notes.append(
                f"no {role} column: every respondent is in one {role}, {ONE_GROUP[role]!r} "
                f"(--{role}-column names one)"
            )
            continue
        # few distinct units and roles: each is stripped and cleaned once, then spread out
        codes, distinct = pd.factorize(table[col], use_na_sentinel=False)
        names, changed = clean_names(_text(pd.Series(distinct)))
        changed = changed.to_numpy()[codes]
        if changed.any():
            values = names.take(codes).set_axis(table.index)
            first = int(rows[changed][0])
            warnings.append(
                Problem(
                    name,
                    f"{int(changed.sum())} {role} name(s) held control, bidirectional or "
                    "zero-width characters: control characters removed, the others shown "
                    f"escaped (first on row {first})",
                    column=col,
                    value=values[changed].iloc[0],
                )
            )
        names = names.where(names.ne(""), NOT_STATED)
        out[role] = names.take(codes).set_axis(table.index)
    return out


def _group_notes(
    out: pd.DataFrame, cmap: ColumnMap, rows: np.ndarray, unfinished: tuple, notes: list[str]
) -> None:
    """Notes on the respondents scored: unfinished ones kept, blank units and roles."""
    kept, column = unfinished
    count = int(np.isin(rows, kept).sum())
    if count:
        notes.append(
            f"kept {count} unfinished responses (column {column!r}): their answers count; "
            "--finished-only leaves them out"
        )
    for role in ("unit", "role"):
        col = cmap.roles[role]
        blank = int(out[role].eq(NOT_STATED).sum()) if col else 0
        if blank:
            notes.append(
                f"{blank} respondent(s) left the {role} ({short(col, 40)!r}) blank: they form "
                f"the group {NOT_STATED!r}"
            )


def _column_problems(
    table: pd.DataFrame,
    cmap: ColumnMap,
    headers: list[Header],
    missing_q: list[str],
    name: str,
    options: ReadOptions,
    notes: list[str],
) -> list[Problem]:
    """Blank headers over data, ignored columns (an error with ``strict``), with a note."""
    problems = []
    columns = [h.column for h in headers]
    ignored = []
    ignored_cols = set(cmap.ignored)
    for header in headers:
        col = header.column
        if col not in ignored_cols:
            continue
        if not header.names:
            # A blank header cell (Excel's merged or deleted header): fine while the column
            # is empty, but answers under it would be silently lost.
            filled = ~_is_blank(table[col])
            if filled.any():
                from openpyxl.utils import get_column_letter  # slow to import: only for a problem

                problems.append(
                    Problem(
                        name,
                        f"column {get_column_letter(columns.index(col) + 1)} has no header "
                        "but holds data (a merged or blank header cell?)",
                        row=1,
                        value=str(table[col][filled].iloc[0]),
                        expected="a header on every column that holds data: respondent_id, "
                        "unit, role, a question id or comment",
                    )
                )
            continue
        ignored.append(header)
    # A mistyped question id is the likely reason for a missing question: say so.
    suspect = [h for h in ignored if re.fullmatch(r"[a-z]+\d+_\w+", h.names[0])]
    if not (missing_q and cmap.questions and len(suspect) <= len(missing_q)):
        suspect = []  # a whole other survey's columns are not typos
    for header in ignored if options.strict else suspect:
        problems.append(
            Problem(
                name,
                "unknown column",
                row=1,
                column=header.column,
                expected="a question of the framework, or a role column (id, unit, role, "
                "comment)"
                + ("; without --strict other columns are ignored" if options.strict else ""),
            )
        )
    if ignored and not options.strict:
        shown = ", ".join(short(h.shown, 40) for h in ignored[:30])
        more = f", ... ({len(ignored) - 30} more)" if len(ignored) > 30 else ""
        word = "column" if len(ignored) == 1 else "columns"
        notes.append(f"ignored {len(ignored)} {word}: {shown}{more}")
    return problems


@dataclass(frozen=True)
class ReadOptions:
    """How rows and extra columns are treated (the CLI's --strict and row flags)."""

    strict: bool = False
    include_test_responses: bool = False
    finished_only: bool = False


def _to_standard(
    table: pd.DataFrame,
    texts: HeaderRows | None,
    name: str,
    framework: Framework,
    roles: ColumnRoles | None = None,
    options: ReadOptions = ReadOptions(),
) -> Loaded:
    """Rename columns to the standard ones and parse answers, collecting every problem."""
    problems: list[Problem] = []
    notes: list[str] = []
    excluded: dict[str, int] = {}
    parser = AnswerParser.for_framework(framework)
    layout = _detect_layout(table, texts)
    if layout == "long":
        table = _long_to_wide(table, name, framework, parser, problems, roles)
        roles = None  # the pivoted table has the standard column names
        if table.empty:
            return Loaded(pd.DataFrame(), layout, problems)
        rows = table.pop("_row").to_numpy()
    else:
        rows = np.arange(len(table)) + (texts.rows + 1 if texts else 2)
    columns = list(table.columns)
    headers = headers_from(columns, texts.texts if texts else None)
    cmap = map_columns(headers, framework, roles, name)
    problems += cmap.problems
    mapping = cmap.by_column
    meta_cols = cmap.roles
    if not mapping and not any(meta_cols.values()):
        head = [columns, *table.head(HEADER_SEARCH_ROWS - 1).astype(str).to_numpy().tolist()]
        header = _header_below(Path(name), head, framework)
        if header is not None:
            return Loaded(pd.DataFrame(), layout, [header])
    qids = framework.question_ids  # a property that builds a new list: read it once
    if layout == "wide" and any(how != "id" for _, how in cmap.questions.values()):
        layout = "form"
    for col, qid in cmap.duplicates.items():
        from openpyxl.utils import get_column_letter  # slow to import: only for a problem

        base = re.sub(r"\.\d+$", "", col)  # pandas renames a repeated header "v1_1" "v1_1.1"
        first = cmap.questions[qid][0]
        problems.append(
            Problem(
                name,
                f"question {qid} appears in more than one column (columns "
                f"{get_column_letter(columns.index(first) + 1)} and "
                f"{get_column_letter(columns.index(col) + 1)})",
                row=1,
                column=base if base in columns else col,
                expected="each question in one column: delete or rename the copy",
            )
        )
    missing_q = [q for q in qids if q not in cmap.questions]
    if missing_q:
        problems.append(
            Problem(
                name,
                f"{len(missing_q)} question column(s) missing: {', '.join(missing_q)}",
                row=1,
                expected="one column per question id of the framework (or --framework with "
                "the questions this survey asked)",
            )
        )
    if layout != "long":
        problems += _column_problems(table, cmap, headers, missing_q, name, options, notes)

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
    unfinished: tuple = (rows[:0], None)
    if layout != "long":
        table, rows, *unfinished = _row_filters(table, rows, headers, options, notes, excluded)

    name_warnings: list[Problem] = []
    out = _roles_text(table, cmap, rows, notes, name_warnings, name)
    rid_col = meta_cols["respondent_id"]
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
        # checking uniqueness first is several times faster than marking duplicates
        dup = None if ids.is_unique else (ids.ne("") & ids.duplicated(keep=False)).to_numpy()
        if dup is not None and dup.any():
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
    if meta_cols.get("date"):
        # Only the first and last day are ever shown (fieldwork); what is no date stays NaT.
        days = pd.to_datetime(_text(table[meta_cols["date"]]), errors="coerce", format="mixed")
        out["date"] = days.dt.tz_localize(None) if days.dt.tz is not None else days
    matrix, answers, outside = _answer_matrix(table, mapping, rows, qids, parser, name, problems)
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
        matrix, answers, outside = _answer_matrix(table, mapping, rows, qids, parser, name, [])
    scale = outside.problem(name, parser)
    if scale is not None:
        problems.append(scale)
    hints = _scale_warnings(answers, mapping, name, parser)
    values = pd.DataFrame(matrix, columns=qids, index=table.index, copy=False)
    if mapping and len(table):
        # Rows without a single answer (opened and closed, or screened out) are no respondents;
        # a row whose answers were all rejected stays, so its problems are seen.
        bad_rows = {p.row for p in problems if p.row is not None and p.row > 1}
        empty = np.isnan(matrix).all(axis=1) & ~np.isin(rows, list(bad_rows))
        if empty.all() and not problems:
            problems.append(
                Problem(
                    name,
                    f"no answers to score: none of the {len(table)} rows answers any of the "
                    "framework's questions",
                    expected="answers in the question columns (are the right columns matched? "
                    "xmkit inspect shows how)",
                )
            )
        elif empty.any():
            excluded["empty"] = int(empty.sum())
            notes.append(
                f"left out {excluded['empty']} rows without any answer to the framework's questions"
            )
            out, values, rows = out[~empty], values[~empty], rows[~empty]
    _group_notes(out, cmap, rows, tuple(unfinished), notes)
    out = pd.concat([out, values], axis=1).reset_index(drop=True)
    problems.sort(key=lambda p: (p.row or 0, p.column or ""))
    return Loaded(
        out,
        layout,
        problems,
        np.asarray(rows, dtype=int),
        notes,
        cmap,
        headers,
        excluded,
        [*name_warnings, *hints],
    )


def _scale_warnings(
    answers: dict[str, np.ndarray], mapping: dict[str, str], name: str, parser: AnswerParser
) -> list[Problem]:
    """A warning when every answer fits a narrower common scale (1-4 answers on 1-5)."""
    column_of = {qid: col for col, qid in mapping.items()}
    hint = narrower_scale(parser.low, parser.high, {column_of[q]: a for q, a in answers.items()})
    if hint is None:
        return []
    (low, high), columns = hint
    shown = ", ".join(columns[:8]) + (f" and {len(columns) - 8} more" if len(columns) > 8 else "")
    return [
        Problem(
            name,
            f"answers use only {low}-{high} of the framework's {parser.low}-{parser.high} scale "
            f"in {len(columns)} column(s): {shown}. Were they collected on a {low}-{high} "
            "scale? Then rescale them, or use a framework on that scale",
        )
    ]


def read_responses(
    path: str | Path,
    framework: Framework | None = None,
    columns: ColumnRoles | dict | None = None,
    *,
    strict: bool = False,
    include_test_responses: bool = False,
    finished_only: bool = False,
) -> Loaded:
    """Read and check a responses file, collecting every problem instead of stopping at one.

    ``columns`` names the role columns (:class:`~xmkit.io.columns.ColumnRoles` or a dict with
    ``id``, ``unit``, ``role``, ``comment``, ``questions``); ``strict`` makes ignored columns
    errors; test responses are left out unless ``include_test_responses``; unfinished ones are
    kept unless ``finished_only``.
    """
    framework = framework or load_framework()
    roles = columns if isinstance(columns, ColumnRoles) else ColumnRoles(**(columns or {}))
    named = frozenset(norm_header(n) for n in roles.named().values())
    try:
        table, texts = read_table(path, framework, named)
    except XmkitError as exc:
        return Loaded(pd.DataFrame(), "unknown", exc.problems)
    options = ReadOptions(strict, include_test_responses, finished_only)
    return _to_standard(table, texts, str(path), framework, roles, options)


def load_responses(
    path: str | Path,
    framework: Framework | None = None,
    columns: ColumnRoles | dict | None = None,
    **options: bool,
) -> pd.DataFrame:
    """Load a responses file into one row per respondent; raise :class:`XmkitError` if invalid.

    Missing answers ("", "don't know", "N/A", ...) are NaN, never zero. ``columns`` and
    ``options`` are those of :func:`read_responses`.
    """
    loaded = read_responses(path, framework, columns, **options)
    if loaded.problems:
        raise XmkitError(loaded.problems)
    for problem in loaded.warnings:
        warnings.warn(str(problem), UserWarning, stacklevel=2)
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
