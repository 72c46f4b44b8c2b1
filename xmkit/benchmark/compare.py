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

import numpy as np
import pandas as pd
import sqlalchemy as sa

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
    SELECT entry_id, industry, period FROM xmkit_organizations
    WHERE latest AND framework_id = :framework_id AND framework_version = :framework_version
        AND client_key <> :client_key
), client (grp, level, item_id, x) AS (VALUES {client})
SELECT c.grp, c.level, c.item_id,
    count(*) AS all_organizations,
    sum(CASE WHEN s.score < c.x THEN 1 ELSE 0 END) AS all_below,
    sum(CASE WHEN s.score = c.x THEN 1 ELSE 0 END) AS all_equal,
    min(l.period) AS all_first_period,
    max(l.period) AS all_last_period,
    sum(CASE WHEN l.industry = :industry THEN 1 ELSE 0 END) AS industry_organizations,
    sum(CASE WHEN l.industry = :industry AND s.score < c.x THEN 1 ELSE 0 END) AS industry_below,
    sum(CASE WHEN l.industry = :industry AND s.score = c.x THEN 1 ELSE 0 END) AS industry_equal,
    min(CASE WHEN l.industry = :industry THEN l.period END) AS industry_first_period,
    max(CASE WHEN l.industry = :industry THEN l.period END) AS industry_last_period
FROM latest AS l
JOIN xmkit_scores AS s ON s.entry_id = l.entry_id
JOIN client AS c ON c.level = s.level AND c.item_id = s.item_id
WHERE s.level IN ('overall', 'category')
GROUP BY c.grp, c.level, c.item_id
"""
"""One pass over each organization's latest entry (flagged on write; the client's own left
out), overall and category scores only: counts in the industry and in all, below and equal to
each client score, and the periods' range. Plain SQL that DuckDB and PostgreSQL both run, as
one statement: the DuckDB dialect caches no compiled SQLAlchemy statement, so building one
per lookup cost more than running it."""


def _query(
    client_items: pd.DataFrame, framework: Framework, client_key: str, industry: str
) -> tuple[sa.TextClause, dict[str, object]]:
    """:data:`LOOKUP` with one row of parameters per client score, and its parameters."""
    rows, params = [], {}
    for i, r in enumerate(client_items.itertuples(index=False)):
        rows.append(
            f"(CAST(:g{i} AS VARCHAR), CAST(:l{i} AS VARCHAR), CAST(:i{i} AS VARCHAR), "
            f"CAST(:x{i} AS FLOAT8))"
        )
        params |= {f"g{i}": r.group, f"l{i}": r.level, f"i{i}": r.id, f"x{i}": float(r.score)}
    params |= {
        "framework_id": framework.id,
        "framework_version": framework.version,
        "client_key": client_key,
        "industry": industry,
    }
    return sa.text(LOOKUP.format(client=", ".join(rows))), params


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
    items = pd.DataFrame(
        {
            **{g: wanted[g].to_numpy() for g in groups},
            "group": wanted[by].astype(str).to_numpy() if by else "",
            "level": wanted["level"].to_numpy(),
            "id": wanted["id"].to_numpy(),
            "name": wanted["name"].to_numpy(),
            "score": wanted["score"].to_numpy(dtype=float),
        }
    )
    present = items[~np.isnan(items["score"].to_numpy())]
    found: dict[tuple, dict] = {}
    if len(present):
        with store.reading() as conn:  # read-only; None: nothing stored yet
            if conn is not None:
                query, params = _query(present, framework, client_key, industry)
                rows = conn.execute(query, params)
                found = {(r.grp, r.level, r.item_id): r._asdict() for r in rows}
    # Plain Python from here: a few dozen rows, where pandas' per-call overhead would dominate.
    records = []
    for item in items.to_dict("records"):
        hit = found.get((item["group"], item["level"], item["id"]), {})
        for scope in ("industry", "all"):
            n = int(hit.get(f"{scope}_organizations") or 0)
            shown = not np.isnan(item["score"]) and n >= min_organizations
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
