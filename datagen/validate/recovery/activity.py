"""People differ, and states matter (docs/schema-language.md §10.3), read as an analyst would.

- `activity`: children per parent in its first month of age, among parents seen and alive for that
  whole month, per segment: their variance over their mean against the gamma-Poisson (mixed Poisson)
  expectation 1 + mean × Var(level); and the correlation between a parent's children in months 0–2 and
  3–5 of its age (parents seen and alive for six months), which must be clearly above 0. Not for a
  regular series of a constant count (§10.5): one row per period, whatever the level.
- `active_in`: children per unit of the parent's time in each state of its walk, over the same in the
  state with the most children, against the declared weights (the time weighted by the parent's
  vintage activity curve at its age, when it has one); a state of weight 0 has no child at all (hard).
"""

from __future__ import annotations

import math

import duckdb
import numpy as np

from datagen.dsl.behaviours import ActiveIn
from datagen.dsl.models import Node, Schema
from datagen.dsl.units import MONTH_US
from datagen.validate.context import q
from datagen.validate.recovery.common import (
    MIN_GROUP,
    Finding,
    Recovered,
    Skipped,
    entered_states,
    exact,
    key_into,
    ratio_se,
    timeframe,
    us,
)
from datagen.validate.recovery.exposure import curve_weight, spells


class Above(Recovered):
    """A lower bound the data must clear: the observed value is above the declared one by more than
    its tolerance (noise alone would not put it there)."""

    def ok(self, z: float = 4.0) -> bool:
        return bool(self.observed > self.declared + self.tolerance(z))


def _segment(parent: Node) -> str:
    sb = parent.segment_behavior
    return f"CAST(p.{q(sb.segment_column)} AS VARCHAR)" if sb else "'all'"


def recover_activity(con: duckdb.DuckDBPyConnection, schema: Schema) -> list[Finding]:
    start, end = timeframe(schema)
    out: list[Finding] = []
    for parent in schema.nodes:
        act = parent.activity
        if act is None or parent.pk is None:
            continue
        born = parent.life_start_column()
        for child in schema.nodes:
            f = child.fanout
            if child.primary_parent != parent.id or f is None:
                continue
            if f.every is not None and f.distribution == "constant":
                every = f"a regular series of {f.constant_count} per period (every '{f.every}')"
                why = f"{every}: the level does not change it"
                out.append(Skipped("activity", child.id, None, f"activity of {parent.id}", why))
                continue
            fk, tcol = key_into(schema, child, parent), child.first_time_column()
            if fk is None or tcol is None or born is None:
                why = "no key into the parent" if fk is None else "no time to measure age by"
                out.append(Skipped("activity", child.id, None, f"activity of {parent.id}", why))
                continue
            lt = parent.lifetime
            died = us(lt.end.column, "p") if lt is not None and lt.end is not None else "NULL"
            counts = f"""
                WITH p AS (SELECT {q(parent.pk)} AS id, {_segment(parent)} AS seg, {us(born, "p")} AS b,
                                  coalesce({died}, {end}) AS d
                           FROM {q(parent.id)} p WHERE p.{q(born)} IS NOT NULL),
                     c AS (SELECT c.{q(fk)} AS id, {us(tcol, "c")} AS t FROM {q(child.id)} c)"""
            out += _dispersion(con, parent, child, counts, start, end)
            out += _early_late(con, parent, child, counts, start, end)
    return out


def _dispersion(con, parent: Node, child: Node, counts: str, start: int, end: int) -> list[Finding]:
    subject = f"variance / mean of children per {parent.id} row in its first month"
    if child.active_in is not None:
        return [Skipped("activity", child.id, None, subject, "the rate also changes with the parent's state")]
    assert parent.activity is not None
    v = parent.activity.cv2
    rows = con.execute(
        f"""{counts}, k AS (SELECT p.seg, p.id, count(c.id) AS k FROM p LEFT JOIN c
                            ON c.id = p.id AND c.t >= p.b AND c.t < p.b + {MONTH_US}
                            WHERE p.b >= {start} AND p.b + {MONTH_US} <= {end} AND p.d >= p.b + {MONTH_US}
                            GROUP BY 1, 2)
            SELECT seg, count(*), avg(k), var_samp(k), avg(power(k - m, 4))
            FROM (SELECT *, avg(k) OVER (PARTITION BY seg) AS m FROM k) GROUP BY 1 ORDER BY 1"""
    ).fetchall()
    out: list[Finding] = []
    for seg, n, mean, var, m4 in rows:
        if n < MIN_GROUP or not mean:
            continue
        declared = 1 + mean * v
        se = math.sqrt(max(m4 - var**2, 0.0) / n) / mean
        out.append(
            Recovered(
                "activity",
                child.id,
                None,
                subject,
                str(seg),
                declared,
                var / mean,
                se,
                int(n),
                0.05 * declared,
            )
        )
    return out or [Skipped("activity", child.id, None, subject, "too few parents seen for a whole month")]


