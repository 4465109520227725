"""Shared by the behaviour tests: the bundled examples as dicts (optionally resized), generation into
pandas frames, and the analyses an analyst would run — written here with pandas, independently of the
engine and of `datagen.validate.recovery`, so a test recovers what the data shows, not what the code
meant."""

from __future__ import annotations

import copy
import json
from functools import cache
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from datagen.dsl import check
from datagen.dsl.models import Schema
from datagen.engine.generate import Options, generate_in_memory
from datagen.resources import examples_dir

MONTH = pd.Timedelta(days=30.436875)
WEEK = pd.Timedelta(days=7)
YEAR = pd.Timedelta(days=365.2425)


@cache
def _example_text(name: str) -> str:
    return (examples_dir() / f"{name}.json").read_text(encoding="utf-8")


def example(name: str, **rows: int) -> dict[str, Any]:
    """An example schema as a dict; `rows` overrides the row count of named tables."""
    doc = json.loads(_example_text(name))
    for node in doc["nodes"]:
        if node["id"] in rows:
            node["rows"] = rows[node["id"]]
    return doc


def checked(doc: dict[str, Any]) -> Schema:
    return check(copy.deepcopy(doc)).raise_for_errors()


def frames(doc: dict[str, Any], seed: int = 11, **options: Any) -> dict[str, pd.DataFrame]:
    tables = generate_in_memory(checked(doc), Options(seed=seed, **options))
    return {tid: t.to_pandas() for tid, t in tables.items()}


def connection(
    doc: dict[str, Any], seed: int = 11, **options: Any
) -> tuple[duckdb.DuckDBPyConnection, Schema]:
    """Generated tables on a DuckDB connection, one view per table (what the validator reads)."""
    schema = checked(doc)
    con = duckdb.connect()
    for tid, table in generate_in_memory(schema, Options(seed=seed, **options)).items():
        con.register(tid, table)
    return con, schema


def timeframe(doc: dict[str, Any]) -> tuple[pd.Timestamp, pd.Timestamp]:
    return pd.Timestamp(doc["timeframe"]["start"]), pd.Timestamp(doc["timeframe"]["end"])


def retention(
    parents: pd.DataFrame,
    children: pd.DataFrame,
    keys: tuple[str, str],
    created: str,
    time: str,
    unit: pd.Timedelta,
    ages: int,
    start: pd.Timestamp,
    end: pd.Timestamp,
    died: str | None = None,
) -> np.ndarray:
    """Children per parent per age unit over the same at age 0 — counting a parent at age a only if that
    whole age unit lies inside the timeframe and, with `died` (its end-of-life column), inside its life
    (the cohort table an analyst builds). `keys`: the parent's key and the child's column holding it."""
    pk, fk = keys
    p = parents[[pk, created, *([died] if died else [])]]
    c = children[[fk, time]].merge(p, left_on=fk, right_on=pk)
    age = ((c[time] - c[created]) / unit).astype(float) // 1
    alive_until = p[died].fillna(end) if died else pd.Series(end, index=p.index)
    rates = []
    for a in range(ages):
        seen = (p[created] + a * unit >= start) & (p[created] + (a + 1) * unit <= end)
        seen &= p[created] + (a + 1) * unit <= alive_until
        rates.append(((age == a) & c[pk].isin(p.loc[seen, pk])).sum() / seen.sum())
    return np.array(rates) / rates[0]


def mean_over_unit(curve, a: int, steps: int = 1000) -> float:
    """Mean of a curve (a function of age in units) over [a, a+1)."""
    x = a + (np.arange(steps) + 0.5) / steps
    return float(np.mean(curve(x)))


def walk_spells(walk: pd.DataFrame, key: str, state: str, time: str, end: pd.Timestamp) -> pd.DataFrame:
    """A walk table as spells: one row per state entered, with `left` (the next row's time, else `end`)."""
    w = walk[[key, state, time]].sort_values([key, time])
    left = w.groupby(key)[time].shift(-1).fillna(end)
    return w.assign(left=left)


def time_at_age(
    spells: pd.DataFrame, born: pd.Series, start: str, stop: str, a: float, b: float, unit: pd.Timedelta
) -> pd.Series:
    """Each spell's time (in `unit`s) that falls at ages [a, b) of its parent (`born`: per spell)."""
    lo = np.maximum((spells[start] - born) / unit, a)
    hi = np.minimum((spells[stop] - born) / unit, b)
    return (hi - lo).clip(lower=0)


def step_integral(curve: list[float], x: np.ndarray) -> np.ndarray:
    """∫_0^x of an array curve stepping at whole units (the last value held), x >= 0."""
    c = np.asarray(curve, dtype=float)
    whole = np.floor(x).astype(int)
    cum = np.concatenate([[0.0], np.cumsum(c)])
    inside = np.minimum(whole, len(c))
    return (
        cum[inside] + np.maximum(whole - len(c), 0) * c[-1] + (x - whole) * c[np.minimum(whole, len(c) - 1)]
    )
