"""CSV export that Keboola Storage loads as is: `<id>.csv`, `<id>.csv.manifest`, `dataset.json`.

The manifest follows Keboola's output-table manifest for components, "/data/out/tables manifests"
(https://developers.keboola.com/extend/common-interface/manifest-files/out-tables-manifests), using only
documented keys: `destination`, `incremental`, `primary_key`, `delimiter`, `enclosure` and `metadata`.
We use that classic form rather than the newer native-types form
(https://developers.keboola.com/extend/common-interface/manifest-files/out-tables-manifests-native-types)
because every Keboola stack reads it, whether or not a project has native types enabled.

The CSV keeps its header row and the manifest omits `columns`: the doc says a manifest with `columns`
makes Storage treat the file as headless, while Keboola's CSV spec for Storage imports
(https://help.keboola.com/storage/tables/csv-files) requires a header, and a CSV with a header is also
usable outside Keboola. The file is what that spec asks for: RFC 4180, UTF-8, comma, double-quote
enclosure escaped by doubling. Nulls are empty fields (Storage stores them as empty strings anyway);
datetimes are ISO-8601 in UTC with `Z`. Column types, which the classic manifest has no documented key
for, are listed in `dataset.json`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from datagen.engine.cast import declared_type_of
from datagen.errors import InputError
from datagen.io.jsonfile import write_json_atomic
from datagen.io.manifest import CSV_EXPORT
from datagen.io.names import check_distinct_on_disk, table_file_stem
from datagen.io.output import AtomicOutputDir, table_files

DATASET_FILE = "dataset.json"
DELIMITER = ","
ENCLOSURE = '"'
BATCH_ROWS = 65_536
_ISO_UTC = "%Y-%m-%dT%H:%M:%SZ"
# Trailing zeros of the fraction (and a fraction of zeros) carry no information: `07.250000Z` -> `07.25Z`.
_ZERO_FRACTION = r"\.0+Z$|(\.\d*[1-9])0+Z$"


@dataclass
class ExportTable:
    """One table to export, as the schema declares it (column order is the output order)."""

    id: str
    pk: str | None
    columns: list[str]
    description: str | None = None


def export_csv(
    data_dir: Path,
    out_dir: Path,
    tables: list[ExportTable],
    *,
    dataset: dict[str, Any],
    bucket: str | None = None,
) -> list[Path]:
    """Export generated Parquet tables to a Keboola-ready CSV folder; returns the files written.

    `bucket` (e.g. `out.c-datagen`) sets each manifest's `destination` to `<bucket>.<id>`; without it
    Keboola names the table after the file. `dataset` (name, description, seed, schema hash, ...) is
    copied into `dataset.json` ahead of the table list. Memory is bounded by one batch of rows.
    """
    data_dir = Path(data_dir)
    stems = [table_file_stem(t.id) for t in tables]
    check_distinct_on_disk(stems)
    claims = [DATASET_FILE, *(f"{s}.csv" for s in stems), *(f"{s}.csv.manifest" for s in stems)]
    sources = {t.id: _sources(data_dir, t) for t in tables}
    entries: list[dict[str, Any]] = []
    with AtomicOutputDir(Path(out_dir), kind=CSV_EXPORT, claims=claims) as out:
        for table in tables:
            csv_name = f"{table.id}.csv"
            files, schema = sources[table.id]
            rows = _write_csv(files, schema, out.path / csv_name)
            write_json_atomic(out.path / f"{csv_name}.manifest", _manifest(table, bucket))
            entries.append(
                {
                    "id": table.id,
                    "file": csv_name,
                    "manifest": f"{csv_name}.manifest",
                    "rows": rows,
                    "columns": [{"name": f.name, "type": _type_name(f.type)} for f in schema],
                    "primary_key": [table.pk] if table.pk else [],
                    **({"description": table.description} if table.description else {}),
                }
            )
        write_json_atomic(out.path / DATASET_FILE, {**dataset, "format": "csv", "tables": entries})
    final = Path(out_dir).absolute()
    written = [final / e[key] for e in entries for key in ("file", "manifest")]
    return [*written, final / DATASET_FILE]


def _sources(data_dir: Path, table: ExportTable) -> tuple[list[Path], pa.Schema]:
    """Find a table's Parquet files and the schema of the exported columns, before any output starts."""
    files = table_files(data_dir, table.id)
    if not files:
        raise InputError(
            f"no data for table {table.id!r}: {data_dir / (table.id + '.parquet')} does not exist",
            hint=f"run `datagen generate SCHEMA -o {data_dir}` first, or point --data-dir at its output",
        )
    try:
        stored = pq.read_schema(files[0])
    except (OSError, pa.ArrowInvalid) as exc:
        raise InputError(
            f"cannot read {files[0]}: {exc}", hint="regenerate the data with `datagen generate`"
        ) from exc
    missing = [c for c in table.columns if c not in stored.names]
    if missing:
        raise InputError(
            f"table {table.id!r} in {data_dir} has no column(s) {', '.join(missing)}; "
            "the data was generated from a different schema",
            hint="regenerate the data with `datagen generate` for this schema",
        )
    return files, pa.schema([stored.field(c) for c in table.columns])


