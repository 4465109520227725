"""Relations between rows, recomputed from the data (docs/schema-language.md §10.1, §10.4, §10.5). All
hard but the grid-alignment warning:

- `window`: a time read `within` a related row's [start, end) lies inside that row's window;
- `chain_order`: a fact born from a fact never happens before its parent;
- `regular_series`: a regular series has its count in every period of each parent's life inside the
  timeframe — no duplicate, no gap, no row outside the life; with `active_in`, in every period at the
  weight of the state the parent's walk (as the walk table holds it) is in when the period starts;
- `window_end`: no drawn time equals the (exclusive) end of its window;
- `grid_alignment` (soft): a time that is not snapped is not sitting on the hour (continuous time).

Related rows are joined in SQL along the schema's relation paths (datagen.dsl.related_rows: the
language's definition of which row is related), through the keys each row carries. Periods are
counted here with DuckDB's own calendar arithmetic (fixed steps from the epoch; calendar periods from
a table pandas lists), not the engine's."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd
from pandas.tseries.frequencies import to_offset

from datagen.dsl.enforcement import enforcement, walk_time
from datagen.dsl.expressions import parse_expression
from datagen.dsl.generators import DatetimeSeriesGen
from datagen.dsl.models import Column, Node
from datagen.dsl.related_rows import Path, path_to
from datagen.dsl.units import HOUR_US
from datagen.validate.context import Context, q
from datagen.validate.results import Result, verdict

FIX = (
    "regenerate the data from this schema (datagen generate); if it was, the engine broke a relation "
    "the schema declares — report it with the schema"
)
ALIGNED_SHARE = 0.99  # above this share of values on the hour, a time that is not snapped looks gridded
MIN_ALIGNMENT_ROWS = 100


def joins(
    ctx: Context, path: Path, base: str = "d", prefix: str = "r", *, left: bool = False
) -> tuple[str, str] | str:
    """The JOINs that take a row (alias `base`) along `path` to its related row, and that row's alias
    (`base` itself for an empty path); or why the data cannot be joined (a key is missing). `left`:
    keep rows without a related row (their related values are null)."""
    sql, here = "", base
    for i, hop in enumerate(path.hops):
        pk = ctx.node(hop.to).pk
        if hop.key is None or pk is None or not ctx.readable(hop.table, hop.key) or not ctx.has(hop.to, pk):
            return f"{hop.table} carries no key of its {hop.to} row in the data"
        there = f"{prefix}{i + 1}"
        sql += f" {'LEFT ' if left else ''}JOIN {q(hop.to)} {there} ON {here}.{q(hop.key)} = {there}.{q(pk)}"
        here = there
    return sql, here


def along(path: Path, start: str) -> str:
    """A path as the keys it is joined on: `payments.claim_id → claims.policy_id → policies`."""
    if not path.hops:
        return start
    return " → ".join([f"{h.table}.{h.key}" for h in path.hops] + [path.hops[-1].to])


def _us(ref: str) -> str:
    return f"epoch_us(CAST({ref} AS TIMESTAMPTZ))"


def relation_checks(ctx: Context) -> Iterator[Result]:
    made = enforcement(ctx.schema)
    for node in ctx.schema.nodes:
        for col in node.columns:
            if not isinstance(col.generator, DatetimeSeriesGen) or not ctx.has(node.id, col.name):
                continue
            if col.name == walk_time(node):
                continue  # filled by a walk, not drawn
            if col.generator.related_window():
                yield ctx.attempt("window", "value", node.id, col.name, window, ctx, node, col, hard=True)
            yield ctx.attempt("window_end", "value", node.id, col.name, window_end, ctx, node, col, hard=True)
            if not col.generator.snapped(col.type):
                yield ctx.attempt(
                    "grid_alignment", "value", node.id, col.name, grid_alignment, ctx, node, col
                )
    for chain in made.chains:
        if ctx.has(chain.table, chain.column) and ctx.readable(chain.parent, chain.parent_column):
            yield ctx.attempt(
                "chain_order", "value", chain.table, chain.column, chain_order, ctx, chain, hard=True
            )
    for node in ctx.schema.nodes:
        if node.fanout is not None and node.fanout.every is not None and node.walk is None:
            tcol = node.first_time_column()
            if tcol and ctx.has(node.id, tcol):
                yield ctx.attempt(
                    "regular_series", "value", node.id, tcol, regular_series, ctx, node, tcol, hard=True
                )


def _result(check: str, node: Node, column: str, bad: int, message: str, **kw: Any) -> Result:
    return Result(
        check,
        "value",
        node.id,
        column,
        verdict(bad == 0),
        message,
        hard=True,
        fix=None if not bad else FIX,
        **kw,
    )


def _skip(check: str, node: Node, column: str, why: str) -> Result:
    return Result(check, "value", node.id, column, "skip", why, hard=True)


# --- windows ---------------------------------------------------------------------------------------------


def window(ctx: Context, node: Node, col: Column) -> Result:
    gen = col.generator
    assert isinstance(gen, DatetimeSeriesGen)
    x = f"d.{q(col.name)}"
    sql = f"FROM {q(node.id)} d"
    tests, rule_parts = [], []
    for i, (side, ref) in enumerate(gen.related_window()):
        path = path_to(ctx.schema, node.id, ref[0])
        if not isinstance(path, Path):
            return _skip(
                "window", node, col.name, f"no single row of {ref[0]} is related to a row of {node.id}"
            )
        found = joins(ctx, path, prefix=f"w{i}_")
        if isinstance(found, str):
            return _skip("window", node, col.name, f"not checked: {found}")
        sql += found[0]
        bound = f"{found[1]}.{q(ref[1])}"
        op = "<" if side == "lo" else ">="
        tests.append(f"({bound} IS NOT NULL AND CAST({x} AS TIMESTAMPTZ) {op} CAST({bound} AS TIMESTAMPTZ))")
        rule_parts.append(f"{'>=' if side == 'lo' else '<'} {ref[0]}.{ref[1]}")
    rule = f"{col.name} {' and '.join(rule_parts)} (its related row's window)"
    where = f"{x} IS NOT NULL AND ({' OR '.join(tests)})"
    (bad,) = ctx.one(f"SELECT count(*) {sql} WHERE {where}")
    examples = []
    if bad:
        key = ctx.key(node.id)
        cols = ", ".join([*([f"d.{q(key)}"] if key else []), x])
        examples = ctx.examples(f"SELECT {cols} {sql} WHERE {where}")
    n = ctx.rows[node.id]
    msg = (
        f"{bad:,} of {n:,} rows fall outside their window: {rule}" if bad else f"all {n:,} rows hold: {rule}"
    )
    details = {"rule": rule, "violations": int(bad)}
    return _result("window", node, col.name, bad, msg, examples=examples, details=details)


def window_end(ctx: Context, node: Node, col: Column) -> Result:
    """No value equals the end of its window: windows are [start, end) (the timeframe's or `within`'s)."""
    gen = col.generator
    assert isinstance(gen, DatetimeSeriesGen)
    _, end = gen.window(ctx.schema.timeframe)
    x = q(col.name)
    where = f"{x} IS NOT NULL AND CAST({x} AS TIMESTAMPTZ) = CAST(? AS TIMESTAMPTZ)"
    (bad,) = ctx.one(f"SELECT count(*) FROM {q(node.id)} WHERE {where}", [end])
    n = ctx.rows[node.id]
    rule = f"{col.name} < {end.isoformat()} (the window's end is exclusive)"
    msg = (
        f"{bad:,} of {n:,} rows equal the window's end {end.isoformat()}"
        if bad
        else f"no value equals {end.isoformat()}"
    )
    return _result("window_end", node, col.name, bad, msg, details={"rule": rule, "violations": int(bad)})


def grid_alignment(ctx: Context, node: Node, col: Column) -> Result:
    """A continuous time is not on the hour (a warning: it looks generated on a grid)."""
    x = _us(q(col.name))
    n, aligned = ctx.one(
        f"SELECT count({q(col.name)}), count(*) FILTER (WHERE {x} % {HOUR_US} = 0) FROM {q(node.id)}"
    )
    if n < MIN_ALIGNMENT_ROWS:
        return Result("grid_alignment", "value", node.id, col.name, "skip", f"only {n} values")
    share = aligned / n
    ok = share <= ALIGNED_SHARE
    msg = f"{share:.1%} of {n:,} values are exactly on the hour" + (
        "" if ok else ': times that are not snapped should be continuous (or declare "snap": true)'
    )
    return Result(
        "grid_alignment",
        "value",
        node.id,
        col.name,
        verdict(ok),
        msg,
        details={"aligned_share": share, "rows": n},
        fix=None
        if ok
        else 'regenerate the data; if the values are meant to be on a grid, declare "snap": true',
    )


# --- chains ----------------------------------------------------------------------------------------------


def chain_order(ctx: Context, chain) -> Result:  # chain: datagen.dsl.enforcement.Chain
    node = ctx.node(chain.table)
    found = joins(ctx, Path((chain.hop,)))
    if isinstance(found, str):
        return _skip("chain_order", node, chain.column, f"not checked: {found}")
    sql, p = f"FROM {q(chain.table)} d{found[0]}", found[1]
    x, y = f"d.{q(chain.column)}", f"{p}.{q(chain.parent_column)}"
    where = f"{x} IS NOT NULL AND {y} IS NOT NULL AND CAST({x} AS TIMESTAMPTZ) < CAST({y} AS TIMESTAMPTZ)"
    (bad,) = ctx.one(f"SELECT count(*) {sql} WHERE {where}")
    rule = f"{chain.table}.{chain.column} >= {chain.parent}.{chain.parent_column} (a child after its parent)"
    examples = []
    if bad:
        key = ctx.key(chain.table)
        cols = ", ".join(
            [*([f"d.{q(key)}"] if key else []), x, f"{y} AS {q(chain.parent + '.' + chain.parent_column)}"]
        )
        examples = ctx.examples(f"SELECT {cols} {sql} WHERE {where}")
    n = ctx.rows[chain.table]
    msg = (
        f"{bad:,} of {n:,} rows happen before their parent: {rule}" if bad else f"all {n:,} rows hold: {rule}"
    )
    return _result(
        "chain_order",
        node,
        chain.column,
        bad,
        msg,
        examples=examples,
        details={"rule": rule, "violations": int(bad)},
    )


# --- regular series --------------------------------------------------------------------------------------


def _fixed_step(every: str) -> int:
    try:
        return int(pd.Timedelta(to_offset(every)).value // 1000)
    except ValueError:
        return 0


def _starts_around(every: str, t0: int, t1: int) -> np.ndarray:
    """The calendar periods' starts (µs) from before t0 to past t1, as pandas lists them."""
    offset = to_offset(every)
    start = pd.Timestamp(t0 * 1000, tz="UTC").normalize()
    first = offset.rollback(start)
    stop = pd.Timestamp(t1 * 1000, tz="UTC") + offset
    return np.asarray(pd.date_range(first - offset, stop, freq=offset).as_unit("us").asi8, dtype=np.int64)


