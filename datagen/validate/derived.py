"""Tables that agree (docs/schema-language.md §10.4): each derived column a schema declares — a rollup,
a running value, a scoped pick — is recomputed from the data in DuckDB and compared row by row: hard
checks, like foreign keys.

- `rollup`: a parent column equals the aggregate of its children (sum, count, mean, min, max, first,
  last), recomputed with SQL's own aggregates from the child rows that meet `where`, joined to the
  parent through the foreign key; a parent without children holds the default.
- `running`: each row's running value equals the window aggregate over its parent's rows up to it
  (`ORDER BY order_by NULLS LAST, key`), plus the parent's start.
- `scoped_lookup`: each picked value belongs to a source row whose `on` keys equal the row's, and no
  row is left empty while a candidate exists; a pick from the row's own table must also come before it
  (a smaller sequence key, or a larger one for a descending sequence), and a random pick from the
  table the row is born from must be a row other than its parent.
- `expression`: each row's value equals its formula over the row's other columns as the data holds
  them, evaluated with the language's own rules (dsl/expressions.py: the definition of what a formula
  means, like a distribution's draw) and written as its type writes it (an `int` rounded, `decimals`
  kept). Read in batches, so memory does not grow with the table. Skipped, with the reason, where
  something changes the value after the formula (modifiers, a parent's multiplier, a bound of an
  inequality) or the formula reads a column the data does not hold.

Sums are compared within 1e-9 of the sum of the magnitudes involved (the engine and DuckDB may add in
a different order); everything else exactly."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from datagen.dsl.base import TIME, split_ref
from datagen.dsl.behaviours import credit_source
from datagen.dsl.enforcement import enforcement
from datagen.dsl.expressions import gives_text, parse_expression
from datagen.dsl.generators import ExpressionGen, LookupGen, RollupGen, RunningGen, SequenceGen
from datagen.dsl.models import Column, Node
from datagen.dsl.references import walk_columns
from datagen.validate.behaviour import register
from datagen.validate.context import Context, q
from datagen.validate.results import MAX_EXAMPLES, Result, jsonable, verdict
from datagen.validate.sql_condition import sql_condition

REGENERATE = "regenerate the data from this schema: datagen generate SCHEMA -o DATA_DIR"
RELATIVE = 1e-9
BATCH_ROWS = 1 << 20  # rows of a table an expression is recomputed over at a time


def _result(check: str, node: Node, col: Column, ok: bool, message: str, **kw: Any) -> Result:
    return Result(check, "structural", node.id, col.name, verdict(ok), message, hard=True, **kw)


def _skip(check: str, node: Node, col: Column, why: str) -> Result:
    return Result(check, "structural", node.id, col.name, "skip", f"not checked: {why}", hard=True)


def _recomputed(
    check: str, noun: str, node: Node, col: Column, what: str, wrong: int, n: int, examples: list[Any]
) -> Result:
    """The verdict of a derived column recomputed from the data: every row equal, or how many differ."""
    return _result(
        check,
        node,
        col,
        wrong == 0,
        f"{wrong:,} of {n:,} rows differ from the {what}" if wrong else f"all {n:,} rows equal the {what}",
        examples=examples,
        details={check: what, "rows": n, "differ": wrong},
        fix=None if not wrong else f"{noun} holds exactly: {REGENERATE}",
    )


def _rounding(col: Column) -> str:
    """What the column's `decimals` may move the aggregate by, as SQL to add to a tolerance: the value
    is written rounded (an average rating of 4.27 for 4.2667), so the recomputed one is rounded too."""
    return f" + {0.5 * 10.0**-col.decimals!r}" if col.type == "float" and col.decimals is not None else ""


def _literal(value: object, col: Column) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | float):
        return repr(value)
    text = "'" + str(value).replace("'", "''") + "'"
    return f"CAST({text} AS TIMESTAMPTZ)" if col.type == "datetime" else text


def _differs(actual: str, expected: str, tolerance: str | None) -> str:
    """SQL: the stored value is not the expected one (nulls must match too)."""
    if tolerance is None:
        return f"({actual} IS DISTINCT FROM {expected})"
    return (
        f"(({actual} IS NULL) <> ({expected} IS NULL) OR abs(CAST({actual} AS DOUBLE) - "
        f"CAST({expected} AS DOUBLE)) > {tolerance})"
    )


# --- rollups ------------------------------------------------------------------------------------------


def _each_column(
    ctx: Context, check: str, applies: Callable[[Node, Column], bool], judge: Callable[..., Any]
) -> Iterator[Result]:
    """`judge(ctx, node, col)` as the hard structural check `check`, on every written column it applies to."""
    for node in ctx.schema.nodes:
        for col in node.columns:
            if applies(node, col) and ctx.has(node.id, col.name):
                yield ctx.attempt(check, "structural", node.id, col.name, judge, ctx, node, col, hard=True)


@register("rollup")
def rollup_checks(ctx: Context) -> Iterator[Result]:
    yield from _each_column(ctx, "rollup", lambda _, col: isinstance(col.generator, RollupGen), rollup)


def rollup(ctx: Context, node: Node, col: Column) -> Result:
    gen = col.generator
    assert isinstance(gen, RollupGen)
    args = gen.rollup
    source = gen.source
    assert source is not None
    child = ctx.node(source[0])
    link = ctx.link(child.id, node.id)
    if link is None:
        return _skip("rollup", node, col, f"no foreign key from '{child.id}' to '{node.id}' in the data")
    fk, key = link
    ctx.require(child.id, gen.child_columns(child))  # hidden helpers are lent to the view (hidden.py)
    x = f"c.{q(source[1])}"
    conditions = [f"{x} IS NOT NULL"]
    if args.where:
        condition = sql_condition(args.where, "c")
        if condition is None:
            return _skip(
                "rollup", node, col, f"its where ({args.where}) uses what the check cannot read in SQL"
            )
        conditions.append(condition)
    order = args.order_column(child) if args.ordered else None
    if order:
        conditions.append(f"c.{q(order)} IS NOT NULL")
    where = " AND ".join(conditions)
    if args.ordered:
        assert order is not None
        direction = "ASC" if args.agg == "first" else "DESC"
        tie = f", c.{q(child.pk)} {direction}" if child.pk else ""
        agg = (
            f"SELECT k, v, NULL AS scale FROM (SELECT c.{q(fk)} AS k, {x} AS v, row_number() OVER "
            "(PARTITION BY "
            f"c.{q(fk)} ORDER BY c.{q(order)} {direction}{tie}) AS rn FROM {q(child.id)} c WHERE {where}) "
            "WHERE rn = 1"
        )
    else:
        fn = {"sum": "sum", "count": "count", "mean": "avg", "min": "min", "max": "max"}[args.agg]
        scale = f"sum(abs(CAST({x} AS DOUBLE)))" if args.agg in ("sum", "mean") else "NULL"
        agg = (
            f"SELECT c.{q(fk)} AS k, {fn}({x}) AS v, {scale} AS scale FROM {q(child.id)} c "
            f"WHERE {where} GROUP BY 1"
        )
    empty = args.empty_value
    expected = f"coalesce(a.v, {_literal(empty, col)})" if empty is not None else "a.v"
    numeric = col.type in ("int", "float") and args.agg in ("sum", "mean")
    tolerance = f"{RELATIVE} * (coalesce(a.scale, 0) + 1){_rounding(col)}" if numeric else None
    bad = _differs(f"p.{q(col.name)}", expected, tolerance)
    joined = f"FROM {q(node.id)} p LEFT JOIN ({agg}) a ON p.{q(key)} = a.k"
    (wrong,) = ctx.one(f"SELECT count(*) {joined} WHERE {bad}")
    n = ctx.rows[node.id]
    examples = []
    if wrong:
        examples = ctx.examples(
            f"SELECT p.{q(key)} AS {q(key)}, p.{q(col.name)} AS stored, {expected} AS expected "
            f"{joined} WHERE {bad}"
        )
    what = f"{args.agg} of {args.from_}" + (f" where {args.where}" if args.where else "")
    return _recomputed("rollup", "a rollup", node, col, what, int(wrong), n, examples)


# --- running values -----------------------------------------------------------------------------------


@register("running")
def running_checks(ctx: Context) -> Iterator[Result]:
    yield from _each_column(ctx, "running", lambda _, col: isinstance(col.generator, RunningGen), running)


def running(ctx: Context, node: Node, col: Column) -> Result:
    gen = col.generator
    assert isinstance(gen, RunningGen)
    args = gen.running
    parent = node.primary_parent
    assert parent is not None
    link = ctx.link(node.id, parent)
    if link is None:
        return _skip("running", node, col, f"no foreign key from '{node.id}' to '{parent}' in the data")
    fk, key = link
    ctx.require(node.id, [args.of, args.order_by])  # hidden helpers are lent to the view (hidden.py)
    tie = f", t.{q(node.pk)}" if node.pk else ""
    window = (
        f"(PARTITION BY t.{q(fk)} ORDER BY t.{q(args.order_by)} ASC NULLS LAST{tie} "
        "ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)"
    )
    of = f"t.{q(args.of)}"
    fn = {"sum": "sum", "count": "count", "mean": "avg", "min": "min", "max": "max"}[args.agg]
    value = f"{fn}({of}) OVER {window}"
    start_sql, join = "0", ""
    if args.agg == "sum":
        value = f"coalesce({value}, 0)"
        ref = split_ref(args.start) if args.start else None
        if ref:
            ctx.require(parent, [ref[1]])
            start_sql = f"p.{q(ref[1])}"
            join = f"LEFT JOIN {q(parent)} p ON t.{q(fk)} = p.{q(key)}"
            value = f"{start_sql} + {value}"
    magnitude = f"coalesce(sum(abs(CAST({of} AS DOUBLE))) OVER {window}, 0)"
    scale = f"abs(coalesce(CAST({start_sql} AS DOUBLE), 0)) + {magnitude}"
    tolerance = f"{RELATIVE} * (scale + 1){_rounding(col)}" if args.agg in ("sum", "mean") else None
    rows = f"SELECT t.*, {value} AS expected, {scale} AS scale FROM {q(node.id)} t {join}"
    bad = _differs(f"r.{q(col.name)}", "r.expected", tolerance)
    (wrong,) = ctx.one(f"SELECT count(*) FROM ({rows}) r WHERE {bad}")
    n = ctx.rows[node.id]
    examples = []
    if wrong:
        ident = f"r.{q(node.pk)} AS {q(node.pk)}, " if node.pk else ""
        examples = ctx.examples(
            f"SELECT {ident}r.{q(fk)} AS {q(fk)}, r.{q(col.name)} AS stored, r.expected "
            f"FROM ({rows}) r WHERE {bad}"
        )
    what = f"running {args.agg} of {args.of} by {args.order_by}" + (
        f" from {args.start}" if args.start else ""
    )
    return _recomputed("running", "a running value", node, col, what, int(wrong), n, examples)


# --- scoped lookups -----------------------------------------------------------------------------------


@register("scoped_lookup")
def scoped_lookup_checks(ctx: Context) -> Iterator[Result]:
    yield from _each_column(ctx, "scoped_lookup", _picks, scoped_lookup)


def _picks(node: Node, col: Column) -> bool:
    """A lookup that picks a row by its keys, or another row than the one the row is born from."""
    gen = col.generator
    return isinstance(gen, LookupGen) and (gen.lookup.scoped or gen.picks_another_row(node))


def scoped_lookup(ctx: Context, node: Node, col: Column) -> Result:
    gen = col.generator
    assert isinstance(gen, LookupGen)
    source = gen.source
    assert source is not None
    if col.modifiers:
        return _skip("scoped_lookup", node, col, "its modifiers change the picked values")
    table, column = source
    on = gen.lookup.on or {}
    ctx.require(node.id, on)  # hidden keys are lent to the views (hidden.py)
    ctx.require(table, [column, *on.values()])
    keys = " AND ".join(f"s.{q(b)} = t.{q(a)}" for a, b in on.items())
    scope = " and ".join(f"{node.id}.{a} = {table}.{b}" for a, b in on.items())
    shown = list(on)  # the row's columns an example shows
    if not on:  # a row of the table it is born from, other than its parent
        link = ctx.link(node.id, table)
        if link is None:
            return _skip("scoped_lookup", node, col, f"no key into {table} to tell its own parent")
        keys = f"s.{q(link[1])} <> t.{q(link[0])}"
        scope = f"{table}.{link[1]} <> {node.id}.{link[0]}"
        shown = [link[0]]
    if table == node.id:  # an earlier row of the same table, by its sequence key (checked)
        pk = node.column(node.pk or "")
        assert pk is not None and isinstance(pk.generator, SequenceGen)
        keys += f" AND s.{q(pk.name)} {'<' if pk.generator.sequence.step > 0 else '>'} t.{q(pk.name)}"
        scope = f"{scope}, earlier in the table"
    match = f"s.{q(column)} = t.{q(col.name)} AND {keys}"
    if col.type in TIME:
        match = f"CAST(s.{q(column)} AS TIMESTAMPTZ) = CAST(t.{q(col.name)} AS TIMESTAMPTZ) AND {keys}"
    outside = (
        f"SELECT t.* FROM {q(node.id)} t WHERE t.{q(col.name)} IS NOT NULL "
        f"AND NOT EXISTS (SELECT 1 FROM {q(table)} s WHERE {match})"
    )
    (wrong,) = ctx.one(f"SELECT count(*) FROM ({outside})")
    empty = 0
    if col.null_rate == 0:
        (empty,) = ctx.one(
            f"SELECT count(*) FROM {q(node.id)} t WHERE t.{q(col.name)} IS NULL AND EXISTS "
            f"(SELECT 1 FROM {q(table)} s WHERE {keys})"
        )
    n = ctx.rows[node.id]
    examples = []
    if wrong:
        ident = f"{q(node.pk)}, " if node.pk else ""
        cols = ", ".join(q(a) for a in shown)
        examples = ctx.examples(f"SELECT {ident}{cols}, {q(col.name)} FROM ({outside})")
    problems = []
    if wrong:
        problems.append(f"{wrong:,} of {n:,} rows picked a {table} row outside their scope ({scope})")
    if empty:
        problems.append(f"{empty:,} rows are null although a {table} row matches")
    return _result(
        "scoped_lookup",
        node,
        col,
        not problems,
        "; ".join(problems) if problems else f"every {col.name} is a {table} row where {scope}",
        examples=examples,
        details={"rows": n, "outside": int(wrong), "null_with_candidate": int(empty), "scope": scope},
        fix=None if not problems else f"a scoped lookup picks inside its scope: {REGENERATE}",
    )


# --- expressions --------------------------------------------------------------------------------------


@register("expression")
def expression_checks(ctx: Context) -> Iterator[Result]:
    yield from _each_column(
        ctx, "expression", lambda _, col: isinstance(col.generator, ExpressionGen), expression
    )


def _changed_after(ctx: Context, node: Node, col: Column, reads: frozenset[str]) -> str | None:
    """Why the stored value is not the formula's alone (None when it is)."""
    if col.modifiers:
        return "its modifiers change the computed values"
    if col.name in walk_columns(node):
        return "a behaviour block of its table fills it"
    if (conversions := credit_source(ctx.schema, node.id)) is not None:
        return f"the attribution block of '{conversions.id}' fills it"
    ref = f"{node.id}.{col.name}"
    for pid in node.parents or []:
        parent = ctx.node(pid)
        sb, vb = parent.segment_behavior, parent.vintage_behavior
        if (sb is not None and ref in sb.applies_to_columns) or (vb is not None and ref in vb.value_columns):
            return f"a behaviour block of '{pid}' multiplies it"
    if ("enforcement",) not in ctx.cache:
        ctx.cache[("enforcement",)] = enforcement(ctx.schema)
    if ctx.cache[("enforcement",)].column_bounds(node.id, col.name):
        return "it is capped at the bounds of an inequality, which the inequality checks hold"
    absent = sorted(c for c in reads if not ctx.has(node.id, c))
    if absent:
        return f"it reads {', '.join(absent)}, which the data does not hold (a hidden helper column)"
    return None


