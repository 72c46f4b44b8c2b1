"""What a consultant hands over beside the scores: who does each step, who answered, the client's
own EX and CX metrics per unit, and a table of contents.

The sections here follow the rules of :mod:`xmkit.report.sections`: a view function returns
plain data and its template under ``templates/sections/`` makes the markup. Group sizes come
from the score tables, where :mod:`xmkit.analysis.disclosure` has already hidden every group
that is too small and every group that would let a hidden one be worked out by subtraction;
the Sample section shows a count only where those tables show the group.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Mapping
from html.parser import HTMLParser
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
from pydantic import ValidationError

from xmkit.errors import InputError, Problem
from xmkit.framework import Framework
from xmkit.report import findings, views
from xmkit.report.markup import render, section

if TYPE_CHECKING:
    from xmkit.report.sections import ReportContext

__all__ = [
    "contents",
    "handover_inputs",
    "metrics",
    "roadmap_table",
    "sample",
]

NO_DEPENDENCY = "Nothing: can start now"


def _mapping(value: str | Mapping | None, name: str) -> dict | None:
    """A mapping given as itself or as JSON text (how the notebook receives it)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as exc:
            raise InputError(Problem(name, f"not valid JSON: {exc}")) from None
    if not isinstance(value, Mapping):
        raise InputError(Problem(name, "must be a mapping", value=repr(value)[:60]))
    return dict(value)


def _headcounts(given: dict, data: pd.DataFrame, unit: str | None) -> dict[str, int]:
    """Headcounts checked against the responses: whole numbers, known units, none too small."""
    from xmkit.io.assessment import Assessment

    try:
        counts = Assessment.model_validate({"client": "x", "headcounts": given}).headcounts or {}
    except ValidationError as exc:
        raise InputError(
            [
                Problem("headcounts", f"{'.'.join(map(str, e['loc'][1:]))}: {e['msg']}")
                for e in exc.errors()
            ]
        ) from None
    answered = data["unit"].astype(str).value_counts()
    problems = []
    if unit is None:  # a unit report may see only its own unit's rows (a batch)
        unknown = sorted(set(counts) - set(answered.index))
        if unknown:
            problems.append(
                Problem(
                    "headcounts",
                    f"no responses for {findings.name_list(unknown)}",
                    expected="business units of the responses: "
                    + ", ".join(sorted(answered.index)),
                )
            )
    for name, people in counts.items():
        if answered.get(name, 0) > people:
            problems.append(
                Problem(
                    "headcounts",
                    f"{name}: {people} people invited but {answered[name]} responses",
                    expected="at least as many people as responses",
                )
            )
    if problems:
        raise InputError(problems)
    return {k: v for k, v in counts.items() if unit is None or k == unit}


def handover_inputs(
    data: pd.DataFrame,
    unit: str | None,
    firm: str | None,
    logo: str | Path | None,
    headcounts: str | Mapping | None,
    fieldwork: str | Mapping | None,
    base: Path,
    min_size: int = 1,
) -> dict:
    """The :class:`~xmkit.report.sections.ReportContext` fields of the hand-over details.

    A relative ``logo`` is read from ``base`` (the responses file's folder); every problem is
    an :class:`~xmkit.errors.InputError` naming the input. The fieldwork dates are the first
    and last response date when the responses have a date column and at least ``min_size``
    rows (the days of a smaller group's answers are not shown), else ``fieldwork``.
    """
    from xmkit.io.assessment import Fieldwork
    from xmkit.io.logo import logo_data_uri

    out: dict = {"firm": (firm or "").strip()}
    if logo is not None and str(logo).strip():
        path = Path(logo)
        out["logo"] = logo_data_uri(path if path.is_absolute() else base / path)
    counts = _mapping(headcounts, "headcounts")
    if counts:
        out["headcounts"] = _headcounts(counts, data, unit)
    dates = _mapping(fieldwork, "fieldwork")
    if "date" in data and data["date"].notna().sum() >= min_size:  # the responses' own first
        days = pd.to_datetime(data["date"]).dropna()
        dates = {"start": days.min().date().isoformat(), "end": days.max().date().isoformat()}
    if dates:
        try:
            out["fieldwork"] = Fieldwork.model_validate(dates).model_dump()
        except ValidationError as exc:
            raise InputError(
                [
                    Problem("fieldwork", f"{'.'.join(map(str, e['loc']))}: {e['msg']}")
                    for e in exc.errors()
                ]
            ) from None
    return out


# ---- roadmap ---------------------------------------------------------------------------------


