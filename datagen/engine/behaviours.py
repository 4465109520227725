"""Segment and vintage behaviour (DSL.md §8.1–8.2): multipliers on children's counts, values and times.

Everything is a vectorised function of parent attributes gathered for a block's rows."""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from datagen.dsl.behaviours import AgeMultiplier
from datagen.dsl.models import Node
from datagen.dsl.references import first_datetime_column
from datagen.dsl.units import UNIT_US
from datagen.errors import GenerationError

if TYPE_CHECKING:
    from datagen.engine.block import Block, Store


def segment_multiplier(node: Node, segments: np.ndarray, field: str) -> np.ndarray:
    """Per row: the `field` (fanout_multiplier / value_multiplier) of the row's segment, 1 if unlisted."""
    sb = node.segment_behavior
    names = list(sb.behaviors)
    factors = np.array([getattr(sb.behaviors[s], field) for s in names] + [1.0])
    pos = pd.Index(names).get_indexer(pd.Series(segments, dtype=object).astype(str))
    return factors[np.where(pos < 0, len(names), pos)]


def parent_factors(parent: Node, store: Store, field: str) -> np.ndarray:
    """`field` of each row of `parent` by its segment, computed once per table: children gather it by
    their parent row (integers), never map segment labels row by row."""
    key = (field, parent.id)
    if key not in store.derived:
        seg = store.column(parent.id, parent.segment_behavior.segment_column)
        store.derived[key] = segment_multiplier(parent, seg, field)
    return store.derived[key]


def reference_weights(parent: Node, store: Store) -> np.ndarray | None:
    """Cumulative weights for drawing the row of `parent` a child refers to when `parent` is not its
    primary parent: a row in segment s is drawn fanout_multiplier(s) times as often, so it gets children
    like a primary parent would (DSL.md §8.1, any parent position). None means a uniform draw."""
    sb = parent.segment_behavior
    if sb is None or all(b.fanout_multiplier == 1.0 for b in sb.behaviors.values()):
        return None
    key = ("reference_weights", parent.id)
    if key not in store.derived:
        cum = np.cumsum(parent_factors(parent, store, "fanout_multiplier"))
        store.derived[key] = cum if len(cum) and cum[-1] > 0 else None
    return store.derived[key]


def curve_at(mult: AgeMultiplier, age: np.ndarray) -> np.ndarray:
    """Curve value at an age in the multiplier's own units; arrays step at whole units, last held."""
    age = np.maximum(np.nan_to_num(age, nan=0.0), 0.0)
    if isinstance(mult.curve, list):
        c = np.asarray(mult.curve, dtype=float)
        return c[np.minimum(np.floor(age).astype(np.int64), len(c) - 1)]
    a, b = mult.curve.params.a, mult.curve.params.b
    kind = mult.curve.curve_type
    if kind == "logarithmic":
        v = a + b * np.log1p(age)
    elif kind == "exponential":
        v = a * np.exp(np.clip(b * age, -700, 700))
    else:
        v = a + b * age
    return np.maximum(v, 0.0)


def curve_integral(mult: AgeMultiplier, span: np.ndarray) -> np.ndarray:
    """∫_0^span curve(age) d(age), in the multiplier's units (exact for arrays, tabulated otherwise)."""
    span = np.maximum(span, 0.0)
    if isinstance(mult.curve, list):
        c = np.asarray(mult.curve, dtype=float)
        whole = np.floor(span).astype(np.int64)
        cum = np.concatenate([[0.0], np.cumsum(c)])
        inside = np.minimum(whole, len(c))
        tail = np.maximum(whole - len(c), 0) * c[-1]
        frac = (span - whole) * c[np.minimum(whole, len(c) - 1)]
        return cum[inside] + tail + frac
    xs, cum = _tabulated(mult.model_dump_json(), float(span.max(initial=0.0)))
    return np.interp(span, xs, cum)


@lru_cache(maxsize=64)
def _tabulated(key: str, top: float) -> tuple[np.ndarray, np.ndarray]:
    mult = AgeMultiplier.model_validate_json(key)
    xs = np.linspace(0.0, max(top, 1e-9), 4097)
    ys = curve_at(mult, xs)
    cum = np.concatenate([[0.0], np.cumsum((ys[1:] + ys[:-1]) / 2 * np.diff(xs))])
    return xs, cum


def fanout_curves(parent: Node) -> list[AgeMultiplier]:
    vb = parent.vintage_behavior
    if vb is None:
        return []
    return [m for m in vb.age_based_multipliers.values() if m.applies_to == "fanout"]


