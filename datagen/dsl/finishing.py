"""Deferred columns, and the order of the steps that generate and finish tables (docs/architecture.md,
"Deferred columns").

A rollup summarises a table's children, which are generated after the table; a running value needs
every row of its parent, which may span several blocks, and a random earlier row of the same table
with the same key (a manager in the same department) may be in any earlier block. Such columns are
*deferred*: their table is generated block by block without them, and *finished* later, when what
they read is complete. Every column that reads a deferred column of its own row (an expression over a
rollup) is deferred too.

A table therefore takes one step (`generate`) or two (`generate`, then `finish`). What reads a column
waits for the step that makes it: the table's `generate` step for an ordinary column, its `finish`
step for a deferred one, and a rollup waits for its child's last step (the child's rows are summarised
as they are written). The checker and the engine's plan both order the steps here, so a schema the
check step accepts can always be generated."""

from __future__ import annotations

from graphlib import CycleError, TopologicalSorter
from typing import Literal

from datagen.dsl.base import Read
from datagen.dsl.models import Node, Schema
from datagen.dsl.references import column_local_refs, walk_columns

StepKind = Literal["generate", "finish"]
Step = tuple[StepKind, str]


def deferred_columns(node: Node) -> list[str]:
    """Columns of `node` computed when it is finished, in declared order: deferred generators and every
    column that reads one of them in its own row, directly or through other columns."""
    filled = walk_columns(node)
    found = {c.name for c in node.columns if c.generator.deferred_on(node) and c.name not in filled}
    grew = True
    while grew:
        grew = False
        for col in node.columns:
            if col.name not in found and col.name not in filled and column_local_refs(node, col) & found:
                found.add(col.name)
                grew = True
    return [c for c in node.column_names if c in found]


def last_step(schema: Schema, table: str) -> Step:
    """The step after which a table's rows are complete and written."""
    node = schema.node(table)
    return ("finish", table) if node is not None and deferred_columns(node) else ("generate", table)


def step_graph(schema: Schema) -> dict[Step, set[Step]]:
    """Each step -> the steps it must follow."""
    deferred = {n.id: set(deferred_columns(n)) for n in schema.nodes}

    def need(read: Read) -> Step:
        return (
            last_step(schema, read.table) if read.column in deferred[read.table] else ("generate", read.table)
        )

    graph: dict[Step, set[Step]] = {}
    for node in schema.nodes:
        gen: Step = ("generate", node.id)
        graph[gen] = {("generate", p) for p in node.parents or [] if p in deferred}
        later = deferred[node.id]
        for col in node.columns:
            reads = [
                *col.generator.reads(node, schema),
                *(r for m in col.modifiers for r in m.reads(node, schema)),
            ]
            step: Step = ("finish", node.id) if col.name in later else gen
            graph.setdefault(step, set())
            graph[step] |= {need(r) for r in reads if r.table in deferred and r.table != node.id}
            for r in col.generator.deferred_reads(node, schema):
                if r.table in deferred and r.table != node.id:
                    graph[step].add(last_step(schema, r.table))
        for effect in node.modifiers:
            graph[gen] |= {need(r) for r in effect.fanout_reads(node, schema) if r.table in deferred}
        for block in node.behaviours:
            graph[gen] |= {
                need(r) for r in block.reads(node, schema) if r.table in deferred and r.table != node.id
            }
        for pid in node.parents or []:
            parent = schema.node(pid)
            if parent is None or parent.id == node.id:
                continue
            for block in parent.behaviours:  # what a parent's blocks read of it shapes its children
                graph[gen] |= {need(r) for r in block.reads(parent, schema) if r.table == parent.id}
        if later:
            graph.setdefault(("finish", node.id), set()).add(gen)
    for step, before in graph.items():
        before.discard(step)
    return graph


def describe(step: Step) -> str:
    return f"{'generating' if step[0] == 'generate' else 'finishing'} {step[1]}"


def ordered_steps(schema: Schema) -> tuple[list[Step], list[Step]]:
    """(the steps in an order that respects `step_graph`, tables in declared order where free, and [])
    — or ([], the steps that wait for each other in a cycle)."""
    graph = step_graph(schema)
    position = {n.id: i for i, n in enumerate(schema.nodes)}
    ts = TopologicalSorter(graph)
    try:
        ts.prepare()
    except CycleError as exc:
        return [], list(exc.args[1])
    out: list[Step] = []
    while ts.is_active():
        ready = sorted(ts.get_ready(), key=lambda s: (position.get(s[1], -1), s[0] == "finish"))
        out.extend(ready)
        ts.done(*ready)
    return out, []


def cycle_message(cycle: list[Step]) -> str:
    """Why steps that wait for each other cannot be ordered, in words that say what to change."""
    chain = " -> ".join(describe(s) for s in cycle)
    return (
        f"the tables cannot be generated in any order: {chain}. A rollup or running value is known only "
        "once its table is finished (after the children it summarises), so nothing those children are "
        "generated from may read it (their parent's segment, creation time or a lookup); read the "
        "child columns directly, or compute the value another way"
    )
