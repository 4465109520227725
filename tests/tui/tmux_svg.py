"""Save what a tmux pane shows as an SVG, for the README's screenshots of the app in a real terminal:

    tmux new-session -d -s walk -x 120 -y 40 "datagen tui"
    .venv/bin/python -m tests.tui.tmux_svg walk docs/tui-connect.svg "Connect a model"

The pane is read with its colours (`capture-pane -e`) and drawn by rich's SVG export."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from rich.console import Console
from rich.text import Text


def capture(session: str) -> tuple[str, int]:
    width = subprocess.run(
        ["tmux", "display-message", "-p", "-t", session, "#{pane_width}"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    screen = subprocess.run(
        ["tmux", "capture-pane", "-e", "-p", "-t", session], check=True, capture_output=True, text=True
    ).stdout
    return screen.rstrip("\n"), int(width)


def save(session: str, target: Path, title: str) -> None:
    screen, width = capture(session)
    with open(os.devnull, "w") as nowhere:
        console = Console(
            record=True, width=width, force_terminal=True, color_system="truecolor", file=nowhere
        )
        for line in screen.split("\n"):
            console.print(Text.from_ansi(line), no_wrap=True, overflow="crop")
    target.write_text(console.export_svg(title=title), encoding="utf-8")


if __name__ == "__main__":
    save(sys.argv[1], Path(sys.argv[2]), sys.argv[3] if len(sys.argv) > 3 else "Datagen")
    print(f"wrote {sys.argv[2]}")
