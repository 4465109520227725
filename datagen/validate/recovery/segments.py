"""Segments (docs/schema-language.md §8.1): children per parent and mean value per segment, as ratios to the
largest segment."""

from __future__ import annotations

import math
from collections.abc import Callable

import duckdb
import numpy as np

from datagen.dsl.base import split_ref
from datagen.dsl.models import Fanout, Node, Schema
from datagen.dsl.related_rows import first_parent_line
from datagen.validate.context import q
from datagen.validate.recovery.common import (
    MIN_GROUP,
    MIN_PARENTS,
    Finding,
    Recovered,
    Skipped,
    children,
    key_into,
    ratio_se,
    unreadable,
    us,
)
from datagen.validate.recovery.exposure import exposure, lived
from datagen.validate.recovery.vintage import value_curves_sql


def recover_segments(con: duckdb.DuckDBPyConnection, schema: Schema) -> list[Finding]:
    out: list[Finding] = []
    for parent in schema.nodes:
        sb = parent.segment_behavior
        if sb is None or parent.pk is None:
            continue
        fanout = {s: b.fanout_multiplier for s, b in sb.behaviors.items()}
        value = {s: b.value_multiplier for s, b in sb.behaviors.items()}
        hidden = unreadable(con, parent, sb.segment_column)
        for child in children(schema, parent):
            fk = key_into(schema, child, parent)
            subject = f"children per {parent.id} row by {sb.segment_column}"
            born_here = child.primary_parent == parent.id
            counted = child.walk is None and (child.fanout is not None or not born_here)
            if counted and any(f != 1.0 for f in fanout.values()):
                expect, why = _fanout_expectation(parent, child, fanout, born_here)
                if fk is None or expect is None or hidden:
                    why = why or hidden or f"no key into {parent.id}"
                    out.append(Skipped("segment_fanout", child.id, None, subject, why))
                elif lived(child, parent):  # a rate over lives of different lengths: per unit of life
                    subject = f"children per {parent.id} row per month of life by {sb.segment_column}"
                    out += _segment_rates(con, schema, parent, child, fk, sb.segment_column, fanout, subject)
                else:
                    out += _segment_fanout(con, parent, child, fk, sb.segment_column, expect, subject)
            out += _values(con, schema, parent, child, value, hidden)
        for node in schema.nodes:  # tables further down a child's line of first parents
            if parent.id not in (node.parents or []) and parent.id in first_parent_line(schema, node):
                out += _values(con, schema, parent, node, value, hidden)
    return out


def _values(
    con: duckdb.DuckDBPyConnection,
    schema: Schema,
    parent: Node,
    node: Node,
    value: dict[str, float],
    hidden: str | None,
) -> list[Finding]:
    """Mean of each column of `node` the parent's segment scales, by the segment of the parent row each
    row belongs to: joined by keys, up the line of first parents when `node` is not a child."""
    sb = parent.segment_behavior
    assert sb is not None
    out: list[Finding] = []
    for ref in sb.applies_to_columns:
        table, column = split_ref(ref) or ("", "")
        if table != node.id:
            continue
        subject = f"mean {column} by {parent.id}.{sb.segment_column}"
        joins, missing = _join_up(schema, node, parent)
        if why := hidden or unreadable(con, node, column):
            out.append(Skipped("segment_value", node.id, column, subject, why))
        elif joins is None:
            out.append(Skipped("segment_value", node.id, column, subject, missing))
        else:
            expect = _factor(value)
            out += _segment_value(con, parent, node, joins, sb.segment_column, column, expect, subject)
    return out


def _join_up(schema: Schema, node: Node, parent: Node) -> tuple[str | None, str]:
    """SQL joining rows of `node` (alias c) to their row of `parent` (alias p): by the key into it for a
    child (any parent position), else by the key of each table up the line of first parents. None and
    the missing key when a step has none."""
    line = [parent] if parent.id in (node.parents or []) else []
    if not line:
        names = first_parent_line(schema, node)
        line = [n for t in names[: names.index(parent.id) + 1] if (n := schema.node(t)) is not None]
    joins, below, alias = [], node, "c"
    for i, up in enumerate(line):
        fk = key_into(schema, below, up)
        if fk is None or up.pk is None:
            return None, f"no key into {up.id}" + (f" in {below.id}" if below is not node else "")
        name = "p" if up is parent else f"a{i}"
        joins.append(f"JOIN {q(up.id)} {name} ON {alias}.{q(fk)} = {name}.{q(up.pk)}")
        below, alias = up, name
    return " ".join(joins), ""


