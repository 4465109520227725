"""Planning: which table comes when, which column inside a table comes when, which columns later
tables read (kept in memory; the rest streams to disk), and which inequalities the engine makes true
by construction."""

from __future__ import annotations

from dataclasses import dataclass, field
from graphlib import CycleError, TopologicalSorter

from datagen.dsl.models import Node, Schema
from datagen.dsl.references import column_local_refs, first_datetime_column, split_ref, table_dependencies
from datagen.errors import GenerationError

FLIP = {"<": ">", "<=": ">=", ">": "<", ">=": "<="}


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

    @property
    def id(self) -> str:
        return self.node.id


@dataclass
class Plan:
    schema: Schema
    order: list[str]
    tables: dict[str, TablePlan]
    notes: list[str]

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
    bounds, extra_deps = _inequality_bounds(schema, nodes, notes)
    _vintage_value_deps(schema, nodes, extra_deps)
    _burst_deps(schema, extra_deps)
    tables: dict[str, TablePlan] = {}
    for i, node in enumerate(schema.nodes):
        col_order = _column_order(node, extra_deps.get(node.id, {}))
        if col_order is None:
            raise GenerationError(f"columns of '{node.id}' refer to each other in a cycle")
        tables[node.id] = TablePlan(node, i, col_order, bounds=bounds.get(node.id, {}))
    _mark_kept(schema, nodes, tables)
    return Plan(schema, order, tables, notes)


def _inequality_bounds(
    schema: Schema, nodes: dict[str, Node], notes: list[str]
) -> tuple[dict[str, dict[str, list[Bound]]], dict[str, dict[str, set[str]]]]:
    """Turn declared inequalities on datetime_series columns into sampling bounds."""
    bounds: dict[str, dict[str, list[Bound]]] = {}
    extra: dict[str, dict[str, set[str]]] = {}

    def add(table: str, column: str, bound: Bound) -> None:
        bounds.setdefault(table, {}).setdefault(column, []).append(bound)

    def series(ref: tuple[str, str]) -> bool:
        col = nodes[ref[0]].column(ref[1])
        return col is not None and col.kind == "datetime_series"

    def related(a: str, b: str) -> bool:
        return a == b or b in (nodes[a].parents or [])

    def needs(table: str, column: str, other: str) -> bool:
        """Does `column` of `table` (transitively) read `other` of the same table?"""
        node = nodes[table]
        seen, todo = set(), [column]
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

    def can_bound(target: tuple[str, str], source: tuple[str, str]) -> bool:
        """A bound from a same-table column needs that column first; not when it reads the target."""
        return target != source and (target[0] != source[0] or not needs(*source, target[1]))

    for q in schema.constraints.inequalities:
        left, right = split_ref(q.left), split_ref(q.right)
        if not left or not right or q.op == "==":
            notes.append(f"{q.left} {q.op} {q.right}: not enforced by construction; the validator checks it")
            continue
        big, small = (left, right) if q.op in (">", ">=") else (right, left)
        # Draw the larger side above the smaller one, or else the smaller below the larger.
        for target, source, side, word in ((big, small, "lo", "after"), (small, big, "hi", "before")):
            if series(target) and related(target[0], source[0]) and can_bound(target, source):
                add(target[0], target[1], Bound(side, source[0], source[1], q.op in (">", "<")))
                if target[0] == source[0]:
                    extra.setdefault(target[0], {}).setdefault(target[1], set()).add(source[1])
                notes.append(
                    f"{q.left} {q.op} {q.right}: enforced ({'.'.join(target)} drawn {word} "
                    f"{'.'.join(source)})"
                )
                break
        else:
            notes.append(f"{q.left} {q.op} {q.right}: not enforced by construction; the validator checks it")
    # Children never happen before their parent's creation (vintage, DSL.md §8.2).
    for node in schema.nodes:
        parent = nodes.get(node.primary_parent or "")
        if parent is None or parent.vintage_behavior is None:
            continue
        tcol = first_datetime_column(node)
        col = node.column(tcol) if tcol else None
        if col is not None and col.kind == "datetime_series":
            b = Bound("lo", parent.id, parent.vintage_behavior.created_at_column, False)
            if b not in bounds.get(node.id, {}).get(tcol, []):
                add(node.id, tcol, b)
    return bounds, extra


def _vintage_value_deps(
    schema: Schema, nodes: dict[str, Node], extra: dict[str, dict[str, set[str]]]
) -> None:
    """A value scaled by a vintage curve needs its row's time (the child's age) first."""
    for parent in schema.nodes:
        if parent.vintage_behavior is None:
            continue
        for mult in parent.vintage_behavior.age_based_multipliers.values():
            for ref in mult.applies_to if isinstance(mult.applies_to, list) else []:
                parts = split_ref(ref)
                if parts and parts[0] in nodes and (tcol := first_datetime_column(nodes[parts[0]])):
                    extra.setdefault(parts[0], {}).setdefault(parts[1], set()).add(tcol)


def _burst_deps(schema: Schema, extra: dict[str, dict[str, set[str]]]) -> None:
    """An outlier burst is a window of time: its column needs the table's time column first."""
    for node in schema.nodes:
        for col in node.columns:
            if any(m.transform == "outliers" and m.args.mode == "burst" for m in col.modifiers):
                tcol = first_datetime_column(node, exclude=col.name)
                if tcol:
                    extra.setdefault(node.id, {}).setdefault(col.name, set()).add(tcol)


def _mark_kept(schema: Schema, nodes: dict[str, Node], tables: dict[str, TablePlan]) -> None:
    """Columns another table (or a later block of the same table) reads."""

    def keep(ref: str | None) -> None:
        parts = split_ref(ref) if ref else None
        if parts and parts[0] in tables:
            tables[parts[0]].keep.add(parts[1])

    for node in schema.nodes:
        for col in node.columns:
            if col.kind == "lookup":
                keep(col.args.from_)
                src = split_ref(col.args.from_)
                for source in (col.args.on or {}).values():
                    keep(f"{src[0]}.{source}" if src else None)
            elif col.kind == "choice":
                keep(col.args.choices_ref)
            for mod in col.modifiers:
                if mod.transform == "effect":
                    _keep_effect(mod.args, keep)
        for mod in node.modifiers:
            _keep_effect(mod.args, keep)
            parent = nodes.get(node.primary_parent or "")
            if parent is not None:
                for local in mod.args.on:
                    keep(f"{parent.id}.{local}")
                keep(f"{parent.id}.{mod.args.time_column or first_datetime_column(parent)}")
        for bs in tables[node.id].bounds.values():
            for b in bs:
                keep(f"{b.source_table}.{b.source_column}")
        if node.segment_behavior is not None:
            keep(f"{node.id}.{node.segment_behavior.segment_column}")
        if node.vintage_behavior is not None:
            keep(f"{node.id}.{node.vintage_behavior.created_at_column}")
        if node.stage_config is not None or node.state_transition_model is not None:
            parent = nodes.get(node.primary_parent or "")
            if parent is not None:
                tcol = first_datetime_column(parent)
                if tcol:
                    keep(f"{parent.id}.{tcol}")


def _keep_effect(args, keep) -> None:
    t = args.effect_table
    for ek in args.on.values():
        keep(f"{t}.{ek}")
    keep(f"{t}.{args.window.start_col}")
    keep(f"{t}.{args.window.end_col}")
    keep(f"{t}.{args.map.field}")
