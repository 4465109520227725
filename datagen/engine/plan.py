"""Planning: which table comes when, which column inside a table comes when, which columns later
tables read (kept in memory; the rest streams to disk), and which inequalities the engine makes true
by construction."""

from __future__ import annotations

from dataclasses import dataclass, field
from graphlib import CycleError, TopologicalSorter

from datagen.dsl.finishing import Step, cycle_message, deferred_columns, ordered_steps
from datagen.dsl.generators import DatetimeSeriesGen
from datagen.dsl.models import Inequality, Node, Schema
from datagen.dsl.references import column_local_refs, node_reads, split_ref, table_dependencies
from datagen.errors import GenerationError

Ref = tuple[str, str]  # (table, column)
ExtraDeps = dict[str, dict[str, set[str]]]  # table -> column -> same-row columns it must follow


@dataclass(frozen=True)
class Bound:
    """`column` must be >= (lo) or <= (hi) `source_table.source_column` of the same row or its parent."""

    side: str  # "lo" | "hi"
    source_table: str
    source_column: str
    strict: bool


@dataclass
class TablePlan:
    node: Node
    index: int
    column_order: list[str]
    keep: set[str] = field(default_factory=set)
    bounds: dict[str, list[Bound]] = field(default_factory=dict)
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
    notes: list[str] = []
    bounds: dict[str, dict[str, list[Bound]]] = {}
    extra_deps: ExtraDeps = {}
    for q in schema.constraints.inequalities:
        notes.append(enforce_inequality(nodes, q, bounds, extra_deps))
    _behaviour_bounds(schema, nodes, bounds)
    _vintage_value_deps(schema, nodes, extra_deps)
    tables: dict[str, TablePlan] = {}
    for i, node in enumerate(schema.nodes):
        col_order = _column_order(node, extra_deps.get(node.id, {}))
        if col_order is None:
            raise GenerationError(f"columns of '{node.id}' refer to each other in a cycle")
        tables[node.id] = TablePlan(node, i, col_order, bounds=bounds.get(node.id, {}))
    _mark_kept(schema, tables)
    return Plan(schema, order, tables, notes, _finishing(schema, tables))


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


def is_deferred(nodes: dict[str, Node], ref: Ref) -> bool:
    """Is `table.column` computed when its table is finished (so no sampling bound can read it)?"""
    node = nodes.get(ref[0])
    return node is not None and ref[1] in deferred_columns(node)


# --- inequalities -------------------------------------------------------------------------------------


def is_series(nodes: dict[str, Node], ref: Ref) -> bool:
    """Is `table.column` a datetime_series (a column the engine can draw inside bounds)?"""
    col = nodes[ref[0]].column(ref[1])
    return col is not None and isinstance(col.generator, DatetimeSeriesGen)


def related(nodes: dict[str, Node], a: str, b: str) -> bool:
    """Is table `b` table `a` itself or one of its parents (so a row of `a` knows its row of `b`)?"""
    return a == b or b in (nodes[a].parents or [])


def reads_transitively(nodes: dict[str, Node], extra: ExtraDeps, ref: Ref, other: str) -> bool:
    """Does `ref` (table.column) read `other`, a column of the same table, directly or through the
    columns it reads (declared references and the dependencies bounds already added)?"""
    table, column = ref
    node = nodes[table]
    seen: set[str] = set()
    todo = [column]
    while todo:
        name = todo.pop()
        col = node.column(name)
        if col is None or name in seen:
            continue
        seen.add(name)
        refs = column_local_refs(node, col) | extra.get(table, {}).get(name, set())
        if other in refs:
            return True
        todo.extend(refs)
    return False


def can_bound(nodes: dict[str, Node], extra: ExtraDeps, target: Ref, source: Ref) -> bool:
    """A bound from a same-table column needs that column first; not when it reads the target."""
    return (
        target != source
        and not is_deferred(nodes, source)
        and (target[0] != source[0] or not reads_transitively(nodes, extra, source, target[1]))
    )


def enforce_inequality(
    nodes: dict[str, Node], q: Inequality, bounds: dict[str, dict[str, list[Bound]]], extra: ExtraDeps
) -> str:
    """Turn a declared inequality into a sampling bound where a datetime_series side can be drawn
    after the other (the larger side above the smaller, or else the smaller below the larger); record it
    in `bounds` (and the column order it needs in `extra`). Returns the note that says what was done."""
    left, right = split_ref(q.left), split_ref(q.right)
    validated = f"{q.left} {q.op} {q.right}: not enforced by construction; the validator checks it"
    if not left or not right or q.op == "==":
        return validated
    big, small = (left, right) if q.op in (">", ">=") else (right, left)
    for target, source, side, word in ((big, small, "lo", "after"), (small, big, "hi", "before")):
        if (
            is_series(nodes, target)
            and related(nodes, target[0], source[0])
            and can_bound(nodes, extra, target, source)
        ):
            bounds.setdefault(target[0], {}).setdefault(target[1], []).append(
                Bound(side, source[0], source[1], q.op in (">", "<"))
            )
            if target[0] == source[0]:
                extra.setdefault(target[0], {}).setdefault(target[1], set()).add(source[1])
            return f"{q.left} {q.op} {q.right}: enforced ({'.'.join(target)} drawn {word} {'.'.join(source)})"
    return validated


def _behaviour_bounds(
    schema: Schema, nodes: dict[str, Node], bounds: dict[str, dict[str, list[Bound]]]
) -> None:
    """The bounds a parent's behaviour blocks put on its children's own time (a child never happens
    before its parent's creation, docs/schema-language.md §8.2), drawn inside like an inequality."""
    for node in schema.nodes:
        parent = nodes.get(node.primary_parent or "")
        tcol = node.first_time_column()
        col = node.column(tcol) if tcol else None
        if parent is None or tcol is None or col is None or not isinstance(col.generator, DatetimeSeriesGen):
            continue
        for block in parent.behaviours:
            for side, column in block.child_time_bounds():
                b = Bound(side, parent.id, column, False)
                if b not in bounds.get(node.id, {}).get(tcol, []):
                    bounds.setdefault(node.id, {}).setdefault(tcol, []).append(b)


def _vintage_value_deps(schema: Schema, nodes: dict[str, Node], extra: ExtraDeps) -> None:
    """A value scaled by a vintage curve needs its row's time (the child's age) first."""
    for parent in schema.nodes:
        if parent.vintage_behavior is None:
            continue
        for ref in parent.vintage_behavior.value_columns:
            parts = split_ref(ref)
            if parts and parts[0] in nodes and (tcol := nodes[parts[0]].first_time_column()):
                extra.setdefault(parts[0], {}).setdefault(parts[1], set()).add(tcol)


def _mark_kept(schema: Schema, tables: dict[str, TablePlan]) -> None:
    """Columns another table (or a later block of the same table) reads: every read a feature declares,
    and the sources of the sampling bounds."""
    for node in schema.nodes:
        reads = [(r.table, r.column) for r in node_reads(schema, node)]
        reads += [(b.source_table, b.source_column) for bs in tables[node.id].bounds.values() for b in bs]
        for table, column in reads:
            if table in tables:
                tables[table].keep.add(column)
