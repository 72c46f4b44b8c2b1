"""Size limits on inputs, checked before a file is read, so a huge file fails fast and clearly.

A consultant on a deadline will sooner or later point xmkit at a 2 GB export, a workbook that
unpacks to gigabytes, or a million-row log. Each limit has a default that is far above any
real questionnaire (the biggest client so far had 50,000 respondents, 4 MB) and an environment
variable to raise it:

* ``XMKIT_MAX_FILE_MB`` (default 100): the size of a responses file on disk; for a workbook
  also ``UNPACKED_FACTOR`` times that for its unpacked sheets (a zip bomb never reaches memory);
* ``XMKIT_MAX_ROWS`` (default 1,000,000): rows of a responses file; reading stops one row past
  the limit instead of loading everything first.

YAML written by people (frameworks, ``assessment.yaml``) is read by :func:`read_yaml_file`
(at most ``MAX_YAML_BYTES``) and parsed by :func:`load_yaml`: the safe loader (no Python
objects, ever) without anchors and aliases, which no xmkit file needs and which make a few
hundred bytes expand to billions of nodes ("billion laughs").
"""

from __future__ import annotations

import os
import stat
import zipfile
from pathlib import Path

import yaml

from xmkit.errors import Problem, XmkitError

__all__ = [
    "DEFAULT_MAX_FILE_MB",
    "DEFAULT_MAX_ROWS",
    "MAX_YAML_BYTES",
    "MB",
    "SAFE_LOADER",
    "UNPACKED_FACTOR",
    "check_file_size",
    "check_input_file",
    "check_known_keys",
    "check_rows",
    "check_unpacked_size",
    "load_yaml",
    "max_file_bytes",
    "max_rows",
    "parse_yaml",
    "read_yaml_text",
    "unknown_keys_problem",
    "yaml_reason",
]

DEFAULT_MAX_FILE_MB = 100.0
DEFAULT_MAX_ROWS = 1_000_000
UNPACKED_FACTOR = 10
"""A workbook's unpacked XML may be this many times ``XMKIT_MAX_FILE_MB`` (XML is verbose)."""
MB = 1024 * 1024


def _env_number(name: str, default: float) -> float:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not value > 0:
        raise XmkitError(
            Problem(f"${name}", "not a usable limit", value=raw, expected="a positive number")
        )
    return value


def max_file_bytes() -> int:
    """The largest responses file accepted, in bytes (``XMKIT_MAX_FILE_MB``, default 100)."""
    return int(_env_number("XMKIT_MAX_FILE_MB", DEFAULT_MAX_FILE_MB) * MB)


def max_rows() -> int:
    """The most data rows a responses file may have (``XMKIT_MAX_ROWS``, default 1,000,000)."""
    return int(_env_number("XMKIT_MAX_ROWS", DEFAULT_MAX_ROWS))


def _mb(size: float) -> str:
    return f"{size / MB:,.1f} MB" if size >= MB / 10 else f"{size / 1024:,.1f} KB"


def _refuse_above(path: Path, limit: int, what: str, expected: str) -> None:
    """Refuse ``path`` when its size on disk is above ``limit`` bytes (nothing is read)."""
    size = path.stat().st_size
    if size > limit:
        raise XmkitError(
            Problem(
                str(path), f"{what} is larger than {_mb(limit)} ({_mb(size)})", expected=expected
            )
        )


def check_file_size(path: Path) -> None:
    """Refuse a responses file above the size limit, from its size on disk alone."""
    limit = max_file_bytes()
    _refuse_above(
        path,
        limit,
        "the file",
        f"a responses file of at most {_mb(limit)}: split it by business unit, or raise the "
        "limit with XMKIT_MAX_FILE_MB",
    )


def check_input_file(path: Path, what: str = "file") -> None:
    """Refuse, before opening it, a path that is not a regular file or is above the size limit.

    A device (``/dev/zero``), FIFO or socket would be read until memory runs out or forever,
    so only its type is looked at (``stat``); nothing of its contents ever reaches a message.
    """
    try:
        info = path.stat()
    except FileNotFoundError:
        raise XmkitError(Problem(str(path), f"{what} not found")) from None
    except OSError as exc:
        raise XmkitError(Problem(str(path), f"cannot read the {what} ({exc.strerror})")) from None
    if stat.S_ISDIR(info.st_mode):
        return  # a folder is named as such by the caller, which may look inside it
    if not stat.S_ISREG(info.st_mode):
        raise XmkitError(
            Problem(str(path), f"the {what} is not a regular file (a device, pipe or socket)")
        )
    check_file_size(path)


