"""What must hold in any generated dataset, checked independently of the engine's own code paths:
keys unique and non-null, every foreign key resolves, declared ranges / patterns / enums /
inequalities hold, generated times lie inside their window (the timeframe unless `within` says
otherwise)."""

from __future__ import annotations

import operator
import re
from datetime import datetime

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from datagen.dsl.enforcement import enforcement
from datagen.dsl.expressions import parse_expression
from datagen.dsl.models import Schema, parse_instant
from datagen.dsl.references import split_ref, walk_columns
from datagen.dsl.related_rows import Path, path_to

OPS = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge, "==": operator.eq}


def _series(tables: dict[str, pa.Table], ref: str) -> pd.Series:
    """A column as pandas; dates become UTC timestamps at midnight so they compare with instants."""
    table, column = split_ref(ref)
    arr = tables[table].column(column)
    if pa.types.is_date32(arr.type):
        arr = arr.cast(pa.timestamp("us", tz="UTC"))
    return arr.to_pandas()


def _is_date(tables: dict[str, pa.Table], ref: str) -> bool:
    table, column = split_ref(ref)
    return pa.types.is_date32(tables[table].column(column).type)


def _as_bound(value: float | str) -> object:
    return pd.Timestamp(parse_instant(value)) if isinstance(value, str) else value


def _window(schema: Schema, table: str, column) -> tuple[datetime, datetime] | None:
    """Where a datetime_series may put its times: its `within` window (else the timeframe), end
    excluded. A `time_jitter` (clipped to the timeframe) may move them anywhere inside the hull of that
    window and the timeframe. None for a time built inside bounds from related rows (inequalities,
    related windows, creation, chains, regular periods), which win over the window: those relations
    are checked on their own."""
    tf = schema.timeframe
    lo, hi = column.generator.window(tf)
    node = schema.node(table)
    parent = schema.node(node.primary_parent) if node.primary_parent else None
    # docs/schema-language.md §8.2, §10.2: a row's creation time or its life (any depth) bounds it too
    after_creation = parent is not None and (parent.vintage_behavior is not None or _lived(schema, node))
    made = enforcement(schema)
    ref = f"{table}.{column.name}"
    if (
        made.column_bounds(table, column.name)
        or any(ref in (q.left, q.right) for q in schema.constraints.inequalities)
        or (node.fanout is not None and node.fanout.every and column.name == node.first_time_column())
        or (after_creation and column.name == node.first_time_column())
    ):
        return None
    if any(m.transform == "time_jitter" for m in column.modifiers):
        lo, hi = min(lo, tf.start_dt), max(hi, tf.end_dt)
    return lo, hi


def _lived(schema: Schema, node) -> bool:
    """Is the table under an entity with a lifetime (through its primary parents)?"""
    seen = set()
    while node is not None and node.id not in seen:
        seen.add(node.id)
        if node.lifetime is not None:
            return True
        node = schema.node(node.primary_parent) if node.primary_parent else None
    return False


DAY_US = 86_400_000_000


def _us(arr: pa.ChunkedArray) -> np.ndarray:
    """Times (or dates, at midnight) as float microseconds since the epoch, NaN for null."""
    if pa.types.is_date32(arr.type):
        arr = arr.cast(pa.timestamp("us"))
    ints = arr.cast(pa.timestamp("us", tz=arr.type.tz)).cast(pa.int64())
    return ints.to_numpy(zero_copy_only=False).astype(float)


