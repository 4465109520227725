"""Validation: prove that generated data holds what its schema declares, and say how good it is.

    report = validate("examples/shop.json", "data/shop")
    report.score, report.ok, report.exit_code, report.failures, report.to_dict()

Checks come in three buckets — structural (structural.py), value (values.py, precision.py) and behavioural
(behaviour.py, with its registry for new behaviour checks) — each a SQL query over the Parquet files
through DuckDB (context.py), so memory stays bounded whatever the data size. treatments.py says, for
every feature of the language, which checks hold the data to it (or why none does). score.py holds the
quality-score formula, report.py the report and its JSON Schema, console.py the terminal summary.

Independence from the engine: the validator must not trust the engine, so it re-derives from the schema
what the engine does — each row's expected multipliers (factors.py, multipliers.py; effect windows
joined in SQL), the expected share of rows per calendar stratum (calendar.py, its own calendar
arithmetic), expected counts, rates and transitions (recovery/), outlier shares. It shares with the
engine only the language's definitions in datagen.dsl (units, curve values, distribution draws, default
columns, and how each relation is made true, datagen.dsl.enforcement), and uses engine code in
allow-listed places: reference samples with the part under test removed (reference.py); hidden helper
columns the checks read, regenerated at the data's seed and lent only when the written columns match
the data row for row (hidden.py); each parent's fanout multiplier
(row_counts.py); and how declared types are stored (context.py). docs/contributing.md explains why;
tests/test_architecture.py enforces it."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import duckdb

from datagen.dsl import CheckResult, Schema, check, check_file, schema_hash
from datagen.io.dataset import open_dataset
from datagen.validate.behaviour import behaviour_checks, register
from datagen.validate.context import Context, Settings
from datagen.validate.hidden import lend_hidden
from datagen.validate.precision import precision_checks
from datagen.validate.relations import relation_checks
from datagen.validate.report import REPORT_SCHEMA, Report
from datagen.validate.results import Result
from datagen.validate.score import DEFAULT_THRESHOLD, quality_score
from datagen.validate.structural import structural_checks
from datagen.validate.values import value_checks

__all__ = [
    "DEFAULT_THRESHOLD",
    "REPORT_SCHEMA",
    "Report",
    "Result",
    "Settings",
    "quality_score",
    "register",
    "validate",
    "validate_dataset",
]


SchemaSource = CheckResult | Schema | dict[str, Any] | str | Path


def _schema(source: SchemaSource) -> Schema:
    """A checked schema (implied keys and foreign keys added); a bad schema raises SchemaError."""
    if isinstance(source, CheckResult):
        return source.raise_for_errors()
    if isinstance(source, Schema):
        return check(source.model_dump(mode="json", by_alias=True, exclude_none=True)).raise_for_errors()
    if isinstance(source, dict):
        return check(source).raise_for_errors()
    return check_file(source).raise_for_errors()


def _profile(ctx: Context, table: str) -> dict[str, Any]:
    """The table's column statistics; none when its files cannot be read together (the column and
    type checks say why)."""
    try:
        return ctx.profile(table)
    except duckdb.Error:
        return {}


def validate(
    schema: SchemaSource,
    data_dir: str | Path,
    *,
    threshold: float = DEFAULT_THRESHOLD,
    settings: Settings | None = None,
) -> Report:
    """Run every check of `schema` over the data in `data_dir` (as `datagen generate` wrote it).

    Raises SchemaError for an invalid schema and ValidationError when the folder or a table's files
    are missing (bad input, exit 2); a failing check is a result in the report, not an exception."""
    s = _schema(schema)
    t0 = time.perf_counter()
    ctx = Context(s, Path(data_dir), settings)
    try:
        lent = lend_hidden(ctx)  # before every check: they read the hidden helpers it lends
        results = [
            *lent,
            *structural_checks(ctx),
            *value_checks(ctx),
            *precision_checks(ctx),
            *relation_checks(ctx),
            *behaviour_checks(ctx),
        ]
        tables = {
            n.id: {
                "rows": ctx.rows[n.id],
                "files": [f.relative_to(ctx.data_dir).as_posix() for f in ctx.files[n.id]],
                "columns": _profile(ctx, n.id),
            }
            for n in s.nodes
        }
    finally:
        ctx.close()
    return Report(
        dataset=s.metadata.name,
        schema_hash=schema_hash(s),
        data_dir=str(data_dir),
        results=results,
        tables=tables,
        threshold=threshold,
        seconds=time.perf_counter() - t0,
    )


def validate_dataset(checked: CheckResult, data_dir: Path, *, threshold: float | None = None) -> Report:
    """Validate a finished dataset folder (a complete datagen output, see datagen.io.dataset) against its
    schema, with the default threshold unless another is given; the report is not written."""
    open_dataset(data_dir)
    return validate(checked, data_dir, threshold=DEFAULT_THRESHOLD if threshold is None else threshold)
