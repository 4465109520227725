"""Opening a folder in the person's file manager: `open` on macOS, `os.startfile` on Windows,
`xdg-open` on Linux desktops. The path is passed as one argument, never through a shell. Without a
desktop (a server, an SSH session) or under the test suite, nothing is started and the caller shows
the path instead."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path


def open_folder(path: Path) -> bool:
    """True when a file manager was asked to show `path`; False when there is none to ask."""
    if "PYTEST_CURRENT_TEST" in os.environ:  # never start a desktop program from a test run
        return False
    target = str(Path(path).absolute())
    if sys.platform == "win32":
        os.startfile(target)  # type: ignore[attr-defined]  # Windows only
        return True
    command = "open" if sys.platform == "darwin" else "xdg-open"
    if sys.platform != "darwin" and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        return False
    program = shutil.which(command)
    if program is None:
        return False
    subprocess.Popen(  # not waited for: the file manager lives on after the app
        [program, target],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    return True
