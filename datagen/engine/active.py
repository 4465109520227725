"""`active_in` (docs/schema-language.md §10.3): a child fact's rate at each instant is the weight of the
state its parent's walk is in then — a step function per parent, from the parent block's walk (states
not listed weigh 0, and so does the time before the walk starts)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from datagen.dsl.behaviours import ActiveIn
from datagen.engine.behaviours import BehaviourEngine
from datagen.engine.intensity import ParentBlock, Steps
from datagen.engine.lifecycle import INT64_MIN, walk_of_stored_block


class StateRates(BehaviourEngine[ActiveIn]):
    def rate_steps(self, spec: ActiveIn, pb: ParentBlock) -> list[Steps]:
        walk_node = pb.schema.node(spec.walk)
        assert walk_node is not None  # the check step makes sure
        result = walk_of_stored_block(pb.store, pb.schema, pb.seed, walk_node, pb.k, pb.rows, pb.tf)
        n, rows = len(pb.rows), len(result.times)
        parent = np.empty(n + rows, dtype=np.int64)
        time = np.empty(n + rows, dtype=np.int64)
        value = np.empty(n + rows)
        first = result.offsets[:-1] + np.arange(n)  # each parent's leading "not started yet" entry
        entries = np.arange(rows) + result.parent + 1
        parent[first], time[first], value[first] = np.arange(n), INT64_MIN, 0.0
        weights = pd.Series(result.labels, dtype=object).map(spec.states).fillna(0.0).to_numpy(float)
        parent[entries], time[entries], value[entries] = result.parent, result.times, weights
        return [Steps(parent, time, value)]
