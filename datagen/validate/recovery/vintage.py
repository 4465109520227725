"""Vintage (docs/schema-language.md §8.2): children per parent per age unit over the same at age 0
(the retention curve), counting a parent at age a only when that whole age unit lies inside the
timeframe; mean value per age unit over age 0."""

from __future__ import annotations

import math

import duckdb
import numpy as np

from datagen.dsl.base import split_ref
from datagen.dsl.behaviours import AgeMultiplier
from datagen.dsl.models import Node, Schema
from datagen.dsl.units import UNIT_US
from datagen.validate.context import q
from datagen.validate.recovery.common import (
    MIN_GROUP,
    Finding,
    Recovered,
    Skipped,
    children,
    key_into,
    ratio_se,
    timeframe,
    us,
)


def unit_means(curves: list[AgeMultiplier], unit_us: int, ages: int) -> np.ndarray:
    """Mean of the product of the curves over each age unit [a, a+1) of `unit_us` (midpoint rule)."""
    steps = 400
    x = (np.arange(ages * steps) + 0.5) / steps
    prod = np.ones_like(x)
    for m in curves:
        prod *= m.value_at(x * unit_us / UNIT_US[m.time_unit])
    return prod.reshape(ages, steps).mean(axis=1)


def _age_units(curves: list[AgeMultiplier], unit_us: int, start: int, end: int) -> int:
    """How many age units to read: an array's length and two more, else a year's worth (at most 24),
    and never more than the timeframe can show."""
    longest = max((len(m.curve) + 2 for m in curves if isinstance(m.curve, list)), default=0)
    wanted = max(longest, math.ceil(UNIT_US["year"] / unit_us))
    return max(1, min(wanted, 24, int((end - start) // unit_us) - 1))


def recover_vintage(con: duckdb.DuckDBPyConnection, schema: Schema) -> list[Finding]:
    start, end = timeframe(schema)
    out: list[Finding] = []
    for parent in schema.nodes:
        vb = parent.vintage_behavior
        if vb is None or parent.pk is None:
            continue
        activity = vb.fanout_curves
        for child in children(schema, parent):
            fk, tcol = key_into(schema, child, parent), child.first_time_column()
            if fk is None or tcol is None:
                why = f"no key into {parent.id}" if fk is None else "no time column"
                out.append(Skipped("vintage", child.id, None, f"age of {parent.id}", why))
                continue
            regular = child.fanout is not None and child.fanout.every is not None
            if activity and child.primary_parent == parent.id and child.fanout is not None and not regular:
                out += _vintage_activity(
                    con, parent, child, fk, tcol, vb.created_at_column, activity, start, end
                )
            for ref in sorted(vb.value_columns):
                table, column = split_ref(ref) or ("", "")
                if table == child.id:
                    out += _vintage_value(
                        con,
                        parent,
                        child,
                        fk,
                        tcol,
                        vb.created_at_column,
                        column,
                        vb.value_curves(ref),
                        start,
                        end,
                    )
    return out


def _vintage_activity(
    con, parent: Node, child: Node, fk: str, tcol: str, created: str, curves: list, start: int, end: int
) -> list[Finding]:
    unit = UNIT_US[curves[0].time_unit]
    ages = _age_units(curves, unit, start, end)
    assert parent.pk is not None  # only parents with a key are read
    rows = con.execute(
        f"""WITH p AS (SELECT {q(parent.pk)} AS id, {us(created)} AS born FROM {q(parent.id)}
                       WHERE {q(created)} IS NOT NULL),
                 k AS (SELECT c.{q(fk)} AS id, floor(({us(tcol, "c")} - p.born) / {unit})::BIGINT AS age,
                              count(*) AS k
                       FROM {q(child.id)} c JOIN p ON c.{q(fk)} = p.id GROUP BY 1, 2)
            SELECT a.age, count(*), sum(coalesce(k.k, 0)), sum(coalesce(k.k, 0) ^ 2)
            FROM range({ages}) a(age)  -- a parent counts at age a when that whole unit is in the data
            JOIN p ON p.born + a.age * {unit} >= {start} AND p.born + (a.age + 1) * {unit} <= {end}
            LEFT JOIN k ON k.id = p.id AND k.age = a.age GROUP BY a.age ORDER BY a.age"""
    ).fetchall()
    subject = f"children per {parent.id} row per {curves[0].time_unit} of age, over age 0"
    return _age_ratios(rows, unit_means(curves, unit, ages), "vintage_activity", child.id, None, subject)


def _vintage_value(
    con, parent: Node, child: Node, fk: str, tcol: str, created: str, column: str, curves: list, start, end
) -> list[Finding]:
    unit = UNIT_US[curves[0].time_unit]
    ages = _age_units(curves, unit, start, end)
    v, age = f"c.{q(column)}", f"({us(tcol, 'c')} - {us(created, 'p')})"
    assert parent.pk is not None  # only parents with a key are read
    rows = con.execute(
        f"""SELECT floor({age} / {unit})::BIGINT AS age, count({v}), sum({v}), sum({v} ^ 2)
            FROM {q(child.id)} c JOIN {q(parent.id)} p ON c.{q(fk)} = p.{q(parent.pk)}
            WHERE {v} IS NOT NULL AND {age} >= 0 GROUP BY 1 HAVING age < {ages} ORDER BY 1"""
    ).fetchall()
    subject = f"mean {column} per {curves[0].time_unit} of {parent.id} age, over age 0"
    return _age_ratios(rows, unit_means(curves, unit, ages), "vintage_value", child.id, column, subject)


def _age_ratios(rows: list, expected: np.ndarray, behaviour: str, table: str, column, subject) -> list:
    """Per age unit: (mean at age a) / (mean at age 0) against curve(a) / curve(0)."""
    stats = {}
    for age, n, s, ss in rows:
        if n >= MIN_GROUP:
            mean = s / n
            var = max(ss / n - mean**2, 0.0) * n / (n - 1)
            stats[int(age)] = (mean, math.sqrt(var / n), int(n))
    if 0 not in stats or stats[0][0] <= 0 or expected[0] <= 0:
        return [Skipped(behaviour, table, column, subject, "too few parents observed at age 0")]
    m0, se0, _ = stats[0]
    out: list[Finding] = []
    for age, (mean, se, n) in sorted(stats.items()):
        if 0 < age < len(expected):
            out.append(
                Recovered(
                    behaviour,
                    table,
                    column,
                    subject,
                    f"age {age}",
                    expected[age] / expected[0],
                    mean / m0,
                    ratio_se(mean, se, m0, se0),
                    n,
                    floor=0.01,
                )
            )
    return out
