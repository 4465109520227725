"""`vintage_behavior` (docs/schema-language.md §8.2): curves over a parent row's age at each child's own
time. An activity curve (`applies_to: fanout`) is a term of the children's intensity (a step function
of each parent's age, engine/intensity.py): the fanout becomes a rate, and children's times follow the
curve; a value curve multiplies listed child values at the child's age.

Everything is a vectorised function of parent attributes gathered for a block's rows."""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np

from datagen.dsl.behaviours import AgeMultiplier, VintageBehavior
from datagen.dsl.models import Node
from datagen.dsl.units import UNIT_US
from datagen.engine.behaviours import BehaviourEngine
from datagen.engine.intensity import ParentBlock, Steps
from datagen.engine.lifecycle import INT64_MIN, us_or
from datagen.errors import GenerationError

if TYPE_CHECKING:
    from datagen.engine.block import Block


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


AGE_CELLS = 64  # whole age units a parametric activity curve is cut into before cells grow geometrically
GROWTH = 1.25


def age_edges(mult: AgeMultiplier, max_age: float) -> np.ndarray:
    """Where an activity curve's steps fall, in its units of age: every whole unit of an array; for a
    parametric curve whole units first, then cells growing by a quarter, until `max_age`."""
    if isinstance(mult.curve, list):
        return np.arange(len(mult.curve), dtype=float)
    edges = list(np.arange(min(AGE_CELLS, int(np.ceil(max_age)) + 1), dtype=float))
    while edges[-1] < max_age:
        edges.append(edges[-1] * GROWTH)
    return np.asarray(edges)


def curve_steps(mult: AgeMultiplier, created_us: np.ndarray, max_age: float) -> Steps:
    """An activity curve as a step function per parent: its value (its mean over each age cell for a
    parametric curve) from each cell's start on, the first value before the parent's creation."""
    edges = age_edges(mult, max_age)
    if isinstance(mult.curve, list):
        values = np.asarray(mult.curve, dtype=float)
    else:
        ends = np.append(edges[1:], np.inf)
        width = np.where(np.isfinite(ends), ends - edges, 1.0)
        whole = curve_integral(mult, np.where(np.isfinite(ends), ends, edges)) - curve_integral(mult, edges)
        values = np.where(np.isfinite(ends), whole / width, curve_at(mult, edges))
    n, m = len(created_us), len(edges)
    unit = UNIT_US[mult.time_unit]
    times = created_us[:, None] + (edges[None, :] * unit).astype(np.int64)
    times[:, 0] = INT64_MIN
    return Steps(np.repeat(np.arange(n, dtype=np.int64), m), times.ravel(), np.tile(values, n))


class Vintage(BehaviourEngine[VintageBehavior]):
    def rate_steps(self, vb: VintageBehavior, pb: ParentBlock) -> list[Steps]:
        """Children happen along the activity curves at their parent's age (a parent with no creation
        time is as old as the timeframe)."""
        if not vb.fanout_curves or pb.fact.primary_parent != pb.parent.id:
            return []
        start, end = pb.tf
        created = us_or(pb.column(vb.created_at_column), start)
        oldest = min(int(created.min(initial=start)), start)
        return [curve_steps(m, created, (end - oldest) / UNIT_US[m.time_unit]) for m in vb.fanout_curves]

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
