"""Leftover staging folders: a later run deletes those provably ours and provably dead, nothing else."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from datagen.io import staging
from datagen.io.staging import IN_PROGRESS_FILE, MARKER_FORMAT, clean_leftovers


def dead_pid() -> int:
    """The pid of a process that has ended (and been reaped)."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def leftover(where: Path, name: str, **marker: object) -> Path:
    folder = where / name
    folder.mkdir()
    (folder / "big.parquet").write_bytes(b"x" * 1000)
    fields = {"format": MARKER_FORMAT, "host": socket.gethostname(), "token": "abc", **marker}
    (folder / IN_PROGRESS_FILE).write_text(json.dumps(fields))
    return folder


def test_a_dead_runs_staging_folder_is_removed(tmp_path: Path) -> None:
    dead = leftover(tmp_path, ".out.tmp-1-abc", pid=dead_pid())
    assert clean_leftovers(tmp_path, ".out.tmp-") == [dead]
    assert list(tmp_path.iterdir()) == []


def test_a_live_runs_staging_folder_is_kept(tmp_path: Path) -> None:
    with subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"]) as proc:
        try:
            leftover(tmp_path, ".out.tmp-2-abc", pid=proc.pid, started=staging._process_start(proc.pid))
            assert clean_leftovers(tmp_path, ".out.tmp-") == []
        finally:
            proc.kill()
    assert [p.name for p in tmp_path.iterdir()] == [".out.tmp-2-abc"]


def test_a_reused_pid_does_not_keep_a_dead_runs_folder(tmp_path: Path) -> None:
    """The marker's process start time tells the dead run apart from a new process with its pid."""
    with subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"]) as proc:
        try:
            started = staging._process_start(proc.pid)
            assert started is not None
            leftover(tmp_path, ".out.tmp-3-abc", pid=proc.pid, started=str(int(started) - 1))
            assert len(clean_leftovers(tmp_path, ".out.tmp-")) == 1
        finally:
            proc.kill()


def test_this_process_knows_which_of_its_own_folders_are_in_use(tmp_path: Path) -> None:
    mine = staging.create(tmp_path, ".out.tmp-")
    stale = leftover(tmp_path, f".out.tmp-{os.getpid()}-old", pid=os.getpid(), token="old")
    assert clean_leftovers(tmp_path, ".out.tmp-") == [stale]
    assert mine.is_dir()
    staging.remove(mine)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "how",
    ["no marker", "not json", "other format", "other host", "marker is a symlink", "folder is a symlink"],
)
def test_folders_not_provably_ours_are_kept(tmp_path: Path, how: str) -> None:
    pid = dead_pid()
    name = ".out.tmp-9-abc"
    if how == "folder is a symlink":
        real = leftover(tmp_path, "real", pid=pid)
        (tmp_path / name).symlink_to(real, target_is_directory=True)
    else:
        folder = leftover(tmp_path, name, pid=pid, **({"host": "elsewhere"} if how == "other host" else {}))
        marker = folder / IN_PROGRESS_FILE
        if how == "no marker":
            marker.unlink()
        elif how == "not json":
            marker.write_text("{")
        elif how == "other format":
            marker.write_text(json.dumps({"format": "x", "pid": pid, "token": "abc"}))
        elif how == "marker is a symlink":
            real_marker = tmp_path / "marker.json"
            marker.rename(real_marker)
            marker.symlink_to(real_marker)
    before = sorted(p.name for p in tmp_path.rglob("*"))
    assert clean_leftovers(tmp_path, ".out.tmp-") == []
    assert sorted(p.name for p in tmp_path.rglob("*")) == before


def test_only_names_with_the_prefix_are_looked_at(tmp_path: Path) -> None:
    leftover(tmp_path, "out.tmp-1-abc", pid=dead_pid())  # not hidden: not a staging folder name
    leftover(tmp_path, ".other.tmp-1-abc", pid=dead_pid())
    assert clean_leftovers(tmp_path, ".out.tmp-") == []
    assert len(list(tmp_path.iterdir())) == 2


def test_staging_folders_follow_the_umask(tmp_path: Path) -> None:
    old = os.umask(0o077)
    try:
        folder = staging.create(tmp_path, ".x.tmp-")
    finally:
        os.umask(old)
    assert folder.stat().st_mode & 0o777 == 0o700
    staging.remove(folder)
    old = os.umask(0o002)
    try:
        folder = staging.create(tmp_path, ".x.tmp-")
    finally:
        os.umask(old)
    assert folder.stat().st_mode & 0o777 == 0o775
    staging.remove(folder)
