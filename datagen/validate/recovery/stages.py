"""Funnels (docs/schema-language.md §8.3): stage-to-stage conversion per segment, the mean gap between
stages, and stage order. Conversion and gap only use parents with enough time left for the walk to be
complete."""

from __future__ import annotations

import math

import duckdb

from datagen.dsl.behaviours import Gap
from datagen.dsl.models import Node, Schema
from datagen.dsl.units import HOUR_US
from datagen.validate.context import q, sql_text
from datagen.validate.recovery.common import (
    MIN_GROUP,
    UNKEYED_WALKS,
    Finding,
    Recovered,
    Skipped,
    after_the_end,
    binomial_se,
    bookkeeping,
    observed_until,
    sample_mean,
    timeframe,
    walk_rows,
)


def gap_horizon_hours(gap: Gap) -> float:
    """A gap longer than this is rarer than 1 in 1000: parents with this much time left are complete."""
    if gap.distribution == "exponential":
        return gap.mean_hours * math.log(1000)
    if gap.distribution == "lognormal":
        sigma = gap.lognormal_sigma
        return math.exp(math.log(gap.mean_hours) - sigma**2 / 2 + 3.1 * sigma)
    if gap.distribution == "uniform" and gap.max_hours is not None:  # the model requires it
        return gap.max_hours
    return gap.mean_hours


def gap_mean_hours(gap: Gap) -> float:
    if gap.distribution == "uniform" and gap.max_hours is not None:  # the model requires it
        return (gap.low_hours + gap.max_hours) / 2
    return gap.mean_hours


def recover_stages(con: duckdb.DuckDBPyConnection, schema: Schema) -> list[Finding]:
    start, end = timeframe(schema)
    out: list[Finding] = []
    for node in schema.nodes:
        sc = node.stage_config
        if sc is None:
            continue
        cols = sc.walk_columns(node)
        name_col = cols.label
        names = [s.stage_name for s in sc.stages]
        index = " ".join(f"WHEN s.{q(name_col)} = {sql_text(x)} THEN {i}" for i, x in enumerate(names))
        until = f"{observed_until(schema, node, end)} AS until"
        rows = walk_rows(schema, node, cols, f"CASE {index} END AS i", until)
        if rows is None:
            out.append(Skipped("stage", node.id, None, "funnel", UNKEYED_WALKS))
            continue
        con.execute(f"CREATE OR REPLACE TEMP TABLE __datagen_walks AS {rows}")
        try:
            cutoff = f"a.until - {gap_horizon_hours(sc.gap) * HOUR_US}"  # time left to see the next stage
            out += _stage_conversions(con, node, sc, names, cutoff)
            out += _stage_gap(con, node, sc, cutoff)
            out += _stage_order(con, node, start, end)
        finally:
            con.execute("DROP TABLE IF EXISTS __datagen_walks")
    return out


def _stage_conversions(con, node: Node, sc, names: list[str], cutoff: str) -> list[Finding]:
    """Of the parents that reached stage i-1 early enough to see stage i, the share that did."""
    rows = con.execute(
        f"""SELECT a.seg, a.i + 1, count(*), count(b.id)
            FROM __datagen_walks a LEFT JOIN __datagen_walks b ON b.id = a.id AND b.i = a.i + 1
            WHERE a.i < {len(names) - 1} AND a.t <= {cutoff} AND a.seg IS NOT NULL
            GROUP BY 1, 2 HAVING count(*) >= {MIN_GROUP} ORDER BY 1, 2"""
    ).fetchall()
    out: list[Finding] = []
    for seg, i, n, k in rows:
        variation = sc.segment_variation.get(seg)
        p = min(1.0, sc.stages[i].transition_rate * (variation.transition_multiplier if variation else 1.0))
        out.append(
            Recovered(
                "stage",
                node.id,
                None,
                "stage conversion",
                f"{names[i - 1]} -> {names[i]} ({seg})",
                p,
                k / n,
                binomial_se(p, n),
                int(n),
                floor=0.005,
            )
        )
    return out or [Skipped("stage", node.id, None, "stage conversion", "too few complete walks")]


def _stage_gap(con, node: Node, sc, cutoff: str) -> list[Finding]:
    n, mean, sd = con.execute(
        f"""SELECT count(*), avg((b.t - a.t) / {HOUR_US}), stddev_samp((b.t - a.t) / {HOUR_US})
            FROM __datagen_walks a JOIN __datagen_walks b ON b.id = a.id AND b.i = a.i + 1
            WHERE a.t <= {cutoff}"""
    ).fetchall()[0]
    if n < MIN_GROUP:
        return []
    declared = gap_mean_hours(sc.gap)
    subject = "mean gap between stages (hours)"
    return [sample_mean("stage", node.id, subject, f"{sc.gap.distribution} gap", declared, n, mean, sd)]


def _stage_order(con, node: Node, start: int, end: int) -> list[Finding]:
    """A parent's stages come in order, one row each, at increasing times inside the timeframe."""
    n, bad = con.execute(
        f"""SELECT count(*), count(*) FILTER (WHERE i IS NULL OR t < {start} OR {after_the_end(end, "i = 0")}
                   OR i <> rn - 1 OR t <= prev_t)
            FROM (SELECT *, row_number() OVER w AS rn, lag(t) OVER w AS prev_t
                  FROM __datagen_walks WINDOW w AS (PARTITION BY id ORDER BY i, pk))"""
    ).fetchall()[0]
    return [bookkeeping("stage", node.id, "out of order or outside the timeframe", bad, n)]
