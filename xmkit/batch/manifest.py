"""``manifest.json``: what a batch rendered, with a hash of every output it wrote.

``--resume`` trusts an output only if its file still has the hash recorded here, so a report
overwritten by hand or by another run is rendered again. The manifest is written atomically and
durably (file and folder flushed to disk), at most once a second while units finish and always
when the run ends, however it ends short of SIGKILL.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import time
from collections.abc import Iterable, Mapping
from dataclasses import asdict
from importlib.metadata import version
from pathlib import Path

from xmkit.errors import Problem, XmkitError
from xmkit.io.iorw import atomic_write_bytes

__all__ = [
    "MANIFEST",
    "PORTFOLIO",
    "Manifest",
    "file_hash",
    "hashes",
    "intact",
    "read_manifest",
    "write_manifest",
]

MANIFEST = "manifest.json"
PORTFOLIO = ("index.html", "portfolio.csv", "portfolio.xlsx")
"""The portfolio files, replaced together and recorded with their hashes."""


def file_hash(path: Path) -> str:
    """SHA-256 of a file's bytes (empty if the file cannot be read)."""
    try:
        with open(path, "rb") as handle:
            return hashlib.file_digest(handle, "sha256").hexdigest()
    except OSError:
        return ""


def hashes(folder: Path, outputs: Iterable[str]) -> dict[str, str]:
    """``{output: sha256}`` of files named relative to ``folder``."""
    return {o: file_hash(folder / o) for o in outputs}


def intact(folder: Path, recorded: Mapping[str, str] | None) -> bool:
    """Every recorded output still exists with the recorded hash."""
    return bool(recorded) and all(file_hash(folder / o) == h for o, h in recorded.items())


def read_manifest(folder: Path) -> dict:
    """The manifest of an earlier run (empty if none); a corrupt one is an error, not ignored."""
    path = folder / MANIFEST
    if not path.exists():
        return {}
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(manifest, dict) or not isinstance(manifest.get("units"), dict):
            raise ValueError("no 'units' mapping")
        return manifest
    except (ValueError, UnicodeDecodeError) as exc:
        raise XmkitError(
            Problem(
                str(path),
                f"the manifest of the earlier run is corrupt ({exc})",
                expected="a manifest.json written by xmkit batch; delete it to "
                "render every unit again",
            )
        ) from None


def write_manifest(folder: Path, data: Mapping, durable: bool = True) -> None:
    """Replace ``folder``'s manifest with ``data``, atomically (and durably unless told not:
    file and folder flushed to disk)."""
    text = json.dumps(data, indent=2, ensure_ascii=False, default=str)
    atomic_write_bytes(folder / MANIFEST, text.encode("utf-8"), durable=durable)


class Manifest:
    """``manifest.json``, rewritten atomically as units finish.

    Rewriting it after every unit made a 1,000-unit batch quadratic (the whole file each
    time), so it is rewritten at most every ``every`` seconds, and whenever the run ends or is
    interrupted. A process killed outright loses at most that second of outcomes: those units
    are rendered again by ``--resume``.
    """

    every = 1.0

    def __init__(self, folder: Path, client: str, template: str, units: dict) -> None:
        self.path = folder / MANIFEST
        self.data = {
            "xmkit": version("xmkit"),
            "client": client,
            "template_hash": template,
            "started": dt.datetime.now().isoformat(timespec="seconds"),
            "finished": None,
            "units": units,
            "portfolio": {},
        }
        self.saved = 0.0

    def record(self, result: object) -> None:
        self.data["units"][result.unit] = asdict(result)
        if time.monotonic() - self.saved >= self.every:
            self.save()

    def save(self, finished: bool = False) -> None:
        if finished:
            self.data["finished"] = dt.datetime.now().isoformat(timespec="seconds")
        write_manifest(self.path.parent, self.data)
        self.saved = time.monotonic()