def check_unpacked_size(path: Path, archive: zipfile.ZipFile) -> None:
    """Refuse a workbook whose parts unpack to more than ``UNPACKED_FACTOR`` x the size limit.

    Uses the sizes recorded in the zip directory, so a zip bomb is caught before inflating.
    """
    limit = max_file_bytes() * UNPACKED_FACTOR
    unpacked = sum(info.file_size for info in archive.infolist())
    if unpacked > limit:
        raise XmkitError(
            Problem(
                str(path),
                f"the workbook unpacks to {_mb(unpacked)}, more than {_mb(limit)}",
                expected="a workbook holding only the responses sheet; save the responses as "
                "CSV, or raise the limit with XMKIT_MAX_FILE_MB",
            )
        )


def check_rows(path: Path, rows: int, limit: int) -> None:
    """Refuse a table that reached the row limit (read with ``nrows=limit + 1``)."""
    if rows > limit:
        raise XmkitError(
            Problem(
                str(path),
                f"the file has more than {limit:,} rows",
                expected=f"at most {limit:,} respondents (rows) per file: split it by business "
                "unit, or raise the limit with XMKIT_MAX_ROWS",
            )
        )


MAX_YAML_BYTES = 1 * MB
"""A framework or ``assessment.yaml`` is a page or two of text; anything bigger is a mistake."""


def read_yaml_text(path: Path, what: str) -> str:
    """The text of a person-written YAML file (``what`` names it in errors), size-checked first."""
    check_input_file(path, what)  # a device or pipe is refused before anything is read
    try:
        _refuse_above(path, MAX_YAML_BYTES, f"the {what}", f"a {what} written by hand, a few KB")
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise XmkitError(Problem(str(path), f"{what} not found")) from None
    except UnicodeDecodeError as exc:  # names the byte, quotes nothing of the file
        raise XmkitError(Problem(str(path), f"cannot read the {what} ({exc})")) from None
    except (IsADirectoryError, PermissionError) as exc:
        raise XmkitError(Problem(str(path), f"cannot read the {what} ({exc.strerror})")) from None


SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when present


def load_yaml(text: str) -> object:
    """Parse YAML written by a person: safe tags only, no anchors or aliases.

    The events are scanned first (aliases are not expanded there), so a "billion laughs"
    document is refused in microseconds. Raises :class:`yaml.YAMLError` (with a
    ``problem_mark``) like ``yaml.safe_load``.
    """
    for event in yaml.parse(text, Loader=SAFE_LOADER):
        if isinstance(event, yaml.AliasEvent):
            raise yaml.composer.ComposerError(
                None, None, "YAML aliases (*name) are not supported", event.start_mark
            )
    return yaml.load(text, Loader=SAFE_LOADER)


def parse_yaml(text: str, name: str) -> object:
    """:func:`load_yaml`, with a syntax error or alias reported as a located problem of ``name``."""
    try:
        return load_yaml(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        row = mark.line + 1 if mark else None
        raise XmkitError(Problem(name, f"not valid YAML: {yaml_reason(exc)}", row=row)) from None


def yaml_reason(exc: yaml.YAMLError) -> str:
    """What is wrong with a YAML text, without the excerpt of it that ``str(exc)`` quotes
    (the file may be anything a user pointed at, ``/etc/shadow`` included)."""
    problem = getattr(exc, "problem", None) or type(exc).__name__
    context = getattr(exc, "context", None)
    mark = getattr(exc, "problem_mark", None)
    where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
    return f"{context + ': ' if context else ''}{problem}{where}"


def check_known_keys(data: dict, known: set[str], name: str, what: str, expected: str) -> None:
    """Refuse a mapping none of whose top-level keys is one of ``known``: a file that is not
    a ``what`` at all (``/etc/shadow`` parses as a mapping of its lines), reported without
    quoting any of it."""
    if not {str(key) for key in data} & known:
        raise XmkitError(
            Problem(
                name, f"this is not {what}: none of its keys is one xmkit knows", expected=expected
            )
        )


def unknown_keys_problem(name: str, keys: list[str]) -> Problem:
    """One problem for every unknown key, naming only the first (a file of secrets with one
    right key would otherwise be printed key by key)."""
    more = f" (and {len(keys) - 1} more unknown keys)" if len(keys) > 1 else ""
    return Problem(name, f"{keys[0][:60]}: Extra inputs are not permitted{more}")
