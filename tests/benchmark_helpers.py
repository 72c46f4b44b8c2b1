"""Fictitious organizations and benchmark stores (a DuckDB file, a real PostgreSQL) for tests."""

from __future__ import annotations

import itertools
import zlib
from pathlib import Path

import numpy as np
import pandas as pd
import sqlalchemy as sa

from xmkit.benchmark.aggregate import entry_from_responses
from xmkit.benchmark.keys import client_key
from xmkit.benchmark.store import Store, open_store
from xmkit.framework import Framework

__all__ = ["KEY", "add_org", "fictitious_responses", "new_database", "scan_store"]

KEY = b"test-firm-key-not-a-secret-0123"
COMMENT = "Our manager never listens (fictitious comment)"
_databases = itertools.count()


def fictitious_responses(framework: Framework, level: float, n: int = 12, seed: int = 0):
    """Responses of a made-up organization whose answers centre on ``level``."""
    rng = np.random.default_rng(seed)
    answers = rng.normal(level, 0.8, size=(n, len(framework.question_ids)))
    data = pd.DataFrame(np.clip(np.round(answers), 1, 5), columns=framework.question_ids)
    data.insert(0, "role", ["Manager", "Frontline"] * (n // 2) + ["Manager"] * (n % 2))
    data.insert(0, "unit", "Head office")
    data.insert(0, "respondent_id", [f"FICT-{seed}-{i:03d}" for i in range(n)])
    data["comment"] = COMMENT
    return data


def add_org(store: Store, framework: Framework, client: str, level: float, **fields) -> str:
    """Store one fictitious organization's aggregates through the library API."""
    fields = {"period": "2026 Q1", "industry": "Retail"} | fields
    entry = entry_from_responses(
        fictitious_responses(framework, level, seed=zlib.crc32(client.encode()) % 1000),
        framework,
        client_key=client_key(client, KEY),
        **fields,
    )
    (entry_id,) = store.add([entry], KEY)
    return entry_id


def new_database(server_url: str) -> str:
    """A fresh, empty database on the test server; returns its URL."""
    name = f"bench_{next(_databases)}"
    admin = sa.create_engine(
        server_url.replace("postgresql://", "postgresql+psycopg://"),
        isolation_level="AUTOCOMMIT",
        poolclass=sa.pool.NullPool,
    )
    with admin.connect() as conn:
        conn.execute(sa.text(f"CREATE DATABASE {name}"))
    admin.dispose()
    return server_url.replace("/postgres?", f"/{name}?")


def scan_store(location: str | Path) -> list[str]:
    """Every value in every table of the store, as text (what anyone with the store sees)."""
    store = open_store(location)
    values = []
    with store.transaction() as conn:
        for table in sa.inspect(conn).get_table_names():
            for row in conn.execute(sa.text(f"SELECT * FROM {table}")):
                values += [str(v) for v in row]
    store.engine.dispose()
    return values
