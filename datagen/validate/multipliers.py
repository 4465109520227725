"""A numeric column as `base × Π declared multipliers`, each multiplier a SQL expression per row.

DSL.md §4.2 and §8.1 define values that are scaled by what the schema declares: `seasonality`
(the weight of the row's time bucket), `trend` (growth per year since the timeframe start), `effect`
with op `mul` (the matching effect rows active at the row's time; overlapping windows multiply),
`multiply`, segment `value_multiplier`s, and `outliers` (in expectation: 1 + rate·E[m] for spikes).
Behavioural checks compare the data against these products, so this module turns each into SQL over
the table's view (`d`) plus the joins it needs — never into Python over rows.

The model holds when nothing additive comes after the first multiplier (an `add` or additive jitter
after a seasonality would shift, not scale); `RowModel.problem` says so when it does not. A trailing
`clamp` is tolerated: it only bites on the extreme rows."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa

from datagen.dsl.models import Column, Node
from datagen.dsl.references import modifier_time_column
from datagen.dsl.units import YEAR_US
from datagen.engine.effects import open_product, window_events
from datagen.engine.generators import draw_distribution
from datagen.validate.context import Context, q

CALENDAR_SQL = {"hour": "hour({t})", "dow": "(isodow({t}) - 1)", "month": "(month({t}) - 1)"}
MULTIPLICATIVE = ("multiply", "seasonality", "trend", "effect", "outliers", "jitter")


@dataclass
class Factor:
    """One declared multiplier: `sql` is its per-row value, `stratum` a per-row label to group by."""

    kind: str
    sql: str
    stratum: str | None = None
    index: int | None = None  # the modifier's position in the column's list
    dimension: str | None = None
    target: str | None = None  # effect table or segment parent


@dataclass
class RowModel:
    table: str
    column: str
    factors: list[Factor] = field(default_factory=list)
    joins: list[str] = field(default_factory=list)
    problem: str | None = None

    def product(self, keep: list[Factor] | None = None) -> str:
        chosen = self.factors if keep is None else keep
        return " * ".join(f"({f.sql})" for f in chosen) or "1.0"

    def source(self) -> str:
        return f"FROM {q(self.table)} d " + " ".join(self.joins)


def calendar_sql(dimension: str, time_sql: str) -> str:
    return CALENDAR_SQL[dimension].format(t=time_sql)


def _weights_sql(weights: list[float]) -> str:
    return "[" + ", ".join(f"{float(w)!r}::DOUBLE" for w in weights) + "]"


def _time(node: Node, col: Column, transform: str, args: Any) -> str | None:
    name = modifier_time_column(node, col, transform, args)
    return f"CAST(d.{q(name)} AS TIMESTAMPTZ)" if name else None


def expected_magnitude(dist: Any, mode: str, draws: int = 200_000) -> float:
    """E[1+m] (spike) or E[1/(1+m)] (drop) for the declared magnitude (default uniform(2, 9))."""
    rng = np.random.default_rng(20240917)
    if dist is None:
        m = rng.uniform(2.0, 9.0, draws)
    else:
        m = draw_distribution(rng, dist.type, dist.params, draws)
        if dist.clamp:
            m = np.clip(m, *dist.clamp)
    return float(np.mean(1.0 / (1.0 + m))) if mode == "drop" else float(np.mean(1.0 + m))


def row_model(ctx: Context, node: Node, col: Column) -> RowModel:
    model = RowModel(node.id, col.name)
    seen_multiplier = False
    for i, mod in enumerate(col.modifiers):
        t, a = mod.transform, mod.args
        additive = t in ("add", "map_values") or (t == "jitter" and a.mode == "add")
        if t == "effect" and a.map.op == "add":
            additive = True
        if additive and seen_multiplier:
            model.problem = f"'{t}' (modifier {i}) comes after a multiplier, so values are not base × factors"
            return model
        if t not in MULTIPLICATIVE or additive:
            continue
        seen_multiplier = True
        if t == "multiply":
            model.factors.append(Factor("multiply", f"{float(a.factor)!r}", index=i))
        elif t == "seasonality":
            time_sql = _time(node, col, t, a)
            if time_sql is None:
                model.problem = f"seasonality (modifier {i}) has no time column"
                return model
            field_sql = calendar_sql(a.dimension, time_sql)
            sql = f"coalesce(list_extract({_weights_sql(a.weights)}, {field_sql} + 1), 1.0)"
            model.factors.append(Factor("seasonality", sql, field_sql, i, a.dimension))
        elif t == "trend":
            time_sql = _time(node, col, t, a)
            if time_sql is None:
                model.problem = f"trend (modifier {i}) has no time column"
                return model
            sql = f"coalesce({_trend_sql(a, _years(ctx, time_sql))}, 1.0)"
            model.factors.append(Factor("trend", sql, bin_sql(sql), i))
        elif t == "effect":
            alias = f"e{len(model.joins)}"
            time_sql = _time(node, col, t, a)
            model.joins.append(_effect_join(ctx, a, alias, time_sql))
            sql = f"coalesce({alias}.f, {float(a.map.default)!r})"
            model.factors.append(Factor("effect", sql, bin_sql(sql), i, target=a.effect_table))
        elif t == "outliers":
            # spike: (1 - r)·1 + r·E[1+m]; drop: (1 - r)·1 + r·E[1/(1+m)]; burst: a spike in expectation
            mean = expected_magnitude(a.magnitude_dist, "drop" if a.mode == "drop" else "spike")
            model.factors.append(Factor("outliers", f"{1 + a.rate * (mean - 1)!r}", index=i))
    return model


def add_segments(ctx: Context, node: Node, col: Column, model: RowModel) -> None:
    """Segment value multipliers of parents that list this column (DSL.md §8.1), joined by the FK."""
    ref = f"{node.id}.{col.name}"
    for pid in node.parents or []:
        parent = ctx.node(pid)
        sb = parent.segment_behavior
        if sb is None or ref not in sb.applies_to_columns:
            continue
        link = ctx.link(node.id, pid)
        if link is None or not ctx.has(pid, sb.segment_column):
            model.problem = f"cannot join {node.id} to {pid} to read its segment (no foreign key in the data)"
            return
        alias = f"s{len(model.joins)}"
        model.joins.append(f"LEFT JOIN {q(pid)} {alias} ON d.{q(link[0])} = {alias}.{q(link[1])}")
        seg = f"CAST({alias}.{q(sb.segment_column)} AS VARCHAR)"
        cases = " ".join(
            f"WHEN {seg} = '{name.replace(chr(39), chr(39) * 2)}' THEN {float(b.value_multiplier)!r}"
            for name, b in sb.behaviors.items()
        )
        model.factors.append(Factor("segment", f"CASE {cases} ELSE 1.0 END", seg, target=pid))


def _years(ctx: Context, time_sql: str) -> str:
    start = int(np.int64(ctx.schema.timeframe.start_dt.timestamp() * 1_000_000))
    return f"((epoch_us({time_sql}) - {start}) / {YEAR_US}.0)"


def _trend_sql(a: Any, years: str) -> str:
    g = float(a.growth_rate)
    if a.type == "exponential":
        return f"pow({1 + g!r}, {years})"
    if a.type == "linear":
        return f"(1 + {g!r} * {years})"
    pa_, pb = (a.params.a, a.params.b) if a.params is not None else (g, 1.0)
    return f"(1 + {float(pa_)!r} * ln(1 + {float(pb)!r} * {years}))"


def bin_sql(sql: str) -> str:
    """A continuous multiplier grouped into 10 % steps (log scale), so strata have enough rows."""
    return f"CASE WHEN ({sql}) > 0 THEN round(ln({sql}) / ln(1.1)) ELSE NULL END"


def _effect_join(ctx: Context, a: Any, alias: str, time_sql: str | None) -> str:
    """Join each row to the one elementary interval of its effect key that holds its time; the
    interval's factor is the product of every effect row active there (overlaps multiply)."""
    signature = (a.effect_table, tuple(a.on.items()), a.window.start_col, a.window.end_col, a.map.field)
    name = ctx.registered.get(signature)
    if name is None:
        name = ctx.registered[signature] = f"__effect_{len(ctx.registered)}"
        ctx.con.register(name, effect_intervals(ctx, a))
    conds = [f"d.{q(local)} = {alias}.{q(eff)}" for local, eff in a.on.items()]
    if time_sql is None:
        conds.append("false")
    else:
        conds += [f"{time_sql} >= {alias}.t0", f"{time_sql} < {alias}.t1"]
    return f"LEFT JOIN {q(name)} {alias} ON " + " AND ".join(conds)


