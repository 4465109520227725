"""How much each parent row was exposed to having children, as an analyst computes it from the data:
the time it was alive inside the timeframe (from its lifetime's start and end columns), in the states
a child's `active_in` weights (from the walk table, each state's time times its weight), weighted by
the parent's vintage activity curve at its age when it has one. Rates per unit of exposure compare
parents that lived different lengths of time (docs/schema-language.md §10.2: the fanout is a rate)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from datagen.dsl.behaviours import AgeMultiplier
from datagen.dsl.models import Node, Schema
from datagen.dsl.units import MONTH_US, UNIT_US
from datagen.validate.context import q
from datagen.validate.recovery.common import key_into, observed_until, timeframe, us


def lived(child: Node, parent: Node) -> bool:
    """Do the parent's children come at a rate over a life that differs between parents?"""
    return child.primary_parent == parent.id and (parent.lifetime is not None or child.active_in is not None)


def curve_weight(curves: list[AgeMultiplier], t0: np.ndarray, t1: np.ndarray, born: np.ndarray) -> np.ndarray:
    """∫ Π curves(age) dt over each [t0, t1) (us), the ages counted from `born`; t1 - t0 without curves."""
    if not curves:
        return np.asarray(t1 - t0)
    top = float(np.nanmax(t1 - born, initial=0.0))
    grid = np.linspace(0.0, max(top, 1.0), 20_001)  # age in us
    prod = np.ones_like(grid)
    for m in curves:
        prod *= m.value_at(grid / UNIT_US[m.time_unit])
    cum = np.concatenate([[0.0], np.cumsum((prod[1:] + prod[:-1]) / 2 * np.diff(grid))])
    return np.asarray(np.interp(t1 - born, grid, cum) - np.interp(t0 - born, grid, cum))


def spells(con, schema: Schema, parent: Node, child: Node, segments: bool = False) -> pd.DataFrame | None:
    """Per stretch of a parent's life: id, t0, t1 (us), born, weight (the child's `active_in` weight of
    the state then, 1 without it), segment (the parent's segment `fanout_multiplier` with `segments`, so
    that states more common in some segments are compared fairly; else 1). None when the tables hold no
    key to join them by."""
    start, end = timeframe(schema)
    born = parent.life_start_column()
    if parent.pk is None or born is None:
        return None
    lt = parent.lifetime
    died = us(lt.end.column, "p") if lt is not None and lt.end is not None else "NULL"
    ai = child.active_in
    if ai is None:
        df = con.execute(
            f"""SELECT p.{q(parent.pk)} AS id, {us(born, "p")} AS t0, coalesce({died}, {end}) AS t1,
                       {us(born, "p")} AS born, 1.0 AS weight
                FROM {q(parent.id)} p WHERE p.{q(born)} IS NOT NULL"""
        ).df()
    else:
        walk = schema.node(ai.walk)
        sm = walk.state_transition_model if walk is not None else None
        wfk = key_into(schema, walk, parent) if walk is not None else None
        cols = sm.walk_columns(walk) if sm is not None and walk is not None else None
        if walk is None or wfk is None or cols is None or cols.time is None:
            return None
        t = us(cols.time, "s")
        pk = f"s.{q(walk.pk)}" if walk.pk else "0"  # a walk kept as dates enters states on one day in order
        df = con.execute(
            f"""SELECT s.{q(wfk)} AS id, CAST(s.{q(cols.label)} AS VARCHAR) AS st, {t} AS t0,
                       coalesce(lead({t}) OVER w, {observed_until(schema, walk, end)}) AS t1,
                       {us(born, "p")} AS born
                FROM {q(walk.id)} s JOIN {q(parent.id)} p ON s.{q(wfk)} = p.{q(parent.pk)}
                WINDOW w AS (PARTITION BY s.{q(wfk)} ORDER BY {t}, {pk})"""
        ).df()
        df["weight"] = df["st"].map(ai.states).fillna(0.0).astype(float)
    sb = parent.segment_behavior
    if segments and sb is not None:
        seg = con.execute(
            f"SELECT {q(parent.pk)} AS id, CAST({q(sb.segment_column)} AS VARCHAR) AS seg FROM {q(parent.id)}"
        ).df()
        factor = seg.set_index("id")["seg"].map({k: b.fanout_multiplier for k, b in sb.behaviors.items()})
        df["segment"] = df["id"].map(factor.fillna(1.0)).fillna(1.0).to_numpy(float)
    else:
        df["segment"] = 1.0
    df["t0"] = df["t0"].astype(float).clip(lower=start, upper=end)
    df["t1"] = df["t1"].astype(float).clip(lower=start, upper=end)
    df["born"] = df["born"].astype(float)
    return df


def exposure(con, schema: Schema, parent: Node, child: Node) -> pd.Series | None:
    """Each parent's exposure (in months at weight 1), by its key; None when it cannot be read."""
    df = spells(con, schema, parent, child)
    if df is None:
        return None
    curves = parent.vintage_behavior.fanout_curves if parent.vintage_behavior is not None else []
    t0, t1 = df["t0"].to_numpy(), df["t1"].to_numpy()
    born = np.where(np.isnan(df["born"].to_numpy()), t0, df["born"].to_numpy())
    ok = t1 > t0
    w = np.where(ok, curve_weight(curves, t0, np.maximum(t1, t0), born), 0.0)
    w = w * df["weight"].to_numpy() * df["segment"].to_numpy()
    return pd.Series(w / MONTH_US, index=df["id"]).groupby(level=0).sum()
