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

from xmkit.benchmark.store import Store, organizations, scores
from xmkit.errors import Problem, XmkitError
from xmkit.framework import Framework

__all__ = ["COLUMNS", "FLOOR", "client_view", "compare", "percentile_rank"]

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


def _latest(framework: Framework, client_key: str):
    """Each organization's latest entry (flagged on write), the client's own excluded."""
    o = organizations
    return (
        sa.select(o.c.entry_id, o.c.industry, o.c.period)
        .where(
            o.c.latest,
            o.c.framework_id == framework.id,
            o.c.framework_version == framework.version,
            o.c.client_key != client_key,
        )
        .subquery("latest")
    )


def _query(client_items: pd.DataFrame, framework: Framework, client_key: str, industry: str):
    """One pass over the latest entries' overall and category scores: counts in the
    industry and in all, below and equal to the client's score, and the periods' range."""
    client = sa.union_all(
        *[
            sa.select(
                sa.literal(r.group, sa.String).label("grp"),
                sa.literal(r.level, sa.String).label("level"),
                sa.literal(r.id, sa.String).label("item_id"),
                sa.literal(float(r.score), sa.Float).label("x"),
            )
            for r in client_items.itertuples(index=False)
        ]
    ).cte("client")
    latest = _latest(framework, client_key)
    same = latest.c.industry == industry

    def count(*conditions) -> sa.ColumnElement:
        return sa.func.sum(sa.case((sa.and_(*conditions), 1), else_=0))

    below, equal = scores.c.score < client.c.x, scores.c.score == client.c.x
    return (
        sa.select(
            client.c.grp,
            client.c.level,
            client.c.item_id,
            sa.func.count().label("all_organizations"),
            count(below).label("all_below"),
            count(equal).label("all_equal"),
            sa.func.min(latest.c.period).label("all_first_period"),
            sa.func.max(latest.c.period).label("all_last_period"),
            count(same).label("industry_organizations"),
            count(same, below).label("industry_below"),
            count(same, equal).label("industry_equal"),
            sa.func.min(sa.case((same, latest.c.period))).label("industry_first_period"),
            sa.func.max(sa.case((same, latest.c.period))).label("industry_last_period"),
        )
        .select_from(latest)
        .join(scores, scores.c.entry_id == latest.c.entry_id)
        .join(client, (client.c.level == scores.c.level) & (client.c.item_id == scores.c.item_id))
        .where(scores.c.level.in_(["overall", "category"]))
        .group_by(client.c.grp, client.c.level, client.c.item_id)
    )


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
        with store.transaction() as conn:
            result = conn.execute(_query(present, framework, client_key, industry)).mappings()
            found = {(r["grp"], r["level"], r["item_id"]): dict(r) for r in result}
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
