"""Which groups of a breakdown to hide, so that no subtraction isolates a small group.

Hiding every group below the minimum group size (*primary* suppression) is not enough when
the groups are published beside their total: the organization's score minus the scores of
the visible units (each times its number of respondents) gives back the hidden units' score.
Statistical agencies close this gap with *secondary* (complementary) cell suppression, as
tau-ARGUS (Hundepool et al., *Statistical Disclosure Control*, Wiley 2012, ch. 4) and R's
``sdcTable`` (Meindl) do; employee-survey platforms call the same attack "inferential
identification" and protect against it by hiding the next-smallest group too.

The rule (one breakdown, its total published):

1. *primary*: a group with fewer respondents than the minimum is hidden;
2. *secondary*: while the hidden groups together hold at least one but fewer than the minimum
   respondents, the next-smallest visible group is hidden too (ties by name); when none is
   left the whole breakdown is withheld. The *hidden remainder* (total minus the visible
   groups) is then either 0 or at least the minimum.

The same rule runs at every level (overall, category, practice, question: the respondents
who answered that item), starting from the groups hidden at the overall level, so an item is
never shown for a group hidden as a whole.

Unit x role, with both margins published (the units table, the roles table and the role
rows inside each unit's report):

* the units and the roles are each a breakdown of the organization (rule above);
* the roles inside a unit are a breakdown of that unit, and the units inside a role are a
  breakdown of that role (rule above on every row and column); every cell of a hidden unit is
  hidden (a hidden total cannot show its parts, which would give the total back);
* an audit then looks for any set of hidden cells that a combination of *all* published
  numbers isolates (a 0/1 vector in the span of the published sums, found exactly from the
  reduced row echelon form): if one holds fewer than the minimum, the next-smallest cell or
  role total next to it is hidden, and the audit runs again. Beyond :data:`AUDIT_RANK`
  independent equations the audit is not enumerated and the simple safe fallback applies:
  a role total is shown only if none of its cells is hidden, so it adds nothing to what the
  unit reports show and the published numbers form a plain hierarchy (organization, units,
  roles within units), which the rule above protects.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

__all__ = [
    "AUDIT_RANK",
    "COMPLEMENTARY",
    "NESTED",
    "NOTICE",
    "PROTECTING",
    "SMALL",
    "CrossPlan",
    "audit",
    "blank",
    "hidden_remainder",
    "hide_cross",
    "hide_groups",
    "mask",
    "notice",
    "protect",
    "protect_metrics",
    "reason_text",
]

SMALL = "below minimum"
"""Reason: the group has fewer respondents than the minimum group size (primary)."""
COMPLEMENTARY = "complementary"
"""Reason: hidden so that a smaller hidden group cannot be derived by subtraction."""
NESTED = "within a hidden group"
"""Reason: the cell belongs to a hidden unit, whose parts would give it back."""
PROTECTING = "hidden to protect a smaller unit"
"""What the portfolio says of a unit hidden by the secondary rule (no size below the minimum)."""
AUDIT_RANK = 16
"""Most independent equations the cross-table audit enumerates (2**16 combinations)."""

NOTICE = (
    "Some groups are hidden to protect respondents: groups below the minimum size, and groups "
    "whose results would let a hidden group's answers be worked out by subtraction."
)


def reason_text(reason: str, min_size: int, protects: Sequence[str] = ()) -> str:
    """A reason code in words, as ``xmkit validate`` prints it."""
    if reason == SMALL:
        return f"fewer than {min_size}"
    if reason == NESTED:
        return "hidden because its unit is hidden"
    names = ", ".join(map(str, protects))
    return f"hidden too, so {names} cannot be derived" if names else "hidden too"


def notice(reasons: Sequence[str] | pd.Series) -> str:
    """The report's one-line notice when any group is hidden ("" when none is)."""
    return NOTICE if any(r for r in reasons if isinstance(r, str) and r) else ""


def _complete(
    sizes: Mapping[Hashable, int], hidden: dict, min_size: int, members: Sequence
) -> bool:
    """Hide the next-smallest visible members until the hidden remainder is 0 or >= min."""
    remainder = sum(sizes[g] for g in members if g in hidden)
    visible = sorted((g for g in members if g not in hidden), key=lambda g: (sizes[g], str(g)))
    changed = False
    while 0 < remainder < min_size and visible:
        group = visible.pop(0)
        hidden[group] = COMPLEMENTARY
        remainder += sizes[group]
        changed = True
    return changed