def _batches(files: list[Path], columns: list[str]) -> Iterator[pa.RecordBatch]:
    for path in files:
        with pq.ParquetFile(path) as parquet:
            yield from parquet.iter_batches(batch_size=BATCH_ROWS, columns=columns)


def _write_csv(files: list[Path], schema: pa.Schema, path: Path) -> int:
    """Stream one table (all its parts) into one CSV; returns the number of rows."""
    csv_schema = pa.schema([pa.field(f.name, _csv_type(f.type)) for f in schema])
    options = pacsv.WriteOptions(include_header=True, delimiter=DELIMITER, quoting_style="needed")
    rows = 0
    with pacsv.CSVWriter(path, csv_schema, write_options=options) as writer:
        for batch in _batches(files, schema.names):
            arrays = [_to_csv_array(batch.column(i)) for i in range(batch.num_columns)]
            writer.write_batch(pa.RecordBatch.from_arrays(arrays, schema=csv_schema))
            rows += batch.num_rows
    return rows


def _csv_type(t: pa.DataType) -> pa.DataType:
    if pa.types.is_timestamp(t):
        return pa.string()
    if pa.types.is_dictionary(t):
        return t.value_type
    return t


def _to_csv_array(arr: pa.Array) -> pa.Array:
    """Datetimes as ISO-8601 UTC with `Z` (naive ones are UTC by DSL contract); dictionaries decoded.

    The shortest exact form per value, so the text does not depend on the unit Parquet stored.
    """
    if pa.types.is_timestamp(arr.type):
        utc = arr.cast(pa.timestamp(arr.type.unit, tz="UTC"))
        text = pc.strftime(utc, format=_ISO_UTC)
        return pc.replace_substring_regex(text, pattern=_ZERO_FRACTION, replacement=r"\1Z")
    if pa.types.is_dictionary(arr.type):
        return arr.dictionary_decode()
    return arr


def _manifest(table: ExportTable, bucket: str | None) -> dict[str, Any]:
    """A full load with the declared PK.

    The description goes to table metadata under `KBC.description`, the key Keboola's manifest docs use
    for a table description; the classic form takes metadata as a list of key/value pairs.
    """
    manifest: dict[str, Any] = {}
    if bucket:
        manifest["destination"] = f"{bucket}.{table.id}"
    manifest |= {
        "incremental": False,
        "primary_key": [table.pk] if table.pk else [],
        "delimiter": DELIMITER,
        "enclosure": ENCLOSURE,
    }
    if table.description:
        manifest["metadata"] = [{"key": "KBC.description", "value": table.description}]
    return manifest


def _type_name(t: pa.DataType) -> str:
    """The DSL column type an Arrow type stands for (falls back to Arrow's own name)."""
    if pa.types.is_dictionary(t):
        t = t.value_type
    if pa.types.is_decimal(t):
        return "float"
    return declared_type_of(t) or str(t)
