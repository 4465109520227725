"""How behaviour blocks act on generation: the hooks a block's engine implementation may fill, and the
place that combines the value multipliers.

The world model (docs/architecture.md) reads a child table as a point process on its parent's life:
each parent row has an intensity `rate × activity × segment × vintage(age(t)) × state(t) × …`, zero
outside its life. The hooks are the terms of that product: a factor per parent row (`fanout_factor`),
a step function of time per parent row (`rate_steps`, combined by engine/intensity.py into the
children's counts and times), a multiplier of listed child values (`scale_values`), the weight of a
row when a child draws it as a further parent (`reference_weights`), and the columns of its own table a
block fills (`fills`, `fill_column`). Every hook defaults to "no effect", so a block fills only what it
changes."""

from __future__ import annotations

from typing import TYPE_CHECKING, Generic, TypeVar

import numpy as np

from datagen.dsl.behaviours import BehaviourBlock
from datagen.dsl.generators import LookupGen
from datagen.dsl.models import Node
from datagen.dsl.related_rows import first_parent_line

if TYPE_CHECKING:
    from datagen.engine.block import Block, Store
    from datagen.engine.intensity import ParentBlock, Steps

B = TypeVar("B", bound=BehaviourBlock)


class BehaviourEngine(Generic[B]):
    """The engine's implementation of one kind of behaviour block."""

    def fanout_factor(self, spec: B, parent: Node, store: Store, rows: np.ndarray) -> np.ndarray | None:
        """Multiplier of the children of each of `rows` (rows of `parent`), before table-level effects."""
        return None

    def rate_steps(self, spec: B, pb: ParentBlock) -> list[Steps]:
        """How the block makes the rate of a child fact vary over each parent row's life (pb: one block
        of parent rows and the child fact), as step functions of time that multiply."""
        return []

    def fills(self, spec: B) -> set[str]:
        """Columns of the block's own table it fills (their generators are placeholders)."""
        return set()

    def fill_column(self, spec: B, block: Block, name: str) -> np.ndarray:
        """The values of one of the columns it fills, for the rows of `block`."""
        raise NotImplementedError

    def max_fanout_factor(self, spec: B) -> float:
        """The largest `fanout_factor` (for size estimates before anything is generated)."""
        return 1.0

    def reference_weights(self, spec: B, parent: Node, store: Store) -> np.ndarray | None:
        """Cumulative weights of `parent`'s rows for a child that draws one as a further parent."""
        return None

    def scale_values(
        self, spec: B, block: Block, parent: Node, ref: str, out: np.ndarray | float | None
    ) -> np.ndarray | float | None:
        """`out` times this block's multiplier of the values of `ref` (`table.column`) in the block;
        `parent` is a parent of the block's table or a table further up its first parents."""
        return out


def value_multiplier(block: Block, column: str) -> np.ndarray | float | None:
    """Product of the multipliers the parents' behaviour blocks put on `table.column`, taken from the
    parent rows this block's rows belong to (any parent position), and those of the tables further up
    its line of first parents (a customer's segment on its orders' lines). Keys are never scaled."""
    node = block.table.node
    if _is_key(block, column):
        return None  # keys are never scaled, whatever a schema lists
    ref = f"{block.node_id}.{column}"
    out: np.ndarray | float | None = None
    parents = node.parents or []
    further_up = [t for t in first_parent_line(block.schema, node)[1:] if t not in parents]
    for pid in [*parents, *further_up]:
        parent = block.schema.node(pid)
        assert parent is not None
        for spec in parent.behaviours:
            out = block.engines(spec).scale_values(spec, block, parent, ref, out)
    return out


def _is_key(block: Block, column: str) -> bool:
    """The table's PK, or a lookup into another table's PK (a foreign or self-reference key)."""
    node = block.table.node
    if column == node.pk:
        return True
    col = node.column(column)
    return (
        col is not None and isinstance(col.generator, LookupGen) and col.generator.is_key_into(block.schema)
    )
