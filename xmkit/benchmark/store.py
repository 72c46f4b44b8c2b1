"""The benchmark store: aggregated results of many organizations, in DuckDB or PostgreSQL.

A store is an embedded DuckDB file (the default) or a PostgreSQL database that a firm shares,
both reached through SQLAlchemy. xmkit creates the schema and records its version in the
``xmkit_meta`` table. Only aggregates are stored: per organization the industry, size band,
region, period, framework id and version, number of respondents and stage, and its overall,
category and practice scores with their n; the client is a keyed hash (:mod:`.keys`).

Writes are transactions. A DuckDB file admits one writing process at a time, so every
operation on it holds an exclusive lock on ``<file>.lock`` for its few milliseconds; on
PostgreSQL writers take a transaction-scoped advisory lock, so two adds at once are
serialized instead of racing between the duplicate check and the insert.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import os
import re
import threading
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property, lru_cache
from pathlib import Path

import pandas as pd
import sqlalchemy as sa

from xmkit.benchmark.keys import key_fingerprint
from xmkit.errors import Problem, XmkitError

__all__ = [
    "ENV",
    "SCHEMA_VERSION",
    "Entry",
    "Query",
    "Store",
    "default_location",
    "open_store",
]

ENV = "XMKIT_BENCHMARK"
SCHEMA_VERSION = 1
WRITE_LOCK_ID = 720_001  # PostgreSQL advisory lock key of xmkit benchmark writers
LEVELS = ("overall", "category", "practice")
Query = Callable[[str, Mapping[str, object]], list[dict]]
"""Runs a plain SQL statement with ``:name`` parameters; returns its rows as dicts."""
_PARAMETER = re.compile(r"(?<![:\w]):(\w+)")  # ``:name``, not ``::type``; DuckDB's is ``$name``

metadata = sa.MetaData()
meta_table = sa.Table(
    "xmkit_meta",
    metadata,
    sa.Column("key", sa.String(40), primary_key=True),
    sa.Column("value", sa.String(200), nullable=False),
)
organizations = sa.Table(
    "xmkit_organizations",
    metadata,
    sa.Column("entry_id", sa.String(32), primary_key=True),
    sa.Column("client_key", sa.String(64), nullable=False),
    sa.Column("period", sa.String(100), nullable=False),
    sa.Column("industry", sa.String(100), nullable=False),
    sa.Column("size_band", sa.String(40), nullable=False),
    sa.Column("region", sa.String(100), nullable=False),
    sa.Column("framework_id", sa.String(40), nullable=False),
    sa.Column("framework_version", sa.String(40), nullable=False),
    sa.Column("respondents", sa.Integer, nullable=False),
    sa.Column("stage", sa.Integer),
    sa.Column("added_at", sa.String(32), nullable=False),
    sa.Column("latest", sa.Boolean, nullable=False, default=False),
    sa.UniqueConstraint("client_key", "period", name="xmkit_organizations_client_period"),
)
scores = sa.Table(
    "xmkit_scores",
    metadata,
    sa.Column("entry_id", sa.String(32), primary_key=True),
    sa.Column("level", sa.String(10), primary_key=True),
    sa.Column("item_id", sa.String(40), primary_key=True),
    sa.Column("n", sa.Integer, nullable=False),
    sa.Column("score", sa.Float, nullable=False),
)
sa.Index("xmkit_organizations_industry", organizations.c.industry)
DERIVED = ("client_key", "latest")  # columns not shown by entries()


@dataclass(frozen=True)
class Entry:
    """One organization's aggregates for one period, ready to store."""

    client_key: str
    period: str
    industry: str
    size_band: str
    region: str
    framework_id: str
    framework_version: str
    respondents: int
    stage: int | None
    scores: pd.DataFrame
    """Tidy: level (overall, category, practice), item_id, n, score."""


def default_location() -> str:
    """``XMKIT_BENCHMARK``, else ``benchmark.duckdb`` in the user's data folder."""
    if os.environ.get(ENV, "").strip():
        return os.environ[ENV].strip()
    import platformdirs

    return str(platformdirs.user_data_path("xmkit") / "benchmark.duckdb")


@lru_cache(maxsize=16)
def _duckdb_engine(url: sa.URL) -> sa.Engine:
    """One engine per DuckDB file for the process (a new one sets up its dialect again). No
    connection is pooled, so none keeps the file open between operations: other processes
    take their turn."""
    return sa.create_engine(url, poolclass=sa.pool.NullPool)


