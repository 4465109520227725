"""`segment_behavior` (docs/schema-language.md §8.1): children of a row in segment s get fanout ×
fanout_multiplier and the listed values × value_multiplier, in whichever position the row is their
parent (and rows descended from them through first parents, the values too). Each multiplier is
computed once per parent table (by segment), and rows gather it by their parent (or ancestor) row —
integers, never labels matched row by row."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from datagen.dsl.behaviours import SegmentBehavior
from datagen.dsl.models import Node
from datagen.engine.behaviours import BehaviourEngine

if TYPE_CHECKING:
    from datagen.engine.block import Block, Store


def segment_multiplier(sb: SegmentBehavior, segments: np.ndarray, field: str) -> np.ndarray:
    """Per row: the `field` (fanout_multiplier / value_multiplier) of the row's segment, 1 if unlisted."""
    names = list(sb.behaviors)
    factors = np.array([getattr(sb.behaviors[s], field) for s in names] + [1.0])
    pos = pd.Index(names).get_indexer(pd.Series(segments, dtype=object).astype(str))
    return factors[np.where(pos < 0, len(names), pos)]


def parent_factors(sb: SegmentBehavior, parent: Node, store: Store, field: str) -> np.ndarray:
    """`field` of each row of `parent` by its segment, computed once per table."""
    key = (field, parent.id)
    if key not in store.derived:
        store.derived[key] = segment_multiplier(sb, store.column(parent.id, sb.segment_column), field)
    found = store.derived[key]
    assert found is not None
    return found


class Segments(BehaviourEngine[SegmentBehavior]):
    def fanout_factor(self, sb: SegmentBehavior, parent: Node, store: Store, rows: np.ndarray) -> np.ndarray:
        return np.asarray(parent_factors(sb, parent, store, "fanout_multiplier")[rows])

    def max_fanout_factor(self, sb: SegmentBehavior) -> float:
        return max([b.fanout_multiplier for b in sb.behaviors.values()] + [1.0])

    def reference_weights(self, sb: SegmentBehavior, parent: Node, store: Store) -> np.ndarray | None:
        """A row in segment s is drawn fanout_multiplier(s) times as often by a child for which `parent`
        is a further parent, so it gets children like a primary parent would (§8.1, any position)."""
        if all(b.fanout_multiplier == 1.0 for b in sb.behaviors.values()):
            return None
        cum = np.cumsum(parent_factors(sb, parent, store, "fanout_multiplier"))
        return cum if len(cum) and cum[-1] > 0 else None

    def scale_values(
        self, sb: SegmentBehavior, block: Block, parent: Node, ref: str, out: np.ndarray | float | None
    ) -> np.ndarray | float | None:
        if ref not in sb.applies_to_columns:
            return out
        per_parent = parent_factors(sb, parent, block.store, "value_multiplier")
        rows = block.ancestor_rows(parent.id)
        m = np.where(rows >= 0, per_parent[np.maximum(rows, 0)], 1.0) if len(per_parent) else 1.0
        return m if out is None else out * m
