"""Small schemas, generation to disk and Parquet surgery for the validator's tests.

Each corruption rewrites one table as a single `<table>.parquet` (the layout `datagen generate`
writes), changing only what the test names, so the failure it provokes is the one asserted."""

from __future__ import annotations

import copy
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from datagen.dsl import CheckResult, check
from datagen.engine.generate import Options
from datagen.io.dataset import write_dataset
from datagen.io.output import table_files
from datagen.validate import REPORT_SCHEMA, Report, Result, validate

# 2024-01-01 and 2024-12-30 are Mondays: 52 whole weeks.
WEEKS = {"start": "2024-01-01T00:00:00Z", "end": "2024-12-30T00:00:00Z", "freq": "h"}
DOW = [0.6, 1.0, 1.0, 1.0, 1.1, 1.5, 1.3]


def col(name: str, type_: str, generator: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"name": name, "type": type_, "generator": generator, **extra}


def seq(name: str = "id") -> dict[str, Any]:
    return col(name, "int", {"sequence": {"start": 1}})


def document(*nodes: dict, constraints: dict | None = None, targets: dict | None = None) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "version": "1.0",
        "metadata": {"name": "validate-test"},
        "timeframe": copy.deepcopy(WEEKS),
        "nodes": list(nodes),
        "constraints": constraints or {},
    }
    if targets:
        doc["targets"] = targets
    return doc


def shop() -> dict[str, Any]:
    """Customers and their orders: one of each kind of declared constraint, a weekly pattern and a
    null rate — enough for every structural and value corruption."""
    customers = {
        "id": "customers",
        "kind": "entity",
        "pk": "customer_id",
        "rows": 400,
        "columns": [
            seq("customer_id"),
            col(
                "code",
                "string",
                {"faker": {"method": "bothify", "args": {"text": "C-####-??", "letters": "ABCDEFGH"}}},
            ),
            col("email", "string", {"faker": {"method": "email", "unique": True}}),
            col("segment", "string", {"choice": {"choices": ["vip", "regular"], "weights": [0.2, 0.8]}}),
            col(
                "signup_at",
                "datetime",
                {
                    "datetime_series": {
                        "within": {"start": "2024-01-01T00:00:00Z", "end": "2024-06-30T00:00:00Z"},
                        "freq": "h",
                    }
                },
            ),
        ],
    }
    channels = {
        "id": "channels",
        "kind": "vocab",
        "pk": "channel",
        "columns": [col("channel", "string", {"enum_list": {"values": ["web", "app", "store"]}})],
    }
    orders = {
        "id": "orders",
        "kind": "fact",
        "pk": "order_id",
        "parents": ["customers"],
        "fanout": {"distribution": "poisson", "lambda": 10},
        "columns": [
            seq("order_id"),
            col("customer_id", "int", {"lookup": {"from": "customers.customer_id"}}),
            col(
                "channel",
                "string",
                {"choice": {"choices_ref": "channels.channel"}},
                constraints={"enum_ref": "channels.channel"},
            ),
            col(
                "ordered_at",
                "datetime",
                {
                    "datetime_series": {
                        "within": "timeframe",
                        "freq": "h",
                        "pattern": {"dimension": "dow", "weights": DOW},
                    }
                },
            ),
            col(
                "delay_hours",
                "float",
                {"distribution": {"type": "uniform", "params": {"low": 1, "high": 72}, "clamp": [1, 72]}},
            ),
            col("shipped_at", "datetime", {"expression": {"code": "ordered_at + hours(delay_hours)"}}),
            col(
                "amount",
                "float",
                {
                    "distribution": {
                        "type": "lognormal",
                        "params": {"mean": 3.5, "sigma": 0.6},
                        "clamp": [1, 1000],
                    }
                },
            ),
            col("status", "string", {"choice": {"choices": ["paid", "refunded"], "weights": [0.9, 0.1]}}),
            col(
                "discount",
                "float",
                {"distribution": {"type": "uniform", "params": {"low": 0, "high": 0.3}}},
                nullable=True,
                null_rate=0.1,
            ),
        ],
    }
    constraints = {
        "unique": ["customers.email"],
        "ranges": [{"attr": "orders.amount", "min": 1, "max": 1000}],
        "inequalities": [
            {"left": "orders.ordered_at", "op": ">=", "right": "customers.signup_at"},
            {"left": "orders.shipped_at", "op": ">", "right": "orders.ordered_at"},
        ],
        "pattern": [{"attr": "customers.code", "regex": "C-[0-9]{4}-[A-H]{2}"}],
        "enum": [
            {"attr": "customers.segment", "values": ["vip", "regular"]},
            {"attr": "orders.status", "values": ["paid", "refunded"]},
        ],
    }
    return document(customers, channels, orders, constraints=constraints)


