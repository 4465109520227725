"""CSV export in the shape Keboola Storage loads: header-ful RFC 4180 CSV plus a classic manifest."""

from __future__ import annotations

import csv
import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from datagen.errors import InputError
from datagen.io import csv_export
from datagen.io.csv_export import ExportTable, export_csv
from datagen.io.output import TableWriter

PAID_AT = dt.datetime(2024, 3, 1, 12, 0, 0, 250000, tzinfo=dt.UTC)
TRICKY = ["plain", "comma, inside", 'quote " inside', "new\nline", "", None, "Žluťoučký kůň"]
FLOATS = [0.1 + 0.2, 1 / 3, -0.0, 1e-310, 1e300, None, 42.0]
CLASSIC_KEYS = {"incremental", "primary_key", "delimiter", "enclosure"}


def mixed_table() -> pa.Table:
    ts = [dt.datetime(2024, 1, 1, 5, 6, 7), None, dt.datetime(1999, 12, 31, 23, 59, 59)] + [None] * 4
    return pa.table(
        {
            "id": pa.array(range(1, 8), pa.int64()),
            "amount": pa.array(FLOATS, pa.float64()),
            "note": pa.array(TRICKY, pa.string()),
            "seen_at": pa.array(ts, pa.timestamp("s")),
            "paid_at": pa.array([PAID_AT] + [None] * 6, pa.timestamp("us", "UTC")),
            "born_on": pa.array([dt.date(2024, 2, 29), None] + [dt.date(1970, 1, 1)] * 5, pa.date32()),
            "active": pa.array([True, False, None, True, True, False, True]),
            "tier": pa.array(["gold", "silver", "gold", None, "gold", "silver", "gold"]).dictionary_encode(),
        }
    )


def write_parquet(data_dir: Path, table_id: str, table: pa.Table, **kwargs: int) -> None:
    data_dir.mkdir(parents=True, exist_ok=True)
    with TableWriter(data_dir, table_id, table.schema, **kwargs) as writer:
        for batch in table.to_batches(max_chunksize=kwargs.get("row_group_rows") or table.num_rows):
            writer.write(batch)


def read_csv(path: Path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.reader(fh))


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "data"
    write_parquet(folder, "orders", mixed_table())
    return folder


ORDERS = ExportTable(
    id="orders",
    pk="id",
    columns=["id", "amount", "note", "seen_at", "paid_at", "born_on", "active", "tier"],
    description="Orders placed online",
)


def test_values_round_trip_through_an_rfc4180_reader(data_dir: Path, tmp_path: Path) -> None:
    export_csv(data_dir, tmp_path / "csv", [ORDERS], dataset={"name": "shop"})
    header, *rows = read_csv(tmp_path / "csv" / "orders.csv")

    assert header == ORDERS.columns
    cols = dict(zip(header, zip(*rows, strict=True), strict=True))
    assert cols["id"] == tuple(str(i) for i in range(1, 8))
    assert [float(v) if v else None for v in cols["amount"]] == FLOATS
    assert cols["note"] == tuple("" if v is None else v for v in TRICKY)
    assert cols["seen_at"][:3] == ("2024-01-01T05:06:07Z", "", "1999-12-31T23:59:59Z")
    assert cols["paid_at"][0] == "2024-03-01T12:00:00.25Z"
    assert dt.datetime.fromisoformat(cols["paid_at"][0]) == PAID_AT
    assert cols["born_on"][:2] == ("2024-02-29", "")
    assert cols["active"][:3] == ("true", "false", "")
    assert cols["tier"][:4] == ("gold", "silver", "gold", "")


def test_null_is_an_empty_field_and_empty_string_is_quoted(data_dir: Path, tmp_path: Path) -> None:
    export_csv(data_dir, tmp_path / "csv", [ExportTable("orders", "id", ["id", "note"])], dataset={})
    lines = (tmp_path / "csv" / "orders.csv").read_text(encoding="utf-8").split("\n")
    assert '5,""' in lines  # TRICKY[4] == ""
    assert "6," in lines  # TRICKY[5] is None


