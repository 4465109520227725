"""Staging folders: where a run builds its output before committing it, and how a later run knows
which leftover staging folders it may delete.

A staging folder carries `.datagen-in-progress` (our marker: format tag, host, process id, the
process's start time and a random token). A run killed hard (SIGKILL, power loss) leaves its folder
behind; the next run writing the same output deletes it when the marker proves it is ours and its
process is gone. A folder without a readable marker, from another machine, or whose process still
runs is left alone.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import socket
import stat
from pathlib import Path

IN_PROGRESS_FILE = ".datagen-in-progress"
MARKER_FORMAT = "datagen-in-progress/1"
INSIDE_PREFIX = ".datagen.tmp-"  # a staging folder inside an existing output folder
_live_tokens: set[str] = set()  # staging folders this process is still using


def beside_prefix(target: Path) -> str:
    """Prefix of a staging folder next to a target that does not exist yet (`.<name>.tmp-`)."""
    return f".{target.name}.tmp-"


def _process_start(pid: int) -> str | None:
    """The process's start time in clock ticks since boot (Linux), to tell a reused pid apart."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return fields[19]
    except (OSError, IndexError):
        return None


def create(where: Path, prefix: str) -> Path:
    """A new, empty staging folder `where/<prefix><pid>-<token>` holding our marker.

    Made with mode 0777 minus the umask, so the output gets the permissions the user expects."""
    token = secrets.token_hex(6)
    while True:
        path = where / f"{prefix}{os.getpid()}-{token}"
        try:
            path.mkdir(mode=0o777)
            break
        except FileExistsError:
            token = secrets.token_hex(6)
    _live_tokens.add(token)
    marker = {
        "format": MARKER_FORMAT,
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "started": _process_start(os.getpid()),
        "token": token,
    }
    # written whole, then named: a run killed in between leaves no half-written marker that looks like ours
    draft = path / f"{IN_PROGRESS_FILE}.draft"
    draft.write_text(json.dumps(marker) + "\n", encoding="utf-8")
    os.replace(draft, path / IN_PROGRESS_FILE)
    return path


def release(path: Path) -> None:
    """The staging folder is finished with (committed or removed)."""
    with contextlib.suppress(ValueError):
        _live_tokens.discard(path.name.rsplit("-", 1)[1])


def remove(path: Path) -> None:
    """Delete a staging folder of this run."""
    release(path)
    _delete(path)


def _delete(path: Path) -> None:
    """Delete a staging folder, its marker last: a second interruption halfway leaves a folder the
    next run can still prove ours. Symlinks inside are removed, never followed."""
    try:
        entries = [p for p in path.iterdir() if p.name != IN_PROGRESS_FILE]
    except OSError:
        return
    for entry in entries:
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)
    (path / IN_PROGRESS_FILE).unlink(missing_ok=True)
    shutil.rmtree(path, ignore_errors=True)


def _marker(path: Path) -> dict | None:
    try:
        if not stat.S_ISDIR(path.lstat().st_mode):
            return None
        marker = path / IN_PROGRESS_FILE
        if not stat.S_ISREG(marker.lstat().st_mode) or marker.lstat().st_size > 4096:
            return None
        data = json.loads(marker.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("format") != MARKER_FORMAT:
        return None
    if not isinstance(data.get("pid"), int) or not isinstance(data.get("token"), str):
        return None
    return data


def _alive(marker: dict) -> bool:
    """Whether the run that wrote the marker may still be running (unsure counts as running)."""
    if marker.get("host") != socket.gethostname():
        return True
    pid = marker["pid"]
    if pid == os.getpid():
        return marker["token"] in _live_tokens
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # another user's process exists under that pid
    except (OverflowError, ValueError):
        return False
    started, now = marker.get("started"), _process_start(pid)
    return not (started is not None and now is not None and started != now)


def clean_leftovers(where: Path, prefix: str) -> list[Path]:
    """Delete staging folders `where/<prefix>*` of runs that are provably ours and provably dead;
    returns what was deleted."""
    removed: list[Path] = []
    try:
        candidates = [p for p in where.iterdir() if p.name.startswith(prefix)]
    except OSError:
        return removed
    for path in candidates:
        marker = _marker(path)
        if marker is not None and not _alive(marker):
            _delete(path)
            removed.append(path)
    return removed