def outside_lives(schema: Schema, tables: dict[str, pa.Table]) -> list[str]:
    """Every drawn time (a datetime_series) of every fact under an entity with a lifetime, at any depth,
    inside its entity row's [start, end) ([start, end] for a state walk's own rows; dates by the day),
    joined up through the keys each fact holds of its parent. A computed or copied time follows the
    schema's own arithmetic (docs/schema-language.md §10.2)."""
    out: list[str] = []
    for entity in (n for n in schema.nodes if n.lifetime is not None):
        lt = entity.lifetime
        e = tables[entity.id]
        keys = pd.Index(e.column(entity.pk).to_pylist())
        start = _us(e.column(lt.start))
        end = _us(e.column(lt.end.column)) if lt.end is not None else np.full(len(start), np.nan)
        todo = [(entity, None)]  # (table, the entity row of each of its rows)
        while todo:
            parent, rows = todo.pop()
            for child in (n for n in schema.nodes if n.primary_parent == parent.id and n.id != entity.id):
                fk = next(
                    (
                        c.name
                        for c in child.columns
                        if c.kind == "lookup"
                        and c.generator.args.from_ == f"{parent.id}.{parent.pk}"
                        and not c.generator.args.on
                    ),
                    None,
                )
                if fk is None:
                    continue
                t = tables[child.id]
                if rows is None:
                    mine = keys.get_indexer(t.column(fk).to_pylist())
                else:
                    at = pd.Index(tables[parent.id].column(parent.pk).to_pylist()).get_indexer(
                        t.column(fk).to_pylist()
                    )
                    mine = np.where(at >= 0, rows[np.maximum(at, 0)], -1)
                s_, e_ = start[np.maximum(mine, 0)], end[np.maximum(mine, 0)]
                walk = child.state_transition_model is not None and parent.id == entity.id
                for c in child.output_columns:
                    if c.type not in ("datetime", "date") or c.kind != "datetime_series":
                        continue
                    v = _us(t.column(c.name))
                    if c.type == "date":
                        day = np.floor
                        bad = (v < day(s_ / DAY_US) * DAY_US) | (v > day(e_ / DAY_US) * DAY_US)
                    else:
                        bad = (v < s_) | ((v > e_) if walk else (v >= e_))
                    bad &= mine >= 0
                    if bad.any():
                        out.append(
                            f"{child.id}.{c.name}: {int(bad.sum())} times outside their {entity.id} life"
                        )
                todo.append((child, mine))
    return out


def _keyed(tables: dict[str, pa.Table], nodes: dict, path: Path, start: str) -> np.ndarray:
    """For each row of `start`, the position of its related row at the end of `path` (-1: none),
    followed through the key each row carries."""
    rows = np.arange(tables[start].num_rows)
    for hop in path.hops:
        target = nodes[hop.to]
        index = pd.Index(_series(tables, f"{hop.to}.{target.pk}"))
        keys = _series(tables, f"{hop.table}.{hop.key}").to_numpy()
        found = index.get_indexer(keys[np.maximum(rows, 0)]) if len(keys) else np.full(len(rows), -1)
        rows = np.where(rows >= 0, found, -1)
    return rows


def _related(tables: dict[str, pa.Table], nodes: dict, schema: Schema, table: str, ref) -> pd.Series:
    """`ref` (table, column) of each row's related row (null where there is none)."""
    path = path_to(schema, table, ref[0])
    assert isinstance(path, Path), (table, ref)
    rows = _keyed(tables, nodes, path, table)
    source = _series(tables, f"{ref[0]}.{ref[1]}")
    if len(source) == 0:  # nothing to relate to: all missing, in the source's own type
        return source.reset_index(drop=True).reindex(range(len(rows)))
    out = source.iloc[np.maximum(rows, 0)].reset_index(drop=True)
    return out.mask(pd.Series(rows < 0))