def activity_share(parent: Node, store: Store, rows: np.ndarray, start_us: int, end_us: int) -> np.ndarray:
    """Expected share of the full-timeframe count a parent produces: (1/T)∫ Π curves(age) dt over the part
    of the timeframe after its creation, at the ages it has then (a parent created before the timeframe
    starts is already older at its start; DSL.md §8.2). One curve: exact; several: tabulated product."""
    curves = fanout_curves(parent)
    created = store.column(parent.id, parent.vintage_behavior.created_at_column)[rows].astype(
        "datetime64[us]"
    )
    c_us = np.where(np.isnat(created), start_us, created.astype(np.int64)).clip(None, end_us)
    age_lo = np.maximum(start_us - c_us, 0).astype(float)  # age at the first instant that counts
    age_hi = (end_us - c_us).astype(float)
    total = float(end_us - start_us)
    if len(curves) == 1:
        unit = UNIT_US[curves[0].time_unit]
        cum = curve_integral(curves[0], np.concatenate([age_lo, age_hi]) / unit) * unit
        return (cum[len(c_us) :] - cum[: len(c_us)]) / total
    grid = np.linspace(0.0, float(age_hi.max(initial=0.0)), 16385)  # age in us
    prod = np.ones_like(grid)
    for m in curves:
        prod *= curve_at(m, grid / UNIT_US[m.time_unit])
    cum = np.concatenate([[0.0], np.cumsum((prod[1:] + prod[:-1]) / 2 * np.diff(grid))])
    return (np.interp(age_hi, grid, cum) - np.interp(age_lo, grid, cum)) / total


def activity_cap(parent: Node, span_us: int) -> float:
    """An upper bound of the product of fanout curves over ages 0..span (for rejection sampling)."""
    cap = 1.0
    for m in fanout_curves(parent):
        ages = np.linspace(0.0, span_us / UNIT_US[m.time_unit], 4097)
        cap *= float(curve_at(m, ages).max()) * 1.0001
    return cap


def activity_at(parent: Node, created: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Π fanout curves at each child's age (used to place child events along the curve)."""
    out = np.ones(len(t))
    age_us = (t.astype("datetime64[us]") - created.astype("datetime64[us]")).astype(np.int64)
    for m in fanout_curves(parent):
        out *= curve_at(m, age_us / UNIT_US[m.time_unit])
    return out


def value_multiplier(block: Block, column: str) -> np.ndarray | None:
    """Product of segment value multipliers and vintage value curves that name `table.column`, taken
    from the parent rows this block's rows belong to (any parent position)."""
    ref = f"{block.node_id}.{column}"
    nodes = {n.id: n for n in block.schema.nodes}
    if _is_key(block.table.node, column, nodes):
        return None  # keys are never scaled, whatever a schema lists
    out = None
    for pid in block.table.node.parents or []:
        parent = nodes[pid]
        if parent.segment_behavior and ref in parent.segment_behavior.applies_to_columns:
            per_parent = parent_factors(parent, block.store, "value_multiplier")
            rows = block.source_rows(pid)
            m = np.where(rows >= 0, per_parent[np.maximum(rows, 0)], 1.0) if len(per_parent) else 1.0
            out = m if out is None else out * m
        if parent.vintage_behavior:
            for mult in parent.vintage_behavior.age_based_multipliers.values():
                if isinstance(mult.applies_to, list) and ref in mult.applies_to:
                    tcol = first_datetime_column(block.table.node)
                    if tcol is None:
                        raise GenerationError(
                            f"'{ref}' follows the vintage curve of '{pid}', but '{block.node_id}' has no "
                            "datetime column to measure each row's age at",
                            hint=f"add a datetime column to '{block.node_id}', or drop '{ref}' from "
                            "applies_to",
                        )
                    created = block.related_value(pid, parent.vintage_behavior.created_at_column)
                    age = block.values[tcol].astype("datetime64[us]") - created.astype("datetime64[us]")
                    m = curve_at(mult, age.astype(np.int64) / UNIT_US[mult.time_unit])
                    out = m if out is None else out * m
    return out


def _is_key(node: Node, column: str, nodes: dict[str, Node]) -> bool:
    """The table's PK, or a lookup into another table's PK (a foreign or self-reference key)."""
    if column == node.pk:
        return True
    col = node.column(column)
    if col is None or col.kind != "lookup":
        return False
    table, _, source = col.args.from_.partition(".")
    return table in nodes and nodes[table].pk == source