def test_manifest_has_exactly_the_documented_classic_keys(data_dir: Path, tmp_path: Path) -> None:
    export_csv(data_dir, tmp_path / "csv", [ORDERS], dataset={}, bucket="out.c-datagen")
    manifest = json.loads((tmp_path / "csv" / "orders.csv.manifest").read_text())

    assert set(manifest) == CLASSIC_KEYS | {"destination", "metadata"}
    assert manifest == {
        "destination": "out.c-datagen.orders",
        "incremental": False,
        "primary_key": ["id"],
        "delimiter": ",",
        "enclosure": '"',
        "metadata": [{"key": "KBC.description", "value": "Orders placed online"}],
    }


def test_manifest_without_bucket_pk_or_description(data_dir: Path, tmp_path: Path) -> None:
    export_csv(data_dir, tmp_path / "csv", [ExportTable("orders", None, ["note"])], dataset={})
    manifest = json.loads((tmp_path / "csv" / "orders.csv.manifest").read_text())
    assert set(manifest) == CLASSIC_KEYS  # no `columns`: the CSV carries its header row
    assert manifest["primary_key"] == []
    assert read_csv(tmp_path / "csv" / "orders.csv")[0] == ["note"]


def test_dataset_json_lists_tables_after_the_callers_fields(data_dir: Path, tmp_path: Path) -> None:
    write_parquet(data_dir, "tiers", pa.table({"tier": ["gold", "silver"]}))
    out = tmp_path / "csv"
    written = export_csv(
        data_dir,
        out,
        [ORDERS, ExportTable("tiers", "tier", ["tier"])],
        dataset={"name": "shop", "seed": 7, "schema_hash": "abc"},
    )
    dataset = json.loads((out / "dataset.json").read_text())

    assert list(dataset)[:3] == ["name", "seed", "schema_hash"]
    assert dataset["seed"] == 7
    orders, tiers = dataset["tables"]
    assert orders == {
        "id": "orders",
        "file": "orders.csv",
        "manifest": "orders.csv.manifest",
        "rows": 7,
        "columns": [
            {"name": "id", "type": "int"},
            {"name": "amount", "type": "float"},
            {"name": "note", "type": "string"},
            {"name": "seen_at", "type": "datetime"},
            {"name": "paid_at", "type": "datetime"},
            {"name": "born_on", "type": "date"},
            {"name": "active", "type": "bool"},
            {"name": "tier", "type": "string"},
        ],
        "primary_key": ["id"],
        "description": "Orders placed online",
    }
    assert tiers["rows"] == 2 and tiers["primary_key"] == ["tier"]
    names = ["orders.csv", "orders.csv.manifest", "tiers.csv", "tiers.csv.manifest", "dataset.json"]
    assert written == [out.absolute() / n for n in names]
    assert sorted(p.name for p in out.iterdir()) == sorted([*names, ".datagen-manifest.json"])


