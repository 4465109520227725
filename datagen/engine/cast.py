"""The last step of every column: nulls, the value as written (`settle`), then the cast to the declared
type as an Arrow array.

Inside the engine a null is NaN (numbers), NaT (times) or None (text, bool); ints with nulls travel as
floats and are rounded back here — keys never become floats on disk. A column is settled as soon as it
is final, before any later column reads it: an expression over an `int` column reads the whole number
the file holds, one over a money column with `decimals` the cents."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pyarrow as pa

from datagen.dsl.limits import DATETIME_RANGE, EARLIEST, INT64_FLOAT_LIMIT, LATEST
from datagen.dsl.models import Column, Node
from datagen.engine.block import Block, null_like
from datagen.errors import GenerationError

ARROW_TYPES = {
    "int": pa.int64(),
    "float": pa.float64(),
    "string": pa.string(),
    "bool": pa.bool_(),
    "datetime": pa.timestamp("us", tz="UTC"),
    "date": pa.date32(),
}


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_EARLIEST_US = (EARLIEST - _EPOCH) // timedelta(microseconds=1)
_LATEST_US = (LATEST - _EPOCH) // timedelta(microseconds=1)


def declared_type_of(t: pa.DataType) -> str | None:
    """The DSL type an Arrow type stores naturally (None when none does): the inverse of ARROW_TYPES,
    lenient about widths, units and dictionary encoding, for reading files others may have written."""
    if pa.types.is_dictionary(t):
        t = t.value_type
    checks = (
        ("int", pa.types.is_integer),
        ("float", pa.types.is_floating),
        (
            "string",
            lambda x: pa.types.is_string(x) or pa.types.is_large_string(x) or pa.types.is_string_view(x),
        ),
        ("bool", pa.types.is_boolean),
        ("datetime", pa.types.is_timestamp),
        ("date", pa.types.is_date),
    )
    return next((name for name, matches in checks if matches(t)), None)


def arrow_schema(node: Node) -> pa.Schema:
    """The written columns (hidden helpers left out), typed and nullable as declared."""
    return pa.schema(
        [pa.field(c.name, ARROW_TYPES[c.type], nullable=c.nullable) for c in node.output_columns]
    )


def settle(col: Column, values: np.ndarray) -> np.ndarray:
    """The column's values as they will be written, where the cast would change a number: an `int`
    rounded to the nearest whole number (halves to even), a float with `decimals` rounded to them, a
    `date` cut to its day. Nulls stay null; anything else is left to the cast."""
    kind = values.dtype.kind
    if col.type == "int" and kind == "f":
        return np.asarray(np.rint(values))
    if col.type == "float" and col.decimals is not None and kind == "f":
        return np.asarray(np.round(values, col.decimals))
    if col.type == "date" and kind == "M":
        return values.astype("datetime64[D]").astype("datetime64[us]")
    return values


def clamp_bounds(col: Column, lo: float | None, hi: float | None) -> tuple[float | None, float | None]:
    """A clamp an int column still obeys after the final rounding: [ceil(lo), floor(hi)] (the bounds as
    given when no whole number lies between them)."""
    if col.type != "int":
        return lo, hi
    whole_lo = None if lo is None else math.ceil(lo)
    whole_hi = None if hi is None else math.floor(hi)
    if whole_lo is not None and whole_hi is not None and whole_lo > whole_hi:
        return lo, hi
    return whole_lo, whole_hi


def inject_nulls(block: Block, col: Column, values: np.ndarray) -> np.ndarray:
    if not col.nullable or col.null_rate <= 0:
        return values
    return null_like(values, block.rng(col.name, "null").random(block.n) < col.null_rate)


def to_arrow(col: Column, values: np.ndarray, table: str = "") -> pa.Array:
    """The column as Arrow, or GenerationError naming `table.column` when a value cannot be stored:
    never a wrapped integer, an inf, or a null in a non-nullable column.

    NaN is how the engine carries a missing number, so in a nullable column a NaN (0/0, the log of a
    negative number) is written as null; in a non-nullable one it is an error. ±inf is an overflow or a
    division by zero and is refused in every column, as is an int outside the 64-bit range or a time
    outside the supported date range."""
    where = f"{table}.{col.name}" if table else col.name
    try:
        values = _storable(col, values)
    except (TypeError, ValueError, OverflowError) as exc:
        raise GenerationError(
            f"{where}: values cannot be stored as {col.type}: {exc}",
            hint=f"make every value of '{col.name}' {col.type}, or change the column's type",
        ) from None
    if problem := _unstorable(col, values):
        message, hint = problem
        raise GenerationError(f"{where}: {message}", hint=hint)
    array = _to_arrow(col, values)
    if array.null_count and not col.nullable:  # text and bool: Arrow has counted the nulls already
        raise GenerationError(
            f"{where}: {array.null_count:,} of {len(array):,} values are null (a lookup that found no "
            "value: a nullable column or an empty table), but the column is not nullable",
            hint=_NULLABLE_FIX,
        )
    return array


def _storable(col: Column, values: np.ndarray) -> np.ndarray:
    """Values in the dtype the checks below read: float64 for numbers, datetime64[us] for times."""
    kind = values.dtype.kind
    if col.type in ("int", "float") and kind in "Ob":
        return np.asarray(pd.to_numeric(pd.Series(values, dtype=object), errors="raise"), dtype=float)
    if col.type in ("datetime", "date") and kind != "M":
        return values.astype("datetime64[us]")
    return values


_NULLABLE_FIX = 'declare "nullable": true if missing values are intended'


def _share(bad: np.ndarray, total: int) -> str:
    return f"{int(bad.sum()):,} of {total:,} values"


def _unstorable(col: Column, values: np.ndarray) -> tuple[str, str] | None:
    n, t, kind = len(values), col.type, values.dtype.kind
    if t in ("int", "float") and kind == "f":
        infinite = np.isinf(values)
        if infinite.any():
            return (
                f"{_share(infinite, n)} are infinite (an overflow, or a division by zero), e.g. "
                f"{values[infinite][0]:g}",
                "bound the values (a clamp modifier, smaller distribution parameters, or where() around "
                "a division in the expression)",
            )
        missing = np.isnan(values)
        if missing.any() and not col.nullable:
            return (
                f"{_share(missing, n)} are null or NaN (e.g. 0/0, x % 0 or the log of a negative number "
                "in an expression, or a lookup that found no value: a nullable column or an empty table), "
                "but the column is not nullable",
                f"guard the formula with where(), or {_NULLABLE_FIX}",
            )
        if t == "int":
            outside = ~missing & ((values < -INT64_FLOAT_LIMIT) | (values >= INT64_FLOAT_LIMIT))
            if outside.any():
                return (
                    f"{_share(outside, n)} are outside the 64-bit integer range (about ±9.22e18), "
                    f"e.g. {values[outside][0]:.4g}",
                    "bound the values (a clamp modifier or smaller parameters), or make the column a float",
                )
        return None
    if kind == "M":
        ticks = values.astype("datetime64[us]")
        missing = np.isnat(ticks)
        if missing.any() and not col.nullable:
            return (
                f"{_share(missing, n)} are missing times (a duration too long to add, or a lookup that "
                "found no value), but the column is not nullable",
                f"keep the times inside {DATETIME_RANGE}, or {_NULLABLE_FIX}",
            )
        us = ticks.astype(np.int64)
        outside = ~missing & ((us < _EARLIEST_US) | (us > _LATEST_US))
        if outside.any():
            return (
                f"{_share(outside, n)} are outside the supported date range {DATETIME_RANGE}, e.g. "
                f"{ticks[outside][0]}",
                "shorten the durations added to the times (hours(), days(), minutes())",
            )
        return None
    return None  # text and bool: their nulls are counted on the Arrow array


def _to_arrow(col: Column, values: np.ndarray) -> pa.Array:
    t = col.type
    kind = values.dtype.kind
    if t == "int":
        if kind == "f":
            mask = np.isnan(values)
            return pa.array(np.rint(np.where(mask, 0, values)).astype(np.int64), type=pa.int64(), mask=mask)
        return pa.array(values.astype(np.int64), type=pa.int64())
    if t == "float":
        return pa.array(values.astype(float) if kind != "f" else values, type=pa.float64(), from_pandas=True)
    if t == "string":
        try:
            return pa.array(values, type=pa.string(), from_pandas=True)
        except (pa.ArrowTypeError, pa.ArrowInvalid):
            return pa.array(values.astype(str), type=pa.string(), mask=pd.isna(values))
    if t == "bool":
        if kind == "O":
            return pa.array(values, type=pa.bool_(), from_pandas=True)
        if kind == "f":
            return pa.array(values != 0, type=pa.bool_(), mask=np.isnan(values))
        return pa.array(values.astype(bool), type=pa.bool_())
    if t == "datetime":
        return pa.array(values.astype("datetime64[us]"), type=pa.timestamp("us", tz="UTC"), from_pandas=True)
    return pa.array(values.astype("datetime64[D]"), type=pa.date32(), from_pandas=True)
