"""``xmkit inspect``: what xmkit makes of a survey export, before anything is scored.

A consultant runs it first on a client's export: it shows the detected layout, which column
holds the respondent id, unit, role and comment, how each framework question was found (by
id, export tag or question text), what answers each question column holds, what is ignored
and which rows are left out. The mapping it found can be saved under ``columns:`` of an
``assessment.yaml`` so later commands need no flags.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from xmkit.errors import XmkitError
from xmkit.framework import Framework
from xmkit.io.columns import PLACEHOLDERS, ColumnRoles, Header, short
from xmkit.io.iorw import atomic_write_bytes
from xmkit.io.limits import load_yaml
from xmkit.io.responses import Loaded, read_table

__all__ = ["describe", "found_roles", "write_assessment"]

ROLE_LABELS = {
    "respondent_id": "respondent id",
    "unit": "unit",
    "role": "role",
    "comment": "comment",
    "date": "response date",
}
LAYOUTS = {
    "wide": "wide table (question ids as headers)",
    "form": "form export (one header row, question texts or tags)",
    "qualtrics": "Qualtrics export (three header rows)",
    "surveymonkey": "SurveyMonkey export (two header rows)",
    "long": "long table (one row per answer)",
}
SHOWN_VALUES = 8


def _name(header: Header, layout: str) -> str:
    """The text that finds this column again.

    The first-row header (a Qualtrics tag, a form's question), except in a SurveyMonkey
    export, where a matrix title heads only its first column: there "title - row text".
    """
    first = header.first.strip()
    if first.lower().startswith("unnamed:"):
        first = ""
    second = header.second.strip()
    if layout == "surveymonkey" and second and second.lower() not in PLACEHOLDERS:
        return f"{first or header.group} - {second}"
    return first or second


def _values(cells: pd.Series) -> str:
    """The distinct answers of a column, most frequent first."""
    text = cells.astype(str).str.strip()
    text = text[text.ne("") & text.str.lower().ne("nan")]
    if text.empty:
        return "no answers"
    counts = text.value_counts()
    shown = ", ".join(short(v, 30) for v in counts.index[:SHOWN_VALUES])
    more = f", ... ({len(counts) - SHOWN_VALUES} more)" if len(counts) > SHOWN_VALUES else ""
    return shown + more


def _scale(values: np.ndarray) -> str:
    present = values[~np.isnan(values)]
    if not len(present):
        return "none scored"
    return f"scored {present.min():g}-{present.max():g}"


def describe(path: str | Path, loaded: Loaded, framework: Framework) -> str:
    """A plain-text account of how the file was read (``loaded`` from ``read_responses``)."""
    lines = [f"{path}"]
    lines.append(f"  layout: {LAYOUTS.get(loaded.layout, loaded.layout)}")
    cmap = loaded.columns
    headers = {h.column: h for h in loaded.headers}
    if cmap is None:  # the file could not be read as a table at all
        lines += [f"  problem: {p}" for p in loaded.problems]
        return "\n".join(lines)
    try:
        table = read_table(path, framework)[0]
    except XmkitError:  # the problems below already say why
        table = pd.DataFrame()
    lines.append("  columns:")
    for role, label in ROLE_LABELS.items():
        col = cmap.roles[role]
        shown = repr(headers[col].shown) if col else "(none)"
        lines.append(f"    {label:<14} {shown}")
    data = loaded.data
    lines.append(f"  questions ({len(cmap.questions)} of {len(framework.question_ids)} found):")
    for qid in framework.question_ids:
        if qid not in cmap.questions:
            lines.append(f"    {qid:<8} not found")
            continue
        col, how = cmap.questions[qid]
        answers = _values(table[col]) if col in table else ""
        scored = _scale(data[qid].to_numpy(dtype=float)) if qid in data else ""
        lines.append(f"    {qid:<8} by {how:<5} {headers[col].shown!r}")
        lines.append(f"             answers: {answers} ({scored})")
    ignored = [headers[c].shown for c in cmap.ignored if headers[c].names]
    lines.append(f"  ignored columns ({len(ignored)}): " + (", ".join(ignored) or "none"))
    lines.append(f"  respondents scored: {len(data)}")
    for note in loaded.notes:
        lines.append(f"  note: {note}")
    if loaded.problems:
        lines.append(f"  problems ({len(loaded.problems)}):")
        lines += [f"    {p}" for p in loaded.problems[:20]]
        if len(loaded.problems) > 20:
            lines.append(f"    ... and {len(loaded.problems) - 20} more")
    return "\n".join(lines)


def found_roles(loaded: Loaded) -> ColumnRoles:
    """The columns ``read_responses`` settled on, as names that find them again."""
    cmap = loaded.columns
    if cmap is None:
        return ColumnRoles()
    headers = {h.column: h for h in loaded.headers}
    roles = {
        key: _name(headers[col], loaded.layout)
        for key, role in (
            ("id", "respondent_id"),
            ("unit", "unit"),
            ("role", "role"),
            ("comment", "comment"),
            ("date", "date"),
        )
        if (col := cmap.roles[role])
    }
    questions = {
        qid: _name(headers[col], loaded.layout) for qid, (col, _) in cmap.questions.items()
    }
    return ColumnRoles(**roles, questions=questions)


def write_assessment(
    target: str | Path, responses: str | Path, roles: ColumnRoles, client: str
) -> Path:
    """Write (or update) an ``assessment.yaml`` whose ``columns:`` hold ``roles``.

    An existing file keeps its other keys; a new one names the responses file relative to it.
    """
    target = Path(target)
    data: dict = {}
    if target.exists():
        loaded = load_yaml(target.read_text(encoding="utf-8"))
        data = loaded if isinstance(loaded, dict) else {}
    data.setdefault("client", client)
    try:
        relative = Path(responses).resolve().relative_to(target.resolve().parent)
    except ValueError:
        relative = Path(responses).resolve()
    data.setdefault("responses", relative.as_posix())
    data["columns"] = roles.model_dump(exclude_defaults=True)
    text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)
    atomic_write_bytes(target, text.encode("utf-8"))
    return target
