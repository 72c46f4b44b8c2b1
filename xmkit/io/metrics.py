"""Client metrics per unit and period (engagement, eNPS, NPS, CSAT, churn, ...), checked like
responses: every bad cell is a :class:`~xmkit.errors.Problem` with file, row, column, value and
what was expected.

Two inputs are accepted, told apart by their columns:

* **tidy metrics**: ``unit, period, metric, value`` — one row per unit, period and metric, the
  value already aggregated (an engagement index, a CSAT share, a churn rate, an NPS);
* **raw 0-10 answers**: ``unit, period, metric, answer`` — one row per answer to a
  "how likely are you to recommend ..." question; :func:`metrics_from_answers` turns them into
  one NPS (or employee NPS) per unit, period and metric.

Periods may be written as integers (``1``, ``2``, ...), years (``2024``), quarters
(``2024-Q1``, ``2024 Q1``, ``Q1 2024``), months (``2024-03``) or ISO dates (``2024-03-31``);
one file uses one of these spellings. They are normalized to a ``period`` label
(``"2024-Q1"``, ``"2024-03"``, ``"2024"``, ``"3"``) and an integer step ``t``: 0 for the first
period in the data, +1 per calendar step of the file's granularity (a quarter in a quarterly
file), with gaps kept — a missing quarter is a missing step, never closed up. ISO dates are
mapped to the coarsest calendar period (year, quarter, month, week, day) in which no unit has
two values of the same metric, so dates of quarterly measurements become quarters; answers
(many per period) are grouped by quarter unless another ``freq`` is given.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from xmkit.analysis.disclosure import protect_metrics
from xmkit.analysis.stats import nps_interval
from xmkit.errors import Problem, XmkitError
from xmkit.io.answers import AnswerParser
from xmkit.io.responses import read_table

__all__ = [
    "FREQS",
    "METRIC_COLUMNS",
    "MIN_GROUP_SIZE",
    "MISSING",
    "NPS_EXPECTED",
    "NPS_EXTRA",
    "PERIOD_EXPECTED",
    "SYNONYMS",
    "load_metrics",
    "metrics_from_answers",
    "nps",
    "nps_table",
    "period_index",
    "read_metrics",
]

METRIC_COLUMNS = ["unit", "period", "metric", "value", "t"]
MIN_GROUP_SIZE = 5
"""Fewest answers behind a value built from respondents (the framework's default minimum)."""
SYNONYMS: dict[str, tuple[str, ...]] = {
    "unit": ("unit", "business unit", "business_unit", "unit name", "unit_name"),
    "period": ("period", "quarter", "month", "year", "date", "wave", "time"),
    "metric": ("metric", "measure", "kpi", "indicator", "metric name"),
    "value": ("value", "score", "metric value"),
    "answer": ("answer", "rating", "response", "likelihood to recommend"),
}
MISSING = {"", "n/a", "na", "nan", "-", "--", "null", "none", "don't know", "dont know", "dk"}
FREQS = ("Y", "Q", "M", "W", "D")
NPS_LOW, NPS_HIGH = 0, 10
NPS_EXPECTED = "a whole number from 0 to 10 (how likely to recommend), or blank"

_INT = re.compile(r"^[+-]?\d+(?:\.0+)?$")
_QUARTER = re.compile(r"^(\d{4})\s*[-/ ]?\s*q([1-4])$|^q([1-4])\s*[-/ ]?\s*(\d{4})$", re.I)
_MONTH = re.compile(r"^(\d{4})[-/.](\d{1,2})$")
_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})(?:[ t]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$", re.I)
_EXAMPLES = {
    "year": "2024",
    "index": "1, 2, 3",
    "quarter": "2024-Q1",
    "month": "2024-03",
    "date": "2024-03-31",
}
PERIOD_EXPECTED = "an integer, a year (2024), a quarter (2024-Q1), a month (2024-03) or a date"


def _norm(text: object) -> str:
    return re.sub(r"\s+", " ", str(text)).strip().lower()


def _find(columns: Sequence[str], role: str) -> str | None:
    wanted = SYNONYMS[role]
    return next(
        (c for c in columns if _norm(c) in wanted or _norm(c).replace("_", " ") in wanted), None
    )


def _text(values: pd.Series) -> pd.Series:
    """Cells as stripped text; blank for missing; whole floats (2024.0) without the '.0'."""
    out = []
    for v in values.tolist():
        if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA:
            out.append("")
        elif isinstance(v, float) and v.is_integer():
            out.append(str(int(v)))
        else:
            out.append(str(v).strip())
    return pd.Series(out, index=values.index, dtype=object)


# ---- periods ------------------------------------------------------------------------------


def _parse_period(text: str) -> tuple[str, object] | None:
    """(kind, value) of one period cell, or None if it is not a period."""
    if _INT.match(text):
        return "number", int(float(text))
    if m := _QUARTER.match(text):
        year, quarter = (m.group(1), m.group(2)) if m.group(1) else (m.group(4), m.group(3))
        return "quarter", pd.Period(year=int(year), quarter=int(quarter), freq="Q")
    if (m := _MONTH.match(text)) and 1 <= int(m.group(2)) <= 12:
        return "month", pd.Period(year=int(m.group(1)), month=int(m.group(2)), freq="M")
    if m := _DATE.match(text):
        try:
            return "date", pd.Timestamp(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        except ValueError:
            return None
    return None


def _label(period: pd.Period) -> str:
    freq = period.freqstr[0]
    if freq == "Y":
        return str(period.year)
    if freq == "Q":
        return f"{period.year}-Q{period.quarter}"
    if freq == "M":
        return f"{period.year}-{period.month:02d}"
    return period.start_time.strftime("%Y-%m-%d")


def _normalize_periods(
    texts: pd.Series,
    rows: np.ndarray,
    file: str,
    column: str,
    freq: str | None,
    keys: pd.DataFrame | None,
) -> tuple[pd.Series, pd.Series, list[Problem]]:
    """Period labels and steps ``t`` (Int64, NA where invalid) for cells of one file.

    ``keys`` (unit and metric of each row) lets ISO dates take the coarsest calendar period in
    which no key has two rows; ``freq`` fixes that period instead.
    """
    problems: list[Problem] = []
    parsed = [_parse_period(t) if t else None for t in texts]
    for row, text, p in zip(rows, texts, parsed, strict=True):
        if p is None:
            problems.append(
                Problem(
                    file,
                    "period is blank" if not text else "not a period",
                    row=int(row),
                    column=column,
                    value=text or None,
                    expected=PERIOD_EXPECTED,
                )
            )
    kinds = pd.Series([p[0] if p else None for p in parsed], index=texts.index, dtype=object)
    numbers = [p[1] for p in parsed if p and p[0] == "number"]
    year_like = bool(numbers) and all(1900 <= n <= 2199 for n in numbers)
    kinds = kinds.replace("number", "year" if year_like else "index")
    labels = pd.Series(None, index=texts.index, dtype=object)
    t = pd.Series(pd.NA, index=texts.index, dtype="Int64")
    if kinds.notna().sum() == 0:
        return labels, t, problems
    main = kinds.value_counts().idxmax()
    for row, text, kind in zip(rows, texts, kinds, strict=True):
        if kind is not None and kind != main:
            problems.append(
                Problem(
                    file,
                    f"period written as a {kind}, unlike the rest of the file",
                    row=int(row),
                    column=column,
                    value=text,
                    expected=f"every period written the same way, like {_EXAMPLES[main]}",
                )
            )
    ok = (kinds == main).to_numpy()
    values = [p[1] for p, good in zip(parsed, ok, strict=True) if good]
    if main in ("year", "index"):
        ordinals = np.array(values, dtype=np.int64)
        names = [str(v) for v in values]
    else:
        if main == "date":
            periods = _dates_to_periods(pd.DatetimeIndex(values), freq, keys, ok)
        else:
            periods = values
        ordinals = np.array([p.ordinal for p in periods], dtype=np.int64)
        names = [_label(p) for p in periods]
    labels[ok] = names
    t[ok] = ordinals - ordinals.min()
    return labels, t, problems


def _dates_to_periods(
    dates: pd.DatetimeIndex, freq: str | None, keys: pd.DataFrame | None, ok: np.ndarray
) -> list[pd.Period]:
    """Dates as calendar periods: ``freq`` if given, else the coarsest one without clashes."""
    candidates = (freq,) if freq else FREQS
    for candidate in candidates:
        periods = dates.to_period(candidate)
        if keys is None or freq:
            break
        frame = keys[ok].reset_index(drop=True).assign(_p=periods.asi8)
        if not frame.duplicated().any():
            break
    return list(periods)


def period_index(periods: Sequence | pd.Series, freq: str | None = None) -> pd.DataFrame:
    """Normalized ``period`` labels and integer steps ``t`` for a column of period values.

    For tables built in code (a panel with integer or quarter periods, say); files go through
    :func:`load_metrics`. Dates become calendar periods of ``freq`` (days by default).
    Raises :class:`XmkitError` listing every cell that is not a period.
    """
    texts = _text(pd.Series(list(periods), dtype=object))
    rows = np.arange(len(texts)) + 2
    labels, t, problems = _normalize_periods(texts, rows, "data", "period", freq or "D", None)
    if problems:
        raise XmkitError(problems)
    return pd.DataFrame({"period": labels.to_numpy(), "t": t.astype(int).to_numpy()})


# ---- values and answers -------------------------------------------------------------------


def _parse_value(text: str) -> float | None:
    """A number from a cell: ``3.5``, ``3,5``, ``72%`` (kept in percent units); None if not."""
    text = text.replace("\u2212", "-").replace(" ", "")
    if text.endswith("%"):
        text = text[:-1]
    if "," in text and "." not in text and text.count(",") == 1:
        text = text.replace(",", ".")
    try:
        number = float(text)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


@lru_cache(maxsize=1)
def _nps_parser() -> AnswerParser:
    """The 0-10 answers of "how likely are you to recommend": numbers, "9 - Very likely", ..."""
    return AnswerParser(NPS_LOW, NPS_HIGH, missing=MISSING)


def _parse_answers(
    texts: pd.Series, rows: Sequence[int | None], file: str, column: str | None
) -> tuple[np.ndarray, list[Problem]]:
    """0-10 answers as floats (NaN = blank); anything else becomes a problem."""
    parsed = _nps_parser().parse_column(texts)
    out = np.full(len(texts), np.nan)
    problems = []
    for i, (row, text) in enumerate(zip(rows, texts, strict=True)):
        value = parsed[text] if not text.endswith("%") else "is not a number"
        if isinstance(value, str):
            why = value if value in ("out of range", "not a whole number") else "is not a number"
            problems.append(
                Problem(
                    file, f"answer {why}", row=row, column=column, value=text, expected=NPS_EXPECTED
                )
            )
        else:
            out[i] = value
    return out, problems


def nps(values: Iterable[float | int | None]) -> float:
    """Net Promoter Score of 0-10 answers: % promoters (9-10) minus % detractors (0-6).

    Reichheld (2003), "The One Number You Need to Grow", Harvard Business Review 81(12); the
    employee NPS (eNPS) is the same formula applied to "how likely are you to recommend this
    organization as a place to work". Passives (7-8) count in the denominator only. Blank
    answers (None, NaN) are left out; NaN when none is left. Ranges from -100 to +100.
    Raises :class:`XmkitError` for answers that are not whole numbers from 0 to 10.
    """
    raw = list(values)
    texts = pd.Series(["" if _is_missing(v) else str(v).strip() for v in raw], dtype=object)
    answers, problems = _parse_answers(texts, [None] * len(raw), "answers", None)
    if problems:
        raise XmkitError(problems)
    return _nps(answers)


def _is_missing(value: object) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))