def _early_late(con, parent: Node, child: Node, counts: str, start: int, end: int) -> list[Finding]:
    subject = f"correlation of children per {parent.id} row in months 0-2 and 3-5 of its age"
    span = 6 * MONTH_US
    n, r = con.execute(
        f"""{counts}, k AS (SELECT p.id, count(c.id) FILTER (WHERE c.t < p.b + {span // 2}) AS early,
                                   count(c.id) FILTER (WHERE c.t >= p.b + {span // 2}) AS late
                            FROM p LEFT JOIN c ON c.id = p.id AND c.t >= p.b AND c.t < p.b + {span}
                            WHERE p.b >= {start} AND p.b + {span} <= {end} AND p.d >= p.b + {span}
                            GROUP BY 1)
            SELECT count(*), corr(early, late) FROM k"""
    ).fetchall()[0]
    if n < MIN_GROUP or r is None or not math.isfinite(r):
        return [Skipped("activity", child.id, None, subject, "too few parents seen for six months")]
    # positive: levels that persist make early activity predict late activity (0 when everyone is alike)
    return [Above("activity", child.id, None, subject, "above 0", 0.0, r, 1 / math.sqrt(n), int(n), 0.0)]


# --- active_in ----------------------------------------------------------------------------------------


def recover_state_rates(con: duckdb.DuckDBPyConnection, schema: Schema) -> list[Finding]:
    _, end = timeframe(schema)
    out: list[Finding] = []
    for child in schema.nodes:
        ai = child.active_in
        if ai is None:
            continue
        out += _state_rates(con, schema, child, ai, end)
    return out


def _state_rates(con, schema: Schema, child: Node, ai: ActiveIn, end: int) -> list[Finding]:
    parent = schema.node(child.primary_parent or "")
    walk = schema.node(ai.walk)
    subject = f"children per {parent.id if parent else 'parent'} time in each state of {ai.walk}"
    sm = walk.state_transition_model if walk is not None else None
    if parent is None or walk is None or sm is None or parent.pk is None:
        return []
    cfk, wfk, tcol = (
        key_into(schema, child, parent),
        key_into(schema, walk, parent),
        child.first_time_column(),
    )
    cols = sm.walk_columns(walk)
    table = spells(con, schema, parent, child, segments=True)
    if cfk is None or wfk is None or tcol is None or cols.time is None or table is None:
        return [Skipped("active_in", child.id, None, subject, "no key into the parent or no time")]
    k_rows = con.execute(
        f"""WITH w AS ({entered_states(walk, wfk, cols)}),
                 c AS (SELECT {q(cfk)} AS id, {q(tcol)} AS t FROM {q(child.id)})
            SELECT c.id, coalesce(w.st, '(before the walk)') AS st, count(*) AS k
            FROM c ASOF LEFT JOIN w ON c.id = w.id AND c.t >= w.t GROUP BY 1, 2"""
    ).df()
    kids = k_rows.groupby("st")["k"].sum()
    out: list[Finding] = []
    zero = int(sum(k for st, k in kids.items() if ai.weight(str(st)) == 0))
    broken = "in a state of weight 0 (or before the walk)"
    out.append(exact("active_in", child.id, "no child in a state of weight 0", broken, zero, int(kids.sum())))
    curves = parent.vintage_behavior.fanout_curves if parent.vintage_behavior else []
    t0, t1 = table["t0"].to_numpy(), table["t1"].to_numpy()
    born = np.where(np.isnan(table["born"].to_numpy()), t0, table["born"].to_numpy())
    table["e"] = np.where(t1 > t0, curve_weight(curves, t0, np.maximum(t1, t0), born), 0.0)
    table["e"] = table["e"] * table["segment"] / MONTH_US
    # per parent and state: exposure and children (a ratio of sums, clustered by parent: levels differ)
    per = table.groupby(["id", "st"])["e"].sum().rename("e").reset_index()
    per = per.merge(k_rows, on=["id", "st"], how="left").fillna({"k": 0})
    stats = {}
    for st, g in per.groupby("st"):
        total = g["e"].sum()
        if total > 0:
            rate = g["k"].sum() / total
            stats[str(st)] = (
                rate,
                math.sqrt(((g["k"] - rate * g["e"]) ** 2).sum()) / total,
                int(g["k"].sum()),
            )
    weighted = [st for st in stats if ai.weight(st) > 0]
    if not weighted:
        return out
    ref = max(weighted, key=lambda st: stats[st][2])  # the best-measured state: the most children
    if stats[ref][2] < MIN_GROUP:
        return out
    r_rate, r_se, _ = stats[ref]
    for st in sm.states:
        w = ai.weight(st)
        if st == ref or w == 0 or st not in stats or stats[st][2] < MIN_GROUP:
            continue
        rate, se, k = stats[st]
        out.append(
            Recovered(
                "active_in",
                child.id,
                None,
                subject,
                f"{st} / {ref}",
                w / ai.states[ref],
                rate / r_rate,
                ratio_se(rate, se, r_rate, r_se),
                k,
                floor=0.03,
            )
        )
    return out
