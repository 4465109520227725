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

from datagen.dsl.models import Schema, parse_instant
from datagen.dsl.references import split_ref, walk_columns

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


def _window(schema: Schema, table: str, column) -> tuple[datetime, datetime]:
    """Where a datetime_series may put its times: its `within` window (else the timeframe). A
    `time_jitter` (clipped to the timeframe), a declared inequality or a vintage parent's creation time
    (which win over the window when the two disagree) may move them anywhere inside the hull of that
    window and the timeframe."""
    tf = schema.timeframe
    within = column.generator.args.within
    lo, hi = (
        (tf.start_dt, tf.end_dt)
        if within == "timeframe"
        else (parse_instant(within.start), parse_instant(within.end))
    )
    ref = f"{table}.{column.name}"
    node = schema.node(table)
    parent = schema.node(node.primary_parent) if node.primary_parent else None
    # docs/schema-language.md §8.2, §10.2: a row's creation time or its life (any depth) bounds it too
    after_creation = parent is not None and (parent.vintage_behavior is not None or _lived(schema, node))
    bounded = any(ref in (q.left, q.right) for q in schema.constraints.inequalities) or (
        after_creation and column.name == node.first_time_column()
    )
    if bounded or any(m.transform == "time_jitter" for m in column.modifiers):
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
    """Every time of every fact under an entity with a lifetime, at any depth, inside its entity row's
    [start, end) ([start, end] for a state walk's own rows; dates by the day), joined up through the
    keys each fact holds of its parent."""
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
                for c in child.columns:
                    if c.type not in ("datetime", "date"):
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
        for column in node.columns:
            if column.type not in ("datetime", "date"):
                continue
            if column.kind == "datetime_series" and column.name not in walked:
                start, end = _window(schema, node.id, column)
            elif column.name in walked:
                start, end = schema.timeframe.start_dt, schema.timeframe.end_dt
            else:
                continue
            s = table.column(column.name).drop_null()
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
        out += _inequality(nodes, tables, q)
    return out + outside_lives(schema, tables)


def _inequality(nodes: dict, tables: dict[str, pa.Table], q) -> list[str]:
    """Same-table pairs row by row; child/parent pairs through the child's key of its primary parent
    (other pairs are left to the validator). A date against a datetime compares calendar days (a visit
    dated the day of a 15:00 sign-up is not before it)."""
    lt, rt = split_ref(q.left)[0], split_ref(q.right)[0]
    left, right = _series(tables, q.left), _series(tables, q.right)
    if lt != rt:
        if nodes[lt].primary_parent != rt:
            return []
        parent = nodes[rt]
        fk = next(
            c.name
            for c in nodes[lt].columns
            if c.kind == "lookup"
            and c.generator.args.from_ == f"{rt}.{parent.pk}"
            and not c.generator.args.on
        )
        right.index = pd.Index(_series(tables, f"{rt}.{parent.pk}"))
        right = right.reindex(_series(tables, f"{lt}.{fk}")).reset_index(drop=True)
    if _is_date(tables, q.left) or _is_date(tables, q.right):
        left, right = left.dt.floor("D"), right.dt.floor("D")
    both = left.notna().to_numpy() & right.notna().to_numpy()
    ok = OPS[q.op](left[both], right[both])
    bad = int((~ok.to_numpy(dtype=bool)).sum())
    return [f"{q.left} {q.op} {q.right}: fails on {bad} rows"] if bad else []