def _as_evaluated(values: pa.ChunkedArray) -> np.ndarray:
    """A stored column as an expression reads it: text as objects (None for null), numbers with nulls
    as floats (NaN), times as datetime64[us] (NaT)."""
    if pa.types.is_dictionary(values.type):
        values = values.cast(values.type.value_type)
    out = np.asarray(values.to_numpy())
    if out.dtype.kind == "M":
        return out.astype("datetime64[us]")
    return out.astype(object) if out.dtype.kind in "UT" else out


def _as_written(col: Column, values: np.ndarray) -> np.ndarray:
    """The formula's values as the column's type writes them: an `int` rounded to the nearest whole
    number (halves to even), a float kept to its `decimals`, a date cut to its day."""
    if col.type == "int" and values.dtype.kind == "f":
        return np.asarray(np.rint(values))
    if col.type == "float" and col.decimals is not None and values.dtype.kind == "f":
        return np.asarray(np.round(values, col.decimals))
    if col.type in TIME and values.dtype.kind == "M":
        values = values.astype("datetime64[us]")
        return values.astype("datetime64[D]").astype("datetime64[us]") if col.type == "date" else values
    return values


def _wrong_rows(col: Column, stored: np.ndarray, expected: np.ndarray) -> np.ndarray:
    """Rows whose stored value is not the expected one: nulls must match, except where the column's
    `null_rate` blanked a value; numbers within RELATIVE of the expected magnitude."""
    missing, absent = pd.isna(expected), pd.isna(stored)
    wrong = missing != absent
    if col.null_rate > 0:
        wrong &= ~(absent & ~missing)
    both = ~missing & ~absent
    if col.type in ("int", "float") and expected.dtype.kind in "biuf":
        e = expected[both].astype(np.float64)
        a = stored[both].astype(np.float64)
        wrong[both] = ~(np.abs(a - e) <= RELATIVE * (np.abs(e) + 1))
    else:
        wrong[both] = stored[both] != expected[both]
    return np.asarray(wrong, dtype=bool)


