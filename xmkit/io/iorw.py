"""Writing outputs safely: atomically (no half-written file, ever) and without CSV injection."""

from __future__ import annotations

import glob
import logging
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from xmkit.errors import Problem, XmkitError

if TYPE_CHECKING:  # pandas is imported where a table is written: a no-op resume needs none
    import pandas as pd

__all__ = [
    "FORMULA_PREFIXES",
    "STALE_SECONDS",
    "atomic_path",
    "atomic_write_bytes",
    "file_mode",
    "fsync_folder",
    "named",
    "neutralize",
    "safe_cells",
    "write_table",
    "write_tables",
]

# OWASP CSV injection (plus ASVS's NUL and line feed, and the full-width forms some
# spreadsheet locales also accept): a cell starting with one of these is run as a formula.
FORMULA_PREFIXES = (
    "=",
    "+",
    "-",
    "@",
    "\t",
    "\r",
    "\n",
    "\0",
    "\uff1d",
    "\uff0b",
    "\uff0d",
    "\uff20",
)
STALE_SECONDS = 600
"""A temporary file this old beside a target was left by a run that was killed."""
logger = logging.getLogger("xmkit")


def _remove_stale(target: Path) -> None:
    """Remove and report half-written copies of ``target`` left by a killed earlier run.

    Younger ones may belong to a run still writing, and are left alone.
    """
    pattern = f".{glob.escape(target.name)}.*.tmp"
    for leftover in target.parent.glob(pattern):
        try:
            if time.time() - leftover.stat().st_mtime < STALE_SECONDS:
                continue
            leftover.unlink()
        except OSError:
            continue
        logger.warning(
            "removed %s: a half-written copy of %s left by an interrupted earlier run",
            leftover,
            target.name,
        )


def file_mode() -> int:
    """The permissions a new file gets under the user's umask (``0o666 & ~umask``).

    ``mkstemp`` creates files 0600 whatever the umask; outputs renamed from one would be
    private while reports written directly are not, so every output gets this mode instead.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            umask = next(int(line.split()[1], 8) for line in status if line.startswith("Umask:"))
    except (OSError, StopIteration, ValueError):  # not Linux: read it by setting it
        umask = os.umask(0o022)
        os.umask(umask)
    return 0o666 & ~umask


def fsync_folder(folder: Path) -> None:
    """Make a rename in ``folder`` durable: without it a power cut can undo the rename."""
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def named(exc: OSError, target: Path, tmp: Path | None = None) -> OSError:
    """``exc`` naming the file it is about: a full disk or a quota raises from ``write``,
    which knows no file name ("No space left on device" alone tells the user nothing)."""
    if exc.filename is None or (tmp is not None and exc.filename == str(tmp)):
        return type(exc)(exc.errno, exc.strerror or str(exc), str(target))
    return exc


@contextmanager
def atomic_path(target: str | Path, durable: bool = False) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; on success rename it over ``target``.

    On any error (or Ctrl-C) the temporary file is removed and ``target``, if it existed,
    is left untouched; an :class:`OSError` names ``target``. ``durable=True`` also flushes
    the file and the rename to disk before returning (for the manifest of a batch).
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale(target)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    except OSError as exc:
        raise named(exc, target) from None
    os.fchmod(fd, file_mode())
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        if durable:
            with open(tmp_path, "rb+") as written:
                os.fsync(written.fileno())
        os.replace(tmp_path, target)
        if durable:
            fsync_folder(target.parent)
    except OSError as exc:
        renamed = named(exc, target, tmp_path)
        if renamed is exc:
            raise
        raise renamed from None
    finally:
        tmp_path.unlink(missing_ok=True)


def atomic_write_bytes(target: str | Path, data: bytes, durable: bool = False) -> None:
    with atomic_path(target, durable) as tmp:
        tmp.write_bytes(data)


def neutralize(value: object) -> object:
    """Prefix text that a spreadsheet would run as a formula with ``'`` (OWASP CSV injection).

    Leading spaces do not hide a formula (`` =1+1``): some spreadsheets trim them first.
    """
    if isinstance(value, str) and value.lstrip(" ").startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def safe_cells(data: pd.DataFrame) -> pd.DataFrame:
    """A copy whose text cells and headers cannot be interpreted as spreadsheet formulas."""
    import pandas as pd

    out = data.copy()
    for col in out.columns:
        if isinstance(out[col].dtype, pd.CategoricalDtype):
            out[col] = out[col].astype(object)
        if out[col].dtype == object or pd.api.types.is_string_dtype(out[col]):
            out[col] = out[col].map(neutralize)
    out.columns = [neutralize(c) for c in out.columns]
    return out


def _writer(suffix: str) -> Callable[[pd.DataFrame, Path], None]:
    writers: dict[str, Callable[[pd.DataFrame, Path], None]] = {
        # CRLF rows (RFC 4180, as Excel writes): pandas then quotes a cell holding a lone
        # carriage return, which would otherwise start a new row - and a formula - in Excel.
        ".csv": lambda d, p: d.to_csv(p, index=False, lineterminator="\r\n"),
        ".json": lambda d, p: d.to_json(p, orient="records", indent=2, force_ascii=False),
        ".xlsx": lambda d, p: d.to_excel(p, index=False, engine="openpyxl"),
    }
    if suffix not in writers:
        raise XmkitError(
            Problem(
                f"*{suffix}",
                "unsupported output format",
                expected="a file name ending in .csv, .json or .xlsx",
            )
        )
    return writers[suffix]


def write_table(data: pd.DataFrame, target: str | Path) -> Path:
    """Write a table as CSV, JSON or XLSX (by suffix), atomically and injection-safe."""
    target = Path(target)
    write = _writer(target.suffix.lower())
    with atomic_path(target) as tmp:
        write(safe_cells(data), tmp)
    return target


def write_tables(tables: dict[str, pd.DataFrame], target: str | Path) -> dict[str, Path]:
    """Write several named tables: sheets of one workbook for ``.xlsx``; for ``.csv`` and
    ``.json`` the first table at ``target`` and each other beside it as ``<stem>-<name>``.

    Returns the file each table went to, so the caller can say where.
    """
    target = Path(target)
    suffix = target.suffix.lower()
    _writer(suffix)  # refuse an unsupported suffix before anything is written
    if suffix == ".xlsx":
        import pandas as pd

        with atomic_path(target) as tmp, pd.ExcelWriter(tmp, engine="openpyxl") as book:
            for name, table in tables.items():
                safe_cells(table).to_excel(book, sheet_name=name[:31], index=False)
        return dict.fromkeys(tables, target)
    first, *others = tables
    paths = {first: target} | {n: target.with_name(f"{target.stem}-{n}{suffix}") for n in others}
    for name, path in paths.items():
        write_table(tables[name], path)
    return paths
