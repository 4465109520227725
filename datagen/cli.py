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
from datagen.io.signals import EXIT_SIGINT, EXIT_SIGTERM, Terminated, raise_on_sigterm
from datagen.terminal import Terminal, plain, styled, write_raw

app = typer.Typer(
    name="datagen",
    help="Describe the data you need; get a validated schema and realistic, deterministic tables.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
out = Terminal()  # markup off, secrets redacted: see datagen.terminal
err = Terminal(stderr=True)
_state = {"debug": False}
F = TypeVar("F", bound=Callable[..., Any])


def friendly_errors(func: F) -> F:
    """Turn DatagenError, Ctrl-C and SIGTERM into one message and an exit code; --debug re-raises."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except DatagenError as exc:
            if _state["debug"]:
                raise
            err.print(styled(("error:", "bold red"), f" {exc.message}"), soft_wrap=True)
            if exc.hint:
                err.print(styled(("fix:", "bold"), f" {exc.hint}"), soft_wrap=True)
            raise typer.Exit(exc.exit_code) from None
        except KeyboardInterrupt as exc:
            if _state["debug"]:
                raise
            how = "terminated (SIGTERM)" if isinstance(exc, Terminated) else "interrupted"
            err.print(plain(f"{how}: nothing was left half-written"))
            raise typer.Exit(EXIT_SIGTERM if isinstance(exc, Terminated) else EXIT_SIGINT) from None

    return wrapper  # type: ignore[return-value]


def _version(value: bool) -> None:
    if value:
        out.print(plain(f"datagen {__version__}"))
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
            styled((issue.severity, style[issue.severity]), f" {issue.path}: {issue.message}"), soft_wrap=True
        )


@app.command()
@friendly_errors
def check(
    schema: Annotated[Path, typer.Argument(help="Schema file (JSON).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Check a schema: every error at once (path + message), notes and warnings. Exit 0 valid, 2 not."""
    from datagen.dsl import check_file
    from datagen.errors import InputError

    try:
        result = check_file(schema)
    except InputError as exc:
        if not as_json:
            raise
        unreadable = {"severity": "error", "path": str(schema), "code": "unreadable", "message": str(exc)}
        write_raw(json.dumps({"valid": False, "errors": [unreadable], "warnings": [], "notes": []}, indent=2))
        raise typer.Exit(2) from None
    if as_json:
        write_raw(json.dumps(result.to_dict(), indent=2))
    else:
        order = sorted(result.issues, key=lambda i: {"error": 0, "warning": 1, "note": 2}[i.severity])
        print_issues(order, console=out if result.ok else err)
        if result.ok and result.schema is not None:  # ok means a schema was read
            n = len(result.schema.nodes)
            out.print(
                styled(
                    ("ok", "green"),
                    f" {schema}: {n} table(s), {len(result.warnings)} warning(s), "
                    f"{len(result.notes)} note(s)",
                ),
                soft_wrap=True,
            )
        else:
            err.print(styled((f"{schema}: {len(result.errors)} error(s)", "bold red")), soft_wrap=True)
    if not result.ok:
        raise typer.Exit(2)


@app.command()
@friendly_errors
def upgrade(
    schema: Annotated[Path, typer.Argument(help="Schema file written for v1 (or any older shape).")],
    out_file: Annotated[
        Path | None,
        typer.Option("-o", "--out", help="Write the upgraded schema here (default: print it)."),
    ] = None,
    in_place: Annotated[
        bool, typer.Option("--in-place", help="Allow -o to name the input file itself.")
    ] = False,
) -> None:
    """Rewrite a schema in the current form (every change listed as a note on stderr). Exit 0 when the
    result checks, 2 when something still needs a person (its errors are listed; nothing is written)."""
    from datagen.dsl import check_file
    from datagen.errors import InputError
    from datagen.io.jsonfile import write_json_atomic

    same = out_file is not None and out_file.exists() and schema.exists() and out_file.samefile(schema)
    if same and not in_place:
        raise InputError(
            f"-o names the input file {schema}; it is not overwritten",
            hint="write the upgrade elsewhere, or add --in-place to replace the input",
        )
    if out_file is not None and out_file.is_dir():
        raise InputError(f"-o {out_file} is a folder", hint="name the file to write, e.g. -o new.json")
    result = check_file(schema)
    print_issues(result.legacy_notes, console=err)
    if not result.ok:
        print_issues(result.errors, console=err)
        err.print(
            styled((f"{schema}: {len(result.errors)} error(s) still need a person", "bold red")),
            " (nothing written)",
            soft_wrap=True,
        )
        raise typer.Exit(2)
    changes = f"{len(result.legacy_notes)} change(s)"
    if out_file is None:
        write_raw(json.dumps(result.document, indent=2, ensure_ascii=False))
        return
    try:
        write_json_atomic(out_file, result.document)
    except OSError as exc:
        raise InputError(
            f"cannot write {out_file}: {exc.strerror or exc}", hint="choose a folder you can write to"
        ) from exc
    err.print(styled(("upgraded", "green"), f" {schema} -> {out_file} ({changes})"), soft_wrap=True)


@app.command()
def jsonschema() -> None:
    """Print the DSL's JSON Schema (draft 2020-12) for editor completion; see README for "$schema"."""
    from datagen.dsl.jsonschema import dsl_json_schema

    write_raw(json.dumps(dsl_json_schema(), indent=2))


@app.command()
def examples() -> None:
    """List the bundled example schemas, one line each."""
    from datagen.resources import list_examples

    for ex in list_examples():
        out.print(styled((f"{ex.name:<16}", "bold"), f" {ex.summary}"), soft_wrap=True)
    out.print(plain(f"\n(files in {list_examples()[0].path.parent if list_examples() else 'examples/'})"))


def _load_checked(schema: Path):
    """Check a schema file; print its errors (exit 2) or its warnings, and return the result."""
    from datagen.dsl import check_file

    result = check_file(schema)
    if not result.ok:
        print_issues(result.errors, console=err)
        err.print(
            styled(
                (f"{schema}: {len(result.errors)} error(s)", "bold red"), f" (run `datagen check {schema}`)"
            ),
            soft_wrap=True,
        )
        raise typer.Exit(2)
    print_issues(result.warnings, console=err)
    return result


@app.command()
@friendly_errors
def generate(
    schema: Annotated[Path, typer.Argument(help="Schema file (JSON).")],
    out_dir: Annotated[
        Path | None, typer.Option("-o", "--out", help="Output folder (default: data/<schema name>).")
    ] = None,
    seed: Annotated[int, typer.Option(help="Random seed: same seed, same data.")] = 42,
    scale: Annotated[
        float, typer.Option(min=0.0, help="Multiply the rows of every parent-less table.")
    ] = 1.0,
    chunk_rows: Annotated[
        int, typer.Option("--chunk-rows", min=1, help="Rows per written chunk (rounded to whole blocks).")
    ] = 262_144,
    sample: Annotated[
        int | None,
        typer.Option(
            min=1, help="Preflight: N rows per parent-less table, in memory; print problems and a preview."
        ),
    ] = None,
    validate_after: Annotated[
        bool,
        typer.Option(
            "--validate", help="Validate the data right after writing it (exit 1 when validation fails)."
        ),
    ] = False,
    yes: Annotated[
        bool, typer.Option("--yes", "-y", help="Run even when the estimate is over an hour, without asking.")
    ] = False,
    workers: Annotated[
        int | None,
        typer.Option(min=1, help="Generate on a local Dask cluster of N processes (same bytes as without)."),
    ] = None,
    scheduler: Annotated[
        str | None,
        typer.Option(help="Generate on an existing Dask cluster: its scheduler address (tcp://HOST:8786)."),
    ] = None,
) -> None:
    """Generate the dataset: one Parquet file per table plus .metadata.json, written atomically.
    An existing folder keeps every file datagen did not write (see README, "generate")."""
    from datagen.engine.generate import Options
    from datagen.io.confirm import long_run_confirmation
    from datagen.io.manifest import DATASET
    from datagen.io.names import default_output_dir

    checked = _load_checked(schema)
    if sample is not None:
        _preflight(checked.schema, sample, seed)
        return
    target = out_dir or default_output_dir(Path("data"), schema.stem, DATASET)
    options = Options(seed=seed, scale=scale, chunk_rows=chunk_rows)
    confirm = long_run_confirmation(yes, err)
    if workers is None and scheduler is None:
        result = _generate_with_progress(checked, target, options, confirm=confirm)
    else:
        from datagen.engine.distributed import dask_blocks
        from datagen.errors import InputError

        if workers is not None and scheduler is not None:
            raise InputError(
                "--workers and --scheduler do not go together",
                hint="--workers N starts a local cluster; --scheduler ADDRESS uses a running one",
            )
        with dask_blocks(workers, scheduler) as remote:
            result = _generate_with_progress(checked, target, options, confirm=confirm, remote=remote)
    _print_summary(result)
    if validate_after:
        raise typer.Exit(_run_validation(checked, target))


def _preflight(schema, rows: int, seed: int) -> None:
    from rich.table import Table

    from datagen.engine.preflight import preflight

    pf = preflight(schema, rows=rows, seed=seed)
    for tid, table in pf.tables.items():
        view = Table(title=plain(f"{tid} ({table.num_rows} rows)"), title_justify="left", show_lines=False)
        for name in table.column_names:
            view.add_column(plain(name), overflow="ellipsis", max_width=24)
        for row in table.slice(0, 5).to_pylist():
            view.add_row(*[plain("∅" if v is None else str(v)) for v in row.values()])
        out.print(view)
    for w in pf.warnings:
        err.print(styled(("warning", "yellow"), f" {w}"), soft_wrap=True)
    if pf.problems:
        for p in pf.problems:
            err.print(styled(("problem", "bold red"), f" {p}"), soft_wrap=True)
        raise typer.Exit(1)
    out.print(
        styled(("preflight ok", "green"), f": every column generated ({rows} rows per parent-less table)")
    )


def _generate_with_progress(checked, target: Path, options, *, confirm=None, remote=None):
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

    from datagen.io.dataset import write_dataset

    progress = Progress(
        TextColumn("{task.description:<20}", markup=False),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=True,
        disable=not err.is_terminal,
    )
    tasks: dict[str, TaskID] = {}
    with progress:
        return write_dataset(
            checked,
            target,
            options,
            on_table_start=lambda tid, total: tasks.__setitem__(tid, progress.add_task(tid, total=total)),
            on_progress=lambda tid, n: progress.advance(tasks[tid], n),
            confirm=confirm,
            remote=remote,
        )


def _print_summary(result) -> None:
    from rich.console import JustifyMethod
    from rich.table import Table

    view = Table(title=plain(f"wrote {result.out_dir}"), title_justify="left")
    columns: tuple[tuple[str, JustifyMethod], ...] = (
        ("table", "left"),
        ("rows", "right"),
        ("seconds", "right"),
        ("rows/s", "right"),
    )
    for name, justify in columns:
        view.add_column(name, justify=justify)
    rows = sum(s.rows for s in result.stats)
    secs = sum(s.seconds for s in result.stats)
    for s in result.stats:
        view.add_row(plain(s.id), f"{s.rows:,}", f"{s.seconds:.2f}", f"{s.rows_per_second:,.0f}")
    view.add_row(styled(("total", "bold")), f"{rows:,}", f"{secs:.2f}", f"{rows / secs if secs else 0:,.0f}")
    out.print(view)


@app.command()
@friendly_errors
def validate(
    schema: Annotated[Path, typer.Argument(help="Schema file (JSON).")],
    data_dir: Annotated[Path, typer.Option("--data-dir", help="Folder written by `datagen generate`.")],
    report: Annotated[
        Path | None,
        typer.Option("-o", "--out", help="JSON report path (default: DATA_DIR/validation_report.json)."),
    ] = None,
    threshold: Annotated[
        float | None,
        typer.Option(
            min=0.0,
            max=100.0,
            show_default=False,
            help="Lowest quality score (0-100) that passes (default: the validator's, see README).",
        ),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the report as JSON, not the summary.")
    ] = False,
) -> None:
    """Prove the data holds what its schema declares: keys, foreign keys, nulls, types, constraints and
    behaviour, with a 0-100 quality score. Exit 0 when every hard check passes and the score reaches
    --threshold, 1 otherwise, 2 for bad input (invalid schema, missing data)."""
    checked = _load_checked(schema)
    raise typer.Exit(_run_validation(checked, data_dir, report, threshold, as_json=as_json))


def _run_validation(
    checked,
    data_dir: Path,
    report: Path | None = None,
    threshold: float | None = None,
    *,
    as_json: bool = False,
) -> int:
    """Validate, write the JSON report, print it (summary or JSON); return the exit code."""
    from datagen.io.dataset import report_path, save_report
    from datagen.redact import redact_data
    from datagen.validate import validate_dataset
    from datagen.validate.console import render

    path = report_path(data_dir, report)
    result = validate_dataset(checked, data_dir, threshold=threshold)
    document = redact_data(result.to_dict())  # examples are data values: they may hold anything
    save_report(document, path)
    if as_json:
        write_raw(json.dumps(document, indent=2))
    else:
        render(result, out, report_path=path)
    return result.exit_code


@app.command()
@friendly_errors
def export(
    schema: Annotated[Path, typer.Argument(help="Schema file (JSON).")],
    data_dir: Annotated[Path, typer.Option("--data-dir", help="Folder written by `datagen generate`.")],
    out_dir: Annotated[Path, typer.Option("-o", "--out", help="Folder for the CSV files.")],
    fmt: Annotated[
        str, typer.Option("--format", help="Export format (csv: Keboola-ready CSV + manifests).")
    ] = "csv",
    bucket: Annotated[
        str | None, typer.Option(help="Keboola bucket for the manifests' destination, e.g. in.c-datagen.")
    ] = None,
) -> None:
    """Export generated Parquet data as CSV with Keboola manifests and dataset.json. An existing folder
    keeps every file datagen did not write."""
    from datagen.io.dataset import export_dataset

    checked = _load_checked(schema)
    paths = export_dataset(checked, data_dir, out_dir, fmt=fmt, bucket=bucket)
    tables = len(checked.schema.nodes)
    out.print(styled(("exported", "green"), f" {tables} table(s) to {out_dir} ({len(paths)} files)"))


_LLM_HELP = "Overrides {} for this run."
_TIMEOUT_HELP = (
    "Seconds one conversation turn may take, every request and retry included "
    "(overrides DATAGEN_LLM_TIMEOUT; default 180)."
)


@app.command("tui")
@friendly_errors
def tui_command(
    schema: Annotated[Path | None, typer.Argument(help="Schema file to open (no LLM needed).")] = None,
    new: Annotated[bool, typer.Option("--new", help="Start afresh; do not offer the last session.")] = False,
    timeout: Annotated[float | None, typer.Option(min=1.0, help=_TIMEOUT_HELP)] = None,
) -> None:
    """Chat your way to a dataset: describe it, answer up to two questions, preview and check it."""
    import importlib
    import signal

    # The app runs its own event loop, which an exception raised by a signal handler would break:
    # SIGTERM ends it outright, as by default; a generation cut short that way leaves only a marked
    # staging folder, which the next run removes.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    from datagen.settings import Settings

    settings = Settings.load(llm_timeout=timeout)
    # `tui` depends on datagen, never the reverse: it is reached by name, so no datagen module imports
    # it (tests/test_architecture.py allows exactly this call).
    raise typer.Exit(importlib.import_module("tui").run(schema, new=new, settings=settings))


def _llm_settings(model: str | None, base_url: str | None, mode: str | None, timeout: float | None):
    from datagen.settings import Settings

    return Settings.load(model=model, base_url=base_url, llm_mode=mode, llm_timeout=timeout).require_llm()


@app.command()
@friendly_errors
def nl(
    prompt: Annotated[str | None, typer.Argument(help="The data you need, in plain English.")] = None,
    schema_out: Annotated[Path, typer.Option("-o", "--out", help="Schema file to write.")] = Path(
        "schema.json"
    ),
    yes: Annotated[
        bool, typer.Option("--yes", "-y", help="Take every question's default; print them as assumptions.")
    ] = False,
    generate_data: Annotated[
        bool, typer.Option("--generate/--no-generate", help="Generate and validate the data afterwards.")
    ] = True,
    scale: Annotated[float, typer.Option(min=0.0, help="Multiply the rows of parent-less tables.")] = 1.0,
    seed: Annotated[int, typer.Option(help="Random seed: same seed, same data.")] = 42,
    data_dir: Annotated[
        Path | None, typer.Option("--data-dir", help="Output folder (default: data/<schema name>).")
    ] = None,
    resume: Annotated[
        Path | None, typer.Option("--resume", help="Continue a saved conversation (its .conversation.jsonl).")
    ] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Show each step and LLM usage.")] = False,
    model: Annotated[str | None, typer.Option(help=_LLM_HELP.format("DATAGEN_MODEL"))] = None,
    base_url: Annotated[str | None, typer.Option(help=_LLM_HELP.format("OPENAI_BASE_URL"))] = None,
    mode: Annotated[str | None, typer.Option(help=_LLM_HELP.format("DATAGEN_LLM_MODE"))] = None,
    timeout: Annotated[float | None, typer.Option(min=1.0, help=_TIMEOUT_HELP)] = None,
) -> None:
    """Describe your data in English; get a checked schema, the data and its validation report.

    At most two short questions are asked (arrow keys or a typed answer). The conversation is saved
    beside the schema, so `--resume` can refine it later ("make it two years")."""
    from datagen.nl.oneshot import run_nl

    code = run_nl(
        prompt,
        settings=_llm_settings(model, base_url, mode, timeout),
        out=schema_out,
        yes=yes,
        generate=generate_data,
        scale=scale,
        seed=seed,
        data_dir=data_dir,
        resume=resume,
        verbose=verbose,
        console=out,
    )
    raise typer.Exit(code)


@app.command("eval")
@friendly_errors
def eval_command(
    prompts_file: Annotated[Path, typer.Argument(help="Prompt set (YAML), e.g. evals/prompts.yaml.")],
    data_root: Annotated[
        Path | None, typer.Option("--data-dir", help="Generate and validate each dataset under this folder.")
    ] = None,
    scale: Annotated[float, typer.Option(min=0.0, help="Row multiplier for the generated datasets.")] = 0.1,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 42,
    json_out: Annotated[Path | None, typer.Option("--json", help="Also write the results as JSON.")] = None,
    model: Annotated[str | None, typer.Option(help=_LLM_HELP.format("DATAGEN_MODEL"))] = None,
    base_url: Annotated[str | None, typer.Option(help=_LLM_HELP.format("OPENAI_BASE_URL"))] = None,
    mode: Annotated[str | None, typer.Option(help=_LLM_HELP.format("DATAGEN_LLM_MODE"))] = None,
    timeout: Annotated[float | None, typer.Option(min=1.0, help=_TIMEOUT_HELP)] = None,
) -> None:
    """Run a prompt set against the configured model: first-try validity, repairs, questions,
    generation and quality per prompt."""
    from datagen.nl.oneshot import run_eval_command

    raise typer.Exit(
        run_eval_command(
            prompts_file,
            settings=_llm_settings(model, base_url, mode, timeout),
            data_root=data_root,
            seed=seed,
            scale=scale,
            json_out=json_out,
            console=out,
        )
    )


def main() -> None:
    import traceback

    from datagen.redact import redact_logs

    raise_on_sigterm()
    redact_logs()
    try:
        app()
    except SystemExit:
        raise
    except BaseException as exc:  # only with --debug or a bug
        if _state["debug"]:  # the traceback goes through the redacting console too
            err.print(plain(traceback.format_exc()), soft_wrap=True)
            sys.exit(
                exc.exit_code
                if isinstance(exc, DatagenError)
                else 130
                if isinstance(exc, KeyboardInterrupt)
                else 1
            )
        err.print(
            styled(("internal error", "bold red"), " (a bug in datagen; run with --debug for the traceback)")
        )
        err.print(plain(traceback.format_exc(limit=-1).strip().splitlines()[-1]), soft_wrap=True)
        sys.exit(1)
