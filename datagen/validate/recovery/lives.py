"""Lifetimes and lifecycles (docs/schema-language.md §10.2, §10.3): what an analyst checks first.

- No child outside its parent's life (hard): every drawn time (a `datetime_series`, written) of every
  fact under an entity with a `lifetime`, at any depth, joined up to its entity row, lies in
  [start, end) — a state walk's own rows in [start, end], since entering the terminal state is the end.
  A time computed from others (an expression, a lookup) follows the schema's own arithmetic.
- A walk that ends the row: the end is exactly when the walk entered a terminal state (hard).
- The share that ended, against Σ share × F(T − start) over the rows (F the declared duration's
  distribution, T the timeframe end: a row that would end later is still alive in the data), and the
  durations of the ended rows against F by a Kolmogorov–Smirnov test that handles that censoring (each
  duration's F(d) / F(T − start) is uniform).
- `state_at` agrees with the walk (hard): the latest state on the entity, the state at the row's time
  on a fact. A column a check cannot read (a hidden `state_at`, not in the data) is skipped saying so,
  so one missing column never turns the family's other checks into a SQL error.

F is read from a large sample of the declared distribution (its definition, `Distribution.sample`,
with the validator's own stream), so no formula per distribution is needed; with a `clamp`, the draws
outside it are left out, which is the truncated distribution (a clamp that clipped instead would pile
durations on a bound, and fail the Kolmogorov–Smirnov test)."""

from __future__ import annotations

import math

import duckdb
import numpy as np

from datagen.dsl.behaviours import LifeDuration, Lifetime
from datagen.dsl.generators import DatetimeSeriesGen, StateAtGen
from datagen.dsl.models import Column, Node, Schema
from datagen.validate.context import q, sql_text
from datagen.validate.recovery.common import (
    MIN_GROUP,
    Finding,
    Recovered,
    Skipped,
    entered_states,
    exact,
    key_into,
    timeframe,
    unreadable,
    us,
)

REFERENCE_DRAWS = 200_000
KS_CRITICAL = 1.95  # √n·D above this is rarer than 1 in 1000 for a sample of the declared distribution


def reference_durations(after: LifeDuration) -> np.ndarray:
    """A sorted sample of the declared duration in microseconds: the distribution's draws, those
    outside its clamp left out."""
    d = after.distribution
    draws = d.sample(np.random.default_rng(20_240_601), REFERENCE_DRAWS)
    lo, hi = d.clamp_bounds
    return np.sort(draws[(draws >= lo) & (draws <= hi)]) * after.unit_us


def reference_cdf(reference: np.ndarray):  # -> Callable[[np.ndarray], np.ndarray]
    """The empirical CDF of a sorted reference sample."""

    def cdf(x: np.ndarray) -> np.ndarray:
        return np.searchsorted(reference, x, side="right") / len(reference)

    return cdf


def chain(schema: Schema, entity: Node) -> list[tuple[Node, list[tuple[Node, str]]]]:
    """Every fact under `entity` (primary parents, any depth) with the joins up to it: (table, key
    column into its parent) per step."""
    out: list[tuple[Node, list[tuple[Node, str]]]] = []
    todo: list[tuple[Node, list[tuple[Node, str]]]] = [(entity, [])]
    while todo:
        parent, path = todo.pop(0)
        for n in schema.nodes:
            if n.primary_parent != parent.id or n.id == entity.id or any(n is p for p, _ in path):
                continue
            fk = key_into(schema, n, parent)
            if fk is None or parent.pk is None:
                out.append((n, []))  # no key: not joinable
                continue
            step = [(n, fk), *path]
            out.append((n, step))
            todo.append((n, step))
    return out


def _join_sql(entity: Node, steps: list[tuple[Node, str]]) -> str:
    """FROM the deepest table (alias t0) up to the entity (alias e)."""
    parts = [f"{q(steps[0][0].id)} t0"]
    for i, (_, fk) in enumerate(steps):
        parent = steps[i + 1][0] if i + 1 < len(steps) else entity
        alias = f"t{i + 1}" if i + 1 < len(steps) else "e"
        parts.append(f"JOIN {q(parent.id)} {alias} ON t{i}.{q(fk)} = {alias}.{q(parent.pk or '')}")
    return " ".join(parts)


def recover_lives(con: duckdb.DuckDBPyConnection, schema: Schema) -> list[Finding]:
    _, end = timeframe(schema)
    out: list[Finding] = []
    for entity in schema.nodes:
        lt = entity.lifetime
        if lt is None:
            continue
        lived = (c for c in (lt.start, lt.end_column) if c is not None)
        why = (
            "no key"
            if entity.pk is None
            else next((w for c in lived if (w := unreadable(con, entity, c))), None)
        )
        if why:
            out.append(Skipped("lifetime", entity.id, None, "children inside the life", why))
            continue
        for child, steps in chain(schema, entity):
            out += _inside(con, entity, lt, child, steps)
        if lt.end is not None and lt.end.walk is not None:
            out += _walk_end(con, schema, entity, lt)
        elif lt.end is not None and lt.end.after is not None:
            out += _ended(con, entity, lt, end)
    out += _state_at(con, schema)
    return out


