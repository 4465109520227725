"""What every behaviour's recovery shares: the finding types, the tolerances' constants, and the SQL
and standard-error helpers the behaviours read their parameters with."""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

import duckdb

from datagen.dsl.base import split_ref
from datagen.dsl.behaviours import WalkColumns
from datagen.dsl.generators import LookupGen
from datagen.dsl.models import Node, Schema
from datagen.dsl.related_rows import another_row
from datagen.validate.context import q

Z = 4.0  # standard errors a recovered value may be from the declared one
MIN_GROUP = 30  # fewer observations than this in a stratum: not reported
BOOKKEEPING = "walk bookkeeping"  # the subject of a walk's declared structure (initial, previous, order)
MIN_PARENTS = 10  # parents per segment for a fanout ratio (each one is a whole count of children)
UNKEYED_WALKS = "no key into the parent: walks not separable"


@dataclass(frozen=True)
class Recovered:
    """One declared parameter in one stratum, next to what the data says about it. `behaviour` names the
    check: trend, segment_fanout, segment_value, vintage_activity, vintage_value, stage or state."""

    behaviour: str
    table: str
    column: str | None
    subject: str  # what is measured, in words (one check per subject)
    stratum: str  # which part of the data ("age 3", "vip / regular", "signup -> trial (organic)")
    declared: float
    observed: float
    se: float  # standard error of `observed` under the declared value
    n: int  # observations behind the estimate
    floor: float = 0.0  # the least tolerance, whatever the sample size
    hard: bool = False  # a rule the data keeps exactly (`exact`): one broken row fails, and hard

    def tolerance(self, z: float = Z) -> float:
        return max(self.floor, z * self.se) if math.isfinite(self.se) else math.inf

    def ok(self, z: float = Z) -> bool:
        return bool(abs(self.observed - self.declared) <= self.tolerance(z))

    def __str__(self) -> str:
        return (
            f"{'ok' if self.ok() else 'FAIL'} {self.table}: {self.subject}: {self.stratum}: observed "
            f"{self.observed:.4g}, declared {self.declared:.4g} ± {self.tolerance():.2g} (n={self.n})"
        )


@dataclass(frozen=True)
class Skipped:
    """A declared behaviour the data cannot speak to (no link to the parent, too few rows)."""

    behaviour: str
    table: str
    column: str | None
    subject: str
    reason: str


Finding = Recovered | Skipped


def us(column: str, alias: str = "") -> str:
    return f"epoch_us({alias + '.' if alias else ''}{q(column)})"


def timeframe(schema: Schema) -> tuple[int, int]:
    tf = schema.timeframe
    return round(tf.start_dt.timestamp() * 1e6), round(tf.end_dt.timestamp() * 1e6)


def unreadable(con: duckdb.DuckDBPyConnection, node: Node, column: str) -> str | None:
    """Why a recovery cannot read `node.column` from the table's view, or None when it can: a written
    column, or a hidden helper (`"output": false`) lent to the view by validate/hidden.py."""
    view = {d[0] for d in con.execute(f"SELECT * FROM {q(node.id)} LIMIT 0").description}
    if column in view:
        return None
    col = node.column(column)
    if col is not None and not col.output:
        return (
            f"{column} is a hidden helper not lent to the checks (see the hidden_helpers check of {node.id})"
        )
    return f"{column} is not in the data"


def key_into(schema: Schema, child: Node, parent: Node) -> str | None:
    """The child's column holding the parent's key: a declared (or implied) foreign key into the
    parent's PK, else a plain lookup into it (a written one: a hidden helper is not in the data)."""
    for fk in schema.constraints.foreign_keys:
        a, b = split_ref(fk.from_), split_ref(fk.to)
        if a and b and a[0] == child.id and b == (parent.id, parent.pk) and not another_row(child, a[1]):
            return a[1]
    for col in child.columns:
        gen = col.generator
        if (
            col.output
            and isinstance(gen, LookupGen)
            and not gen.lookup.on
            and gen.lookup.from_ == f"{parent.id}.{parent.pk}"
            and not gen.picks_another_row(child)
        ):
            return col.name
    return None


def children(schema: Schema, parent: Node) -> Iterator[Node]:
    return (n for n in schema.nodes if parent.id in (n.parents or []))


def ratio_se(m1: float, se1: float, m0: float, se0: float) -> float:
    """Standard error of m1/m0 (delta method, the two means taken as independent)."""
    if m0 <= 0:
        return math.inf
    if m1 <= 0:
        return se1 / m0
    return (m1 / m0) * math.sqrt((se1 / m1) ** 2 + (se0 / m0) ** 2)


