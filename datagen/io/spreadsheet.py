"""The data as a person takes it home: plain CSV files (one per table) or one Excel workbook (one sheet
per table), in a folder they chose.

Both go into one folder of kind `spreadsheets` by the replace rule (output.py, manifest.py): only
files datagen wrote there are ever replaced, a file of another origin where one must be written makes
the save refuse, and saving the CSV files keeps an earlier workbook (and the reverse). The CSV is the
same as the Keboola export's (RFC 4180, UTF-8, a header row, datetimes ISO-8601 UTC) without the
Keboola manifests. The workbook is written by xlsxwriter in its constant-memory mode (rows are
streamed to disk); Excel cannot hold more than 1,048,576 rows in a sheet, so a table that does not fit
is refused before anything is written, with a message that says to use CSV."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from datagen.errors import InputError
from datagen.io.csv_export import ExportTable, _batches, _sources, _write_csv
from datagen.io.manifest import SPREADSHEETS
from datagen.io.names import check_distinct_on_disk, output_slug, table_file_stem
from datagen.io.output import AtomicOutputDir

EXCEL_MAX_ROWS = 1_048_576  # rows in one sheet, the header included
EXCEL_MAX_TEXT = 32_767  # characters in one cell
EXACT_IN_EXCEL = 2**53  # Excel numbers are doubles: larger whole numbers are written as text
_SHEET_BAD = str.maketrans({c: "_" for c in "[]:*?/\\"})


@dataclass(frozen=True)
class Saved:
    folder: Path  # absolute
    files: list[Path]
    rows: int


def save_csv(data_dir: Path, out_dir: Path, tables: list[ExportTable]) -> Saved:
    """One `<table>.csv` per table in `out_dir`."""
    stems = [table_file_stem(t.id) for t in tables]
    check_distinct_on_disk(stems)
    sources = {t.id: _sources(Path(data_dir), t) for t in tables}
    rows = 0
    names = [f"{s}.csv" for s in stems]
    with AtomicOutputDir(Path(out_dir), kind=SPREADSHEETS, claims=names, keep_others=True) as out:
        for table, name in zip(tables, names, strict=True):
            files, schema = sources[table.id]
            rows += _write_csv(files, schema, out.path / name)
    folder = Path(out_dir).absolute()
    return Saved(folder, [folder / n for n in names], rows)


def save_excel(data_dir: Path, out_dir: Path, tables: list[ExportTable], name: str) -> Saved:
    """`<name>.xlsx` in `out_dir`, one sheet per table (refused when a table has more rows than a
    sheet holds)."""
    import pyarrow.parquet as pq
    import xlsxwriter

    sources = {t.id: _sources(Path(data_dir), t) for t in tables}
    too_big = []
    counts = {}
    for t in tables:
        counts[t.id] = sum(pq.ParquetFile(f).metadata.num_rows for f in sources[t.id][0])
        if counts[t.id] + 1 > EXCEL_MAX_ROWS:
            too_big.append(f"{t.id} ({counts[t.id]:,} rows)")
    if too_big:
        raise InputError(
            f"too many rows for Excel: {', '.join(too_big)}; a sheet holds at most {EXCEL_MAX_ROWS - 1:,} "
            "rows under its header",
            hint="save as CSV instead (no row limit), or make the dataset smaller",
        )
    book_name = f"{output_slug(name)}.xlsx"
    with AtomicOutputDir(Path(out_dir), kind=SPREADSHEETS, claims=[book_name], keep_others=True) as out:
        book = xlsxwriter.Workbook(
            str(out.path / book_name),
            {
                "constant_memory": True,
                "strings_to_numbers": False,
                "strings_to_formulas": False,
                "strings_to_urls": False,
                "nan_inf_to_errors": False,
            },
        )
        try:
            formats = {
                "header": book.add_format({"bold": True}),
                "datetime": book.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"}),
                "date": book.add_format({"num_format": "yyyy-mm-dd"}),
            }
            for sheet_name, table in zip(_sheet_names([t.id for t in tables]), tables, strict=True):
                files, schema = sources[table.id]
                _write_sheet(book.add_worksheet(sheet_name), files, schema, formats)
        finally:
            book.close()
    folder = Path(out_dir).absolute()
    return Saved(folder, [folder / book_name], sum(counts.values()))


def _sheet_names(ids: list[str]) -> list[str]:
    """Excel's rules: at most 31 characters, none of []:*?/\\, unique whatever the case."""
    names: list[str] = []
    for table_id in ids:
        base = table_id.translate(_SHEET_BAD)[:31] or "sheet"
        name, n = base, 2
        while name.casefold() in (m.casefold() for m in names):
            suffix = f"_{n}"
            name, n = base[: 31 - len(suffix)] + suffix, n + 1
        names.append(name)
    return names


def _write_sheet(sheet: Any, files: list[Path], schema: pa.Schema, formats: dict[str, Any]) -> None:
    sheet.write_row(0, 0, schema.names, formats["header"])
    kinds = [_kind(f.type) for f in schema]
    for col, kind in enumerate(kinds):
        if kind in ("datetime", "date"):
            sheet.set_column(col, col, 19 if kind == "datetime" else 11, formats[kind])
    row = 1
    for batch in _batches(files, schema.names):
        columns = [_cells(batch.column(i), kinds[i]) for i in range(batch.num_columns)]
        for values in zip(*columns, strict=True):  # a spreadsheet is written cell by cell
            for col, value in enumerate(values):
                if value is not None:
                    sheet.write(row, col, value)
            row += 1


def _kind(t: pa.DataType) -> str:
    if pa.types.is_dictionary(t):
        t = t.value_type
    if pa.types.is_timestamp(t):
        return "datetime"
    if pa.types.is_date(t):
        return "date"
    if pa.types.is_integer(t):
        return "int"
    if pa.types.is_floating(t) or pa.types.is_decimal(t):
        return "float"
    if pa.types.is_boolean(t):
        return "bool"
    return "text"


def _cells(array: pa.Array, kind: str) -> list[Any]:
    """Python values Excel can hold: naive UTC datetimes, finite numbers (whole numbers past 2^53 as
    text, so no digit is lost), text cut to Excel's cell limit; None for an empty cell."""
    if pa.types.is_dictionary(array.type):
        array = array.dictionary_decode()
    if kind == "datetime":
        utc = array.cast(pa.timestamp(array.type.unit, tz="UTC"))
        return utc.cast(pa.timestamp(array.type.unit)).to_pylist()
    values = array.to_pylist()
    if kind == "int":
        exact = pc.all(pc.less(pc.abs(array), EXACT_IN_EXCEL)).as_py()
        return (
            values
            if exact in (True, None)
            else [v if v is None or abs(v) < EXACT_IN_EXCEL else str(v) for v in values]
        )
    if kind == "float":
        return [v if v is None or math.isfinite(v) else None for v in values]
    if kind == "text":
        return [v if v is None or len(v) <= EXCEL_MAX_TEXT else v[:EXCEL_MAX_TEXT] for v in values]
    return values