def _factor(factors: dict[str, float]) -> Callable[[str], float]:
    return lambda seg: factors.get(seg, 1.0)


def _fanout_expectation(
    parent: Node, child: Node, fanout: dict[str, float], born_here: bool
) -> tuple[Callable[[str], float] | None, str | None]:
    """Expected children per parent row in a segment, up to a common factor. Born from the parent: the
    fanout distribution at lambda x multiplier, after min/max (docs/schema-language.md §5); referenced from a
    further position: proportional to the multiplier (a weighted draw). Bounds that bite on a parent whose
    activity also follows a vintage curve leave the ratio undetermined by the multipliers alone."""
    f = child.fanout
    if not born_here or f is None:
        return _factor(fanout), None
    if f.where is not None:
        return None, f"children only where {f.where!r} holds: the ratio depends on the parent's columns"
    if f.every is not None:
        return (
            None,
            f"a regular series (every '{f.every}'): counts follow each parent's life, not the segment",
        )
    clipped = {seg: expected_count(f, m) for seg, m in {**fanout, "": 1.0}.items()}
    base = {seg: f.mean * m for seg, m in {**fanout, "": 1.0}.items()}
    bites = any(abs(clipped[k] - base[k]) > 0.005 * max(base[k], 1e-9) for k in clipped)
    if bites and parent.vintage_behavior is not None and parent.vintage_behavior.fanout_curves:
        return None, "fanout min/max bite and activity follows a vintage curve: ratio not determined"
    return (lambda seg: clipped.get(seg, clipped[""])), None


def expected_count(f: Fanout, m: float) -> float:
    """E[children] of a parent whose fanout is multiplied by m, after the declared min/max (exact sums over
    the distribution the engine draws from: poisson, negative binomial, or a stochastically rounded
    uniform or constant)."""
    lo, hi = f.min or 0, f.max if f.max is not None else math.inf
    if f.distribution in ("uniform", "constant"):
        if f.distribution == "constant":
            base = np.array([f.constant_count], dtype=float) * m
        else:
            assert f.min is not None and f.max is not None  # the model requires both
            base = np.arange(f.min, f.max + 1, dtype=float) * m
        whole, frac = np.floor(base), base - np.floor(base)
        return float(np.mean((1 - frac) * np.clip(whole, lo, hi) + frac * np.clip(whole + 1, lo, hi)))
    assert f.lambda_ is not None  # poisson and negative binomial have one
    mean = f.lambda_ * m
    if mean <= 0:
        return float(lo)
    k = f.dispersion or 1.0
    sd = math.sqrt(mean if f.distribution == "poisson" else mean * (1 + mean / k))
    first, last = max(0, math.floor(mean - 12 * sd)), math.ceil(mean + 12 * sd) + 20
    if lo <= first and hi >= last:
        return mean
    x = np.arange(first, last + 1, dtype=float)
    lg = np.vectorize(math.lgamma)
    if f.distribution == "poisson":
        logp = x * math.log(mean) - mean - lg(x + 1)
    else:
        p = k / (k + mean)
        logp = lg(x + k) - math.lgamma(k) - lg(x + 1) + k * math.log(p) + x * math.log1p(-p)
    pmf = np.exp(logp - logp.max())
    return float(np.sum(np.clip(x, lo, hi) * pmf) / pmf.sum())


def _segment_fanout(
    con, parent: Node, child: Node, fk: str, seg: str, expect: Callable[[str], float], subject: str
) -> list:
    assert parent.pk is not None  # only parents with a key are read
    rows = con.execute(
        f"""SELECT p.seg, count(*), avg(coalesce(c.k, 0)), stddev_samp(coalesce(c.k, 0))
            FROM (SELECT {q(parent.pk)} AS id, CAST({q(seg)} AS VARCHAR) AS seg FROM {q(parent.id)}) p
            LEFT JOIN (SELECT {q(fk)} AS id, count(*) AS k FROM {q(child.id)} GROUP BY 1) c ON c.id = p.id
            WHERE p.seg IS NOT NULL GROUP BY p.seg HAVING count(*) >= {MIN_PARENTS}"""
    ).fetchall()
    return _segment_ratios(rows, expect, "segment_fanout", child.id, None, subject)