def roadmap_table(steps: pd.DataFrame, framework: Framework) -> dict | None:
    """Each roadmap step with its owner, effort, success measure and dependencies.

    The details are the framework's (``next_steps`` in its YAML), for the step from the
    practice's current level; what the framework leaves out shows as blank.
    """
    if steps.empty:
        return None
    rows = []
    for step in steps.itertuples():
        detail = framework.practice(step.practice_id).step_at(int(step.current_level))
        needs = [framework.practice(p).name for p in detail.depends_on]
        rows.append(
            {
                "Horizon": step.horizon,
                "Step": f"{step.priority}. {step.practice} (level {step.current_level} to "
                f"{step.target_level})",
                "Owner": detail.owner or "",
                "Effort": detail.effort or "",
                "Success measure": detail.success or "",
                "Depends on": findings.name_list(needs) if needs else NO_DEPENDENCY,
            }
        )
    return views.table(pd.DataFrame(rows), "roadmap")


# ---- sample --------------------------------------------------------------------------------


def _day(day: dt.date) -> str:
    return f"{day.day} {day:%B %Y}"


def _rate(respondents: int, people: int | None) -> str:
    return "" if not people else f"{respondents / people:.0%}"


def _groups(ctx: ReportContext, rows: pd.DataFrame, key: str) -> list[dict]:
    """Name, respondents (or why hidden) and hidden flag per group of a score table."""
    overall = rows[rows["level"] == "overall"].sort_values(key, key=lambda s: s.astype(str))
    return [
        {
            "name": str(r[key]),
            "n": int(r["n"]),
            "hidden": bool(r["suppressed"]),
            "label": ctx.hidden_label(r["suppressed_reason"])
            if r["suppressed"]
            else str(int(r["n"])),
        }
        for _, r in overall.iterrows()
    ]


@section("sample")
def sample(ctx: ReportContext) -> dict:
    """Who answered: respondents by role and by unit, response rates and fieldwork dates.

    A group the score tables hide shows no count and no rate, so the shown counts subtracted
    from the total leave either nothing or at least the minimum group size.
    """
    total = ctx.respondents
    shown = not ctx.suppressed
    roles = _groups(ctx, ctx.role_scores, "role") if shown else []
    role_table = pd.DataFrame(
        {
            "Role": [g["name"] for g in roles] + ["All respondents"],
            "Respondents": [g["label"] for g in roles] + [str(total)],
            "Share": [("" if g["hidden"] else f"{g['n'] / total:.0%}") for g in roles] + ["100%"],
        }
    )
    heads = ctx.headcounts or {}
    unit_table = None
    if not ctx.unit and not ctx.unit_scores.empty:
        units = _groups(ctx, ctx.unit_scores, "unit")
        columns = {
            "Business unit": [g["name"] for g in units] + ["All business units"],
            "Respondents": [g["label"] for g in units] + [str(total)],
        }
        if heads:
            every = all(g["name"] in heads for g in units)
            invited = sum(heads.values()) if every else None
            columns["People invited"] = [str(heads.get(g["name"], "")) for g in units] + [
                str(invited or "")
            ]
            columns["Response rate"] = [
                "" if g["hidden"] else _rate(g["n"], heads.get(g["name"])) for g in units
            ] + [_rate(total, invited)]
        unit_table = views.table(pd.DataFrame(columns), "sample")
    rate = ""
    if ctx.unit and heads.get(ctx.unit) and shown:
        invited = heads[ctx.unit]
        rate = f"{total} of {invited} people invited answered ({_rate(total, invited)})."
    dates = ctx.fieldwork
    fieldwork = (
        f"Fieldwork ran from {_day(dates['start'])} to {_day(dates['end'])}."
        if dates
        else "The fieldwork dates were not given."
    )
    return {
        "title": "Who answered",
        "total": total,
        "shown": shown,
        "why": "" if shown else ctx.hidden_label(ctx.overall["suppressed_reason"]),
        "scope": f"for {ctx.unit}" if ctx.unit else "across the organization",
        "fieldwork": fieldwork,
        "rate": rate,
        "roles": views.table(role_table, "sample") if shown else None,
        "units": unit_table,
        "size": ctx.min_group_size,
        "rates_missing": not heads,
    }


# ---- the client's own metrics per unit ---------------------------------------------------------


def _latest(series: pd.DataFrame) -> tuple[str, float, float]:
    """The latest period, its value and the change from the period before (NaN if none)."""
    series = series.sort_values("t" if "t" in series else "period")
    last = series.iloc[-1]
    change = float("nan")
    if len(series) > 1 and ("t" not in series or series.iloc[-2]["t"] == last["t"] - 1):
        change = float(last["value"] - series.iloc[-2]["value"])
    return str(last["period"]), float(last["value"]), change


