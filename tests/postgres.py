"""A real PostgreSQL server for tests, started in a temporary folder with Debian's initdb/pg_ctl.

It listens on a Unix socket only (no TCP port), trusts local connections and is stopped and
removed at the end. As root the server runs as the ``postgres`` user (initdb refuses root).
On CI (CI=true) a missing PostgreSQL fails; elsewhere it skips, naming the Debian package.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

__all__ = ["postgres_server", "require_postgres"]


def require_postgres() -> Path:
    """The folder of initdb and pg_ctl, or fail (CI=true) / skip (elsewhere)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        message = (
            "PostgreSQL's initdb not found in /usr/lib/postgresql/*/bin: install Debian's "
            "'postgresql' package (apt-get install postgresql, or make system-packages)"
        )
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return Path(found[-1]).parent


@contextmanager
def postgres_server() -> Iterator[str]:
    """Start a throwaway server; yields the URL of its ``postgres`` database."""
    bin_dir = require_postgres()
    folder = Path(tempfile.mkdtemp(prefix="xmkit-pg-"))  # short: socket paths are limited
    data, sockets = folder / "data", folder / "s"
    sockets.mkdir()
    prefix: list[str] = []
    if os.geteuid() == 0:
        prefix = ["runuser", "-u", "postgres", "--"]
        shutil.chown(folder, "postgres")
        shutil.chown(sockets, "postgres")

    def run(*args: object) -> None:
        subprocess.run(
            [*prefix, *map(str, args)], check=True, capture_output=True, text=True, timeout=120
        )

    try:
        run(bin_dir / "initdb", "-D", data, "-U", "xmkit", "--auth=trust", "-E", "UTF8", "-N")
        options = f"-k {sockets} -c listen_addresses='' -F"
        run(bin_dir / "pg_ctl", "-D", data, "-o", options, "-l", folder / "log", "-w", "start")
        try:
            yield f"postgresql://xmkit@/postgres?host={sockets}"
        finally:
            run(bin_dir / "pg_ctl", "-D", data, "-m", "immediate", "-w", "stop")
    finally:
        shutil.rmtree(folder, ignore_errors=True)