def _segment_rates(
    con, schema: Schema, parent: Node, child: Node, fk: str, seg: str, fanout: dict, subject: str
) -> list[Finding]:
    """Children per unit of exposure (exposure.py) by segment, a ratio of sums with its cluster-robust
    standard error (parents differ in activity); compared with the ratio of the fanout multipliers (a
    rate is not clipped by min/max, so none is assumed to bite)."""
    assert parent.pk is not None
    time = exposure(con, schema, parent, child)
    if time is None:
        return [Skipped("segment_fanout", child.id, None, subject, f"no key into {parent.id}")]
    df = con.execute(
        f"""SELECT p.{q(parent.pk)} AS id, CAST(p.{q(seg)} AS VARCHAR) AS seg, coalesce(c.k, 0) AS k
            FROM {q(parent.id)} p
            LEFT JOIN (SELECT {q(fk)} AS id, count(*) AS k FROM {q(child.id)} GROUP BY 1) c
                   ON c.id = p.{q(parent.pk)}
            WHERE p.{q(seg)} IS NOT NULL"""
    ).df()
    df["e"] = df["id"].map(time).fillna(0.0)
    rows = []
    for name, g in df.groupby("seg"):
        total = g["e"].sum()
        if len(g) < MIN_PARENTS or total <= 0:
            continue
        rate = g["k"].sum() / total
        se = math.sqrt(((g["k"] - rate * g["e"]) ** 2).sum()) / total
        rows.append((str(name), len(g), rate, se * math.sqrt(len(g))))
    return _segment_ratios(rows, _factor(fanout), "segment_fanout", child.id, None, subject)


def _segment_value(
    con,
    parent: Node,
    child: Node,
    joins: str,
    seg: str,
    column: str,
    expect: Callable[[str], float],
    subject: str,
) -> list:
    v = f"c.{q(column)}"
    tcol, vb = child.first_time_column(), parent.vintage_behavior
    if tcol and vb is not None and vb.value_curves(f"{child.id}.{column}"):
        # segments that live longer are older on average: the value curve at each child's age divided out
        curves = value_curves_sql(
            parent, f"{child.id}.{column}", us(tcol, "c"), us(vb.created_at_column, "p")
        )
        v = f"({v} / nullif({curves}, 0))"
    assert parent.pk is not None  # only parents with a key are read
    rows = con.execute(
        f"""SELECT CAST(p.{q(seg)} AS VARCHAR), count({v}), avg({v}), stddev_samp({v})
            FROM {q(child.id)} c {joins}
            WHERE p.{q(seg)} IS NOT NULL GROUP BY 1 HAVING count({v}) >= {MIN_GROUP}"""
    ).fetchall()
    return _segment_ratios(rows, expect, "segment_value", child.id, column, subject)


def _segment_ratios(
    rows: list, expect: Callable[[str], float], behaviour: str, table: str, column: str | None, subject: str
) -> list[Finding]:
    """Each segment against the largest one: observed ratio of means vs the declared ratio."""
    if len(rows) < 2:
        return [Skipped(behaviour, table, column, subject, "fewer than two segments with enough rows")]
    ref = max(rows, key=lambda r: r[1])
    ref_factor = expect(ref[0])
    out: list[Finding] = []
    for seg, n, mean, sd in rows:
        if seg == ref[0] or ref_factor == 0 or not ref[2]:
            continue
        declared = expect(seg) / ref_factor
        se = ratio_se(mean, (sd or 0.0) / math.sqrt(n), ref[2], (ref[3] or 0.0) / math.sqrt(ref[1]))
        out.append(
            Recovered(
                behaviour,
                table,
                column,
                subject,
                f"{seg} / {ref[0]}",
                declared,
                mean / ref[2],
                se,
                int(n),
                floor=0.01 * declared,
            )
        )
    return out