def problems(schema: Schema, tables: dict[str, pa.Table]) -> list[str]:
    """Every violation found, one line each (empty when the data holds up)."""
    out: list[str] = []
    nodes = {n.id: n for n in schema.nodes}
    for node in schema.nodes:
        table = tables[node.id]
        if node.pk:
            pk = table.column(node.pk)
            if pk.null_count:
                out.append(f"{node.id}.{node.pk}: {pk.null_count} null keys")
            if len(pc.unique(pk)) != table.num_rows:
                out.append(f"{node.id}.{node.pk}: duplicate keys")
        walked = walk_columns(node)
        for column in node.output_columns:
            if column.type not in ("datetime", "date"):
                continue
            s = table.column(column.name).drop_null()
            if column.kind == "datetime_series" and column.name not in walked:
                window = _window(schema, node.id, column)
                if window is not None and len(s):
                    lo, hi = window if column.type == "datetime" else (window[0].date(), window[1].date())
                    last = pc.max(s).as_py()
                    if pc.min(s).as_py() < lo or (last >= hi if column.type == "datetime" else last > hi):
                        out.append(f"{node.id}.{column.name}: times outside [{lo}, {hi})")
            elif column.name in walked:
                start, end = schema.timeframe.start_dt, schema.timeframe.end_dt
                lo, hi = (start, end) if column.type == "datetime" else (start.date(), end.date())
                if len(s) and (pc.min(s).as_py() < lo or pc.max(s).as_py() > hi):
                    out.append(f"{node.id}.{column.name}: times outside [{lo}, {hi}]")
            if column.type == "date" and not pa.types.is_date32(table.column(column.name).type):
                out.append(f"{node.id}.{column.name}: a date column is not stored as dates")
    c = schema.constraints
    for ref in c.unique:
        s = _series(tables, ref).dropna()
        if s.duplicated().any():
            out.append(f"{ref}: declared unique but has duplicates")
    for fk in c.foreign_keys:
        child, parent = _series(tables, fk.from_).dropna(), _series(tables, fk.to)
        missing = ~child.isin(set(parent.dropna()))
        if missing.any():
            out.append(f"{fk.from_} -> {fk.to}: {int(missing.sum())} values with no parent row")
    for r in c.ranges:
        s = _series(tables, r.attr).dropna()
        if r.min is not None and (s < _as_bound(r.min)).any():
            out.append(f"{r.attr}: values below {r.min}")
        if r.max is not None and (s > _as_bound(r.max)).any():
            out.append(f"{r.attr}: values above {r.max}")
    patterns = [(p.attr, p.regex) for p in c.pattern]
    enums = [(e.attr, e.values, e.enum_ref) for e in c.enum]
    for node in schema.nodes:
        for column in node.columns:
            if column.constraints is not None:
                ref, cc = f"{node.id}.{column.name}", column.constraints
                if cc.pattern:
                    patterns.append((ref, cc.pattern))
                if cc.enum is not None or cc.enum_ref:
                    enums.append((ref, cc.enum, cc.enum_ref))
    for ref, regex in patterns:
        rx = re.compile(regex)
        bad = [v for v in _series(tables, ref).dropna() if not rx.fullmatch(str(v))]
        if bad:
            out.append(f"{ref}: {len(bad)} values do not match /{regex}/, e.g. {bad[0]!r}")
    for ref, allowed, enum_ref in enums:
        allowed_set = set(allowed) if allowed is not None else set(_series(tables, enum_ref).dropna())
        bad = set(_series(tables, ref).dropna()) - allowed_set
        if bad:
            out.append(f"{ref}: values outside the enum: {sorted(map(str, bad))[:3]}")
    for q in c.inequalities:
        out += _inequality(schema, nodes, tables, q)
    out += _relations(schema, nodes, tables)
    return out + outside_lives(schema, tables)


def _inequality(schema: Schema, nodes: dict, tables: dict[str, pa.Table], q) -> list[str]:
    """Same-table pairs row by row; other pairs through the keys along the relation path, at any
    depth. A date against a datetime compares calendar days (a visit dated the day of a 15:00 sign-up
    is not before it)."""
    lt, rt = split_ref(q.left)[0], split_ref(q.right)[0]
    left, right = _series(tables, q.left), _series(tables, q.right)
    if lt != rt:
        if isinstance(path_to(schema, lt, rt), Path):
            right = _related(tables, nodes, schema, lt, split_ref(q.right))
        else:
            left = _related(tables, nodes, schema, rt, split_ref(q.left))
    if _is_date(tables, q.left) or _is_date(tables, q.right):
        left, right = left.dt.floor("D"), right.dt.floor("D")
    left, right = left.reset_index(drop=True), right.reset_index(drop=True)
    both = left.notna().to_numpy() & right.notna().to_numpy()
    ok = OPS[q.op](left[both], right[both])
    bad = int((~ok.to_numpy(dtype=bool)).sum())
    return [f"{q.left} {q.op} {q.right}: fails on {bad} rows"] if bad else []


