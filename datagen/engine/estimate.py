"""How long a run will take, estimated before any work from the expected rows and the columns' kinds.

seconds = Σ over tables of rows × (per-row cost + Σ per-value cost of each column's generator)
          × a behaviour factor

The costs are measured by `benchmarks/bench_costs.py` (generation plus writing Parquet, one process,
on the 2-core development machine) and set to about twice what it measured there when idle, so the
estimate errs long. It exists to warn before a run that would take hours, not to predict the second.
"""

from __future__ import annotations

from dataclasses import dataclass

from datagen.dsl.generators import StateAtGen
from datagen.dsl.models import Node
from datagen.engine.generate import Engine
from datagen.engine.intensity import rated

LONG_RUN_SECONDS = 3600.0
SECONDS_PER_ROW = 0.2e-6  # a row's share of block bookkeeping, Arrow tables, Parquet framing
SECONDS_PER_VALUE = {
    "sequence": 0.2e-6,
    "choice": 0.25e-6,
    "distribution": 0.3e-6,
    "datetime_series": 0.5e-6,
    "faker": 0.2e-6,  # once its value pool is built (seconds, whatever the rows)
    "lookup": 0.2e-6,
    "expression": 0.2e-6,
    "enum_list": 0.1e-6,
}
UNKNOWN_VALUE_SECONDS = 0.5e-6  # a generator kind the table above does not know yet
# A fact whose count is a rate over its parent's life (an age curve, a lifetime, `active_in`), its
# times drawn from the parent's intensity, or that reads a walk's state (`state_at`) costs 1.2-1.75x a
# plain fact (benchmarks/bench_behaviours.py); any other behaviour block (segments, trends, funnels,
# state walks, value curves) up to a quarter more.
RATED_FACTOR = 2.0
BEHAVIOUR_FACTOR = 1.25


@dataclass(frozen=True)
class RunEstimate:
    rows: float
    seconds: float

    @property
    def long(self) -> bool:
        return self.seconds > LONG_RUN_SECONDS

    def describe(self) -> str:
        """`about 3.2 hours (2.0e+10 rows)`."""
        s = self.seconds
        if s >= 3600:
            when = f"{s / 3600:.1f} hours"
        elif s >= 60:
            when = f"{s / 60:.0f} minutes"
        else:
            when = f"{s:.0f} seconds"
        rows = f"{self.rows:,.0f}" if self.rows < 1e9 else f"{self.rows:.1e}"
        return f"about {when} ({rows} rows)"


def _row_seconds(node: Node, nodes: dict[str, Node]) -> float:
    values = sum(SECONDS_PER_VALUE.get(c.kind, UNKNOWN_VALUE_SECONDS) for c in node.columns)
    per_row = SECONDS_PER_ROW + values
    parents = [nodes[p] for p in node.parents or [] if p in nodes]
    reads_a_walk = any(isinstance(c.generator, StateAtGen) for c in node.columns)
    if reads_a_walk or any(rated(node, p) for p in parents):
        return per_row * RATED_FACTOR
    behaviours = (
        node.segment_behavior,
        node.vintage_behavior,
        node.stage_config,
        node.state_transition_model,
        *(p.segment_behavior for p in parents),
        *(p.vintage_behavior for p in parents),
    )
    return per_row * (BEHAVIOUR_FACTOR if any(b is not None for b in behaviours) else 1.0)


def estimate_run(engine: Engine) -> RunEstimate:
    """Rows and seconds of the whole run, from `Engine.estimate_rows` (no data is generated)."""
    nodes = {n.id: n for n in engine.schema.nodes}
    rows = engine.estimate_rows()
    seconds = sum(rows[tid] * _row_seconds(nodes[tid], nodes) for tid in rows)
    return RunEstimate(sum(rows.values()), seconds)
