"""The long-running work the app hands to its workers, as plain functions over the datagen library.

No Textual here: each function takes data and callbacks and returns data, so the same calls the
`datagen` CLI makes can be tested without a screen. Errors are DatagenError (shown in the chat)."""

from __future__ import annotations

import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import pyarrow.parquet as pq

from datagen.dsl import CheckResult, check, check_file
from datagen.engine.generate import Options
from datagen.engine.preflight import Preflight, preflight
from datagen.errors import InputError
from datagen.io.csv_export import ExportTable
from datagen.io.dataset import DatasetResult, export_dataset, write_dataset
from datagen.io.jsonfile import write_json_atomic
from datagen.io.manifest import SPREADSHEETS
from datagen.io.names import default_output_dir
from datagen.io.output import METADATA_FILE
from datagen.io.spreadsheet import Saved, save_csv, save_excel
from datagen.validate import Report, validate
from datagen.validate import validate_dataset as validate_dataset  # the app's jobs.validate_dataset

T = TypeVar("T")


class Cancelled(Exception):
    """A long job was stopped (Esc, ctrl+n, quitting); the atomic output folder leaves nothing
    half-written behind."""


def wait_for(call: Callable[[], T], *, cancelled: Callable[[], bool], poll: float = 0.1) -> T:
    """Run `call` in a daemon thread and wait for it, giving up (Cancelled) as soon as `cancelled()`.

    A request to a language model cannot be interrupted; this lets the worker waiting for it end at
    once when the app quits, and the abandoned thread ends with the process instead of holding it."""
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["value"] = call()
        except BaseException as exc:  # handed to the waiting thread as is
            outcome["error"] = exc

    thread = threading.Thread(target=run, name="datagen-wait", daemon=True)
    thread.start()
    while thread.is_alive():
        thread.join(poll)
        if thread.is_alive() and cancelled():
            raise Cancelled
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def open_schema(path: Path) -> CheckResult:
    """Read and check a schema file (unreadable or non-JSON files raise InputError)."""
    return check_file(path)


def check_document(document: Any) -> CheckResult:
    return check(document)


def sample(checked: CheckResult, rows: int, seed: int) -> Preflight:
    """The preview: the same preflight `datagen generate --sample` runs."""
    return preflight(checked.raise_for_errors(), rows=rows, seed=seed)


def validate_sample(checked: CheckResult, sample_result: Preflight, seed: int) -> Report:
    """The checks on the preview sample: written as a tiny dataset in a temporary folder, so the
    validator reads it exactly as it reads a full one (its tolerances follow the sample size)."""
    with tempfile.TemporaryDirectory(prefix="datagen-tui-sample-") as tmp:
        folder = Path(tmp)
        for table_id, table in sample_result.tables.items():
            pq.write_table(table, folder / f"{table_id}.parquet")
        write_json_atomic(folder / METADATA_FILE, {"seed": seed})
        return validate(checked, folder)


def generate(
    checked: CheckResult,
    out_dir: Path,
    *,
    seed: int,
    on_table_start: Callable[[str, int], None],
    on_progress: Callable[[str, int], None],
    cancelled: Callable[[], bool] = lambda: False,
) -> DatasetResult:
    """The full dataset on disk; `cancelled()` is polled after every block and stops the run cleanly.
    A run estimated at over an hour is refused (the app cannot ask mid-job); the message says how
    to run it from the command line."""

    def progress(table: str, rows: int) -> None:
        if cancelled():
            raise Cancelled
        on_progress(table, rows)

    return write_dataset(
        checked, out_dir, Options(seed=seed), on_table_start=on_table_start, on_progress=progress
    )


def export(checked: CheckResult, data_dir: Path, out_dir: Path) -> list[Path]:
    """Keboola-ready CSV of a generated dataset, exactly as `datagen export` writes it."""
    return export_dataset(checked, data_dir, out_dir)


def save_data(checked: CheckResult, data_dir: Path, parent: Path, *, excel: bool) -> Saved:
    """The generated dataset as an Excel workbook or CSV files, in a folder named after the dataset
    inside `parent` (`-2`, `-3`… when that name holds something else)."""
    schema = checked.raise_for_errors()
    name = schema.metadata.name
    tables = [ExportTable(n.id, n.pk, n.column_names, n.description) for n in schema.nodes]
    out = default_output_dir(parent, name, SPREADSHEETS)
    if excel:
        return save_excel(data_dir, out, tables, name)
    return save_csv(data_dir, out, tables)


def save_schema(document: Any, path: Path) -> Path:
    """Write the schema JSON atomically; a bad folder becomes a message, not a traceback."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_json_atomic(path, document)
    except OSError as exc:
        raise InputError(
            f"cannot save the schema to {path}: {exc.strerror or exc}",
            hint="choose a folder you can write to",
        ) from exc
    return path