def expression(ctx: Context, node: Node, col: Column) -> Result:
    gen = col.generator
    assert isinstance(gen, ExpressionGen)
    formula = parse_expression(gen.expression.code)
    if why := _changed_after(ctx, node, col, formula.columns):
        return _skip("expression", node, col, why)
    if col.type == "string" and not gives_text(formula.code, {c.name: c.type for c in node.columns}):
        return _skip("expression", node, col, "its formula gives numbers, which the column stores as text")
    ident = [node.pk] if node.pk and ctx.has(node.id, node.pk) and node.pk != col.name else []
    names = sorted({col.name, *formula.columns, *ident})
    query = f"SELECT {', '.join(q(c) for c in names)} FROM {q(node.id)}"
    wrong, n = 0, 0
    examples: list[Any] = []
    for batch in ctx.con.cursor().sql(query).to_arrow_reader(BATCH_ROWS):
        rows = batch.num_rows
        values = {c: _as_evaluated(pa.chunked_array([batch.column(c)])) for c in names}
        with np.errstate(all="ignore"):
            expected = _as_written(col, formula.evaluate(values, rows))
        bad = _wrong_rows(col, values[col.name], expected)
        wrong, n = wrong + int(bad.sum()), n + rows
        for i in np.flatnonzero(bad)[: MAX_EXAMPLES - len(examples)]:
            row = {c: values[c][i] for c in ident}
            examples.append(jsonable({**row, "stored": values[col.name][i], "expected": expected[i]}))
    return _recomputed(
        "expression", "an expression", node, col, f"formula {formula.code}", wrong, n, examples
    )