def _relations(schema: Schema, nodes: dict, tables: dict[str, pa.Table]) -> list[str]:
    """Related windows contain their rows, chains go forward in time, a conditional fanout leaves the
    other parents childless, and a regular series has its count in every period of each life."""
    out: list[str] = []
    for node in schema.nodes:
        for column in node.output_columns:
            if column.kind != "datetime_series" or column.name in walk_columns(node):
                continue
            t = _series(tables, f"{node.id}.{column.name}").reset_index(drop=True)
            for side, ref in column.generator.related_window():
                bound = _related(tables, nodes, schema, node.id, ref)
                both = t.notna().to_numpy() & bound.notna().to_numpy()
                bad = (t[both] < bound[both]) if side == "lo" else (t[both] >= bound[both])
                if bad.any():
                    out.append(f"{node.id}.{column.name}: {int(bad.sum())} rows outside the window of {ref}")
    for chain in enforcement(schema).chains:
        child = _series(tables, f"{chain.table}.{chain.column}").reset_index(drop=True)
        parent = _related(tables, nodes, schema, chain.table, (chain.parent, chain.parent_column))
        if _is_date(tables, f"{chain.table}.{chain.column}") or _is_date(
            tables, f"{chain.parent}.{chain.parent_column}"
        ):
            child, parent = child.dt.floor("D"), parent.dt.floor("D")
        both = child.notna().to_numpy() & parent.notna().to_numpy()
        if (child[both] < parent[both]).any():
            out.append(f"{chain.table}.{chain.column}: rows before their parent's {chain.parent_column}")
    for node in schema.nodes:
        f = node.fanout
        if f is None or not node.parents or node.walk is not None:
            continue
        parent = nodes[node.parents[0]]
        key = f"{parent.id}_id" if node.column(f"{parent.id}_id") is not None else None
        if key is None:
            continue
        if f.where:
            cond = parse_expression(f.where)
            cols = {c: tables[parent.id].column(c).to_numpy(zero_copy_only=False) for c in cond.columns}
            holds = cond.holds({c: v.astype(object) for c, v in cols.items()}, tables[parent.id].num_rows)
            left_out = set(_series(tables, f"{parent.id}.{parent.pk}")[~holds])
            if _series(tables, f"{node.id}.{key}").isin(left_out).any():
                out.append(f"{node.id}: children of parents where {f.where!r} fails")
        if f.every:
            out += _regular(schema, node, parent, key, tables)
    return out


def _period_starts(schema: Schema, every: str) -> pd.DatetimeIndex:
    """The starts of the periods of `every` around the timeframe: fixed steps counted from the epoch,
    calendar ones as pandas lists them from midnight."""
    start = pd.Timestamp(schema.timeframe.start_dt).tz_localize(None)
    end = pd.Timestamp(schema.timeframe.end_dt).tz_localize(None)
    offset = pd.tseries.frequencies.to_offset(every)
    try:
        step = pd.Timedelta(offset)
    except ValueError:
        first = offset.rollback(start.normalize())
        return pd.date_range(first - offset, end + offset, freq=offset)
    return pd.date_range((start - step).floor(step), end + step, freq=step)


