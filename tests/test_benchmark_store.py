"""The benchmark store on both back ends: a DuckDB file and a real PostgreSQL server."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
from benchmark_helpers import (
    COMMENT,
    KEY,
    add_org,
    fictitious_responses,
    scan_store,
)

from xmkit.benchmark.aggregate import entry_from_responses
from xmkit.benchmark.exchange import export_parquet, import_parquet
from xmkit.benchmark.keys import client_key
from xmkit.benchmark.store import SCHEMA_VERSION, open_store
from xmkit.errors import XmkitError

XMKIT = Path(sys.executable).parent / "xmkit"


pytestmark = pytest.mark.usefixtures("firm_key")


def cli(*args: object, check: bool = False) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [str(XMKIT), *map(str, args)], capture_output=True, text=True, timeout=300
    )
    assert "Traceback" not in result.stderr
    if check:
        assert result.returncode == 0, result.stderr
    return result


@pytest.fixture
def org_file(tmp_path, framework) -> Path:
    path = tmp_path / "org.csv"
    fictitious_responses(framework, 3.0, n=8).to_csv(path, index=False)
    return path


def test_add_stores_aggregates_with_n_and_refuses_the_same_org_and_period_twice(location, org_file):
    add = ["benchmark", "add", org_file, "--client", "Fictitious Co", "--industry", "Retail"]
    add += ["--period", "2026 Q1", "--size", "1000-4999", "--region", "EMEA"]
    add += ["--benchmark", location]
    cli(*add, check=True)
    again = cli(*add[:3], "--client", "  FICTITIOUS   co ", *add[5:])
    assert again.returncode == 1
    assert "already stored for period '2026 Q1'" in again.stderr
    assert "--replace" in again.stderr
    cli(*add, "--replace", check=True)
    cli(*add, "--period", "2026 Q2", check=True)  # the last --period counts

    store = open_store(location)
    entries = store.entries()
    assert sorted(entries["period"]) == ["2026 Q1", "2026 Q2"]
    assert set(entries["size_band"]) == {"1000-4999"} and set(entries["region"]) == {"EMEA"}
    table = store.table()
    assert set(table["level"]) == {"overall", "category", "practice"}
    assert (table["n"] == 8).all()
    one = table[table["period"] == "2026 Q1"]
    assert len(one) == 1 + 4 + 12  # overall, categories, practices of the bundled framework
    assert set(table["client_key"]) == {client_key("Fictitious Co", KEY)}
    listed = cli("benchmark", "list", "--benchmark", location, check=True).stdout
    assert "2 entries" in listed and "Retail" in listed and "score" not in listed


def test_the_store_holds_no_respondent_id_answer_or_comment(location, org_file, framework):
    cli("benchmark", "add", org_file, "--client", "Fictitious Co", "--industry", "Retail",
        "--period", "2026 Q1", "--benchmark", location, check=True)  # fmt: skip
    values = scan_store(location)
    data = pd.read_csv(org_file)
    leaked = set(data["respondent_id"]) | {COMMENT, "Fictitious Co", "Head office"}
    assert not leaked & set(values)
    assert not [v for v in values if COMMENT[:12] in v or "FICT-" in v]
    store = open_store(location)
    assert not set(framework.question_ids) & set(store.table()["item_id"])
    with store.transaction() as conn:
        columns = {
            c
            for t in sa.inspect(conn).get_table_names()
            for c in conn.execute(sa.text(f"SELECT * FROM {t} LIMIT 0")).keys()  # noqa: SIM118
        }
    assert not columns & {"respondent_id", "comment", "answer", "question_id", "unit", "role"}


def test_groups_below_the_minimum_size_are_never_stored(location, framework, tmp_path):
    small = tmp_path / "small.csv"
    fictitious_responses(framework, 3.0, n=4).to_csv(small, index=False)
    refused = cli("benchmark", "add", small, "--client", "Tiny Fictitious", "--industry",
                  "Retail", "--period", "2026 Q1", "--benchmark", location)  # fmt: skip
    assert refused.returncode == 1
    assert "only 4 respondents" in refused.stderr and "at least 5" in refused.stderr
    # a practice answered by only 3 of 8 respondents is left out; the rest is stored
    data = fictitious_responses(framework, 3.0, n=8)
    practice = framework.questions[framework.questions["practice_id"] == "anchor_metrics"]
    data.loc[3:, practice["question_id"]] = None
    entry = entry_from_responses(
        data, framework, client_key="k", period="2026 Q1", industry="Retail"
    )
    assert "anchor_metrics" not in set(entry.scores["item_id"])
    assert (entry.scores["n"] >= 5).all()
    store = open_store(location)
    store.add([entry], KEY)
    assert "anchor_metrics" not in set(store.table()["item_id"])
    assert len(store.entries()) == 1


def test_a_framework_version_mismatch_is_refused_clearly(location, org_file, tmp_path):
    from importlib import resources

    text = (resources.files("xmkit") / "frameworks" / "ex_cx_alignment.yaml").read_text()
    newer = tmp_path / "newer.yaml"
    newer.write_text(text.replace("version: 1.0.0", "version: 1.1.0", 1))
    base = ["benchmark", "add", org_file, "--industry", "Retail", "--period", "2026 Q1"]
    cli(*base, "--client", "Fictitious A", "--benchmark", location, check=True)
    refused = cli(*base, "--client", "Fictitious B", "--framework", newer, "--benchmark", location)
    assert refused.returncode == 1
    assert "framework version mismatch" in refused.stderr
    assert "version 1.0.0" in refused.stderr and "version 1.1.0" in refused.stderr
    assert len(open_store(location).entries()) == 1


def test_remove_by_id_or_by_client(location, framework):
    store = open_store(location)
    first = add_org(store, framework, "Fictitious A", 3.0)
    add_org(store, framework, "Fictitious B", 3.0)
    add_org(store, framework, "Fictitious B", 3.0, period="2026 Q2")
    cli("benchmark", "remove", first, "--benchmark", location, check=True)
    assert first not in set(store.entries()["entry_id"])
    out = cli("benchmark", "remove", "--client", "fictitious b", "--benchmark", location)
    assert out.returncode == 0 and "removed 2 entries" in out.stdout
    assert store.entries().empty
    assert store.table().empty
    none = cli("benchmark", "remove", "nosuchid", "--benchmark", location)
    assert none.returncode == 1 and "removed 0 entries" in none.stdout


def test_export_then_import_moves_a_library_between_stores(location, framework, tmp_path):
    source = open_store(tmp_path / "colleague.duckdb")
    for i in range(3):
        add_org(source, framework, f"Fictitious {i}", 2.0 + i, industry="Banking")
    exported = tmp_path / "library.parquet"
    assert export_parquet(source, exported) == 3
    cli("benchmark", "import", exported, "--benchmark", location, check=True)
    target = open_store(location)
    columns = ["client_key", "period", "level", "item_id", "n", "score"]
    pd.testing.assert_frame_equal(
        target.table()[columns].sort_values(columns[:4]).reset_index(drop=True),
        source.table()[columns].sort_values(columns[:4]).reset_index(drop=True),
    )
    again = cli("benchmark", "import", exported, "--benchmark", location)
    assert again.returncode == 1 and "already stored" in again.stderr
    assert len(target.entries()) == 3  # nothing half-written
    cli("benchmark", "import", exported, "--replace", "--benchmark", location, check=True)
    assert len(target.entries()) == 3
    out = cli("benchmark", "export", tmp_path / "back.parquet", "--benchmark", location)
    assert "wrote 3 entries" in out.stdout


def test_import_refuses_a_tampered_export_before_writing(location, framework, tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    source = open_store(tmp_path / "colleague.duckdb")
    add_org(source, framework, "Fictitious A", 3.0)
    exported = tmp_path / "library.parquet"
    export_parquet(source, exported)
    arrow = pq.read_table(exported)

    def tampered(table: pd.DataFrame) -> Path:
        path = tmp_path / "tampered.parquet"
        frame = pa.Table.from_pandas(table, preserve_index=False)
        pq.write_table(frame.replace_schema_metadata(arrow.schema.metadata), path)
        return path

    smuggled = arrow.to_pandas().assign(respondent_id="FICT-1")
    out = cli("benchmark", "import", tampered(smuggled), "--benchmark", location)
    assert out.returncode == 1 and "unexpected columns" in out.stderr
    small = arrow.to_pandas()
    small.loc[0, "n"] = 3  # a group below the minimum size
    with pytest.raises(XmkitError, match=r"row 1, column 'n'.*5 or more respondents"):
        import_parquet(open_store(location), tampered(small), framework, KEY)
    assert open_store(location).entries().empty


def test_another_firm_key_is_refused(location, framework, monkeypatch, org_file):
    add_org(open_store(location), framework, "Fictitious A", 3.0)
    monkeypatch.setenv("XMKIT_BENCHMARK_KEY", "another-firms-key-0000000000")
    out = cli("benchmark", "add", org_file, "--client", "Fictitious B", "--industry", "Retail",
              "--period", "2026 Q1", "--benchmark", location)  # fmt: skip
    assert out.returncode == 1 and "another firm key" in out.stderr


def test_a_store_from_a_newer_xmkit_is_refused(location):
    store = open_store(location)
    with store.transaction(write=True) as conn:
        conn.execute(
            sa.text("UPDATE xmkit_meta SET value = :v WHERE key = 'schema'"),
            {"v": str(SCHEMA_VERSION + 1)},
        )
    with pytest.raises(XmkitError, match="made by a newer xmkit"):
        open_store(location)


ADD_ONE = """
import sys
from benchmark_helpers import add_org
from xmkit.benchmark.store import open_store
from xmkit.framework import load_framework
from xmkit.errors import XmkitError
store, framework = open_store(sys.argv[1]), load_framework()
sys.stdout.write(sys.argv[2] + " ready\\n"); sys.stdout.flush()
sys.stdin.readline()  # both processes start adding at the same moment
for i in range(5):
    try:
        add_org(store, framework, sys.argv[2] + str(i), 3.0)
        add_org(store, framework, "Fictitious Shared", 3.0, period="2026 Q" + str(i % 4 + 1))
    except XmkitError as exc:
        print("refused:", exc)