def test_missing_table_names_the_file_and_suggests_generate(data_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(InputError) as info:
        export_csv(data_dir, tmp_path / "csv", [ORDERS, ExportTable("payments", "id", ["id"])], dataset={})
    assert str(data_dir / "payments.parquet") in str(info.value)
    assert "datagen generate" in str(info.value)
    assert not (tmp_path / "csv").exists()


def test_column_missing_from_the_data_is_an_input_error(data_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no column"):
        export_csv(data_dir, tmp_path / "csv", [ExportTable("orders", "id", ["id", "ghost"])], dataset={})
    assert not (tmp_path / "csv").exists()


def test_large_multi_part_table_streams_into_one_csv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    n = 120_000
    big = pa.table({"id": pa.array(range(n), pa.int64()), "v": pa.array(range(n), pa.int64())})
    write_parquet(tmp_path / "data", "big", big, max_rows_per_file=50_000, row_group_rows=10_000)
    assert not (tmp_path / "data" / "big.parquet").exists()  # really a folder of parts

    seen: list[int] = []
    batches = csv_export._batches

    def spy(files: list[Path], columns: list[str]) -> Iterator[pa.RecordBatch]:
        for batch in batches(files, columns):
            seen.append(batch.num_rows)
            yield batch

    monkeypatch.setattr(csv_export, "_batches", spy)
    monkeypatch.setattr(csv_export, "BATCH_ROWS", 7_000)
    export_csv(tmp_path / "data", tmp_path / "csv", [ExportTable("big", "id", ["id", "v"])], dataset={})

    header, *rows = read_csv(tmp_path / "csv" / "big.csv")
    assert header == ["id", "v"]
    assert [int(r[0]) for r in rows] == list(range(n))
    assert sum(seen) == n and max(seen) <= 7_000  # streamed in batches, never the whole table at once


def test_re_export_replaces_a_previous_export_and_keeps_the_users_files(
    data_dir: Path, tmp_path: Path
) -> None:
    write_parquet(data_dir, "tiers", pa.table({"tier": ["gold", "silver"]}))
    out = tmp_path / "csv"
    out.mkdir()
    (out / "README.txt").write_text("how we load this")
    export_csv(data_dir, out, [ORDERS, ExportTable("tiers", "tier", ["tier"])], dataset={"run": 1})
    (out / "load.sql").write_text("COPY ...")
    export_csv(data_dir, out, [ExportTable("orders", "id", ["id"])], dataset={"run": 2})
    assert json.loads((out / "dataset.json").read_text())["run"] == 2
    assert read_csv(out / "orders.csv")[0] == ["id"]
    assert sorted(p.name for p in out.iterdir()) == [
        ".datagen-manifest.json",
        "README.txt",
        "dataset.json",
        "load.sql",
        "orders.csv",
        "orders.csv.manifest",
    ]  # the tiers files of the first export were ours and are gone; the user's are kept
    assert (out / "README.txt").read_text() == "how we load this" and (out / "load.sql").exists()


def test_a_users_dataset_json_is_never_overwritten(data_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "csv"
    out.mkdir()
    (out / "dataset.json").write_text('{"mine": true}')
    with pytest.raises(InputError, match=r"dataset\.json"):
        export_csv(data_dir, out, [ORDERS], dataset={})
    assert sorted(p.name for p in out.iterdir()) == ["dataset.json"]
    assert (out / "dataset.json").read_text() == '{"mine": true}'


@pytest.mark.parametrize("table_id", ["../../escape", "/abs", "a/b", "x" * 200, "ok\n", ""])
def test_a_table_id_that_cannot_be_a_file_name_is_refused(
    data_dir: Path, tmp_path: Path, table_id: str
) -> None:
    with pytest.raises(InputError, match="cannot be used as a file name"):
        export_csv(data_dir, tmp_path / "csv", [ExportTable(table_id, None, ["id"])], dataset={})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data"]


def test_parquet_columns_are_exported_in_the_declared_order(data_dir: Path, tmp_path: Path) -> None:
    export_csv(data_dir, tmp_path / "csv", [ExportTable("orders", "id", ["note", "id"])], dataset={})
    header, first, *_ = read_csv(tmp_path / "csv" / "orders.csv")
    assert header == ["note", "id"] and first == ["plain", "1"]
    assert pq.read_schema(data_dir / "orders.parquet").names[0] == "id"


def test_zoned_datetimes_are_written_in_utc(tmp_path: Path) -> None:
    prague = (
        pa.array([dt.datetime(2024, 7, 1, 5, 6, 7)], pa.timestamp("us"))
        .cast(pa.timestamp("us", "UTC"))
        .cast(pa.timestamp("us", "Europe/Prague"))
    )
    write_parquet(tmp_path / "data", "t", pa.table({"at": prague}))
    export_csv(tmp_path / "data", tmp_path / "csv", [ExportTable("t", None, ["at"])], dataset={})
    assert read_csv(tmp_path / "csv" / "t.csv")[1] == ["2024-07-01T05:06:07Z"]
