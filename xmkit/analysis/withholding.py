"""What each output withholds: the minimum-group-size rule applied across a whole breakdown.

:mod:`xmkit.analysis.disclosure` holds the rule (which groups to hide, and which more so no
subtraction recovers them); :mod:`xmkit.analysis.score` applies it to each table it scores.
This module scores the breakdowns a report or batch shows, to say ahead of rendering what each
will hide: ``xmkit validate`` prints it, and a batch hands each unit report its part.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from xmkit.analysis.disclosure import COMPLEMENTARY, SMALL, reason_text
from xmkit.analysis.score import score
from xmkit.framework import load_framework

__all__ = ["disclosure_plan", "unit_withholding"]


def disclosure_plan(
    data: pd.DataFrame, framework=None, min_group_size: int | None = None
) -> pd.DataFrame:
    """Which groups each output hides, and why: ``output, group, n, hidden, reason``.

    One row per group of each breakdown at the overall level: ``units`` (units table of the
    organization report, portfolio, ``score --by unit``; a hidden unit gets no report),
    ``roles`` (roles table of the organization report, ``score --by role``) and
    ``unit x role`` (role rows inside each unit report, ``score --by unit,role``). ``reason``
    is in words ("fewer than 5"; "hidden too, so Board Office cannot be derived"). An item
    (category, practice, question) can hide more, when fewer answered it.
    """
    framework = framework or load_framework()
    min_size = framework.thresholds.min_group_size if min_group_size is None else min_group_size
    rows = []
    for output, by in (("units", ["unit"]), ("roles", ["role"]), ("unit x role", ["unit", "role"])):
        table = score(data, framework, by=by, min_group_size=min_size, n_boot=0)
        table = table[table["level"] == "overall"]
        groups = [" / ".join(map(str, k)) for k in table[by].itertuples(index=False, name=None)]
        reasons = table["suppressed_reason"].tolist()
        parents = [k[0] if len(by) == 2 else "" for k in table[by].itertuples(index=False)]
        for group, n, reason, parent in zip(groups, table["n"], reasons, parents, strict=True):
            small = [
                g
                for g, r, p in zip(groups, reasons, parents, strict=True)
                if r == SMALL and g != group and (p == parent or len(by) == 1)
            ]
            if reason == COMPLEMENTARY and len(by) == 2 and not small:
                small = [g for g, r in zip(groups, reasons, strict=True) if r == SMALL]
            rows.append(
                {
                    "output": output,
                    "group": group,
                    "n": int(n),
                    "hidden": bool(reason),
                    "reason": reason_text(reason, min_size, small) if reason else "",
                }
            )
    return pd.DataFrame(rows, columns=["output", "group", "n", "hidden", "reason"])


def unit_withholding(
    data: pd.DataFrame, framework, min_size: int, units: Sequence[str] | None = None
) -> dict[str, dict]:
    """What the rule hides in each unit's report, from the whole organization's data.

    ``{unit: {"unit": [[level, id, reason], ...], "roles": [[role, level, id, reason], ...]}}``
    (JSON-ready, so a batch can hand it to a report that only sees its unit's rows): the
    unit's own items hidden in the units breakdown and its role rows hidden in unit x role.
    """
    by_unit = score(data, framework, by="unit", min_group_size=min_size, n_boot=0)
    cells = score(data, framework, by=["unit", "role"], min_group_size=min_size, n_boot=0)
    wanted = set(map(str, units)) if units is not None else None
    out: dict[str, dict] = {}
    for unit, rows in by_unit[by_unit["suppressed"]].groupby("unit", sort=True):
        if wanted is None or str(unit) in wanted:
            out.setdefault(str(unit), {"unit": [], "roles": []})["unit"] = rows[
                ["level", "id", "suppressed_reason"]
            ].values.tolist()
    for unit, rows in cells[cells["suppressed"]].groupby("unit", sort=True):
        if wanted is None or str(unit) in wanted:
            out.setdefault(str(unit), {"unit": [], "roles": []})["roles"] = rows[
                ["role", "level", "id", "suppressed_reason"]
            ].values.tolist()
    return out
