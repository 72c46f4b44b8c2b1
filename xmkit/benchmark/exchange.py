"""Sharing a benchmark between consultants: export to Parquet, import from it.

The file is the store's tidy table (one row per organization and score, no client names, only
their keyed hashes) with the schema version, framework and key fingerprint in the Parquet
metadata. Import checks all of it, and every row, before writing anything; the rows go in as
one transaction.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from xmkit.benchmark.store import LEVELS, SCHEMA_VERSION, Entry, Store, organizations
from xmkit.errors import Problem, XmkitError
from xmkit.framework import Framework
from xmkit.io.iorw import atomic_path

__all__ = ["COLUMNS", "export_parquet", "import_parquet"]

META_KEY = b"xmkit.benchmark"
ORG_COLUMNS = [c.name for c in organizations.c if c.name != "latest"]
ENTRY_COLUMNS = [c for c in ORG_COLUMNS if c != "added_at"]
COLUMNS = [*ORG_COLUMNS, "level", "item_id", "n", "score"]


def export_parquet(store: Store, target: str | Path) -> int:
    """Write the whole store to ``target`` (atomically); returns the number of entries."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = store.table()
    info = {"schema": SCHEMA_VERSION, **store.binding()}
    arrow = pa.Table.from_pandas(table, preserve_index=False)
    arrow = arrow.replace_schema_metadata({META_KEY: json.dumps(info).encode("utf-8")})
    with atomic_path(target) as tmp:
        pq.write_table(arrow, tmp)
    return int(table["entry_id"].nunique()) if len(table) else 0


def _read(source: Path) -> tuple[pd.DataFrame, dict]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        arrow = pq.read_table(source)
    except FileNotFoundError:
        raise XmkitError(Problem(str(source), "file not found")) from None
    except (pa.ArrowException, OSError) as exc:
        raise XmkitError(
            Problem(str(source), f"not a Parquet file: {exc}", expected="a benchmark export")
        ) from None
    raw = (arrow.schema.metadata or {}).get(META_KEY)
    if raw is None:
        raise XmkitError(
            Problem(str(source), "not a benchmark export", expected="a file from benchmark export")
        )
    return arrow.to_pandas(), json.loads(raw)


def _check_rows(table: pd.DataFrame, framework: Framework, source: str) -> list[Problem]:
    """Columns exactly as exported; levels, items, n and scores within bounds."""
    if list(table.columns) != COLUMNS:
        return [
            Problem(
                source,
                "unexpected columns",
                value=", ".join(map(str, table.columns)),
                expected=", ".join(COLUMNS),
            )
        ]
    items = {"overall": {"overall"}, "category": {c.id for c in framework.categories}}
    items["practice"] = {p.id for _, p in framework.practices}
    min_size = framework.thresholds.min_group_size
    problems = [
        Problem(source, "framework version mismatch", column=col, value=str(value), expected=want)
        for col, want in (("framework_id", framework.id), ("framework_version", framework.version))
        for value in sorted(set(table[col].astype(str)) - {want})
    ]
    for row, r in enumerate(table.itertuples(index=False), start=1):
        checks = [
            ("level", r.level in LEVELS, "overall, category or practice"),
            ("item_id", r.item_id in items.get(r.level, ()), "an item of the framework"),
            ("n", pd.notna(r.n) and r.n >= min_size, f"{min_size} or more respondents"),
            (
                "score",
                pd.notna(r.score) and framework.scale.min <= r.score <= framework.scale.max,
                f"a score from {framework.scale.min} to {framework.scale.max}",
            ),
        ]
        problems += [
            Problem(
                source,
                "invalid value",
                row=row,
                column=col,
                value=str(getattr(r, col)),
                expected=exp,
            )
            for col, ok, exp in checks
            if not ok
        ]
    return problems


def import_parquet(
    store: Store, source: str | Path, framework: Framework, key: bytes, replace: bool = False
) -> int:
    """Add every entry of an export to ``store``; nothing is written if anything is wrong."""
    source = Path(source)
    table, info = _read(source)
    problems = []
    if int(info.get("schema", 0)) > SCHEMA_VERSION:
        problems.append(Problem(str(source), "made by a newer xmkit", expected="upgrade xmkit"))
    if info.get("framework_id") and (info["framework_id"], info["framework_version"]) != (
        framework.id,
        framework.version,
    ):
        problems.append(
            Problem(
                str(source),
                f"framework version mismatch: the file holds {info['framework_id']} version "
                f"{info['framework_version']}, the framework in use is {framework.id} version "
                f"{framework.version}",
                expected="exports of the same framework version",
            )
        )
    if not problems:
        problems = _check_rows(table, framework, str(source))
    if problems:
        raise XmkitError(problems)
    entries = [
        Entry(
            **{c: first[c] for c in ENTRY_COLUMNS if c != "entry_id"}
            | {"stage": None if pd.isna(first["stage"]) else int(first["stage"])},
            scores=group[["level", "item_id", "n", "score"]].reset_index(drop=True),
        )
        for _, group in table.groupby("entry_id", sort=True)
        for first in [group.iloc[0]]
    ]
    if info.get("key") and entries:
        from xmkit.benchmark.keys import key_fingerprint

        if info["key"] != key_fingerprint(key):
            raise XmkitError(
                Problem(
                    str(source),
                    "the export was made with another firm key, so its clients cannot be "
                    "matched with this store's",
                    expected="the firm's key in XMKIT_BENCHMARK_KEY (docs/benchmarks.md)",
                )
            )
    store.add(entries, key, replace=replace)
    return len(entries)