def _nps(answers: np.ndarray) -> float:
    answers = answers[~np.isnan(answers)]
    if answers.size == 0:
        return float("nan")
    return float(100.0 * ((answers >= 9).sum() - (answers <= 6).sum()) / answers.size)


# ---- tables -------------------------------------------------------------------------------


NPS_EXTRA = ["n", "se", "ci_low", "ci_high"]


def nps_table(answers: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """One NPS per group of ``keys`` from a ``value`` column of 0-10 answers, with the number
    of answers ``n``, the standard error ``se`` (points, from the trinomial variance
    ``(p + d - (p - d)^2) / n`` of promoter share p and detractor share d) and the 95%
    adjusted-Wald interval ``ci_low``, ``ci_high`` (:func:`xmkit.analysis.stats.nps_interval`;
    about +-25 points at 10 answers)."""
    v = answers["value"].to_numpy(dtype=float)
    counts = (
        answers.assign(_pro=v >= 9, _det=v <= 6)
        .groupby(keys, sort=False)
        .agg(n=("value", "size"), pro=("_pro", "sum"), det=("_det", "sum"))
        .reset_index()
    )
    n, p, d = counts["n"], counts["pro"] / counts["n"], counts["det"] / counts["n"]
    counts["value"] = 100 * (p - d)
    counts["se"] = 100 * np.sqrt(np.maximum(p + d - (p - d) ** 2, 0) / n)
    ci = [nps_interval(a, b, c) for a, b, c in zip(counts["pro"], counts["det"], n, strict=True)]
    counts["ci_low"], counts["ci_high"] = [x for x, _ in ci], [y for _, y in ci]
    return counts[[*keys, "value", *NPS_EXTRA]]


def _units_problems(
    units: pd.Series, rows: np.ndarray, file: str, column: str, known: Iterable[str] | None
) -> list[Problem]:
    problems = []
    known_set = None if known is None else {str(u) for u in known}
    listed = sorted(known_set or [])
    shown = ", ".join(listed[:8]) + (", ..." if len(listed) > 8 else "")
    for row, unit in zip(rows, units, strict=True):
        if not unit:
            problems.append(
                Problem(file, "unit is blank", row=int(row), column=column, expected="the unit")
            )
        elif known_set is not None and unit not in known_set:
            problems.append(
                Problem(
                    file,
                    "unknown unit",
                    row=int(row),
                    column=column,
                    value=unit,
                    expected=f"a unit of the assessment ({shown})",
                )
            )
    return problems


def _columns(
    table: pd.DataFrame, file: str, value_role: str, problems: list[Problem]
) -> dict[str, str]:
    """The file column of each role; a problem for every one that is missing."""
    cols = {role: _find(list(table.columns), role) for role in ("unit", "period", "metric")}
    cols[value_role] = _find(list(table.columns), value_role)
    for role, col in cols.items():
        if col is None:
            problems.append(
                Problem(
                    file,
                    f"missing column {role!r}",
                    row=1,
                    expected="columns unit, period, metric and value (or answer, for raw 0-10 "
                    "answers)",
                )
            )
    return cols


def _check(
    table: pd.DataFrame,
    file: str,
    units: Iterable[str] | None,
    freq: str | None,
    rows: np.ndarray | None = None,
    min_group_size: int = MIN_GROUP_SIZE,
) -> tuple[pd.DataFrame, list[Problem]]:
    """Validate and normalize a tidy or raw-answers table; every problem, not just the first."""
    problems: list[Problem] = []
    columns = [str(c).strip() for c in table.columns]
    table = table.set_axis(columns, axis=1)
    layout = "answer" if _find(columns, "answer") and not _find(columns, "value") else "value"
    cols = _columns(table, file, layout, problems)
    if problems:
        return pd.DataFrame(columns=METRIC_COLUMNS), problems
    rows = np.arange(len(table)) + 2 if rows is None else np.asarray(rows)
    cells = pd.DataFrame({role: _text(table[col]) for role, col in cols.items()})
    blank = cells.eq("").all(axis=1).to_numpy()  # Excel leaves empty rows; they are not data
    cells, rows = cells[~blank].reset_index(drop=True), rows[~blank]
    if cells.empty:
        problems.append(
            Problem(
                file,
                "the file has a header but no rows",
                expected="one row per unit, period and metric",
            )
        )
        return pd.DataFrame(columns=METRIC_COLUMNS), problems

    problems += _units_problems(cells["unit"], rows, file, cols["unit"], units)
    cells["metric"] = cells["metric"].str.replace(r"\s+", " ", regex=True)
    for row in rows[cells["metric"].eq("").to_numpy()]:
        problems.append(
            Problem(
                file,
                "metric is blank",
                row=int(row),
                column=cols["metric"],
                expected="a metric name such as engagement, eNPS, NPS, CSAT or churn",
            )
        )
    if layout == "answer":
        values, more = _parse_answers(cells["answer"], rows.tolist(), file, cols["answer"])
        problems += more
    else:
        values = np.full(len(cells), np.nan)
        for i, (row, text) in enumerate(zip(rows, cells["value"], strict=True)):
            if _norm(text) in MISSING:
                continue
            number = _parse_value(text)
            if number is None:
                problems.append(
                    Problem(
                        file,
                        "value is not a number",
                        row=int(row),
                        column=cols["value"],
                        value=text,
                        expected="a number such as 72.5, 3,5 or 18%; blank if not measured",
                    )
                )
            else:
                values[i] = number
    keys = cells[["unit", "metric"]] if layout == "value" else None
    labels, t, more = _normalize_periods(
        cells["period"],
        rows,
        file,
        cols["period"],
        freq or ("Q" if layout == "answer" else None),
        keys,
    )
    problems += more
    tidy = pd.DataFrame(
        {
            "unit": cells["unit"],
            "period": labels,
            "metric": cells["metric"],
            "value": values,
            "t": t,
        }
    )
    tidy["_row"] = rows
    if layout == "value":
        valid = tidy["unit"].ne("") & tidy["metric"].ne("") & tidy["t"].notna()
        dup = (valid & tidy.duplicated(["unit", "t", "metric"], keep=False)).to_numpy()
        first = tidy[dup].groupby(["unit", "t", "metric"])["_row"].transform("min")
        for row, first_row, unit, label, metric in zip(
            tidy["_row"][dup],
            first,
            tidy["unit"][dup],
            tidy["period"][dup],
            tidy["metric"][dup],
            strict=True,
        ):
            if row != first_row:
                problems.append(
                    Problem(
                        file,
                        f"second value for unit {unit!r}, period {label}, metric {metric!r}",
                        row=int(row),
                        column=cols["period"],
                        value=str(label),
                        expected=f"one row per unit, period and metric (first on row {first_row})",
                    )
                )
    problems.sort(key=lambda p: (p.row or 0, p.column or ""))
    if problems:
        return pd.DataFrame(columns=METRIC_COLUMNS), problems
    tidy = tidy.dropna(subset=["value"]).drop(columns="_row")
    if layout == "answer":
        tidy = nps_table(tidy, ["unit", "period", "t", "metric"])
        tidy = protect_metrics(tidy, min_group_size)
    tidy["t"] = tidy["t"].astype(int) - (int(tidy["t"].min()) if len(tidy) else 0)
    order = tidy.sort_values(["unit", "t", "metric"], kind="stable").reset_index(drop=True)
    return order[[*METRIC_COLUMNS, *(NPS_EXTRA if layout == "answer" else [])]], []


def read_metrics(
    path: str | Path,
    units: Iterable[str] | None = None,
    freq: str | None = None,
    min_group_size: int = MIN_GROUP_SIZE,
) -> tuple[pd.DataFrame, list[Problem]]:
    """The metrics of a file and every problem found in it (empty list when valid)."""
    try:
        table, _ = read_table(path)
    except XmkitError as exc:
        return pd.DataFrame(columns=METRIC_COLUMNS), exc.problems
    return _check(table.astype(object), str(path), units, freq, None, min_group_size)


def load_metrics(
    path: str | Path,
    units: Iterable[str] | None = None,
    freq: str | None = None,
    min_group_size: int = MIN_GROUP_SIZE,
) -> pd.DataFrame:
    """Load a metrics file (CSV or XLSX) into a tidy table ``unit, period, metric, value, t``.

    A file with an ``answer`` column instead of ``value`` holds raw 0-10 answers; it is
    aggregated to one NPS per unit, period and metric (see :func:`nps`) with the count ``n``;
    values of fewer than ``min_group_size`` answers are left out by the disclosure rule.
    ``units`` (e.g. the units of the responses) makes any other unit a problem. Blank or "n/a"
    values are not measured and left out, never zero; ``72%`` is read as 72. Periods are
    normalized as the module docstring says. Raises :class:`XmkitError` with every problem:
    missing columns, blank or unknown units, blank metrics, non-numeric values, answers outside
    0-10, periods that cannot be read or are written two ways, and a second row for the same
    unit, period and metric.
    """
    data, problems = read_metrics(path, units, freq, min_group_size)
    if problems:
        raise XmkitError(problems)
    return data


def metrics_from_answers(
    data: pd.DataFrame,
    metrics: Sequence[str] | None = None,
    *,
    file: str = "answers",
    freq: str = "Q",
    units: Iterable[str] | None = None,
    min_group_size: int = MIN_GROUP_SIZE,
) -> pd.DataFrame:
    """NPS per unit, period and metric from raw 0-10 answers: ``unit, period, metric, value,
    t`` and, per unit-period, ``n`` answers, standard error ``se`` and 95% interval ``ci_low``,
    ``ci_high`` (see :func:`nps_table`); :func:`xmkit.analysis.linkage.reliability` uses ``se``.

    ``data`` is either long (``unit, period, metric, answer``: one row per answer) or wide
    (``unit, period`` and one column of answers per metric, e.g. ``NPS`` and ``eNPS``; pick
    them with ``metrics``, by default every other column except a respondent id). Each value is
    :func:`nps` of the group's answers; dates are grouped into calendar periods of ``freq``
    (quarters by default). Problems are located as in a file whose header is row 1. A value
    from fewer than ``min_group_size`` answers is left out, and so is the next-smallest unit's
    of the same period and metric when needed, so that no subtraction gives it back
    (:mod:`xmkit.analysis.disclosure`).
    """
    columns = [str(c).strip() for c in data.columns]
    data = data.set_axis(columns, axis=1)
    problems: list[Problem] = []
    if _find(columns, "metric") and _find(columns, "answer"):
        long = data
        rows = np.arange(len(data)) + 2
    else:
        unit, period = _find(columns, "unit"), _find(columns, "period")
        missing = [role for role, col in (("unit", unit), ("period", period)) if col is None]
        if missing:
            raise XmkitError(
                [
                    Problem(file, f"missing column {role!r}", row=1, expected="unit, period")
                    for role in missing
                ]
            )
        ids = {"respondent_id", "respondent id", "respondent", "id", "response id"}
        chosen = (
            list(metrics)
            if metrics is not None
            else [c for c in columns if c not in (unit, period) and _norm(c) not in ids]
        )
        absent = [m for m in chosen if m not in columns]
        if absent or not chosen:
            raise XmkitError(
                Problem(
                    file,
                    f"no answer column for {', '.join(absent) or 'any metric'}",
                    row=1,
                    expected="one column of 0-10 answers per metric",
                )
            )
        rows = np.arange(len(data)) + 2
        data = data.astype(object)
        for col in chosen:  # checked here, so that a problem names the metric's own column
            answers, more = _parse_answers(_text(data[col]), rows.tolist(), file, col)
            problems += more
            data[col] = answers
        long = data.melt(
            id_vars=[unit, period], value_vars=chosen, var_name="metric", value_name="answer"
        )
        long = long.rename(columns={unit: "unit", period: "period"})
        rows = np.tile(rows, len(chosen))
    out, more = _check(long.astype(object), file, units, freq, rows, min_group_size)
    problems = sorted([*problems, *more], key=lambda p: (p.row or 0, p.column or ""))
    if problems:
        raise XmkitError(problems)
    return out
