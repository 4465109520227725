"""The last step of every column: nulls, then the cast to the declared type as an Arrow array.

Inside the engine a null is NaN (numbers), NaT (times) or None (text, bool); ints with nulls travel as
floats and are rounded back here — keys never become floats on disk."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pyarrow as pa

from datagen.dsl.models import Column, Node
from datagen.engine.block import Block, null_like

ARROW_TYPES = {
    "int": pa.int64(),
    "float": pa.float64(),
    "string": pa.string(),
    "bool": pa.bool_(),
    "datetime": pa.timestamp("us", tz="UTC"),
    "date": pa.date32(),
}


def declared_type_of(t: pa.DataType) -> str | None:
    """The DSL type an Arrow type stores naturally (None when none does): the inverse of ARROW_TYPES,
    lenient about widths and units, for reading files others may have written."""
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
    return pa.schema([pa.field(c.name, ARROW_TYPES[c.type], nullable=c.nullable) for c in node.columns])


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


def to_arrow(col: Column, values: np.ndarray) -> pa.Array:
    t = col.type
    kind = values.dtype.kind
    if t == "int":
        if kind == "f":
            mask = np.isnan(values)
            return pa.array(np.rint(np.where(mask, 0, values)).astype(np.int64), type=pa.int64(), mask=mask)
        if kind == "O":
            return pa.array(values, type=pa.float64(), from_pandas=True).cast(pa.int64())
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
