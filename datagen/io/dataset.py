"""A dataset folder, the one place the CLI and the TUI go through: generate it to disk (one Parquet
file or folder of parts per table, written chunk by chunk inside an atomic output folder, plus
`.metadata.json`), then open it again to validate or export it. Readers accept only a finished
output of this datagen (a complete manifest, see manifest.py)."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from datagen import __version__
from datagen.dsl import CheckResult, Schema, schema_hash
from datagen.engine.cast import arrow_schema
from datagen.engine.estimate import RunEstimate, estimate_run
from datagen.engine.generate import Engine, Options, RemoteBlocks, TableStats
from datagen.errors import DatagenError, GenerationError, InputError
from datagen.io.csv_export import ExportTable, export_csv
from datagen.io.jsonfile import write_json_atomic
from datagen.io.manifest import DATASET, Manifest, ownership, require_complete, write_manifest
from datagen.io.names import check_distinct_on_disk, table_file_stem
from datagen.io.output import METADATA_FILE, AtomicOutputDir, TableWriter, WrittenTable
from datagen.io.row_groups import Part, PartWriter

REPORT_FILE = "validation_report.json"
EXPORT_FORMATS = ("csv",)
BYTES_PER_VALUE = 4  # rough compressed Parquet size, for the free-space check
MAX_ROWS_PER_FILE = 50_000_000  # past this, a table is a folder of parts (output.py TableWriter)
PARTS_FOLDER = ".parts"  # inside the staging folder: row groups written by workers, until joined


@dataclass
class DatasetResult:
    out_dir: Path
    stats: list[TableStats]
    written: dict[str, WrittenTable]
    metadata: dict[str, Any]


def check_disk(engine: Engine, target: Path) -> None:
    """Refuse before any work when the estimate clearly does not fit on the disk."""
    need = sum(
        rows * len(engine.plan.table(t).node.output_columns) * BYTES_PER_VALUE
        for t, rows in engine.estimate_rows().items()
    )
    probe = target if target.exists() else next((p for p in target.parents if p.exists()), Path("."))
    free = shutil.disk_usage(probe).free
    if need > free:
        raise GenerationError(
            f"the dataset needs about {need / 1e9:.1f} GB but {probe} has {free / 1e9:.1f} GB free",
            hint="free some space, choose another -o, or lower --scale",
        )


def check_time(engine: Engine, confirm: Callable[[RunEstimate], bool] | None) -> RunEstimate:
    """Past an hour (engine/estimate.py), run only when `confirm(estimate)` says yes; without a way
    to ask (`confirm` is None) refuse, before any work."""
    estimate = estimate_run(engine)
    if not estimate.long:
        return estimate
    if confirm is None:
        raise InputError(
            f"this run would take {estimate.describe()}, longer than the hour datagen runs without asking",
            hint="confirm it with --yes, or lower --scale or the tables' rows and fanouts",
        )
    if not confirm(estimate):
        raise DatagenError(f"not generated: the run would take {estimate.describe()}")
    return estimate


def dataset_claims(schema: Schema) -> list[str]:
    """The names a dataset writes: `.metadata.json`, and per table both `<id>.parquet` and `<id>/`
    (a reader takes the single file over a parts folder, so a foreign one of either would shadow
    ours)."""
    ids = [table_file_stem(n.id) for n in schema.nodes]
    check_distinct_on_disk(ids)
    return [METADATA_FILE, *(f"{t}.parquet" for t in ids), *ids]


def write_dataset(
    checked: CheckResult,
    out_dir: Path,
    options: Options,
    *,
    on_table_start: Callable[[str, int], None] | None = None,
    on_progress: Callable[[str, int], None] | None = None,
    confirm: Callable[[RunEstimate], bool] | None = None,
    remote: RemoteBlocks | None = None,
) -> DatasetResult:
    """Generate the dataset into `out_dir` by the replace rule (output.py), with the row groups of
    self-contained tables generated and written on `remote` (a Dask cluster, engine/distributed.py) if
    given, as parts in the staging folder that are joined into the table's files; the bytes are the
    same either way. Refused before any work:
    a table over the row limit, a run over an hour that `confirm` does not accept, a dataset that does
    not fit on the disk, and files not written by datagen where this run must write."""
    schema = checked.raise_for_errors()
    claims = dataset_claims(schema)
    engine = Engine(schema, options, remote=remote)
    engine.check_size()
    check_time(engine, confirm)
    check_disk(engine, out_dir)
    with AtomicOutputDir(out_dir, kind=DATASET, claims=claims) as out:
        tables = Tables(engine, out.path)
        parts = None
        if remote is not None:
            parts = tables
            (out.path / PARTS_FOLDER).mkdir()
        try:
            stats = engine.run(tables, parts=parts, on_table_start=on_table_start, on_progress=on_progress)
        except BaseException:
            tables.abort()
            raise
        written = tables.close()
        if remote is not None:  # every part was joined; what is left is a killed task's temporary file
            shutil.rmtree(out.path / PARTS_FOLDER)
        metadata = build_metadata(checked, engine, stats, written)
        write_json_atomic(out.path / METADATA_FILE, metadata)
    return DatasetResult(out_dir, stats, written, metadata)


class Tables:
    """The engine's sink: one TableWriter per table, in turn, whose row groups are the engine's
    (Engine.row_groups); rows generated on the driver arrive as chunks, row groups generated on
    workers as part files in the staging folder's parts folder, joined in row order."""

    def __init__(self, engine: Engine, folder: Path) -> None:
        self.engine = engine
        self.folder = folder
        self.written: dict[str, WrittenTable] = {}
        self.current: tuple[str, TableWriter] | None = None

    def __call__(self, tid: str, chunk: Any) -> None:
        self.table(tid).write(chunk)

    def writer(self, tid: str) -> PartWriter:
        return PartWriter(str(self.folder / PARTS_FOLDER), table_file_stem(tid))

    def add(self, tid: str, part: Part) -> None:
        self.table(tid).add_part(part)

    def table(self, tid: str) -> TableWriter:
        """The writer of `tid`, closing the previous table's (tables arrive one at a time)."""
        if self.current is not None and self.current[0] == tid:
            return self.current[1]
        self.close()
        node = self.engine.plan.table(tid).node
        writer = TableWriter(
            self.folder,
            tid,
            arrow_schema(node),
            max_rows_per_file=MAX_ROWS_PER_FILE,
            row_group_rows=self.engine.row_groups[tid],
        )
        self.current = (tid, writer)
        return writer

    def abort(self) -> None:
        """Release the open file of a failed run (the staging folder goes with it)."""
        if self.current is not None:
            self.current[1].abort()
            self.current = None

    def close(self) -> dict[str, WrittenTable]:
        if self.current is not None:
            tid, writer = self.current
            self.written[tid] = writer.close()
            self.current = None
        return self.written