def hide_groups(
    sizes: Mapping[Hashable, int], min_size: int, start: Mapping[Hashable, str] | None = None
) -> dict[Hashable, str]:
    """Which groups of one breakdown to hide: ``{group: reason}`` (see the module docstring).

    ``sizes`` maps each group to its respondents (for an item: those who answered it);
    ``start`` holds groups already hidden (e.g. at the overall level), kept with their reason.
    """
    hidden = {g: r for g, r in (start or {}).items() if g in sizes}
    for group, n in sizes.items():
        if group not in hidden and n < min_size:
            hidden[group] = SMALL
    _complete(sizes, hidden, min_size, list(sizes))
    return hidden


def hidden_remainder(sizes: Mapping[Hashable, int], hidden: Mapping[Hashable, str]) -> int:
    """Respondents a subtraction gives back: total minus the visible groups."""
    return int(sum(n for g, n in sizes.items() if g in hidden))


@dataclass
class CrossPlan:
    """Hidden rows (first dimension), columns (second) and cells of a two-way breakdown."""

    rows: dict = field(default_factory=dict)
    cols: dict = field(default_factory=dict)
    cells: dict = field(default_factory=dict)


def _rref(matrix: np.ndarray, tol: float = 1e-9) -> np.ndarray:
    """Reduced row echelon form (rows of rank), by Gauss-Jordan elimination."""
    a = matrix.astype(float).copy()
    rank = 0
    for col in range(a.shape[1]):
        if rank == a.shape[0]:
            break
        pivot = rank + int(np.argmax(np.abs(a[rank:, col])))
        if abs(a[pivot, col]) < tol:
            continue
        a[[rank, pivot]] = a[[pivot, rank]]
        a[rank] /= a[rank, col]
        others = np.arange(a.shape[0]) != rank
        a[others] -= np.outer(a[others, col], a[rank])
        rank += 1
    return a[:rank]


def _equations(cells: Mapping, plan: CrossPlan) -> tuple[list, np.ndarray, list]:
    """Hidden cells, the published sums over them (the total, visible rows and columns) and
    what each sum is (``("total", None)``, ``("row", r)``, ``("col", c)``)."""
    hidden = [c for c in cells if c in plan.cells]
    first = pd.Series([c[0] for c in hidden], dtype=object)
    second = pd.Series([c[1] for c in hidden], dtype=object)
    rows = sorted({c[0] for c in cells} - set(plan.rows), key=str)
    cols = sorted({c[1] for c in cells} - set(plan.cols), key=str)
    equations = [np.ones(len(hidden))]
    equations += [first.eq(r).to_numpy(dtype=float) for r in rows]
    equations += [second.eq(k).to_numpy(dtype=float) for k in cols]
    labels = [("total", None), *(("row", r) for r in rows), *(("col", k) for k in cols)]
    return hidden, np.array(equations), labels


def audit(cells: Mapping[tuple, int], plan: CrossPlan, min_size: int) -> list | None:
    """A set of hidden cells that the published sums isolate with 1 to min-1 respondents.

    Returns the smallest such set, ``[]`` when there is none, or None when there could be
    more than :data:`AUDIT_RANK` independent equations (more hidden cells and more published
    sums than that; not enumerated).
    """
    n_hidden = sum(1 for c in cells if c in plan.cells)
    if not n_hidden:
        return []
    n_equations = 1 + len({c[0] for c in cells} - set(plan.rows))
    n_equations += len({c[1] for c in cells} - set(plan.cols))
    if min(n_hidden, n_equations) > AUDIT_RANK:  # the rank could exceed it: not enumerated
        return None
    hidden, equations, _ = _equations(cells, plan)
    basis = _rref(equations)
    if len(basis) > AUDIT_RANK:
        return None
    sizes = np.array([cells[c] for c in hidden], dtype=float)
    choices = np.array(list(itertools.product((0.0, 1.0), repeat=len(basis)))[1:])
    vectors = choices @ basis
    binary = np.all(np.isclose(vectors, 0) | np.isclose(vectors, 1), axis=1)
    counts = np.round(vectors) @ sizes
    bad = np.flatnonzero(binary & (counts > 0) & (counts < min_size))
    if not len(bad):
        return []
    worst = bad[np.argmin(counts[bad])]
    return [c for c, v in zip(hidden, np.round(vectors[worst]), strict=True) if v == 1]


