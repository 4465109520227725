"""One factory builds the app for the command line and for the tests (so they run the same thing)."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from datagen.errors import DatagenError
from datagen.settings import Settings
from tui.app import DatagenApp
from tui.backend import Backend


def create_app(
    backend: Backend | None = None,
    settings: Settings | None = None,
    *,
    schema_path: Path | None = None,
    offer_resume: bool = True,
) -> DatagenApp:
    """`backend` defaults to the real conversation core with the LLM the settings name; `settings` to
    the environment's."""
    settings = settings or Settings.load()
    if backend is None:
        from tui.llm import LLMBackend

        backend = LLMBackend(settings)
    return DatagenApp(backend, settings, schema_path=schema_path, offer_resume=offer_resume)


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
    try:
        settings = Settings.load(llm_timeout=args.timeout)
    except DatagenError as exc:  # a bad environment variable: its name and the fix, not a traceback
        from datagen.terminal import Terminal, styled

        Terminal(stderr=True).print(styled(("error:", "bold red"), f" {exc}"), soft_wrap=True)
        return exc.exit_code
    return run(args.schema, new=args.new, settings=settings)


def run(schema_path: Path | None = None, *, new: bool = False, settings: Settings | None = None) -> int:
    """Run the app in this terminal (what `datagen tui` and `python -m tui` do); returns the exit code.
    Log records are redacted from here on, whoever writes them."""
    from datagen.redact import redact_logs

    redact_logs()
    create_app(settings=settings, schema_path=schema_path, offer_resume=not new).run()
    return 0
