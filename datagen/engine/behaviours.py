"""How behaviour blocks act on generation: the hooks a block's engine implementation may fill, and the
two places that combine them (a value's multiplier; where a child's time falls).

The world model (docs/architecture.md) reads a child table as a point process on its parent's life:
each parent row has an intensity `rate × segment × vintage(age(t)) × …`. The hooks are the terms of
that product: a factor per parent row (`fanout_factor`), the share of the timeframe's intensity a row's
life integrates to (`fanout_share`), a density over the child's time (`child_time_density`), a
multiplier of listed child values (`scale_values`), and the weight of a row when a child draws it as a
further parent (`reference_weights`). Every hook defaults to "no effect", so a block fills only what it
changes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Generic, TypeVar

import numpy as np

from datagen.dsl.behaviours import BehaviourBlock
from datagen.dsl.generators import LookupGen
from datagen.dsl.models import Node

if TYPE_CHECKING:
    from datagen.engine.block import Block, Store

B = TypeVar("B", bound=BehaviourBlock)


@dataclass(frozen=True)
class TimeDensity:
    """Where a parent's children fall in time, up to a constant: `weight(rows, t)` at times `t` of the
    block's rows `rows` (an index), never above `cap`."""

    cap: float
    weight: Callable[[slice | np.ndarray, np.ndarray], np.ndarray]


class BehaviourEngine(Generic[B]):
    """The engine's implementation of one kind of behaviour block."""

    def fanout_factor(self, spec: B, parent: Node, store: Store, rows: np.ndarray) -> np.ndarray | None:
        """Multiplier of the children of each of `rows` (rows of `parent`), before table-level effects."""
        return None

    def fanout_share(
        self, spec: B, parent: Node, store: Store, rows: np.ndarray, tf: tuple[int, int]
    ) -> np.ndarray | None:
        """Share of the whole-timeframe count each row produces (its intensity integrated over time)."""
        return None

    def max_fanout_factor(self, spec: B) -> float:
        """The largest `fanout_factor` (for size estimates before anything is generated)."""
        return 1.0

    def reference_weights(self, spec: B, parent: Node, store: Store) -> np.ndarray | None:
        """Cumulative weights of `parent`'s rows for a child that draws one as a further parent."""
        return None

    def scale_values(
        self, spec: B, block: Block, parent: Node, ref: str, out: np.ndarray | float | None
    ) -> np.ndarray | float | None:
        """`out` times this block's multiplier of the values of `ref` (`table.column`) in the block."""
        return out

    def child_time_density(self, spec: B, block: Block, parent: Node) -> TimeDensity | None:
        """How the block shapes the times of `parent`'s children (the block's rows)."""
        return None


def value_multiplier(block: Block, column: str) -> np.ndarray | float | None:
    """Product of the multipliers the parents' behaviour blocks put on `table.column`, taken from the
    parent rows this block's rows belong to (any parent position). Keys are never scaled."""
    node = block.table.node
    if _is_key(block, column):
        return None  # keys are never scaled, whatever a schema lists
    ref = f"{block.node_id}.{column}"
    out: np.ndarray | float | None = None
    for pid in node.parents or []:
        parent = block.schema.node(pid)
        assert parent is not None
        for spec in parent.behaviours:
            out = block.engines(spec).scale_values(spec, block, parent, ref, out)
    return out


def time_density(block: Block, parent: Node) -> TimeDensity | None:
    """The product of the densities the parent's blocks put on its children's times (None: uniform)."""
    found = [
        d for spec in parent.behaviours if (d := block.engines(spec).child_time_density(spec, block, parent))
    ]
    if not found:
        return None
    if len(found) == 1:
        return found[0]

    def weight(rows: slice | np.ndarray, t: np.ndarray) -> np.ndarray:
        out = np.ones(len(t))
        for d in found:
            out *= d.weight(rows, t)
        return out

    return TimeDensity(float(np.prod([d.cap for d in found])), weight)


def _is_key(block: Block, column: str) -> bool:
    """The table's PK, or a lookup into another table's PK (a foreign or self-reference key)."""
    node = block.table.node
    if column == node.pk:
        return True
    col = node.column(column)
    return (
        col is not None and isinstance(col.generator, LookupGen) and col.generator.is_key_into(block.schema)
    )
