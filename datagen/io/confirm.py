"""Asking the person at the terminal before a run estimated at over an hour (engine/estimate.py).

Shared by `datagen generate` and `datagen nl`: `--yes` runs it; a terminal asks (no by default); a
script or a pipe cannot answer, so there the run is refused with a hint to pass `--yes`."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TextIO

from rich.console import Console
from rich.prompt import Confirm

from datagen.engine.estimate import RunEstimate


def long_run_confirmation(
    yes: bool, console: Console, stdin: TextIO | None = None
) -> Callable[[RunEstimate], bool] | None:
    """The `confirm` callback for `write_dataset`, or None where nobody can answer."""
    if yes:
        return lambda estimate: True
    stream = stdin or sys.stdin
    if not (stream.isatty() and console.is_terminal):
        return None

    def ask(estimate: RunEstimate) -> bool:
        return Confirm.ask(
            f"This run will take {estimate.describe()}. Generate it?",
            console=console,
            default=False,
            stream=stream,
        )

    return ask