def _inside(con, entity: Node, lt: Lifetime, child: Node, steps: list) -> list[Finding]:
    subject = "children inside the life"
    if not steps:
        return [Skipped("lifetime", child.id, None, subject, f"no key into {child.primary_parent}")]
    # the times the engine draws inside the life (a computed one, due_at + a delay, is the schema's own)
    times = [c for c in child.columns if isinstance(c.generator, DatetimeSeriesGen) and c.output]
    if not times:
        return []
    walk = child.state_transition_model is not None and child.primary_parent == entity.id
    s, e = f"e.{q(lt.start)}", f"e.{q(lt.end.column)}" if lt.end is not None else "NULL"
    bad = []
    for col in times:
        v = f"t0.{q(col.name)}"
        if col.type == "date":  # a date is inside when its day is
            v, s_, e_ = f"CAST({v} AS DATE)", f"CAST({s} AS DATE)", f"CAST({e} AS DATE)"
            bad.append(f"{v} < {s_} OR {v} > {e_}")
        else:
            after = ">" if walk else ">="  # entering the terminal state is the end itself
            bad.append(f"{v} < {s} OR {v} {after} {e}")
    n, k = con.execute(
        f"SELECT count(*), count(*) FILTER (WHERE {' OR '.join(f'({b})' for b in bad)}) "
        f"FROM {_join_sql(entity, steps)}"
    ).fetchall()[0]
    broken = f"outside the life of their {entity.id} row"
    return [exact("lifetime", child.id, subject, broken, k, n)]


def _walk_end(con, schema: Schema, entity: Node, lt: Lifetime) -> list[Finding]:
    assert lt.end is not None and lt.end.walk is not None
    walk = schema.node(lt.end.walk)
    sm = walk.state_transition_model if walk is not None else None
    fk = key_into(schema, walk, entity) if walk is not None else None
    if walk is None or sm is None or fk is None:
        return [Skipped("lifetime", entity.id, lt.end.column, "end from the walk", "walk not keyed")]
    cols = sm.walk_columns(walk)
    terminal = ", ".join(sql_text(x) for x, st in sm.states.items() if st.terminal)
    pk = q(walk.pk) if walk.pk else "0"
    t = q(cols.time or "")
    n, bad = con.execute(
        f"""WITH last AS (SELECT {q(fk)} AS id, arg_max(CAST({q(cols.label)} AS VARCHAR), ({t}, {pk})) AS st,
                                 max({t}) AS t FROM {q(walk.id)} GROUP BY 1)
            SELECT count(*), count(*) FILTER (WHERE e.{q(lt.end.column)} IS DISTINCT FROM
                   CASE WHEN last.st IN ({terminal}) THEN last.t END)
            FROM {q(entity.id)} e LEFT JOIN last ON last.id = e.{q(entity.pk or "")}"""
    ).fetchall()[0]
    broken = f"whose {lt.end.column} is not when the walk ended"
    return [exact("lifetime", entity.id, "end of life from the walk", broken, bad, n)]


def _ended(con, entity: Node, lt: Lifetime, end: int) -> list[Finding]:
    """The share of rows that ended, and their durations, against the declared share and duration."""
    assert lt.end is not None and lt.end.after is not None and lt.end.share is not None
    rows = con.execute(
        f"""SELECT {us(lt.start)} AS s, {us(lt.end.column)} AS e FROM {q(entity.id)}
            WHERE {q(lt.start)} IS NOT NULL AND {us(lt.start)} < {end}"""
    ).fetchnumpy()
    s = np.asarray(rows["s"], dtype=float)
    e: np.ndarray = np.ma.filled(np.ma.asarray(rows["e"], dtype=float), np.nan)
    n = len(s)
    if n < MIN_GROUP:
        return [Skipped("lifetime", entity.id, lt.end.column, "share that ended", "too few rows")]
    reference = reference_durations(lt.end.after)
    cdf = reference_cdf(reference)
    room = cdf(end - s)  # the chance a row that ends does so before the timeframe end
    p = lt.end.share * room
    ended = ~np.isnan(e)
    out: list[Finding] = [
        Recovered(
            "lifetime",
            entity.id,
            lt.end.column,
            "share of rows that ended by the timeframe end",
            "all rows",
            float(p.mean()),
            float(ended.mean()),
            math.sqrt(float((p * (1 - p)).sum())) / n,
            n,
            floor=0.005,
        )
    ]
    k = int(ended.sum())
    if k >= MIN_GROUP:
        u = cdf(e[ended] - s[ended]) / np.maximum(room[ended], 1e-12)
        u = np.sort(np.clip(u, 0, 1))
        grid = np.arange(1, k + 1) / k
        d = float(max(np.max(grid - u), np.max(u - (grid - 1 / k))))
        se = (KS_CRITICAL / math.sqrt(k) + 3 / math.sqrt(len(reference))) / 4
        out.append(
            Recovered(
                "lifetime",
                entity.id,
                lt.end.column,
                "lifetimes of the rows that ended: Kolmogorov-Smirnov distance to the declared "
                "duration (censored at the timeframe end)",
                _declared(lt.end.after),
                0.0,
                d,
                se,
                k,
            )
        )
    return out


