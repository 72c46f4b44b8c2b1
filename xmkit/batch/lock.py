"""One batch per output folder, and scratch folders that outlive only their own run.

The lock is ``fcntl.flock`` on a file in the folder. The kernel releases it when the process
ends however it ends (SIGKILL included), so a lock left by a dead run is simply taken: there is
no stale-lock guessing by pid. The file records who holds it (pid, host, start time) so a
second run can name the first. File descriptors are not inherited by workers (Python opens
them close-on-exec), so an orphaned worker never keeps a dead run's lock.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import fcntl
import json
import os
import shutil
import socket
import tempfile
import time
from pathlib import Path

from xmkit.errors import Problem, XmkitError

__all__ = [
    "LOCK_NAME",
    "FolderLock",
    "clean_leftovers",
    "remove_dead_scratch",
    "scratch_folder",
]

LOCK_NAME = ".xmkit-batch.lock"
SCRATCH_PREFIX = "xmkit-run-"
_OWNER = ".owner"


def _try_flock(fd: int, wait: bool) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
    except OSError as exc:
        if exc.errno in (errno.EAGAIN, errno.EACCES):
            return False
        raise
    return True


def _open_locked(path: Path, wait: bool) -> int | None:
    """An fd holding the lock on ``path`` (created if missing), or None if another holds it.

    The file is removed when its holder finishes; a run that opened it before the removal
    would lock a file no longer in the folder, so the lock counts only if ``path`` is still
    the file that was locked.
    """
    while True:
        path.parent.mkdir(parents=True, exist_ok=True)  # the holder may have removed it
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o666)
        if not _try_flock(fd, wait):
            os.close(fd)
            return None
        try:
            same = os.stat(path).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            same = False
        if same:
            return fd
        os.close(fd)


class FolderLock:
    """Held while a batch writes into ``folder``; raises :class:`XmkitError` if another does.

    ``wait=True`` blocks until the other run ends instead.
    """

    def __init__(self, folder: Path, wait: bool = False) -> None:
        self.path = folder / LOCK_NAME
        self.wait = wait
        self.fd: int | None = None
        self.created = False

    def holder(self) -> str:
        """Who holds the lock, as recorded in the file by that run."""
        try:
            info = json.loads(self.path.read_text(encoding="utf-8"))
            return f"pid {int(info['pid'])} on {info['host']}, started {info['started']}"
        except (OSError, ValueError, KeyError, TypeError):
            return "a run that is still starting"

    def __enter__(self) -> FolderLock:
        self.created = not self.path.parent.exists()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = _open_locked(self.path, wait=False)
        if fd is None and self.wait:
            fd = _open_locked(self.path, wait=True)
        if fd is None:
            raise XmkitError(
                Problem(
                    str(self.path.parent),
                    f"another xmkit batch is writing to this folder ({self.holder()})",
                    expected="one run per output folder: wait for it to finish (or use "
                    "--wait), or choose another --output folder",
                )
            )
        self.fd = fd
        info = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "started": dt.datetime.now().isoformat(timespec="seconds"),
        }
        with contextlib.suppress(OSError):  # a full disk: the lock holds, unnamed
            os.ftruncate(fd, 0)
            os.pwrite(fd, json.dumps(info).encode(), 0)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.fd is not None:
            with contextlib.suppress(OSError):
                self.path.unlink()  # while still locked: a waiting run then re-opens the path
            os.close(self.fd)
            self.fd = None
            if self.created:  # a run that wrote nothing (bad input) leaves no empty folder
                with contextlib.suppress(OSError):
                    self.path.parent.rmdir()


def clean_leftovers(folder: Path) -> int:
    """Remove the temporary files and folders an interrupted run left in its output folder;
    returns how many."""
    removed = 0
    if not folder.exists():
        return 0
    for path in sorted(folder.rglob(".*"), key=lambda p: len(p.parts), reverse=True):
        if path.name.startswith((".render-", ".portfolio-")) and path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
            removed += 1
        elif path.name.endswith(".tmp") and path.is_file():
            path.unlink(missing_ok=True)
            removed += 1
    return removed


def scratch_folder() -> tuple[Path, int]:
    """A new scratch folder for this run in the temporary folder, and the fd that marks it
    in use (its ``.owner`` file is locked while the run lives)."""
    folder = Path(tempfile.mkdtemp(prefix=SCRATCH_PREFIX))
    fd = os.open(folder / _OWNER, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX)
    return folder, fd


def remove_dead_scratch() -> list[Path]:
    """Remove the scratch folders of runs that died (SIGKILL, power loss) in the temporary
    folder: those whose owner lock nobody holds. A live run's folder is never touched."""
    removed = []
    for folder in Path(tempfile.gettempdir()).glob(f"{SCRATCH_PREFIX}*"):
        if folder.is_dir() and _dead(folder):
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    return removed


def _dead(folder: Path) -> bool:
    """Nobody holds ``folder``'s owner lock. Without an owner file (an older xmkit, or a run
    between creating the folder and its lock) only a folder a minute old counts as dead."""
    try:
        fd = os.open(folder / _OWNER, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        with contextlib.suppress(OSError):
            return time.time() - folder.stat().st_mtime > 60
        return False
    except OSError:
        return False
    try:
        return _try_flock(fd, wait=False)
    finally:
        os.close(fd)
