"""Where a schema refers to tables and columns, gathered from the features' descriptors. The checker
validates these references and the engine orders and keeps work by them, so both read them here."""

from __future__ import annotations

from datagen.dsl.base import Read, split_ref
from datagen.dsl.generators import ChoiceGen, LookupGen, SequenceGen
from datagen.dsl.models import Column, Node, Schema

__all__ = [
    "column_local_refs",
    "found_by_value",
    "node_reads",
    "split_ref",
    "table_dependencies",
    "walk_columns",
]


def column_local_refs(node: Node, column: Column) -> set[str]:
    """Columns of the same table this column needs first (its generator's and its modifiers' reads)."""
    refs = column.generator.local_columns(column.name)
    for mod in column.modifiers:
        refs |= mod.local_columns(node, column)
    refs.discard(column.name)
    return refs


def node_reads(schema: Schema, node: Node) -> list[Read]:
    """Every column of another row that generating `node` reads, or that its children read through its
    behaviour blocks (a segment, a creation time)."""
    reads: list[Read] = []
    for col in node.columns:
        reads += col.generator.reads(node, schema)
        for mod in col.modifiers:
            reads += mod.reads(node, schema)
    for effect in node.modifiers:
        reads += effect.fanout_reads(node, schema)
    if node.fanout is not None:
        reads += node.fanout.reads(node, schema)
    for block in node.behaviours:
        reads += block.reads(node, schema)
    return reads


def table_dependencies(schema: Schema) -> dict[str, set[str]]:
    """node id -> ids it must be generated after: its parents and every table it reads (self-references
    excluded)."""
    deps: dict[str, set[str]] = {n.id: set() for n in schema.nodes}
    known = set(deps)
    for node in schema.nodes:
        targets = [*(node.parents or []), *(r.table for r in node_reads(schema, node))]
        deps[node.id] |= {t for t in targets if t != node.id and t in known}
    return deps


def walk_columns(node: Node) -> set[str]:
    """Columns a behaviour block fills on this node (their generators are placeholders): a walk's, and
    the end of a lifetime, the conversion times of an attribution."""
    walk = node.walk
    filled = walk.walk_columns(node).filled(node) if walk is not None else set()
    if node.lifetime is not None:
        filled |= node.lifetime.filled_columns()
    if node.attribution is not None and (t := node.attribution.conversion_time_column(node)):
        filled.add(t)
    return filled


def found_by_value(schema: Schema) -> set[str]:
    """Tables whose rows other rows find by a key they make themselves: a `lookup` with `on` whose key
    column the row computes, draws or lists (`day(read_at)`, a choice of literal codes, a code of a
    vocab however many lookups carried it) rather than copies from a table's own key (a sequence,
    which shrinks with its table). Such a table is a key space — the days of a month, the teachers of
    each subject — so `--scale` and a preview sample leave it whole (docs/schema-language.md §3): with
    fewer rows, keys would find no row. A fact found so keeps its primary parents whole with it."""
    found: set[str] = set()
    for node in schema.nodes:
        for col in node.columns:
            gen = col.generator
            if not isinstance(gen, LookupGen) or not gen.lookup.on:
                continue
            source = gen.source
            if source is None or source[0] == node.id:
                continue
            for local in gen.lookup.on:
                origin = _key_origin(schema, node, local)
                if origin is not None and not isinstance(origin.generator, SequenceGen):
                    found.add(source[0])
    for table in list(found):  # a fact's rows come from its parents': they stay whole too
        up = schema.node(table)
        while up is not None and up.parents:
            found.add(up.parents[0])
            up = schema.node(up.parents[0])
    return found


def _key_origin(schema: Schema, node: Node, name: str) -> Column | None:
    """The column a key's values come from: followed through lookups (copies of another row's value)
    and `choices_ref`, to where they are made."""
    seen: set[tuple[str, str]] = set()
    column = node.column(name)
    while column is not None and (node.id, column.name) not in seen:
        seen.add((node.id, column.name))
        gen = column.generator
        if isinstance(gen, LookupGen):
            ref = gen.source
        elif isinstance(gen, ChoiceGen) and gen.choice.choices_ref is not None:
            ref = split_ref(gen.choice.choices_ref)
        else:
            return column
        up = schema.node(ref[0]) if ref else None
        if up is None or ref is None:
            return column
        node, column = up, up.column(ref[1])
    return column