def _change(value: float) -> str:
    return "" if pd.isna(value) else f"{value:+.1f}"


@section("metrics")
def metrics(ctx: ReportContext) -> dict | None:
    """EX and CX metrics side by side per unit: latest value, change, and the link found.

    The metrics are the evidence section's (hidden groups already left out); a unit whose
    survey results are hidden shows no metrics either, since a metric such as engagement may
    come from the same few people. The link is the evidence headline, computed across units,
    so a unit report points to the organization's.
    """
    if ctx.metrics is None or ctx.metrics.empty:
        return None
    from xmkit.analysis.linkage import strongest_lag

    ex, cx, per = ctx.ex[0], ctx.cx[0], ctx.period_name
    title = "EX and CX metrics by business unit"
    if ctx.suppressed:
        return {
            "title": title,
            "withheld": f"No metrics are shown for {ctx.scope}, whose "
            "survey results are hidden to protect respondents.",
        }
    hidden = set()
    if "unit" in ctx.unit_scores:  # a whole-organization report
        overall = ctx.unit_scores[ctx.unit_scores["level"] == "overall"]
        hidden = set(overall.loc[overall["suppressed"].astype(bool), "unit"].astype(str))
    rows = []
    for unit, own in ctx.metrics.groupby("unit", sort=True):
        if str(unit) in hidden:
            continue
        row: dict = {"Business unit": str(unit)}
        periods = []
        for name in (ex, cx):
            series = own[own["metric"] == name]
            if series.empty:
                row |= {f"{name}": "", f"{name} change": ""}
                continue
            period, value, change = _latest(series)
            periods.append(period)
            row |= {f"{name}": f"{value:.1f}", f"{name} change": _change(change)}
        row[f"Latest {per}"] = " / ".join(dict.fromkeys(periods))
        rows.append(row)
    if ctx.unit:
        link = (
            f"Whether {ex} leads {cx} is tested across business units, in the whole "
            "organization's report."
        )
    else:
        best = strongest_lag(ctx.linkage, "within") if ctx.linkage is not None else None
        link = (
            findings.link_sentence(best, ex, cx, per)
            if best is not None
            else f"Too few units or {per}s to test whether {ex} leads {cx}."
        )
    return {
        "title": title,
        "names": f"{ex} and {cx}",
        "link": link,
        "caption": f"The latest {per}'s value of each metric and its change from the {per} "
        f"before (blank when that {per} is missing). Units whose survey results are hidden, "
        f"or whose metrics are built from fewer than {ctx.min_group_size} respondents, are "
        "left out.",
        "table": views.table(pd.DataFrame(rows), "metrics"),
    }


# ---- table of contents -------------------------------------------------------------------------

ANCHOR = "sec-"
"""The id prefix of a section's anchor (``templates/sections/_section.html.j2``)."""
_AFTER_HEADING = re.compile(rf"{ANCHOR}|<h2|<!|<script|<style", re.IGNORECASE)
"""What, after a section's last heading, could still matter to the table of contents: an
anchor, a heading, or markup whose text the parser reads differently (comments, scripts)."""


def _heading_part(html: str) -> str:
    """``html`` up to its last ``</h2>`` when nothing after it can add a contents entry.

    A section's anchor and heading come first; its tables and charts after them are most of
    its HTML and took nearly all of the parsing time (about 15 ms a report).
    """
    end = html.lower().rfind("</h2>")
    if end < 0:
        return html
    end += len("</h2>")
    return html if _AFTER_HEADING.search(html, end) else html[:end]


class _Headings(HTMLParser):
    """The (key, heading text) of each section anchor and the heading that follows it."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.items: list[tuple[str, str]] = []
        self._key: str | None = None
        self._text: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        ident = dict(attrs).get("id") or ""
        if ident.startswith(ANCHOR):
            self._key = ident[len(ANCHOR) :]
        elif tag == "h2" and self._key is not None:
            self._text = []

    def handle_data(self, data: str) -> None:
        if self._text is not None:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "h2" and self._text is not None:
            self.items.append((self._key or "", "".join(self._text).strip()))
            self._key = self._text = None


def contents(*sections: str) -> str:
    """A table of contents linking to every section shown (rendered section HTML, in order).

    The links are fragment links (``#sec-<key>``), which both the browser and Chromium's PDF
    keep: in the PDF each entry jumps to its page. The headings are read back from the
    sections' own HTML, so a renamed or added section is listed as it is shown.
    """
    parser = _Headings()
    for part in sections:
        parser.feed(_heading_part(part))
    parser.close()
    return str(render("contents.html.j2", items=parser.items)) if parser.items else ""