def _regular(schema: Schema, node, parent, key: str, tables: dict[str, pa.Table]) -> list[str]:
    f = node.fanout
    tcol = node.first_time_column()
    starts = _period_starts(schema, f.every)
    tf0 = pd.Timestamp(schema.timeframe.start_dt).tz_localize(None)
    tf1 = pd.Timestamp(schema.timeframe.end_dt).tz_localize(None)
    t = pd.DatetimeIndex(_series(tables, f"{node.id}.{tcol}").dt.tz_localize(None))
    at = starts.searchsorted(t, side="right") - 1
    if node.column(tcol).generator.args.slot:  # a slot names the nearest start
        nxt = np.minimum(at + 1, len(starts) - 1)
        at = np.where((starts[nxt] - t) < (t - starts[at]), nxt, at)
    rows = pd.DataFrame({"k": _series(tables, f"{node.id}.{key}").to_numpy(), "p": starts[at]})
    keys = _series(tables, f"{parent.id}.{parent.pk}").to_numpy()
    born = parent.life_start_column()
    begin = (
        pd.DatetimeIndex(_series(tables, f"{parent.id}.{born}").dt.tz_localize(None)).fillna(tf0)
        if born
        else pd.DatetimeIndex([tf0] * len(keys))
    )
    life = pd.Series(begin.where(begin > tf0, tf0), index=keys)
    died = parent.life_end_column()  # a lifetime's end (null: alive to the timeframe's end)
    ends = (
        pd.DatetimeIndex(_series(tables, f"{parent.id}.{died}").dt.tz_localize(None)).fillna(tf1)
        if died
        else pd.DatetimeIndex([tf1] * len(keys))
    )
    end = pd.Series(ends.where(ends < tf1, tf1), index=keys)
    out: list[str] = []
    outside = (rows["p"].to_numpy() < life.reindex(rows["k"]).to_numpy()) | (
        rows["p"].to_numpy() >= end.reindex(rows["k"]).to_numpy()
    )
    outside |= _state_weights(schema, node, parent, tables, rows["k"], rows["p"]) == 0
    if outside.any():
        out.append(f"{node.id}: {int(outside.sum())} rows in periods outside their parent's life")
    if f.distribution == "constant":
        # count x the weight of the parent's state when the period starts: its floor or its ceiling
        per = rows.groupby(["k", "p"]).size()
        x = f.constant_count * _state_weights(
            schema, node, parent, tables, per.index.get_level_values(0), per.index.get_level_values(1)
        )
        if ((per < np.floor(x + 1e-9)) | (per > np.ceil(x - 1e-9))).any():
            out.append(f"{node.id}: periods without count x weight rows")
        have = rows.groupby("k")["p"].agg(set)
        for k, first in life.items():
            grid = starts[(starts >= first) & (starts < end[k])]
            x = f.constant_count * _state_weights(schema, node, parent, tables, np.full(len(grid), k), grid)
            due = set(grid[np.floor(x + 1e-9) >= 1])  # periods that must hold a row
            got = due & have.get(k, set())
            if got != due and not (not got and f.where):  # a parent `where` leaves out has none
                out.append(f"{node.id}: parent {k} has {len(got)} of its {len(due)} periods")
                break
    return out


def _state_weights(schema: Schema, node, parent, tables: dict[str, pa.Table], k, at) -> np.ndarray:
    """The `active_in` weight of each parent's state at each time, from the walk table (0 before the
    walk starts; 1 without `active_in`)."""
    ai = node.active_in
    if ai is None:
        return np.ones(len(k))
    walk = schema.node(ai.walk)
    tcol = walk.walk.walk_columns(walk).time
    w = pd.DataFrame(
        {
            "k": _series(tables, f"{walk.id}.{parent.id}_id").to_numpy(),
            "t": pd.DatetimeIndex(_series(tables, f"{walk.id}.{tcol}").dt.tz_localize(None)),
            "state": _series(tables, f"{walk.id}.{walk.walk.walk_columns(walk).label}").to_numpy(),
        }
    )
    q = pd.DataFrame({"k": np.asarray(k), "t": pd.DatetimeIndex(at), "i": np.arange(len(k))})
    m = pd.merge_asof(q.sort_values("t"), w.sort_values("t", kind="stable"), on="t", by="k")
    return m.sort_values("i")["state"].map(ai.states).fillna(0.0).to_numpy(float)
