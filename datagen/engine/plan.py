"""Planning: which table comes when, which column inside a table comes when, which columns later
tables read (kept in memory; the rest streams to disk), and the bounds each column is built inside
(from the language's one definition of how relations are made true, datagen.dsl.enforcement)."""

from __future__ import annotations

from dataclasses import dataclass, field
from graphlib import CycleError, TopologicalSorter

from datagen.dsl.enforcement import Bound, Enforcement, Made, Outcome, enforcement
from datagen.dsl.finishing import Step, cycle_message, deferred_columns, ordered_steps
from datagen.dsl.generators import StateAtGen
from datagen.dsl.models import Inequality, Node, Schema
from datagen.dsl.references import column_local_refs, node_reads, split_ref, table_dependencies
from datagen.errors import GenerationError

ExtraDeps = dict[str, dict[str, set[str]]]  # table -> column -> same-row columns it must follow


@dataclass
class TablePlan:
    node: Node
    index: int
    column_order: list[str]
    keep: set[str] = field(default_factory=set)
    bounds: dict[str, list[Bound]] = field(default_factory=dict)
    keep_rows: set[str] = field(default_factory=set)  # related tables whose row of each row is kept
    deferred: list[str] = field(default_factory=list)  # computed when the table is finished

    @property
    def id(self) -> str:
        return self.node.id


@dataclass
class Plan:
    schema: Schema
    order: list[str]
    tables: dict[str, TablePlan]
    notes: list[str]
    enforcement: Enforcement
    steps: list[Step] = field(default_factory=list)  # generate and finish steps, in order

    def table(self, table_id: str) -> TablePlan:
        return self.tables[table_id]


def _stable_topo(graph: dict[str, set[str]], position: dict[str, int]) -> list[str] | None:
    """Topological order that keeps declared order among independent items; None on a cycle."""
    ts = TopologicalSorter(graph)
    try:
        ts.prepare()
    except CycleError:
        return None
    out: list[str] = []
    while ts.is_active():
        ready = sorted(ts.get_ready(), key=position.__getitem__)
        out.extend(ready)
        ts.done(*ready)
    return out


def _column_order(node: Node, extra: dict[str, set[str]]) -> list[str] | None:
    names = set(node.column_names)
    graph = {c.name: (column_local_refs(node, c) | extra.get(c.name, set())) & names for c in node.columns}
    return _stable_topo(graph, {n: i for i, n in enumerate(node.column_names)})


def make_plan(schema: Schema) -> Plan:
    """Assumes `dsl.check` passed; raises GenerationError only for what checks cannot see."""
    order = _stable_topo(table_dependencies(schema), {n.id: i for i, n in enumerate(schema.nodes)})
    if order is None:
        raise GenerationError("tables depend on each other in a cycle (run `datagen check` for details)")
    nodes = {n.id: n for n in schema.nodes}
    made = enforcement(schema)
    notes = [_note(q, o) for q, o in zip(schema.constraints.inequalities, made.inequalities, strict=True)]
    extra_deps: ExtraDeps = {t: {c: set(d) for c, d in cols.items()} for t, cols in made.extra.items()}
    _vintage_value_deps(schema, nodes, extra_deps)
    _lifecycle_deps(schema, nodes, extra_deps)
    tables: dict[str, TablePlan] = {}
    for i, node in enumerate(schema.nodes):
        col_order = _column_order(node, extra_deps.get(node.id, {}))
        if col_order is None:
            raise GenerationError(f"columns of '{node.id}' refer to each other in a cycle")
        tables[node.id] = TablePlan(node, i, col_order, bounds=made.bounds.get(node.id, {}))
    _mark_kept(schema, tables)
    return Plan(schema, order, tables, notes, made, _finishing(schema, tables))


def _note(q: Inequality, outcome: Outcome) -> str:
    """What .metadata.json says about an inequality (the check step refuses any it cannot make)."""
    rule = f"{q.left} {q.op} {q.right}"
    if isinstance(outcome, Made):
        return outcome.note
    return f"{rule}: not made true by construction ({outcome.message})"


# --- deferred columns (rollups, running values; datagen/dsl/finishing.py) ------------------------------


def _finishing(schema: Schema, tables: dict[str, TablePlan]) -> list[Step]:
    """Which columns each table computes when it is finished, and the order of the steps."""
    for node in schema.nodes:
        deferred = set(deferred_columns(node))
        tables[node.id].deferred = [c for c in tables[node.id].column_order if c in deferred]
    steps, waiting = ordered_steps(schema)
    if waiting:
        raise GenerationError(cycle_message(waiting))
    return steps


def _vintage_value_deps(schema: Schema, nodes: dict[str, Node], extra: ExtraDeps) -> None:
    """A value scaled by a vintage curve needs its row's time (the child's age) first."""
    for parent in schema.nodes:
        if parent.vintage_behavior is None:
            continue
        for ref in parent.vintage_behavior.value_columns:
            parts = split_ref(ref)
            if parts and parts[0] in nodes and (tcol := nodes[parts[0]].first_time_column()):
                extra.setdefault(parts[0], {}).setdefault(parts[1], set()).add(tcol)


def _lifecycle_deps(schema: Schema, nodes: dict[str, Node], extra: ExtraDeps) -> None:
    """A row's end of life and its own states come from its walk, run while the row is generated: after
    the columns the walk reads (when the row starts, its segment, and an end a share of rows reach)."""
    for node in schema.nodes:
        lt = node.lifetime
        inputs = {lt.start} if lt is not None else set()
        if node.segment_behavior is not None:
            inputs.add(node.segment_behavior.segment_column)
        if node.life_start_column():
            inputs.add(node.life_start_column() or "")
        end = lt.end_column if lt is not None else None
        if lt is not None and end is not None:
            extra.setdefault(node.id, {}).setdefault(end, set()).update(inputs - {end})
        for col in node.columns:
            gen = col.generator
            walk = nodes.get(gen.state_at.walk) if isinstance(gen, StateAtGen) else None
            if walk is not None and walk.primary_parent == node.id:
                reads = inputs | ({end} if end and lt is not None and lt.end_walk is None else set())
                extra.setdefault(node.id, {}).setdefault(col.name, set()).update(reads - {col.name})


def _mark_kept(schema: Schema, tables: dict[str, TablePlan]) -> None:
    """Columns another table (or a later block of the same table) reads: every read a feature declares,
    the sources of the bounds, and the related rows a bound reaches through tables in between."""
    for node in schema.nodes:
        reads = [(r.table, r.column) for r in node_reads(schema, node)]
        for bs in tables[node.id].bounds.values():
            for b in bs:
                reads.append(b.source)
                for hop in b.path.hops[1:]:
                    tables[hop.table].keep_rows.add(hop.to)
        for table, column in reads:
            if table in tables:
                tables[table].keep.add(column)
