"""A ``--resume`` with nothing to do, told from the manifest before any data is read.

A batch that ends records in its ``manifest.json`` what produced the folder: a key of the
command (source, output folder, working folder, the options that change what is shown, the
xmkit version) and a stamp of every file it read (its size and SHA-256, taken before reading
it; for a source folder, the list of inputs in it), the templates included. A later
``--resume`` with the same key, every stamp unchanged, every report and portfolio file still
with its recorded hash, and no unit failed last time has nothing to render: :func:`up_to_date`
says so without importing pandas, the notebook engine or starting a worker, so a no-op resume
costs Python's start-up and a few hashes. Anything else (a changed answer, option, template or
report) goes the full way, which renders exactly the units that changed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import sys
import time
from collections.abc import Iterable, Mapping
from dataclasses import fields
from pathlib import Path

from xmkit import __version__
from xmkit.batch.lock import FolderLock, clean_leftovers
from xmkit.batch.manifest import MANIFEST, PORTFOLIO, file_hash, intact, write_manifest
from xmkit.batch.results import DONE, SKIPPED, UNCHANGED, BatchResult, UnitResult
from xmkit.render.templates import template_path

__all__ = [
    "RESPONSE_SUFFIXES",
    "RUN_ONLY",
    "TEMPLATES",
    "folder_inputs",
    "run_key",
    "stamp",
    "up_to_date",
]

RESPONSE_SUFFIXES = {".csv", ".txt", ".tsv", ".xlsx", ".xlsm"}
RUN_ONLY = frozenset(
    {"jobs", "resume", "wait", "executor", "scheduler", "recycle_after", "timeout"}
)
"""Options that change how a batch runs, not what a report shows (left out of input hashes)."""
TEMPLATES = ("report.ipynb", "portfolio.ipynb")
ASSESSMENT = "assessment.yaml"


def folder_inputs(folder: Path) -> list[str]:
    """What in a source folder decides what a batch reads: its responses files, its
    ``assessment.yaml`` and those of its sub-folders (a file added or removed changes it)."""
    names = [
        p.name
        for p in folder.iterdir()
        if p.suffix.lower() in RESPONSE_SUFFIXES or p.name == ASSESSMENT
    ]
    names += [f"{p.parent.name}/{ASSESSMENT}" for p in folder.glob(f"*/{ASSESSMENT}")]
    return sorted(names)


def stamp(paths: Iterable[str | Path | None]) -> dict[str, object]:
    """``{absolute path: stamp}`` of files about to be read: ``[size, sha256]`` for a file
    (no hash above the size limit), the inputs in it for a folder (:func:`folder_inputs`),
    None for anything else (missing, a device)."""
    from xmkit.io.limits import max_file_bytes  # yaml: not for a no-op resume, which only checks

    stamps: dict[str, object] = {}
    for path in paths:
        if path is None:
            continue
        path = Path(path).absolute()
        if path.is_dir():
            stamps[str(path)] = {"inputs": folder_inputs(path)}
        elif path.is_file():  # a file above the size limit is refused unread: nor hashed
            size = path.stat().st_size
            stamps[str(path)] = [size, file_hash(path) if size <= max_file_bytes() else ""]
        else:
            stamps[str(path)] = None
    return stamps


def _holds(recorded: object) -> bool:
    """Every recorded stamp still matches (sizes compared before anything is hashed)."""
    if not isinstance(recorded, dict):
        return False
    for name, before in recorded.items():
        path = Path(name)
        if isinstance(before, list) and len(before) == 2:
            try:
                if path.stat().st_size != before[0] or file_hash(path) != before[1]:
                    return False
            except OSError:
                return False
        elif stamp([path]).get(name) != before:
            return False
    return True


def run_key(source: str | Path, output_dir: str | Path | None, given: Mapping) -> str:
    """What a batch was asked to do, apart from the files it reads: the same key and the same
    stamps give the same outputs."""
    shown = {k: v for k, v in given.items() if v is not None and k not in RUN_ONLY}
    key = {
        "xmkit": __version__,
        "cwd": os.getcwd(),
        "source": str(Path(source).absolute()),
        "output": str(Path(output_dir).absolute()) if output_dir is not None else None,
        "options": shown,
    }
    text = json.dumps(key, sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _read(folder: Path) -> dict:
    try:
        data = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _results(folder: Path, manifest: dict) -> dict[str, UnitResult] | None:
    """The units (by manifest key) as this run reports them, or None if any needs rendering
    again."""
    names = {f.name for f in fields(UnitResult)}
    units = manifest.get("units")
    if not isinstance(units, dict):
        return None
    results = {}
    for name, entry in units.items():
        if not isinstance(entry, dict):
            return None
        result = UnitResult(**{k: v for k, v in entry.items() if k in names})
        if result.status in {DONE, UNCHANGED}:
            if not _intact_outputs(folder, result):
                return None
            result.status, result.seconds, result.retried = UNCHANGED, 0.0, None
        elif result.status != SKIPPED:
            return None  # failed last time: tried again by the full run
        results[name] = result
    return results


def _intact_outputs(folder: Path, result: UnitResult) -> bool:
    """A rendered unit still has every output it recorded, with the recorded hash."""
    recorded = result.hashes or {}
    return (
        bool(result.outputs) and set(result.outputs) == set(recorded) and intact(folder, recorded)
    )


def _current(folder: Path, key: str) -> tuple[dict, dict[str, UnitResult]] | None:
    """The folder's manifest and units if the run recorded there is this one and nothing
    changed since."""
    manifest = _read(folder)
    record = manifest.get("resume")
    if not manifest.get("finished") or not isinstance(record, dict) or record.get("key") != key:
        return None
    inputs = record.get("inputs")
    templates = {str(template_path(name).absolute()) for name in TEMPLATES}
    if not isinstance(inputs, dict) or not templates <= set(inputs) or not _holds(inputs):
        return None
    portfolio = manifest.get("portfolio")
    if not isinstance(portfolio, dict) or not intact(folder, portfolio.get("hashes")):
        return None
    units = _results(folder, manifest)
    return None if units is None else (manifest, units)


def up_to_date(
    source: str | Path, output_dir: str | Path | None, given: Mapping, quiet: bool = False
) -> BatchResult | None:
    """The result of a ``--resume`` with nothing to render, or None when there is something
    (or when this cannot be told cheaply: several clients, a failed unit, no record).

    Holds the folder's lock while it checks, as a full run would, so a run writing to the
    folder is reported, not mistaken for an up-to-date one.
    """
    if not given.get("resume"):
        return None
    start = time.perf_counter()
    key = run_key(source, output_dir, given)
    if output_dir is not None:
        folders = [Path(output_dir)]
    else:  # the default folder is reports/<client>: the one whose manifest has this key
        folders = [p.parent for p in Path("reports").glob(f"*/{MANIFEST}")]
    for folder in folders:
        if (_read(folder).get("resume") or {}).get("key") != key:
            continue
        with FolderLock(folder, wait=bool(given.get("wait"))):
            current = _current(folder, key)  # read again now that no other run can write
            if current is None:
                return None
            manifest, units = current
            if (removed := clean_leftovers(folder)) and not quiet:
                print(
                    f"removed {removed} temporary file(s) left by an interrupted run in {folder}",
                    file=sys.stderr,
                )
            now = dt.datetime.now().isoformat(timespec="seconds")
            manifest.update(started=now, finished=now)
            manifest["units"] = {n: {**manifest["units"][n], **vars(u)} for n, u in units.items()}
            write_manifest(folder, manifest, durable=False)  # the earlier one is as good
        client = str(manifest.get("client", ""))
        if not quiet:
            print(
                f"{client}: nothing to render in {folder}: every unit report and the portfolio "
                "are up to date (no worker started)",
                file=sys.stderr,
                flush=True,
            )
        portfolio = {Path(name).suffix.lstrip("."): folder / name for name in PORTFOLIO}
        listed = sorted(units.values(), key=lambda r: str(r.unit))
        return BatchResult(client, folder, listed, time.perf_counter() - start, portfolio)
    return None
