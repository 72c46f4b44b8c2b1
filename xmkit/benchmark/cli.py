"""``xmkit benchmark add|list|remove|export|import``: keep the firm's benchmark library.

Registered by :mod:`xmkit.cli`; the database libraries are imported only when a subcommand
runs, so ``xmkit --help`` stays quick.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from xmkit.errors import Problem, XmkitError

__all__ = ["add_benchmark_parser", "check_store", "minimum_arg"]

STORE_HELP = (
    "benchmark store: a DuckDB file or a postgresql:// URL (default: $XMKIT_BENCHMARK, else "
    "benchmark.duckdb in the user data folder)"
)


def minimum_arg(text: str) -> int:
    """``--benchmark-min``: an integer of at least 5."""
    from xmkit.benchmark.compare import FLOOR

    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError("expected a whole number") from None
    if value < FLOOR:
        raise argparse.ArgumentTypeError(f"expected {FLOOR} or more (found {value})")
    return value


def _store_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--benchmark", metavar="STORE", help=STORE_HELP)


def _framework_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--framework",
        metavar="FILE",
        type=Path,
        help="framework YAML (default: the assessment's, else the bundled one)",
    )


def add_benchmark_parser(sub, epilog: str) -> None:
    """Add ``benchmark`` and its subcommands to the ``xmkit`` subparsers ``sub``."""
    parent = sub.add_parser(
        "benchmark",
        help="keep the firm's benchmark: aggregated results of many organizations",
        description="Store the aggregated results of assessments (never responses, names or "
        "comments) in a DuckDB file or a PostgreSQL database, to show later clients their "
        "percentile ranks (xmkit report --industry). See docs/benchmarks.md.",
        epilog=epilog,
    )
    bsub = parent.add_subparsers(dest="benchmark_command", required=True, parser_class=type(parent))

    p = bsub.add_parser(
        "add",
        help="store an assessment's aggregated scores",
        description="Score an assessment (folder or assessment.yaml) or responses file and "
        "store its overall, category and practice scores with their n, stage, framework, "
        "period, industry, size band and region. The client is stored as a keyed hash: the "
        "same organization and period is refused a second time unless --replace.",
        epilog=epilog,
    )
    p.add_argument("source", type=Path, help="assessment folder / yaml, or responses file")
    p.add_argument("--client", help="client name (default: the assessment's)")
    p.add_argument("--industry", help="industry (default: industry: of the assessment)")
    p.add_argument("--size", default="", metavar="BAND", help="size band, e.g. 1000-4999")
    p.add_argument("--region", default="", help="region, e.g. EMEA")
    p.add_argument("--period", help="assessment period (default: the assessment's)")
    p.add_argument("--replace", action="store_true", help="overwrite a stored entry")
    p.add_argument(
        "--min-group-size",
        type=int,
        metavar="N",
        help="smallest group stored (default: the assessment's, else the framework's; never "
        "below the framework's)",
    )
    _framework_arg(p)
    _store_arg(p)
    p.set_defaults(run=_cmd_add)

    p = bsub.add_parser(
        "list",
        help="list stored entries (no scores)",
        description="List stored entries: "
        "id, period, industry, size band, region, framework, respondents. Scores and client "
        "names are not shown.",
        epilog=epilog,
    )
    _store_arg(p)
    p.set_defaults(run=_cmd_list)

    p = bsub.add_parser(
        "remove",
        help="remove entries by id, or a client's",
        description="Remove entries by their id (see benchmark list), or every entry of a "
        "client (--client, optionally --period).",
        epilog=epilog,
    )
    p.add_argument("entries", nargs="*", metavar="ID", help="entry ids")
    p.add_argument("--client", help="remove this client's entries")
    p.add_argument("--period", default="", help="with --client: only this period")
    _store_arg(p)
    p.set_defaults(run=_cmd_remove)

    p = bsub.add_parser(
        "export",
        help="write the store to a Parquet file",
        description="Write every entry to FILE.parquet, to share with another consultant "
        "(who needs the same firm key).",
        epilog=epilog,
    )
    p.add_argument("file", type=Path, help="output .parquet file")
    _store_arg(p)
    p.set_defaults(run=_cmd_export)

    p = bsub.add_parser(
        "import",
        help="add the entries of an exported Parquet file",
        description="Add every entry of a benchmark export. Everything is checked first and "
        "written in one transaction; an organization and period already stored is refused "
        "unless --replace.",
        epilog=epilog,
    )
    p.add_argument("file", type=Path, help="a .parquet file from benchmark export")
    p.add_argument("--replace", action="store_true", help="overwrite entries already stored")
    _framework_arg(p)
    _store_arg(p)
    p.set_defaults(run=_cmd_import)


def check_store(location: str | None) -> str:
    """Open the store and read the firm key, so a report fails early and clearly; returns
    the store's location made absolute (a report's kernel may run in another folder)."""
    from xmkit.benchmark.keys import firm_key
    from xmkit.benchmark.store import default_location, open_store

    firm_key()
    location = location or default_location()
    open_store(location)
    return location if "://" in location else str(Path(location).resolve())


def _cmd_add(args: argparse.Namespace) -> int:
    from xmkit.benchmark.aggregate import entry_from_responses
    from xmkit.benchmark.keys import client_key, firm_key
    from xmkit.benchmark.store import open_store
    from xmkit.framework import load_framework
    from xmkit.io.assessment import load_assessment
    from xmkit.io.responses import read_responses

    source, client, period, industry = args.source, args.client, args.period, args.industry
    framework, min_size = args.framework, args.min_group_size
    if source.is_dir() or source.suffix.lower() in {".yaml", ".yml"}:
        assessment = load_assessment(source)
        source = assessment.responses_path
        client = client or assessment.client
        period = period or assessment.period
        industry = industry or assessment.industry
        framework = framework or assessment.framework_path
        min_size = min_size or assessment.min_group_size
    missing = [
        flag
        for flag, value in (("--client", client), ("--period", period), ("--industry", industry))
        if not (value or "").strip()
    ]
    if missing:
        raise XmkitError(
            Problem(
                str(args.source),
                f"{', '.join(missing)} not given",
                expected="the flag, or the key in assessment.yaml",
            )
        )
    framework_obj = load_framework(framework)
    loaded = read_responses(source, framework_obj)
    if loaded.problems:
        raise XmkitError(loaded.problems)
    key = firm_key()
    entry = entry_from_responses(
        loaded.data,
        framework_obj,
        client_key=client_key(client, key),
        period=period.strip(),
        industry=industry.strip(),
        size_band=args.size.strip(),
        region=args.region.strip(),
        min_group_size=min_size,
        source=str(source),
    )
    store = open_store(args.benchmark)
    (entry_id,) = store.add([entry], key, replace=args.replace)
    print(
        f"stored entry {entry_id}: {entry.industry}, {entry.period}, {entry.respondents} "
        f"respondents, {len(entry.scores)} scores, in {store.shown}"
    )
    return 0


def _cmd_list(args: argparse.Namespace) -> int:
    from xmkit.benchmark.store import open_store

    store = open_store(args.benchmark)
    entries = store.entries()
    if entries.empty:
        print(f"{store.shown}: no entries")
        return 0
    print(entries.drop(columns=["framework_id"]).to_string(index=False))
    print(f"\n{len(entries)} entries in {store.shown}")
    return 0


def _cmd_remove(args: argparse.Namespace) -> int:
    from xmkit.benchmark.keys import client_key, firm_key
    from xmkit.benchmark.store import open_store

    if not args.entries and not args.client:
        print("xmkit benchmark remove: error: give entry ids or --client", file=sys.stderr)
        return 2
    store = open_store(args.benchmark)
    key = client_key(args.client, firm_key()) if args.client else ""
    removed = store.remove(args.entries, client_key=key, period=args.period.strip())
    print(f"removed {removed} entries from {store.shown}")
    return 0 if removed else 1


def _cmd_export(args: argparse.Namespace) -> int:
    from xmkit.benchmark.exchange import export_parquet
    from xmkit.benchmark.store import open_store

    if args.file.suffix.lower() != ".parquet":
        raise XmkitError(Problem(str(args.file), "unsupported format", expected="a .parquet file"))
    store = open_store(args.benchmark)
    count = export_parquet(store, args.file)
    print(f"wrote {count} entries to {args.file}")
    return 0


def _cmd_import(args: argparse.Namespace) -> int:
    from xmkit.benchmark.exchange import import_parquet
    from xmkit.benchmark.keys import firm_key
    from xmkit.benchmark.store import open_store
    from xmkit.framework import load_framework

    store = open_store(args.benchmark)
    count = import_parquet(
        store, args.file, load_framework(args.framework), firm_key(), replace=args.replace
    )
    print(f"imported {count} entries into {store.shown}")
    return 0
