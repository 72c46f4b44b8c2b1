"""The output-folder lock and the scratch-folder ownership, on real files and real processes."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import threading
import time

import pytest

from xmkit.batch.lock import LOCK_NAME, FolderLock, remove_dead_scratch, scratch_folder
from xmkit.errors import XmkitError


def test_a_second_lock_on_a_folder_is_refused_naming_the_holder(tmp_path):
    match = rf"pid {os.getpid()} on .*, started 20"
    with FolderLock(tmp_path / "out"), pytest.raises(XmkitError, match=match):
        FolderLock(tmp_path / "out").__enter__()
    assert not (tmp_path / "out" / LOCK_NAME).exists()


def test_wait_blocks_until_the_holder_finishes(tmp_path):
    first = FolderLock(tmp_path).__enter__()
    timer = threading.Timer(0.5, first.__exit__, (None, None, None))
    began = time.monotonic()
    timer.start()
    with FolderLock(tmp_path, wait=True):
        waited = time.monotonic() - began
    timer.join()
    assert waited >= 0.4


def test_a_lock_left_by_a_killed_process_is_taken_over(tmp_path):
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from pathlib import Path; from xmkit.batch.lock import FolderLock\n"
            "FolderLock(Path(sys.argv[1])).__enter__()\n"
            "print('locked', flush=True); time.sleep(60)",
            str(tmp_path),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout.readline().strip() == "locked"
    with pytest.raises(XmkitError, match=f"pid {holder.pid}"):
        FolderLock(tmp_path).__enter__()
    holder.kill()
    holder.wait()
    assert (tmp_path / LOCK_NAME).exists()  # SIGKILL: the file stays, the lock does not
    with FolderLock(tmp_path):
        pass


def test_only_the_scratch_folders_of_dead_runs_are_removed(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    alive, fd = scratch_folder()
    dead, dead_fd = scratch_folder()
    os.close(dead_fd)  # its run is gone: nobody holds its owner lock
    try:
        assert remove_dead_scratch() == [dead]
        assert alive.is_dir() and not dead.exists()
    finally:
        os.close(fd)