def _declared(after: LifeDuration) -> str:
    """`lognormal in days`, `… clamped to [30, 400]`."""
    d = after.distribution
    bounds = ", ".join("none" if x is None else f"{x:g}" for x in d.clamp or [])
    return f"{d.type} in {after.unit}s" + (f" clamped to [{bounds}]" if d.clamp else "")


def _unread_state(con, node: Node, col: Column, walk: Node, walk_cols: list[str], key: str) -> str | None:
    """Why a `state_at` column cannot be compared with its walk: the column itself hidden (nothing in
    the data to judge, unless another check had it lent), or a column the comparison reads not in the
    view."""
    if not col.output and unreadable(con, node, col.name):
        return f'{col.name} is a hidden helper ("output": false): the data does not hold it'
    gen = col.generator
    assert isinstance(gen, StateAtGen)
    own = [key] if gen.state_at.at_end else [key, gen.state_at.at]
    reads = [(walk, c) for c in walk_cols] + [(node, c) for c in own]
    return next((why for table, c in reads if (why := unreadable(con, table, c))), None)


def _state_at(con, schema: Schema) -> list[Finding]:
    """Every `state_at` column holds the walk's state: the latest one (at end) or the one at the row's
    time (the walk's first state before it starts)."""
    out: list[Finding] = []
    for node in schema.nodes:
        for col in node.columns:
            gen = col.generator
            if not isinstance(gen, StateAtGen):
                continue
            walk = schema.node(gen.state_at.walk)
            home = schema.node(walk.primary_parent or "") if walk is not None else None
            spec = walk.walk if walk is not None else None
            if walk is None or home is None or spec is None or home.pk is None:
                continue
            wfk = key_into(schema, walk, home)
            own = node.id == home.id
            nfk = home.pk if own else key_into(schema, node, home)
            cols = spec.walk_columns(walk)
            subject = f"state_at {walk.id}"
            if wfk is None or nfk is None or cols.time is None:
                out.append(Skipped("state_at", node.id, col.name, subject, "no key into the walk's parent"))
                continue
            if why := _unread_state(con, node, col, walk, [wfk, cols.time, cols.label], nfk):
                out.append(Skipped("state_at", node.id, col.name, subject, why))
                continue
            pk = q(walk.pk) if walk.pk else "0"
            w = f"""SELECT {q(wfk)} AS id, {q(cols.time)} AS t, CAST({q(cols.label)} AS VARCHAR) AS st,
                           {pk} AS pk FROM {q(walk.id)}"""
            if gen.state_at.at_end:
                sql = f"""WITH w AS ({w}), last AS (SELECT id, arg_max(st, (t, pk)) AS st FROM w GROUP BY 1)
                          SELECT count(*), count(*) FILTER (WHERE r.{q(col.name)} IS DISTINCT FROM last.st)
                          FROM {q(node.id)} r LEFT JOIN last ON last.id = r.{q(nfk)}"""
            else:
                at = q(gen.state_at.at)
                sql = f"""WITH __entered AS ({entered_states(walk, wfk, cols)}), w AS ({w}),
                          first AS (SELECT id, arg_min(st, (t, pk)) AS st FROM w GROUP BY 1),
                          r AS (SELECT {q(nfk)} AS id, {at} AS at, {q(col.name)} AS v FROM {q(node.id)}),
                          m AS (SELECT r.id, r.v, e.st FROM r ASOF LEFT JOIN __entered e
                                ON r.id = e.id AND r.at >= e.t)
                          SELECT count(*),
                                 count(*) FILTER (WHERE m.v IS DISTINCT FROM coalesce(m.st, first.st))
                          FROM m LEFT JOIN first USING (id)"""
            n, bad = con.execute(sql).fetchall()[0]
            broken = f"whose {col.name} is not the walk's state"
            out.append(exact("state_at", node.id, "state_at reads the walk", broken, bad, n, col.name))
    return out