_ATTACHING = threading.Lock()  # one store attached at a time under the name xmkit_store


@lru_cache(maxsize=1)
def _lookup_database():
    """An in-memory DuckDB database kept for the process, to which lookups attach a store.

    A new DuckDB instance (its catalog of built-in functions, its memory) cost as much as a
    lookup's query; attaching a file to this one costs a fraction. One thread: starting
    DuckDB's workers cost more than they gain on a query of this size.
    """
    import duckdb

    return duckdb.connect(":memory:", config={"threads": 1})


def _url(location: str) -> tuple[sa.URL, Path | None]:
    """The SQLAlchemy URL of a location, and the DuckDB file it names (None for PostgreSQL)."""
    if location.startswith(("postgresql://", "postgres://", "postgresql+psycopg://")):
        url = sa.make_url(location)
        return url.set(drivername="postgresql+psycopg"), None
    if "://" in location:
        raise XmkitError(
            Problem(
                location.split("://")[0] + "://...",
                "unknown kind of benchmark store",
                expected="a DuckDB file path or a postgresql:// URL",
            )
        )
    path = Path(location).expanduser().resolve()
    return sa.URL.create("duckdb", database=str(path)), path


class Store:
    """An open benchmark store; use :func:`open_store`."""

    def __init__(self, location: str) -> None:
        self.url, self.path = _url(location)
        self.shown = (
            self.url.render_as_string(hide_password=True) if self.path is None else location
        )
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self._ready = False

    @cached_property
    def engine(self) -> sa.Engine:
        """Made on first use: a report's lookup (:meth:`reading`) of a DuckDB file needs none."""
        return _duckdb_engine(self.url) if self.is_duckdb else sa.create_engine(self.url)

    @property
    def is_duckdb(self) -> bool:
        return self.path is not None

    def problem(self, message: str, expected: str | None = None) -> XmkitError:
        return XmkitError(Problem(self.shown, message, expected=expected))

    @contextmanager
    def _file_lock(self, shared: bool = False) -> Iterator[None]:
        """Writers of a DuckDB file one at a time; readers together, but not during a write."""
        if self.path is None:
            yield
            return
        with open(f"{self.path}.lock", "a+b") as handle:
            fcntl.flock(handle, fcntl.LOCK_SH if shared else fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    @contextmanager
    def transaction(self, write: bool = False) -> Iterator[sa.Connection]:
        """A connection in one transaction (committed on success, rolled back on error).

        The first transaction of a :class:`Store` also creates the schema if missing and
        checks its version, on the same connection: opening a DuckDB file is most of the
        cost of a report's lookup.
        """
        try:
            with self._file_lock(), self.engine.begin() as conn:
                if write and not self.is_duckdb:
                    conn.execute(sa.text(f"SELECT pg_advisory_xact_lock({WRITE_LOCK_ID})"))
                if not self._ready:
                    self._prepare(conn, locked=write or self.is_duckdb)
                yield conn
        except sa.exc.OperationalError as exc:
            raise self.problem(f"cannot use the benchmark store: {exc.orig}") from None

    @contextmanager
    def reading(self) -> Iterator[Query | None]:
        """A query function for a report's lookup, or None while the store holds nothing yet.

        Cheaper than :meth:`transaction`. A DuckDB file is attached read-only to this
        process's lookup database (:func:`_lookup_database`) and detached after: no SQLAlchemy
        dialect to import and set up, no new DuckDB instance, no checkpoint on close, other
        readers alongside. The schema is neither created nor looked up in the catalog, only
        its version checked. Statements are plain SQL with ``:name`` parameters.
        """
        if not self.is_duckdb:
            with self.transaction() as conn:
                yield lambda sql, params: [
                    dict(r._mapping) for r in conn.execute(sa.text(sql), params)
                ]
            return
        import duckdb

        if not self.path.exists():
            yield None
            return
        file = "'" + str(self.path).replace("'", "''") + "'"
        with _ATTACHING, self._file_lock(shared=True), _lookup_database().cursor() as con:
            try:
                con.execute(f"ATTACH {file} AS xmkit_store (READ_ONLY)")
            except duckdb.Error as exc:
                raise self.problem(f"cannot use the benchmark store: {exc}") from None
            try:
                con.execute("USE xmkit_store")

                def query(sql: str, params: Mapping[str, object]) -> list[dict]:
                    cursor = con.execute(_PARAMETER.sub(r"$\1", sql), dict(params))
                    names = [d[0] for d in cursor.description]
                    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

                try:
                    meta = dict(con.execute('SELECT "key", "value" FROM xmkit_meta').fetchall())
                except duckdb.CatalogException:  # no tables: nothing stored yet
                    meta = None
                if meta is not None:
                    self._check_version(meta)
                yield query if meta is not None else None
            finally:  # the file is free for writers again
                con.execute("USE memory")
                con.execute("DETACH xmkit_store")

    # ---- schema ------------------------------------------------------------------------

    def _prepare(self, conn: sa.Connection, locked: bool) -> None:
        """Create the tables on first use; refuse a store made by a newer xmkit."""
        exists = sa.text(
            "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'xmkit_meta'"
            if self.is_duckdb
            else "SELECT count(*) FROM pg_tables WHERE tablename = 'xmkit_meta' "
            "AND schemaname = current_schema()"
        )
        if not conn.execute(exists).scalar():
            if not locked:  # serialize with other writers, then look again
                conn.execute(sa.text(f"SELECT pg_advisory_xact_lock({WRITE_LOCK_ID})"))
            if not conn.execute(exists).scalar():
                metadata.create_all(conn)
                conn.execute(
                    sa.insert(meta_table), [{"key": "schema", "value": str(SCHEMA_VERSION)}]
                )
        self._check_version(self._meta(conn))
        self._ready = True

    def _check_version(self, meta: dict[str, str]) -> None:
        version = int(meta.get("schema", "0"))
        if version > SCHEMA_VERSION:
            raise self.problem(
                f"the store has schema version {version}, made by a newer xmkit",
                expected=f"version {SCHEMA_VERSION} or older (upgrade xmkit)",
            )

    def _meta(self, conn: sa.Connection) -> dict[str, str]:
        # plain SQL: the DuckDB dialect would compile a SQLAlchemy select on every call
        return dict(conn.execute(sa.text('SELECT "key", "value" FROM xmkit_meta')).all())

    def _bind(self, conn: sa.Connection, framework: str, version: str, fingerprint: str) -> None:
        """The first add fixes the store's framework and key; later ones must match them."""
        meta = self._meta(conn)
        wanted = {"framework_id": framework, "framework_version": version, "key": fingerprint}
        if "framework_id" not in meta:
            conn.execute(sa.insert(meta_table), [{"key": k, "value": v} for k, v in wanted.items()])
            return
        if (meta["framework_id"], meta["framework_version"]) != (framework, version):
            raise self.problem(
                f"framework version mismatch: the store holds results of {meta['framework_id']} "
                f"version {meta['framework_version']}, this assessment used {framework} version "
                f"{version}; scores of different framework versions are not comparable",
                expected=f"an assessment scored with {meta['framework_id']} "
                f"{meta['framework_version']}, or another store (--benchmark)",
            )
        if meta["key"] != fingerprint:
            raise self.problem(
                "the store was filled with another firm key, so clients cannot be recognized",
                expected="the firm's key in XMKIT_BENCHMARK_KEY (docs/benchmarks.md)",
            )

    def binding(self) -> dict[str, str]:
        """The store's framework id, version and key fingerprint (empty before the first add)."""
        with self.transaction() as conn:
            meta = self._meta(conn)
        return {k: meta[k] for k in ("framework_id", "framework_version", "key") if k in meta}

    # ---- writing -----------------------------------------------------------------------

    def add(self, entries: list[Entry], key: bytes, replace: bool = False) -> list[str]:
        """Store entries in one transaction; an organization and period already there is
        refused unless ``replace`` (then its old entry is removed first). Returns entry ids."""
        fingerprint = key_fingerprint(key)
        ids = []
        with self.transaction(write=True) as conn:
            for entry in entries:
                self._bind(conn, entry.framework_id, entry.framework_version, fingerprint)
                old = conn.execute(
                    sa.select(organizations.c.entry_id).where(
                        organizations.c.client_key == entry.client_key,
                        organizations.c.period == entry.period,
                    )
                ).scalar()
                if old and not replace:
                    raise self.problem(
                        f"this organization is already stored for period {entry.period!r} "
                        f"(entry {old})",
                        expected="another period, or --replace to overwrite that entry",
                    )
                if old:
                    self._delete(conn, [old])
                ids.append(self._insert(conn, entry))
                self._mark_latest(conn, [entry.client_key])
        return ids

    def _mark_latest(self, conn: sa.Connection, client_keys: list[str]) -> None:
        """Flag each organization's latest entry (by period, then time added), so a lookup
        needs no window over the whole table."""
        o = organizations
        for key in dict.fromkeys(client_keys):
            newest = (
                sa.select(o.c.entry_id)
                .where(o.c.client_key == key)
                .order_by(o.c.period.desc(), o.c.added_at.desc(), o.c.entry_id.desc())
                .limit(1)
                .scalar_subquery()
            )
            conn.execute(
                sa.update(o).where(o.c.client_key == key).values(latest=o.c.entry_id == newest)
            )

    def _insert(self, conn: sa.Connection, entry: Entry) -> str:
        entry_id = uuid.uuid4().hex[:12]
        conn.execute(
            sa.insert(organizations),
            [
                {
                    "entry_id": entry_id,
                    "client_key": entry.client_key,
                    "period": entry.period,
                    "industry": entry.industry,
                    "size_band": entry.size_band,
                    "region": entry.region,
                    "framework_id": entry.framework_id,
                    "framework_version": entry.framework_version,
                    "respondents": int(entry.respondents),
                    "stage": None if entry.stage is None else int(entry.stage),
                    "added_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                    "latest": False,
                }
            ],
        )
        rows = [
            {"entry_id": entry_id, "level": r.level, "item_id": r.item_id, "n": int(r.n)}
            | {"score": float(r.score)}
            for r in entry.scores.itertuples(index=False)
        ]
        conn.execute(sa.insert(scores), rows)
        return entry_id

    def _delete(self, conn: sa.Connection, entry_ids: list[str]) -> int:
        conn.execute(sa.delete(scores).where(scores.c.entry_id.in_(entry_ids)))
        result = conn.execute(
            sa.delete(organizations).where(organizations.c.entry_id.in_(entry_ids))
        )
        return int(result.rowcount)

    def remove(self, entry_ids: list[str] = (), client_key: str = "", period: str = "") -> int:
        """Remove entries by id, or the entries of one client (optionally one period)."""
        with self.transaction(write=True) as conn:
            o = organizations
            query = sa.select(o.c.entry_id, o.c.client_key).where(o.c.entry_id.in_(entry_ids))
            if client_key:
                mine = o.c.client_key == client_key
                query = sa.select(o.c.entry_id, o.c.client_key).where(
                    sa.or_(o.c.entry_id.in_(entry_ids), mine & (o.c.period == period))
                    if period
                    else sa.or_(o.c.entry_id.in_(entry_ids), mine)
                )
            found = conn.execute(query).all()
            if not found:
                return 0
            removed = self._delete(conn, [r.entry_id for r in found])
            self._mark_latest(conn, [r.client_key for r in found])
            return removed

    # ---- reading -----------------------------------------------------------------------

    def entries(self) -> pd.DataFrame:
        """One row per stored organization and period: descriptive columns, no scores."""
        cols = [c for c in organizations.c if c.name not in DERIVED]
        with self.transaction() as conn:
            rows = conn.execute(
                sa.select(*cols).order_by(
                    organizations.c.industry, organizations.c.period, organizations.c.entry_id
                )
            ).all()
        return pd.DataFrame(rows, columns=[c.name for c in cols])

    def table(self) -> pd.DataFrame:
        """Every stored score with its organization's columns: the tidy export table."""
        kept = [c for c in organizations.c if c.name != "latest"]
        query = (
            sa.select(*kept, scores.c.level, scores.c.item_id, scores.c.n)
            .add_columns(scores.c.score)
            .join_from(organizations, scores, organizations.c.entry_id == scores.c.entry_id)
        )
        with self.transaction() as conn:
            rows = conn.execute(
                query.order_by(organizations.c.entry_id, scores.c.level, scores.c.item_id)
            ).all()
        return pd.DataFrame(
            rows, columns=[*(c.name for c in kept), "level", "item_id", "n", "score"]
        )


def open_store(location: str | Path | None = None, check: bool = True) -> Store:
    """Open (and on first use create) the store at ``location``, else the default one.

    ``check`` connects at once, so a wrong location fails here; without it the first
    operation creates or checks the schema.
    """
    store = Store(str(location) if location else default_location())
    if check:
        with store.transaction():
            pass
    return store