def hide_cross(
    cells: Mapping[tuple, int], min_size: int, start: CrossPlan | None = None
) -> CrossPlan:
    """Hidden rows, columns and cells of a two-way breakdown with both margins published.

    ``cells`` maps ``(row, column)`` (e.g. ``(unit, role)``) to respondents; ``start`` holds
    what is already hidden (the overall level's plan, for an item). See the module docstring.
    """
    start = start or CrossPlan()
    row_n: dict = defaultdict(int)
    col_n: dict = defaultdict(int)
    by_row: dict = defaultdict(list)
    by_col: dict = defaultdict(list)
    for (r, c), n in cells.items():
        row_n[r] += n
        col_n[c] += n
        by_row[r].append((r, c))
        by_col[c].append((r, c))
    plan = CrossPlan(
        hide_groups(row_n, min_size, start.rows),
        hide_groups(col_n, min_size, start.cols),
        {c: r for c, r in start.cells.items() if c in cells},
    )
    for cell, n in cells.items():
        if cell not in plan.cells and cell[0] in plan.rows:
            plan.cells[cell] = NESTED
        elif cell not in plan.cells and n < min_size:
            plan.cells[cell] = SMALL
    while True:
        changed = False
        for r, members in by_row.items():
            if r not in plan.rows:
                changed |= _complete(cells, plan.cells, min_size, members)
        for c, members in by_col.items():
            if c not in plan.cols:
                changed |= _complete(cells, plan.cells, min_size, members)
        if changed:
            continue
        found = audit(cells, plan, min_size)
        if found == []:
            return plan
        candidates = [] if found is None else _fixes(cells, plan, found, col_n)
        if not candidates:  # too many equations, or nothing next to the leak: the fallback
            for c in by_col:
                if c not in plan.cols and any(cell in plan.cells for cell in by_col[c]):
                    plan.cols[c] = COMPLEMENTARY
            return plan
        kind, key = min(candidates)[3]
        (plan.cells if kind == "cell" else plan.cols)[key] = COMPLEMENTARY


def _fixes(cells: Mapping, plan: CrossPlan, found: list, col_n: Mapping) -> list[tuple]:
    """What could be hidden to break a leak: the shown cells and role totals in the rows and
    columns of the leaked cells and of the published sums that isolate them."""
    hidden, equations, labels = _equations(cells, plan)
    target = np.array([float(c in found) for c in hidden])
    weights, *_ = np.linalg.lstsq(equations.T, target, rcond=None)
    used = [label for label, w in zip(labels, weights, strict=True) if abs(w) > 1e-9]
    rows = {r for kind, r in used if kind == "row"} | ({r for r, _ in found} - set(plan.rows))
    cols = {c for kind, c in used if kind == "col"} | ({c for _, c in found} - set(plan.cols))
    return [
        (n, 0, str(cell), ("cell", cell))
        for cell, n in cells.items()
        if cell not in plan.cells and (cell[0] in rows or cell[1] in cols)
    ] + [(col_n[c], 1, str(c), ("col", c)) for c in cols]


def _item_sizes(scores: pd.DataFrame, by: list[str]) -> dict[tuple, dict]:
    """``{(level, id): {group: n}}`` in the table's item order, overall first."""
    out: dict[tuple, dict] = {}
    # lists first: iterating a column of (Arrow-backed) strings cell by cell costs far more
    keys = zip(*(scores[b].tolist() for b in by), strict=True)
    columns = (scores["level"].tolist(), scores["id"].tolist(), keys, scores["n"].tolist())
    for level, item, key, n in zip(*columns, strict=True):
        out.setdefault((level, item), {})[key if len(by) > 1 else key[0]] = int(n)
    return out


def _cross_plans(cross: pd.DataFrame, by: list[str], min_size: int) -> dict[tuple, CrossPlan]:
    """The plan of every item of a two-way score table, each item starting from overall's."""
    items = _item_sizes(cross, by)
    first = hide_cross(items[("overall", "overall")], min_size)
    plans, cache = {}, {}
    for item, sizes in items.items():
        if item == ("overall", "overall"):
            plans[item] = first
            continue
        signature = tuple(sorted(sizes.items(), key=str))
        if signature not in cache:
            cache[signature] = hide_cross(sizes, min_size, first)
        plans[item] = cache[signature]
    return plans


