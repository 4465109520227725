"""The `datagen` command line. Thin: parses flags, calls the library, prints. Errors derived from
DatagenError are printed as one readable message (a traceback only with --debug)."""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console

from datagen import __version__
from datagen.errors import DatagenError

app = typer.Typer(
    name="datagen",
    help="Describe the data you need; get a validated schema and realistic, deterministic tables.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
out = Console(highlight=False)
err = Console(stderr=True, highlight=False)
_state = {"debug": False}
F = TypeVar("F", bound=Callable[..., Any])


def friendly_errors(func: F) -> F:
    """Turn DatagenError and Ctrl-C into one message and an exit code; --debug re-raises."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except DatagenError as exc:
            if _state["debug"]:
                raise
            err.print(f"[bold red]error:[/] {exc.message}", markup=True, soft_wrap=True)
            if exc.hint:
                err.print(f"[bold]fix:[/] {exc.hint}", soft_wrap=True)
            raise typer.Exit(exc.exit_code) from None
        except KeyboardInterrupt:
            if _state["debug"]:
                raise
            err.print("interrupted: nothing was left half-written")
            raise typer.Exit(130) from None

    return wrapper  # type: ignore[return-value]


def _version(value: bool) -> None:
    if value:
        out.print(f"datagen {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks for errors.")] = False,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    _state["debug"] = debug


def print_issues(issues: list, *, console: Console) -> None:
    style = {"error": "bold red", "warning": "yellow", "note": "cyan"}
    for issue in issues:
        console.print(
            f"[{style[issue.severity]}]{issue.severity}[/] {issue.path}: {issue.message}",
            soft_wrap=True,
            markup=True,
            highlight=False,
        )


@app.command()
@friendly_errors
def check(
    schema: Annotated[Path, typer.Argument(help="Schema file (JSON).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Check a schema: every error at once (path + message), notes and warnings. Exit 0 valid, 2 not."""
    from datagen.dsl import check_file

    result = check_file(schema)
    if as_json:
        print(json.dumps(result.to_dict(), indent=2))
    else:
        order = sorted(result.issues, key=lambda i: {"error": 0, "warning": 1, "note": 2}[i.severity])
        print_issues(order, console=out if result.ok else err)
        if result.ok:
            n = len(result.schema.nodes)
            out.print(
                f"[green]ok[/] {schema}: {n} table(s), {len(result.warnings)} warning(s), "
                f"{len(result.notes)} note(s)"
            )
        else:
            err.print(f"[bold red]{schema}: {len(result.errors)} error(s)[/]")
    if not result.ok:
        raise typer.Exit(2)


@app.command()
def jsonschema() -> None:
    """Print the DSL's JSON Schema (draft 2020-12) for editor completion; see README for "$schema"."""
    from datagen.dsl.jsonschema import dsl_json_schema

    print(json.dumps(dsl_json_schema(), indent=2))


@app.command()
def examples() -> None:
    """List the bundled example schemas, one line each."""
    from datagen.resources import list_examples

    for ex in list_examples():
        out.print(f"[bold]{ex.name:<16}[/] {ex.summary}", soft_wrap=True)
    out.print(f"\n(files in {list_examples()[0].path.parent if list_examples() else 'examples/'})")


def main() -> None:
    try:
        app()
    except SystemExit:
        raise
    except BaseException:  # pragma: no cover - only with --debug or a bug
        if _state["debug"]:
            raise
        import traceback

        err.print("[bold red]internal error[/] (a bug in datagen; run with --debug for the traceback)")
        err.print(traceback.format_exc(limit=-1).strip().splitlines()[-1])
        sys.exit(1)
