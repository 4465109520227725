"""Interruptions of the real command, in a subprocess: SIGTERM is handled like Ctrl-C (clean up, exit
non-zero, say so), a run killed outright leaves a staging folder the next run removes (but never one of
a run still going), and every output follows the umask the command was started with."""

from __future__ import annotations

import json
import os
import signal
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from datagen.io.manifest import MANIFEST_FILE, require_complete
from datagen.io.staging import IN_PROGRESS_FILE, MARKER_FORMAT, _process_start
from tests.engine.conftest import dist, entity, schema

ROOT = Path(__file__).resolve().parents[2]


def write_schema(folder: Path, rows: int) -> Path:
    """One table of `rows` rows: 20M take tens of seconds, far longer than the test waits."""
    doc = schema(
        entity("t", [dist("a", "normal", mean=0, std=1), dist("b", "gamma", shape=2, scale=3)], rows=rows)
    )
    path = folder / f"schema_{rows}.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


_started: list[subprocess.Popen] = []


@pytest.fixture(autouse=True)
def _no_run_outlives_its_test():
    """A run the test failed to stop (the behaviour under test broken) is killed, not left writing."""
    yield
    while _started:
        proc = _started.pop()
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def start(schema_file: Path, out: Path, umask: int = 0o022) -> subprocess.Popen:
    command = f"umask {umask:03o}; exec {sys.executable} -m datagen generate {schema_file} -o {out}"
    proc = subprocess.Popen(
        ["sh", "-c", command], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    _started.append(proc)
    return proc


def wait_for_staging(where: Path, prefix: str, proc: subprocess.Popen, timeout: float = 60) -> Path:
    """The run's staging folder, once its marker is written (generation is under way)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for path in where.glob(prefix + "*"):
            if (path / IN_PROGRESS_FILE).is_file():
                return path
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.02)
    proc.kill()
    pytest.fail("the run never started writing")


def leftovers(where: Path, prefix: str) -> list[str]:
    return sorted(p.name for p in where.glob(prefix + "*"))


def test_sigterm_mid_run_cleans_up_and_exits_143_with_a_message(tmp_path: Path) -> None:
    out = tmp_path / "out"
    proc = start(write_schema(tmp_path, 20_000_000), out)
    wait_for_staging(tmp_path, ".out.tmp-", proc)
    proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 143, stderr
    assert "terminated (SIGTERM): nothing was left half-written" in stderr and "Traceback" not in stderr
    assert not out.exists()
    assert leftovers(tmp_path, ".out.") == []


def test_sigterm_into_an_existing_output_keeps_the_previous_one_whole(tmp_path: Path) -> None:
    out = tmp_path / "out"
    first = start(write_schema(tmp_path, 1_000), out)
    assert first.wait(timeout=120) == 0, first.communicate()
    (out / "notes.md").write_text("mine")
    before = {p.name: p.read_bytes() for p in out.iterdir()}

    proc = start(write_schema(tmp_path, 20_000_000), out)
    wait_for_staging(out, ".datagen.tmp-", proc)
    proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=60)
    assert proc.returncode == 143
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert require_complete(out, "dataset").files == (".metadata.json", "t.parquet")


def test_a_killed_runs_leftovers_are_removed_by_the_next_run_but_a_live_runs_are_not(tmp_path: Path) -> None:
    out = tmp_path / "out"
    proc = start(write_schema(tmp_path, 20_000_000), out)
    dead = wait_for_staging(tmp_path, ".out.tmp-", proc)
    proc.send_signal(signal.SIGKILL)  # no chance to clean up
    proc.wait(timeout=60)
    assert dead.is_dir() and not out.exists()

    with subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"]) as other:
        try:
            live = tmp_path / f".out.tmp-{other.pid}-feedbeef"
            live.mkdir()
            marker = {
                "format": MARKER_FORMAT,
                "host": socket.gethostname(),
                "pid": other.pid,
                "started": _process_start(other.pid),
                "token": "feedbeef",
            }
            (live / IN_PROGRESS_FILE).write_text(json.dumps(marker))
            again = start(write_schema(tmp_path, 1_000), out)
            assert again.wait(timeout=120) == 0, again.communicate()
        finally:
            other.kill()
    assert not dead.exists()
    assert leftovers(tmp_path, ".out.") == [live.name]
    assert require_complete(out, "dataset").complete


def test_every_output_file_and_folder_follows_the_umask(tmp_path: Path) -> None:
    out = tmp_path / "out"
    proc = start(write_schema(tmp_path, 1_000), out, umask=0o027)
    assert proc.wait(timeout=120) == 0, proc.communicate()
    found = {p.name: stat.S_IMODE(p.stat().st_mode) for p in [out, *out.iterdir()]}
    assert found == {"out": 0o750, MANIFEST_FILE: 0o640, ".metadata.json": 0o640, "t.parquet": 0o640}

    kept = tmp_path / "kept"
    kept.mkdir(mode=0o700)
    os.chmod(kept, 0o711)  # an existing empty folder keeps its own mode
    proc = start(write_schema(tmp_path, 1_000), kept, umask=0o022)
    assert proc.wait(timeout=120) == 0, proc.communicate()
    assert stat.S_IMODE(kept.stat().st_mode) == 0o711
    assert {stat.S_IMODE(p.stat().st_mode) for p in kept.iterdir()} == {0o644}