"""


def test_two_processes_adding_at_once_are_both_stored(location):
    open_store(location)  # schema in place
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parent)}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", ADD_ONE, location, name],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for name in ("Fictitious A", "Fictitious B")
    ]
    for proc in procs:
        assert proc.stdout.readline().endswith("ready\n")
    for proc in procs:
        proc.stdin.write("go\n")
        proc.stdin.flush()
    outputs = [proc.communicate(timeout=240) for proc in procs]
    assert all(proc.returncode == 0 for proc in procs), outputs
    refused = sum(out.count("refused:") for out, _ in outputs)
    entries = open_store(location).entries()
    # 10 distinct organizations, and the shared one once per period (4 periods): the second
    # process's attempts at a period already taken are refused, never stored twice
    assert len(entries) == 10 + 4
    assert refused == 10 - 4
    assert all("already stored" in line for out, _ in outputs for line in out.splitlines())


def test_an_unreachable_postgresql_store_is_a_clear_error(tmp_path, org_file):
    url = f"postgresql://nobody@/postgres?host={tmp_path}"
    out = cli("benchmark", "list", "--benchmark", url)
    assert out.returncode == 1
    assert "cannot use the benchmark store" in out.stderr
    out = cli("benchmark", "list", "--benchmark", "mysql://host/db")
    assert out.returncode == 1 and "unknown kind of benchmark store" in out.stderr
