"""Starting the app from a terminal, kept light: this module imports nothing heavy, so a line appears
at once while the data engine (numpy, pyarrow, pandas, duckdb, faker: a few seconds on a cold start)
loads, and a run without a terminal stops with a message instead of writing escape codes."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

NO_TERMINAL = (
    "datagen tui needs an interactive terminal (its input and output are not one). Run it in a terminal "
    "window, or use `datagen nl` and `datagen generate` in scripts."
)


def has_terminal(stdin: IO[Any] | None = None, stdout: IO[Any] | None = None) -> bool:
    stdin, stdout = stdin or sys.stdin, stdout or sys.stdout
    try:
        return stdin.isatty() and stdout.isatty()
    except (AttributeError, ValueError):  # closed or replaced streams
        return False


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tui",
        description="Chat your way to a dataset: describe it, answer a question or two, preview, check.",
    )
    parser.add_argument(
        "schema", nargs="?", type=Path, help="open this schema file (no language model needed)"
    )
    parser.add_argument(
        "--new", action="store_true", help="start afresh instead of offering the last session"
    )
    parser.add_argument(
        "--timeout",
        type=float,
        help="seconds one conversation turn may take (default: DATAGEN_LLM_TIMEOUT or 180)",
    )
    args = parser.parse_args(argv)
    from datagen.errors import DatagenError
    from datagen.settings import Settings

    try:
        settings = Settings.load(llm_timeout=args.timeout)
    except DatagenError as exc:  # a bad environment variable: its name and the fix, not a traceback
        from datagen.terminal import Terminal, styled

        Terminal(stderr=True).print(styled(("error:", "bold red"), f" {exc}"), soft_wrap=True)
        return exc.exit_code
    return run(args.schema, new=args.new, settings=settings)


def run(schema_path: Path | None = None, *, new: bool = False, settings: Any = None) -> int:
    """Run the app in this terminal (what `datagen tui` and `python -m tui` do); returns the exit code.
    Log records are redacted from here on, whoever writes them."""
    if not has_terminal():
        print(f"error: {NO_TERMINAL}", file=sys.stderr)
        return 2
    print("Starting Datagen…", file=sys.stderr, flush=True)
    from datagen.redact import redact_logs
    from tui.factory import create_app

    redact_logs()
    app = create_app(settings=settings, schema_path=schema_path, offer_resume=not new)
    app.run()
    return app.return_code or 0