def build_metadata(
    checked: CheckResult, engine: Engine, stats: list[TableStats], written: dict[str, WrittenTable]
) -> dict[str, Any]:
    schema = engine.schema
    o = engine.options
    by_id = {s.id: s for s in stats}
    return {
        "dataset": schema.metadata.name,
        "description": schema.metadata.description,
        "schema_hash": schema_hash(schema),
        "seed": o.seed,
        "scale": o.scale,
        "block_rows": o.block_rows,
        "engine_version": __version__,
        "tables": {
            n.id: {
                "rows": by_id[n.id].rows,
                "columns": [{"name": c.name, "type": c.type} for c in n.output_columns],
                "primary_key": n.pk,
                "files": written[n.id].files if n.id in written else [],
                "seconds": round(by_id[n.id].seconds, 4),
            }
            for n in schema.nodes
        },
        "normalised": [i.to_dict() for i in checked.notes],
        "warnings": [i.to_dict() for i in checked.warnings],
        "inequalities": engine.plan.notes,
    }


def open_dataset(data_dir: Path) -> dict[str, Any]:
    """The `.metadata.json` of a finished dataset folder, or InputError saying why the folder is not
    one (missing, foreign, an older datagen's output, incomplete, or a CSV export)."""
    require_complete(data_dir, DATASET)
    path = Path(data_dir) / METADATA_FILE
    try:
        metadata = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(
            f"cannot read {path}: the dataset folder is damaged",
            hint=f"generate it again: datagen generate SCHEMA -o {data_dir}",
        ) from exc
    return metadata if isinstance(metadata, dict) else {}


def report_path(data_dir: Path, path: Path | None = None) -> Path:
    """Where the validation report goes, settled before validating: `path`, or by default
    `DATA_DIR/validation_report.json`, which is then listed in the folder's manifest (the next generate
    replaces it with the data). A file of that name that datagen did not write is never overwritten."""
    data_dir = Path(data_dir)
    default = data_dir / REPORT_FILE
    if path is not None and Path(path).absolute() != default.absolute():
        return Path(path)
    manifest = require_complete(data_dir, DATASET)
    if REPORT_FILE in ownership(data_dir, manifest).files:
        return default
    if os.path.lexists(default):
        raise InputError(
            f"{default} was not written by datagen; refusing to overwrite it",
            hint="write the report elsewhere with -o PATH",
        )
    write_manifest(data_dir, Manifest(DATASET, True, (*manifest.files, REPORT_FILE), manifest.folders))
    return default


def save_report(document: dict[str, Any], path: Path) -> Path:
    """Write a validation report where `report_path` said."""
    try:
        write_json_atomic(path, document)
    except OSError as exc:
        raise InputError(
            f"cannot write the report to {path}: {exc.strerror or exc}", hint="choose another -o"
        ) from exc
    return path


def export_dataset(
    checked: CheckResult, data_dir: Path, out_dir: Path, *, fmt: str = "csv", bucket: str | None = None
) -> list[Path]:
    """Export a finished dataset folder (CSV for Keboola: see csv_export.py); returns the files written."""
    if fmt not in EXPORT_FORMATS:
        raise InputError(f"unknown export format '{fmt}'", hint="use --format " + " or ".join(EXPORT_FORMATS))
    schema = checked.raise_for_errors()
    metadata = open_dataset(data_dir)
    tables = [ExportTable(n.id, n.pk, n.output_column_names, n.description) for n in schema.nodes]
    dataset: dict[str, Any] = {
        "name": schema.metadata.name,
        "description": schema.metadata.description,
        "schema_hash": schema_hash(schema),
    }
    if "seed" in metadata:
        dataset["seed"] = metadata["seed"]
    return export_csv(data_dir, out_dir, tables, dataset=dataset, bucket=bucket)