def protect(
    scores: pd.DataFrame,
    by: Sequence[str],
    min_size: int,
    cross: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """A grouped score table with ``suppressed`` and ``suppressed_reason`` set by the rule.

    ``scores`` has one row per group in ``by`` and item (:func:`xmkit.score`'s layout, with
    ``n``). One column: one breakdown per item; two columns: a two-way breakdown with both
    margins (:func:`hide_cross`); more: the breakdown is withheld when any group is hidden.
    ``cross``, a table of ``["unit", by[0]]``, makes a one-column breakdown consistent with
    units (role totals that the unit reports' role rows would otherwise expose).
    """
    by = list(by)
    out = scores.copy()
    reasons: dict[tuple, str] = {}
    if cross is not None and len(by) == 1:
        for item, plan in _cross_plans(cross, ["unit", by[0]], min_size).items():
            reasons.update({(*item, g): r for g, r in plan.cols.items()})
    elif len(by) == 2:
        for item, plan in _cross_plans(scores, by, min_size).items():
            reasons.update({(*item, *g): r for g, r in plan.cells.items()})
    else:
        items = _item_sizes(scores, by)
        first = hide_groups(items[("overall", "overall")], min_size)
        for item, sizes in items.items():
            hidden = hide_groups(sizes, min_size, first)
            if len(by) > 2 and hidden:
                hidden = {g: hidden.get(g, COMPLEMENTARY) for g in sizes}
            reasons.update({(*item, *(g if len(by) > 1 else (g,))): r for g, r in hidden.items()})
    keys = zip(*(out[c].tolist() for c in ["level", "id", *by]), strict=True)
    found = [reasons.get(k, "") for k in keys]
    out["suppressed_reason"] = [
        r or (SMALL if s else "") for r, s in zip(found, out["suppressed"].tolist(), strict=True)
    ]
    out["suppressed"] = out["suppressed_reason"] != ""
    return out


NUMBERS = ["score", "index", "ci_low", "ci_high", "rwg", "alpha", "score_now", "score_before"]
NUMBERS += ["change", "value"]


def blank(table: pd.DataFrame) -> pd.DataFrame:
    """The table with the numbers of its suppressed rows removed (stage included)."""
    out = table.copy()
    rows = out["suppressed"].astype(bool).to_numpy()
    numbers = [c for c in NUMBERS if c in out.columns]
    out.loc[rows, numbers] = np.nan
    for col in ("stage", "stage_uncapped", "capped"):
        if col in out.columns:
            out.loc[rows, col] = pd.NA
    if "stage_name" in out.columns:
        out.loc[rows, "stage_name"] = None
    return out


def mask(table: pd.DataFrame, hidden: Mapping[tuple, str], keys: Sequence[str]) -> pd.DataFrame:
    """Hide the rows whose ``keys`` values are in ``hidden`` (``{key tuple: reason}``).

    For a report drawn from part of the data (one unit) that must follow the plan made on the
    whole data, where the unit's groups sit beside the others.
    """
    out = table.copy()
    found = [hidden.get(k) for k in zip(*(out[c].tolist() for c in keys), strict=True)]
    if "suppressed_reason" not in out.columns:
        out["suppressed_reason"] = np.where(out["suppressed"], SMALL, "")
    out["suppressed_reason"] = [
        r if (r and not old) else old
        for r, old in zip(found, out["suppressed_reason"], strict=True)
    ]
    out["suppressed"] = out["suppressed"].astype(bool) | np.array([r is not None for r in found])
    return blank(out)


def protect_metrics(table: pd.DataFrame, min_size: int) -> pd.DataFrame:
    """Metrics built from respondents (an ``n`` column) without the rows the rule hides.

    Each period and metric is a breakdown by unit (an organization-wide value being its
    total); a hidden unit's value is left out, as a value that was not measured is.
    """
    if "n" not in table.columns or table.empty:
        return table
    keep = np.ones(len(table), dtype=bool)
    for _, group in table.groupby(["period", "metric"], sort=False):
        sizes = dict(zip(group.index, group["n"].astype(int), strict=True))
        for index in hide_groups(sizes, min_size):
            keep[table.index.get_loc(index)] = False
    return table[keep].reset_index(drop=True)
