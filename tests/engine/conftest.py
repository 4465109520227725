"""Small builders for engine tests: schema dicts around a few columns, and generation in one call.

Test modules import the plain functions (`from tests.engine.conftest import ...`); the schemas they
build go through `datagen.dsl.check` exactly like a user's file."""

from __future__ import annotations

import copy
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from unittest import mock

import numpy as np
import pyarrow as pa

from datagen.dsl import check
from datagen.dsl.models import Schema
from datagen.engine.generate import Options, generate_in_memory
from datagen.faker_pool import names, pools

# 2024-01-01 and 2024-12-30 are Mondays: 52 whole weeks, so every weekday appears equally often.
WEEKS = {"start": "2024-01-01T00:00:00Z", "end": "2024-12-30T00:00:00Z", "freq": "h"}
YEAR = {"start": "2024-01-01T00:00:00Z", "end": "2025-01-01T00:00:00Z"}


def key(name: str = "id", start: int = 1, step: int = 1, type_: str = "int") -> dict[str, Any]:
    return {"name": name, "type": type_, "generator": {"sequence": {"start": start, "step": step}}}


def col(name: str, type_: str, generator: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"name": name, "type": type_, "generator": generator, **extra}


def dist(name: str, kind: str, type_: str = "float", clamp: list | None = None, **params: float) -> dict:
    spec: dict[str, Any] = {"type": kind, "params": params}
    if clamp is not None:
        spec["clamp"] = clamp
    return col(name, type_, {"distribution": spec})


def expr(name: str, code: str, type_: str = "float", **extra: Any) -> dict[str, Any]:
    return col(name, type_, {"expression": {"code": code}}, **extra)


def times(name: str = "ts", type_: str = "datetime", **args: Any) -> dict[str, Any]:
    return col(name, type_, {"datetime_series": {"within": "timeframe", **args}})


def lookup(name: str, source: str, type_: str = "int", **extra: Any) -> dict[str, Any]:
    args = {"from": source}
    for part in ("on", "pick"):
        if part in extra:
            args[part] = extra.pop(part)
    return col(name, type_, {"lookup": args}, **extra)


def entity(table_id: str, columns: list[dict], rows: int = 1000, **extra: Any) -> dict[str, Any]:
    """An entity with an `id` sequence key in front of `columns`."""
    return {"id": table_id, "kind": "entity", "pk": "id", "rows": rows, "columns": [key(), *columns], **extra}


def fact(table_id: str, parents: list[str], columns: list[dict], **extra: Any) -> dict[str, Any]:
    """A fact with an `id` key and a `<parent>_id` lookup per parent in front of `columns`."""
    fks = [lookup(f"{p}_id", f"{p}.id") for p in parents]
    return {
        "id": table_id,
        "kind": "fact",
        "pk": "id",
        "parents": parents,
        "columns": [key(), *fks, *columns],
        **extra,
    }


def schema(*nodes: dict, constraints: dict | None = None, timeframe: dict | None = None) -> dict[str, Any]:
    return {
        "version": "1.0",
        "metadata": {"name": "test"},
        "timeframe": copy.deepcopy(timeframe or YEAR),
        "nodes": list(nodes),
        "constraints": constraints or {},
    }


def one_table(columns: list[dict], rows: int = 1000, **extra: Any) -> dict[str, Any]:
    """The smallest schema around some columns: one entity `t` with an `id` key."""
    timeframe = extra.pop("timeframe", None)
    return schema(entity("t", columns, rows, **extra), timeframe=timeframe)


def checked(doc: dict[str, Any]) -> Schema:
    return check(doc).raise_for_errors()


def generate(doc: dict[str, Any], seed: int = 7, **options: Any) -> dict[str, pa.Table]:
    """Check a schema dict and generate every table in memory."""
    return generate_in_memory(checked(doc), Options(seed=seed, **options))


def values(table: pa.Table, column: str) -> np.ndarray:
    """A column as numpy (nulls as NaN / NaT / None, datetimes as naive UTC datetime64[us])."""
    arr = table.column(column).combine_chunks()
    if pa.types.is_timestamp(arr.type):
        arr = arr.cast(pa.timestamp("us"))
    return arr.to_numpy(zero_copy_only=False)


def assert_near(observed: float, expected: float, se: float, k: float = 5.0) -> None:
    """`observed` within k standard errors of `expected`: the tolerance of every statistical test."""
    assert abs(observed - expected) <= k * se, f"{observed:.6g} is not {expected:.6g} ± {k}·{se:.3g}"


@contextmanager
def small_faker_pools(size: int = 64) -> Iterator[None]:
    """Faker pools of at most `size` values instead of thousands, for tests that generate many drawn
    schemas: building pools is most of the cost of such a run, and what those tests check (keys,
    references, ranges, patterns, lives, determinism) holds whatever the pool size — a small pool only
    repeats values more. Capped where every pool is made (`pools._cached_pool`), so the engine's
    columns, the name pools and the e-mail domains all get small ones. A pool built from a small one
    (a name part) does not name the size in its key, so inside no pool is kept on disk, and on leaving
    none is kept in memory: later tests, in this worker or another, never see one."""
    real = pools._cached_pool

    def capped(method: str, args_key: str, locale: str, seed: int, size_: int) -> pools.FakerPool:
        return real(method, args_key, locale, seed, min(size_, size))

    try:
        with (
            mock.patch.object(pools, "_cached_pool", capped),
            mock.patch.dict(os.environ, {"DATAGEN_NO_CACHE": "1"}),
        ):
            yield
    finally:
        real.cache_clear()
        names.part_pool.cache_clear()