def period_count(every: str, s: np.ndarray, e: np.ndarray, t0: int, t1: int) -> np.ndarray:
    """How many periods of `every` start in each [s, e) (inside the timeframe [t0, t1)): fixed steps
    counted from the epoch, calendar periods from the list pandas gives."""
    step = _fixed_step(every)
    if step:
        return np.maximum(-(-e // step) - -(-s // step), 0)
    starts = _starts_around(every, t0, t1)
    return np.maximum(np.searchsorted(starts, e, side="left") - np.searchsorted(starts, s, side="left"), 0)


def regular_spans(ctx: Context, node: Node, parent: Node) -> pd.DataFrame | None:
    """Where a regular series counts its periods, as `(k, s, e, w)` in µs: each parent's life inside the
    timeframe (w = 1) where the fanout's `where` holds; with `active_in`, that life cut where the walk
    table enters a state, each stretch at its state's weight (weight 0 left out). None when the walk
    table holds no key into the parent or no time."""
    tf = ctx.schema.timeframe
    lives = _parent_lives(ctx, node, parent, _us_of(tf.start_dt), _us_of(tf.end_dt))
    lives = lives[lives["ok"] & (lives["e"] > lives["s"])]
    ai = node.active_in
    if ai is None:
        return lives.assign(w=1.0)[["k", "s", "e", "w"]]
    walk = ctx.node(ai.walk)
    cols = walk.walk.walk_columns(walk) if walk.walk is not None else None
    link = ctx.link(walk.id, parent.id)
    if link is None or cols is None or cols.time is None:
        return None
    pk = q(walk.pk) if walk.pk else "0"
    w = (
        ctx.con.cursor()
        .sql(
            f"""SELECT k, t, lead(t) OVER (PARTITION BY k ORDER BY t, pk) AS t_next, st FROM (
                SELECT {q(link[0])} AS k, {_us(q(cols.time))} AS t, {pk} AS pk,
                       CAST({q(cols.label)} AS VARCHAR) AS st FROM {q(walk.id)})"""
        )
        .df()
    )
    spans = w.merge(lives, on="k")
    spans["s"] = np.maximum(spans["t"], spans["s"])
    spans["e"] = np.minimum(spans["t_next"].fillna(np.iinfo(np.int64).max), spans["e"]).astype(np.int64)
    spans["w"] = spans["st"].map(ai.states).fillna(0.0).astype(float)
    return spans.loc[(spans["w"] > 0) & (spans["e"] > spans["s"]), ["k", "s", "e", "w"]]


def regular_series(ctx: Context, node: Node, tcol: str) -> Result:
    f = node.fanout
    assert f is not None and f.every is not None
    parent = ctx.node(node.parents[0]) if node.parents else None
    col = node.column(tcol)
    assert col is not None and isinstance(col.generator, DatetimeSeriesGen)
    path = path_to(ctx.schema, node.id, parent.id) if parent else None
    if parent is None or not isinstance(path, Path) or parent.pk is None:
        return _skip("regular_series", node, tcol, "no parent rows to count periods in")
    hop = path.hops[0]
    if hop.key is None or not ctx.readable(node.id, hop.key) or not ctx.has(parent.id, parent.pk):
        return _skip("regular_series", node, tcol, f"not checked: {node.id} carries no key of {parent.id}")
    tf = ctx.schema.timeframe
    t0, t1 = _us_of(tf.start_dt), _us_of(tf.end_dt)
    spans = regular_spans(ctx, node, parent)
    if spans is None:
        walk = node.active_in.walk if node.active_in else node.id
        return _skip("regular_series", node, tcol, f"not checked: {walk} carries no key of {parent.id}")
    per = f.constant_count if f.distribution == "constant" else None
    if per is None:  # a Poisson count: any number of rows in a period
        spans = spans.assign(lo=0.0, hi=2.0**62)
    else:  # floor or ceil of count x weight
        x = spans["w"] * per
        spans = spans.assign(lo=np.floor(x + 1e-9), hi=np.ceil(x - 1e-9))
    con = ctx.con.cursor()  # its own connection: the spans table is registered on it alone
    con.register("__spans", spans)
    slot = col.generator.datetime_series.slot
    x = _us(f"c.{q(tcol)}")
    step = _fixed_step(f.every)
    if step:
        period = f"(round({x} / {step}) * {step})" if slot else f"(floor({x} / {step}) * {step})"
        counted = f"(ceil(e / {step}) - ceil(s / {step}))"
        children = f"SELECT c.{q(hop.key)} AS k, CAST({period} AS BIGINT) AS p FROM {q(node.id)} c"
    else:
        starts = "__starts"
        con.register(starts, pd.DataFrame({"p": _starts_around(f.every, t0, t1)}))
        if slot:  # the nearest start: the latest at or before the midpoint to the next
            children = (
                f"SELECT c.k, CASE WHEN c.t - a.p < n.p - c.t THEN a.p ELSE n.p END AS p FROM "
                f"(SELECT {q(hop.key)} AS k, {_us(q(tcol))} AS t FROM {q(node.id)}) c "
                f"ASOF JOIN {starts} a ON c.t >= a.p ASOF JOIN {starts} n ON c.t < n.p"
            )
        else:
            children = (
                f"SELECT c.k, a.p FROM (SELECT {q(hop.key)} AS k, {_us(q(tcol))} AS t FROM {q(node.id)}) c "
                f"ASOF JOIN {starts} a ON c.t >= a.p"
            )
        counted = f"(SELECT count(*) FROM {starts} WHERE p >= s AND p < e)"
    # each (parent, period) in the span it starts in: none outside a span, the span's count in each
    # period, and a row in every period of a span that has at least one per period
    sql = f"""
        WITH ch AS ({children}),
        per AS (SELECT k, p, count(*) AS m FROM ch GROUP BY k, p),
        placed AS (SELECT per.k, per.p, per.m, sp.s, sp.e, sp.lo, sp.hi
                   FROM per ASOF LEFT JOIN __spans sp ON per.k = sp.k AND per.p >= sp.s),
        inside AS (SELECT * FROM placed WHERE s IS NOT NULL AND p < e),
        expected AS (SELECT k, s, CAST({counted} AS BIGINT) AS want FROM __spans WHERE lo >= 1),
        got AS (SELECT k, s, count(*) AS have FROM inside GROUP BY k, s)
        SELECT (SELECT count(*) FROM placed) - (SELECT count(*) FROM inside),
               (SELECT count(*) FROM inside WHERE m < lo OR m > hi),
               (SELECT coalesce(sum(want - coalesce(have, 0)), 0) FROM expected LEFT JOIN got USING (k, s)),
               (SELECT count(*) FROM per)
    """
    try:
        row = con.execute(sql).fetchone()
        assert row is not None
        outside, wrong, gaps, periods = (int(x) for x in row)
    finally:
        con.close()
    bad = outside + wrong + gaps
    state = (
        f" at the weight of its {parent.id} row's state in {node.active_in.walk}" if node.active_in else ""
    )
    what = f"{per} row(s) per period" if per is not None else "rows only in periods"
    rule = f"{what}{state} of '{f.every}' over each {parent.id} row's life inside the timeframe"
    exactly = "floor or ceil of its count x weight" if node.active_in else f"exactly {per}"
    problems = []
    if outside:
        where = "the parent's life" + (" or in a state of weight 0" if node.active_in else "")
        problems.append(f"{outside:,} (parent, period) pairs outside {where}")
    if wrong:
        problems.append(f"{wrong:,} periods without {exactly} row(s) (duplicates or missing rows)")
    if gaps:
        problems.append(f"{gaps:,} periods of a parent's life have no row (gaps)")
    msg = "; ".join(problems) if problems else f"{periods:,} (parent, period) pairs hold: {rule}"
    details = {"rule": rule, "outside": outside, "wrong_count": wrong, "gaps": gaps}
    return _result("regular_series", node, tcol, bad, msg, details=details)


def _us_of(dt: Any) -> int:
    return int(pd.Timestamp(dt).tz_convert("UTC").value // 1000)


def _parent_lives(ctx: Context, node: Node, parent: Node, t0: int, t1: int) -> pd.DataFrame:
    """Each parent row's key, its life cut to the timeframe [s, e) in µs, and whether the fanout's
    `where` holds for it (evaluated with the language's expression rules)."""
    f = node.fanout
    assert f is not None and parent.pk is not None
    start, end = parent.life_start_column(), parent.life_end_column()
    cond = parse_expression(f.where) if f.where else None
    names = sorted({parent.pk, *(cond.columns if cond else ()), *(c for c in (start, end) if c)})
    table = (
        ctx.con.cursor().sql(f"SELECT {', '.join(q(c) for c in names)} FROM {q(parent.id)}").to_arrow_table()
    )
    n = table.num_rows

    def us(column: str | None, default: int) -> np.ndarray:
        if column is None:
            return np.full(n, default, dtype=np.int64)
        t = table.column(column).to_numpy(zero_copy_only=False).astype("datetime64[us]")
        return np.where(np.isnat(t), default, t.astype(np.int64))

    s = np.maximum(us(start, t0), t0)
    e = np.minimum(us(end, t1), t1)
    ok = np.ones(n, dtype=bool)
    if cond is not None:
        values = {}
        for c in cond.columns:
            arr = table.column(c).to_numpy(zero_copy_only=False)
            values[c] = arr.astype(object) if arr.dtype.kind in "UT" else arr
        ok = cond.holds(values, n)
    key = table.column(parent.pk).to_numpy(zero_copy_only=False)
    return pd.DataFrame({"k": key, "s": s, "e": e, "ok": ok})
