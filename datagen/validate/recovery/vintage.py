"""Vintage (docs/schema-language.md §8.2): children per parent per age unit over the same at age 0
(the retention curve), counting a parent at age a only when that whole age unit lies inside the
timeframe and inside its life; mean value per age unit over age 0, the segment value multiplier
divided out. The activity curve is graded on
the children it shapes: a fact whose own time the engine draws, and whose rate does not also follow
the parent's state."""

from __future__ import annotations

import math

import duckdb
import numpy as np

from datagen.dsl.base import split_ref
from datagen.dsl.behaviours import AgeMultiplier
from datagen.dsl.generators import DatetimeSeriesGen
from datagen.dsl.models import Node, Schema
from datagen.dsl.units import UNIT_US
from datagen.validate.context import q, sql_text
from datagen.validate.recovery.common import (
    MIN_GROUP,
    Finding,
    Recovered,
    Skipped,
    children,
    key_into,
    ratio_se,
    timeframe,
    unreadable,
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
            why = _unread(con, parent, child, fk, tcol, vb.created_at_column)
            if why is not None:
                out.append(Skipped("vintage", child.id, None, f"age of {parent.id}", why))
                continue
            assert fk is not None and tcol is not None  # _unread says why otherwise
            regular = child.fanout is not None and child.fanout.every is not None
            if activity and child.primary_parent == parent.id and child.fanout is not None and not regular:
                out += _activity_or_why(
                    con, parent, child, fk, tcol, vb.created_at_column, activity, start, end
                )
            for ref in sorted(vb.value_columns):
                table, column = split_ref(ref) or ("", "")
                if table != child.id:
                    continue
                if why := unreadable(con, child, column):
                    out.append(Skipped("vintage_value", child.id, column, f"{column} by age", why))
                else:
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


def _unread(
    con: duckdb.DuckDBPyConnection, parent: Node, child: Node, fk: str | None, tcol: str | None, created: str
) -> str | None:
    """Why the children's ages cannot be read: no key into the parent, no time, or one of them hidden."""
    if fk is None:
        return f"no key into {parent.id}"
    if tcol is None:
        return "no time column"
    return unreadable(con, child, tcol) or unreadable(con, parent, created)


def _activity_or_why(
    con, parent: Node, child: Node, fk: str, tcol: str, created: str, curves: list, start: int, end: int
) -> list[Finding]:
    """The activity curve, graded on a child whose counts and times the curve shapes: its own time is
    drawn by the engine (a datetime_series), and its rate does not also follow the parent's state."""
    subject = f"children per {parent.id} row per {curves[0].time_unit} of age, over age 0"
    col = child.column(tcol)
    if col is None or not isinstance(col.generator, DatetimeSeriesGen):
        why = f"'{tcol}' is not drawn by the engine, so the curve does not place it"
        return [Skipped("vintage_activity", child.id, None, subject, why)]
    if child.active_in is not None:
        why = f"its rate also follows the state of {child.active_in.walk} (checked by active_in)"
        return [Skipped("vintage_activity", child.id, None, subject, why)]
    return _vintage_activity(con, parent, child, fk, tcol, created, curves, start, end)


def _vintage_activity(
    con, parent: Node, child: Node, fk: str, tcol: str, created: str, curves: list, start: int, end: int
) -> list[Finding]:
    unit = UNIT_US[curves[0].time_unit]
    ages = _age_units(curves, unit, start, end)
    assert parent.pk is not None  # only parents with a key are read
    lt = parent.lifetime
    died = us(lt.end.column) if lt is not None and lt.end is not None else "NULL"
    rows = con.execute(
        f"""WITH p AS (SELECT {q(parent.pk)} AS id, {us(created)} AS born, coalesce({died}, {end}) AS died
                       FROM {q(parent.id)} WHERE {q(created)} IS NOT NULL),
                 k AS (SELECT c.{q(fk)} AS id, floor(({us(tcol, "c")} - p.born) / {unit})::BIGINT AS age,
                              count(*) AS k
                       FROM {q(child.id)} c JOIN p ON c.{q(fk)} = p.id GROUP BY 1, 2)
            SELECT a.age, count(*), sum(coalesce(k.k, 0)), sum(coalesce(k.k, 0) ^ 2)
            FROM range({ages}) a(age)  -- a parent counts at age a when that whole unit is in the data
            JOIN p ON p.born + a.age * {unit} >= {start} AND p.born + (a.age + 1) * {unit} <= {end}
                  AND p.born + (a.age + 1) * {unit} <= p.died  -- and alive for all of it
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
    v = f"({v} / {_segment_value_sql(parent, f'{child.id}.{column}')})"
    assert parent.pk is not None  # only parents with a key are read
    rows = con.execute(
        f"""SELECT floor({age} / {unit})::BIGINT AS age, count({v}), sum({v}), sum({v} ^ 2)
            FROM {q(child.id)} c JOIN {q(parent.id)} p ON c.{q(fk)} = p.{q(parent.pk)}
            WHERE {v} IS NOT NULL AND {age} >= 0 GROUP BY 1 HAVING age < {ages} ORDER BY 1"""
    ).fetchall()
    subject = f"mean {column} per {curves[0].time_unit} of {parent.id} age, over age 0"
    return _age_ratios(rows, unit_means(curves, unit, ages), "vintage_value", child.id, column, subject)


def curve_sql(mult: AgeMultiplier, age_us: str) -> str:
    """SQL: the curve's value at an age given in microseconds (negative ages read as 0, floored at 0)."""
    x = f"greatest(({age_us}) / {UNIT_US[mult.time_unit]}, 0)"
    if isinstance(mult.curve, list):
        cases = " ".join(f"WHEN {i} THEN {v!r}" for i, v in enumerate(mult.curve[:-1]))
        last = mult.curve[-1]
        return f"(CASE least(floor({x}), {len(mult.curve) - 1})::BIGINT {cases} ELSE {last!r} END)"
    a, b = mult.curve.params.a, mult.curve.params.b
    kind = mult.curve.curve_type
    v = f"{a!r} + {b!r} * ln(1 + {x})" if kind == "logarithmic" else f"{a!r} + {b!r} * {x}"
    if kind == "exponential":
        v = f"{a!r} * exp(least({b!r} * {x}, 700))"
    return f"greatest({v}, 0)"


def value_curves_sql(parent: Node, ref: str, child_time: str, created: str) -> str:
    """SQL: the product of the parent's value curves on `ref` at the child's age (1.0 with none)."""
    vb = parent.vintage_behavior
    curves = vb.value_curves(ref) if vb is not None else []
    age = f"({child_time} - {created})"
    return " * ".join(curve_sql(m, age) for m in curves) or "1.0"


def _segment_value_sql(parent: Node, ref: str) -> str:
    """SQL: the parent's segment value multiplier of `ref`, divided out so that parents of different
    segments living different lengths of time (a lifetime) do not tilt the mean by age."""
    sb = parent.segment_behavior
    if sb is None or ref not in sb.applies_to_columns:
        return "1.0"
    cases = " ".join(
        f"WHEN {sql_text(seg)} THEN {b.value_multiplier!r}"
        for seg, b in sb.behaviors.items()
        if b.value_multiplier != 0
    )
    return f"(CASE CAST(p.{q(sb.segment_column)} AS VARCHAR) {cases} ELSE 1.0 END)" if cases else "1.0"


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