def effect_intervals(ctx: Context, a: Any) -> pa.Table:
    """Elementary intervals of an effect table per key: (keys…, t0, t1, f). Effect tables are small
    (campaigns, maintenance windows), so this reads them whole; the data table is never read here."""
    keys = list(dict.fromkeys(a.on.values()))
    t = q(a.effect_table)
    key_sql = "".join(f"{q(k)}, " for k in keys)
    start, end = (f"epoch_us(CAST({q(c)} AS TIMESTAMPTZ))" for c in (a.window.start_col, a.window.end_col))
    value = f"CAST({q(a.map.field)} AS DOUBLE)"
    rank = f"dense_rank() OVER (ORDER BY {', '.join(q(k) for k in keys)}) - 1" if keys else "0"
    rows = ctx.con.sql(
        f"SELECT {key_sql}{rank} AS code, {start} AS s, {end} AS e, {value} AS v FROM {t} "
        f"WHERE {start} IS NOT NULL AND {end} IS NOT NULL AND {value} IS NOT NULL AND NOT isnan({value}) "
        f"AND {start} < {end}"
    ).to_arrow_table()
    code = rows.column("code").to_numpy().astype(np.int64)
    s, e, v = (rows.column(c).to_numpy() for c in ("s", "e", "v"))
    m = len(code)
    ev_code, ev_t, running = window_events(code, s.astype(np.int64), e.astype(np.int64))
    active = running(np.ones(m, dtype=np.int64))
    nxt = np.r_[ev_t[1:], ev_t[-1:]] if len(ev_t) else ev_t
    same = np.r_[ev_code[1:] == ev_code[:-1], False][: len(ev_code)]
    keep = same & (nxt > ev_t) & (active > 0)
    factor = open_product(running, v)
    by_code = np.zeros(int(code.max()) + 1 if m else 0, dtype=np.int64)
    by_code[code] = np.arange(m)  # a row of each key (any: they share the key values)
    cols = {k: rows.column(k).take(pa.array(by_code[ev_code[keep]])) for k in keys}
    cols["t0"] = pa.array(ev_t[keep], pa.timestamp("us", tz="UTC"))
    cols["t1"] = pa.array(nxt[keep], pa.timestamp("us", tz="UTC"))
    cols["f"] = pa.array(factor[keep], pa.float64())
    return pa.table(cols)