def binomial_se(p: float, n: int) -> float:
    """Under the declared p, floored so that p = 0 or 1 still allows a little noise."""
    return math.sqrt(max(p * (1 - p), 0.25 / n) / n)


def _segment_sql(parent: Node) -> str:
    sb = parent.segment_behavior
    return f"CAST(p.{q(sb.segment_column)} AS VARCHAR)" if sb else "'all'"


def walk_rows(schema: Schema, node: Node, cols: WalkColumns, *columns: str) -> str | None:
    """SQL: the rows of a funnel or state-model table (alias s) joined to the parent whose walk each one
    belongs to (alias p), as `id` (the parent's key), `seg` (its segment), `columns`, `t` (when the stage
    or state was entered), `pk` (breaks ties in time) and `born` (when the parent begins, null without
    a written time). None when the table holds no key into its parent: its walks cannot be told apart."""
    parent = schema.node(node.primary_parent or "")
    fk = key_into(schema, node, parent) if parent is not None else None
    if parent is None or parent.pk is None or fk is None:
        return None
    tcol = cols.time
    assert tcol is not None  # the check step requires one
    pk = f"s.{q(node.pk)}" if node.pk else "0"
    start = parent.life_start_column()
    start_col = parent.column(start) if start is not None else None
    born = us(start_col.name, "p") if start_col is not None and start_col.output else "NULL"
    return (
        f"SELECT s.{q(fk)} AS id, {_segment_sql(parent)} AS seg, {', '.join(columns)}, {us(tcol, 's')} AS t, "
        f"{pk} AS pk, {born} AS born "
        f"FROM {q(node.id)} s JOIN {q(parent.id)} p ON s.{q(fk)} = p.{q(parent.pk)}"
    )


def entered_states(walk: Node, fk: str, cols: WalkColumns) -> str:
    """SQL: when each parent (`id`, by the walk's key `fk` into it) entered each state (`t`, `st`), one
    row per instant for an as-of join. A walk kept as dates can enter several states on one day; the
    last of them (by the walk's key) is the state from that midnight on."""
    assert cols.time is not None  # the check step requires one
    t, pk = q(cols.time), q(walk.pk) if walk.pk else "0"
    return (
        f"SELECT {q(fk)} AS id, {t} AS t, CAST({q(cols.label)} AS VARCHAR) AS st FROM {q(walk.id)} "
        f"QUALIFY row_number() OVER (PARTITION BY {q(fk)}, {t} ORDER BY {pk} DESC) = 1"
    )


def after_the_end(end: int, first: str) -> str:
    """SQL over `walk_rows`: a row after the timeframe end, unless it is its walk's first (`first`) at
    the time its parent begins — a parent that begins after the timeframe (a bound pushed it there)
    enters its first state then, and goes no further."""
    return f"(t > {end} AND NOT ({first} AND t = born))"


def exact(
    behaviour: str, table: str, subject: str, broken: str, bad: int, n: int, column: str | None = None
) -> Recovered:
    """A rule the data keeps exactly, named by what it checks (`subject`) and the column it holds for
    (if one): `bad` of `n` rows are `broken`, and none may be (a hard check)."""
    return Recovered(behaviour, table, column, subject, broken, 0, bad, 0.0, int(n), hard=True)


def bookkeeping(behaviour: str, table: str, broken: str, bad: int, n: int) -> Recovered:
    """A walk's declared structure, checked exactly (`exact`, under the subject BOOKKEEPING)."""
    return exact(behaviour, table, BOOKKEEPING, broken, bad, n)


def sample_mean(
    behaviour: str,
    table: str,
    subject: str,
    stratum: str,
    declared: float,
    n: int,
    mean: float,
    sd: float | None,
) -> Recovered:
    """A mean of n observations against the declared mean: its standard error from the sample's spread,
    its tolerance never under 1 % of the declared value."""
    return Recovered(
        behaviour,
        table,
        None,
        subject,
        stratum,
        declared,
        mean,
        (sd or 0.0) / math.sqrt(n),
        int(n),
        floor=0.01 * declared,
    )


def observed_until(schema: Schema, node: Node, end: int) -> str:
    """SQL: until when each walk is observed — its parent's end of life when a share of parents end
    (a walk stops there), else the timeframe end."""
    parent = schema.node(node.primary_parent or "")
    lt = parent.lifetime if parent is not None else None
    if lt is None or lt.end is None or lt.end_walk == node.id:
        return str(end)
    return f"least(coalesce({us(lt.end.column, 'p')}, {end}), {end})"
