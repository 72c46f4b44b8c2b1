"""Where a client stands among the stored organizations: percentile ranks per category.

Percentile rank (the "mean" definition, as ``scipy.stats.percentileofscore(kind="mean")``;
Crocker & Algina, *Introduction to classical and modern test theory*, 1986, ch. 19): with
``B`` benchmark scores below the client's, ``E`` equal to it and ``N`` in all,
``PR = 100 * (B + E / 2) / N``. Each stored organization counts once, with its latest
period; the client's own entries are left out. A rank is given only when at least
``min_organizations`` (never fewer than 5) qualify, and no stored organization's score is
returned, only counts: the benchmark's quartiles of five organizations would be three
organizations' own numbers.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from xmkit.benchmark.store import Store
from xmkit.errors import Problem, XmkitError
from xmkit.framework import Framework

__all__ = ["COLUMNS", "FLOOR", "LOOKUP", "client_view", "compare", "percentile_rank"]

FLOOR = 5  # the smallest benchmark group ever shown
COLUMNS = [
    "level",
    "id",
    "name",
    "scope",
    "score",
    "organizations",
    "percentile",
    "shown",
    "first_period",
    "last_period",
]


def percentile_rank(below: int, equal: int, total: int) -> float:
    """``100 * (below + equal / 2) / total`` (see the module docstring); NaN when empty."""
    return 100.0 * (below + equal / 2) / total if total else float("nan")


LOOKUP = """
WITH latest AS (
    SELECT entry_id, period, industry = :industry AS same FROM xmkit_organizations
    WHERE latest AND framework_id = :framework_id AND framework_version = :framework_version
        AND client_key <> :client_key
), client (k, level, item_id, x) AS (VALUES {client})
SELECT c.k,
    count(*) AS all_organizations,
    count(*) FILTER (WHERE s.score < c.x) AS all_below,
    count(*) FILTER (WHERE s.score = c.x) AS all_equal,
    min(l.period) AS all_first_period,
    max(l.period) AS all_last_period,
    count(*) FILTER (WHERE l.same) AS industry_organizations,
    count(*) FILTER (WHERE l.same AND s.score < c.x) AS industry_below,
    count(*) FILTER (WHERE l.same AND s.score = c.x) AS industry_equal,
    min(l.period) FILTER (WHERE l.same) AS industry_first_period,
    max(l.period) FILTER (WHERE l.same) AS industry_last_period
FROM latest AS l
JOIN xmkit_scores AS s ON s.entry_id = l.entry_id
JOIN client AS c ON c.level = s.level AND c.item_id = s.item_id
GROUP BY c.k
"""
"""One pass over each organization's latest entry (flagged on write; the client's own left
out) and the scores the client has (overall and categories): per client score ``k``, counts
in the industry and in all, below and equal to it, and the periods' range. Plain SQL that
DuckDB and PostgreSQL both run, in one statement: the DuckDB dialect caches no compiled
SQLAlchemy statement, so building one per lookup cost more than running it; grouping by the
score's number rather than its names halves DuckDB's aggregation."""


def _query(
    items: list[dict], framework: Framework, client_key: str, industry: str
) -> tuple[str, dict[str, object]]:
    """:data:`LOOKUP` with one row per client score (``k`` its position), and its parameters."""
    rows, params = [], {}
    for k, item in enumerate(items):
        rows.append(f"({k}, CAST(:l{k} AS VARCHAR), CAST(:i{k} AS VARCHAR), CAST(:x{k} AS FLOAT8))")
        params |= {f"l{k}": item["level"], f"i{k}": item["id"], f"x{k}": item["score"]}
    params |= {
        "framework_id": framework.id,
        "framework_version": framework.version,
        "client_key": client_key,
        "industry": industry,
    }
    return LOOKUP.format(client=", ".join(rows)), params


def _key(item: dict) -> tuple[str, str, str]:
    return item["group"], item["level"], item["id"]


def compare(
    store: Store,
    client_scores: pd.DataFrame,
    framework: Framework,
    industry: str,
    client_key: str,
    min_organizations: int = FLOOR,
    by: str | None = None,
) -> pd.DataFrame:
    """Percentile ranks of the client's overall and category scores, in its industry and
    among all stored organizations.

    ``client_scores`` is a :func:`xmkit.score` table: one group, or one per value of its
    column ``by`` (e.g. the units of a portfolio), all ranked in one query. Returns one row per
    group, item
    and scope (``industry``, ``all``): the client's ``score``, how many ``organizations``
    qualify, the ``percentile`` (NaN unless ``shown``: enough organizations and a client
    score) and the range of periods of the benchmark entries used.
    """
    if min_organizations < FLOOR:
        raise XmkitError(
            Problem(
                "benchmark minimum",
                f"{min_organizations} organizations is too few to compare with",
                expected=f"{FLOOR} or more",
            )
        )
    groups = [by] if by else []
    wanted = client_scores[client_scores["level"].isin(["overall", "category"])]
    # Plain Python from here: a few dozen rows, where pandas' per-call overhead would dominate.
    columns = {c: wanted[c].tolist() for c in [*groups, "level", "id", "name"]}
    items = [
        {
            **{c: values[i] for c, values in columns.items()},
            "group": str(columns[by][i]) if by else "",
            "score": score,
        }
        for i, score in enumerate(wanted["score"].to_numpy(dtype=float).tolist())
    ]
    present = [item for item in items if not math.isnan(item["score"])]
    found: dict[tuple, dict] = {}
    if present:
        with store.reading() as query:  # read-only; None: nothing stored yet
            if query is not None:
                rows = query(*_query(present, framework, client_key, industry))
                found = {_key(present[r["k"]]): r for r in rows}
    records = []
    for item in items:
        hit = found.get(_key(item), {})
        for scope in ("industry", "all"):
            n = int(hit.get(f"{scope}_organizations") or 0)
            shown = not math.isnan(item["score"]) and n >= min_organizations
            below, equal = int(hit.get(f"{scope}_below") or 0), int(hit.get(f"{scope}_equal") or 0)
            records.append(
                {
                    **{g: item[g] for g in groups},
                    "level": item["level"],
                    "id": item["id"],
                    "name": item["name"],
                    "scope": scope,
                    "score": item["score"],
                    "organizations": n,
                    "percentile": percentile_rank(below, equal, n) if shown else np.nan,
                    "shown": shown,
                    "first_period": hit.get(f"{scope}_first_period"),
                    "last_period": hit.get(f"{scope}_last_period"),
                }
            )
    return pd.DataFrame.from_records(records, columns=[*groups, *COLUMNS])


def client_view(
    client: str,
    client_scores: pd.DataFrame,
    framework: Framework,
    industry: str,
    location: str = "",
    min_organizations: int = FLOOR,
    by: str | None = None,
) -> pd.DataFrame:
    """:func:`compare` for a client by name, in the store at ``location`` (else the default),
    with the firm key of this machine (:func:`xmkit.benchmark.keys.firm_key`)."""
    from xmkit.benchmark.keys import client_key, firm_key
    from xmkit.benchmark.store import open_store

    key = firm_key()
    return compare(
        open_store(location or None, check=False),
        client_scores,
        framework,
        industry,
        client_key(client, key),
        min_organizations,
        by,
    )