def weekly(rows: int = 20_000) -> dict[str, Any]:
    """One table whose only behaviour is a weekly pattern."""
    visits = {
        "id": "visits",
        "kind": "entity",
        "pk": "id",
        "rows": rows,
        "columns": [
            seq(),
            col(
                "at",
                "datetime",
                {
                    "datetime_series": {
                        "within": "timeframe",
                        "freq": "h",
                        "pattern": {"dimension": "dow", "weights": DOW},
                    }
                },
            ),
        ],
    }
    return document(visits)


def spikes(rate: float = 0.01, rows: int = 20_000) -> dict[str, Any]:
    """One table whose only behaviour is an outlier rate."""
    payments = {
        "id": "payments",
        "kind": "entity",
        "pk": "id",
        "rows": rows,
        "columns": [
            seq(),
            col(
                "amount",
                "float",
                {"distribution": {"type": "lognormal", "params": {"mean": 3.0, "sigma": 0.5}}},
                modifiers=[{"transform": "outliers", "args": {"rate": rate, "mode": "spike"}}],
            ),
        ],
    }
    return document(payments)


def write(doc: dict[str, Any], out: Path, seed: int = 42) -> CheckResult:
    checked = check(doc)
    checked.raise_for_errors()
    write_dataset(checked, out, Options(seed=seed))
    return checked


def copy_data(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst


def read(data_dir: Path, table: str) -> pa.Table:
    return pa.concat_tables([pq.read_table(f) for f in table_files(data_dir, table)])


def rewrite(data_dir: Path, table: str, change: Callable[[pa.Table], pa.Table]) -> None:
    """Replace a table's files with one file holding `change(table)`."""
    data = change(read(data_dir, table))
    for f in table_files(data_dir, table):
        f.unlink()
    parts = data_dir / table
    if parts.is_dir():
        shutil.rmtree(parts)
    pq.write_table(data, data_dir / f"{table}.parquet")


def set_column(table: pa.Table, name: str, values: Any, type_: pa.DataType | None = None) -> pa.Table:
    i = table.schema.get_field_index(name)
    field = table.schema.field(i)
    arr = pa.array(values, type=type_ or field.type)
    return table.set_column(i, pa.field(name, arr.type, nullable=True), arr)


def rows_where(n: int, share: float, seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).random(n) < share


def failure(report: Report, check_name: str, table: str, column: str | None) -> dict[str, Any]:
    """The failure entry naming this check, table and column (the test fails if there is none)."""
    doc = report.to_dict()
    found = [
        f for f in doc["failures"] if (f["check"], f["table"], f["column"]) == (check_name, table, column)
    ]
    assert found, f"no {check_name} failure on {table}.{column}; failures: " + ", ".join(
        f"{f['check']} {f['table']}.{f['column']}" for f in doc["failures"]
    )
    return found[0]


def validated(source: Any, data_dir: Path, **kw: Any) -> Report:
    """Validate, and check the report against its JSON Schema on the way."""
    report = validate(source, data_dir, **kw)
    jsonschema.validate(report.to_dict(), REPORT_SCHEMA)
    return report


def mod(transform: str, **args: Any) -> dict[str, Any]:
    """A modifier as the schema writes it."""
    return {"transform": transform, "args": args}


def results(report: Report, check: str, table: str | None = None) -> list[Result]:
    """The report's results of one check (on one table)."""
    return [r for r in report.results if r.check == check and (table is None or r.table == table)]
