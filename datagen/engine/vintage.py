"""`vintage_behavior` (docs/schema-language.md §8.2): curves over a parent row's age at each child's own
time. An activity curve (`applies_to: fanout`) makes the fanout a rate — a parent produces
count / timeframe × curve(age) per unit of time from its creation on — and places its children's times
along the curve; a value curve multiplies listed child values at the child's age.

Everything is a vectorised function of parent attributes gathered for a block's rows."""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np

from datagen.dsl.behaviours import AgeMultiplier, VintageBehavior
from datagen.dsl.models import Node
from datagen.dsl.units import UNIT_US
from datagen.engine.behaviours import BehaviourEngine, TimeDensity
from datagen.errors import GenerationError

if TYPE_CHECKING:
    from datagen.engine.block import Block, Store


def curve_at(mult: AgeMultiplier, age: np.ndarray) -> np.ndarray:
    """Curve value at an age in the multiplier's own units (an unknown age reads as 0)."""
    return mult.value_at(np.nan_to_num(age, nan=0.0))


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
        return np.asarray(cum[inside] + tail + frac)
    xs, cum = _tabulated(mult.model_dump_json(), float(span.max(initial=0.0)))
    return np.asarray(np.interp(span, xs, cum))


@lru_cache(maxsize=64)
def _tabulated(key: str, top: float) -> tuple[np.ndarray, np.ndarray]:
    mult = AgeMultiplier.model_validate_json(key)
    xs = np.linspace(0.0, max(top, 1e-9), 4097)
    ys = curve_at(mult, xs)
    cum = np.concatenate([[0.0], np.cumsum((ys[1:] + ys[:-1]) / 2 * np.diff(xs))])
    return xs, cum


def activity_share(
    vb: VintageBehavior, parent: Node, store: Store, rows: np.ndarray, start_us: int, end_us: int
) -> np.ndarray:
    """Expected share of the full-timeframe count a parent produces: (1/T)∫ Π curves(age) dt over the part
    of the timeframe after its creation, at the ages it has then (a parent created before the timeframe
    starts is already older at its start). One curve: exact; several: tabulated product."""
    curves = vb.fanout_curves
    created = store.column(parent.id, vb.created_at_column)[rows].astype("datetime64[us]")
    c_us = np.where(np.isnat(created), start_us, created.astype(np.int64)).clip(None, end_us)
    age_lo = np.maximum(start_us - c_us, 0).astype(float)  # age at the first instant that counts
    age_hi = (end_us - c_us).astype(float)
    total = float(end_us - start_us)
    if len(curves) == 1:
        unit = UNIT_US[curves[0].time_unit]
        cum = curve_integral(curves[0], np.concatenate([age_lo, age_hi]) / unit) * unit
        return np.asarray((cum[len(c_us) :] - cum[: len(c_us)]) / total)
    grid = np.linspace(0.0, float(age_hi.max(initial=0.0)), 16385)  # age in us
    prod = np.ones_like(grid)
    for m in curves:
        prod *= curve_at(m, grid / UNIT_US[m.time_unit])
    cum = np.concatenate([[0.0], np.cumsum((prod[1:] + prod[:-1]) / 2 * np.diff(grid))])
    return np.asarray((np.interp(age_hi, grid, cum) - np.interp(age_lo, grid, cum)) / total)


def activity_cap(vb: VintageBehavior, span_us: int) -> float:
    """An upper bound of the product of fanout curves over ages 0..span (for rejection sampling)."""
    cap = 1.0
    for m in vb.fanout_curves:
        ages = np.linspace(0.0, span_us / UNIT_US[m.time_unit], 4097)
        cap *= float(curve_at(m, ages).max()) * 1.0001
    return cap


def activity_at(vb: VintageBehavior, created: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Π fanout curves at each child's age (used to place child events along the curve)."""
    out = np.ones(len(t))
    age_us = (t.astype("datetime64[us]") - created.astype("datetime64[us]")).astype(np.int64)
    for m in vb.fanout_curves:
        out *= curve_at(m, age_us / UNIT_US[m.time_unit])
    return out


class Vintage(BehaviourEngine[VintageBehavior]):
    def fanout_share(
        self, vb: VintageBehavior, parent: Node, store: Store, rows: np.ndarray, tf: tuple[int, int]
    ) -> np.ndarray | None:
        return activity_share(vb, parent, store, rows, *tf) if vb.fanout_curves else None

    def child_time_density(self, vb: VintageBehavior, block: Block, parent: Node) -> TimeDensity | None:
        """Children happen along the activity curve at their parent's age (rejection sampling against
        the curve's maximum over every age the timeframe holds)."""
        if not vb.fanout_curves:
            return None
        start, end = block.timeframe_us
        created = block.related_value(parent.id, vb.created_at_column).astype("datetime64[us]")
        created[np.isnat(created)] = np.datetime64(start, "us")  # as the fanout share counts it
        oldest = min(int(created.astype(np.int64).min(initial=start)), start)
        cap = activity_cap(vb, end - oldest)  # bounds the curve up to the oldest parent's age at the end
        return TimeDensity(cap, lambda rows, t: activity_at(vb, created[rows], t))

    def scale_values(
        self, vb: VintageBehavior, block: Block, parent: Node, ref: str, out: np.ndarray | float | None
    ) -> np.ndarray | float | None:
        for mult in vb.value_curves(ref):
            tcol = block.table.node.first_time_column()
            if tcol is None:
                raise GenerationError(
                    f"'{ref}' follows the vintage curve of '{parent.id}', but '{block.node_id}' has no "
                    "datetime column to measure each row's age at",
                    hint=f"add a datetime column to '{block.node_id}', or drop '{ref}' from applies_to",
                )
            created = block.related_value(parent.id, vb.created_at_column)
            age = block.values[tcol].astype("datetime64[us]") - created.astype("datetime64[us]")
            m = curve_at(mult, age.astype(np.int64) / UNIT_US[mult.time_unit])
            out = m if out is None else out * m
        return out
