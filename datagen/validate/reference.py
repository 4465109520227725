"""Reference samples made by the engine itself, for expectations no formula gives cleanly.

The share of values above a threshold after `outliers`, or the base level a composite effect scales,
depend on a distribution after clamps, lookups and segment multipliers. Rather than re-deriving all
that, the validator asks the engine for the same column with the modifiers under test removed (from a
copy of the schema, pruned to the tables the column needs), on a different seed than the data, at a
size of about `Settings.reference_rows` rows (other tables keep the sizes they have in the
data). The declared part under test (the outlier rate and
magnitude, the multipliers) is then applied by the validator from the schema, so an engine that
ignored or doubled it would still fail the check. (`sub_schema` also prunes the regeneration of hidden
helpers, hidden.py.)"""

from __future__ import annotations

import numpy as np

from datagen.dsl.generators import StateAtGen
from datagen.dsl.models import Constraints, Schema
from datagen.dsl.references import found_by_value, node_reads, split_ref, table_dependencies
from datagen.engine.generate import Engine, Options, generate_in_memory
from datagen.engine.rng import stable_hash
from datagen.validate.context import Context

MAX_SCALE = 50.0


def _closure(schema: Schema, tables: tuple[str, ...]) -> set[str]:
    """`tables` and every table they are generated from, including the children their rollups
    summarise and the walks run while they are generated (a `state_at`, an end of life a walk reaches)."""
    deps = table_dependencies(schema)
    for node in schema.nodes:
        for col in node.columns:
            deps[node.id] = deps[node.id] | {r.table for r in col.generator.deferred_reads(node, schema)}
        walks = {c.generator.state_at.walk for c in node.columns if isinstance(c.generator, StateAtGen)}
        walks |= {node.lifetime.end_walk} if node.lifetime is not None and node.lifetime.end_walk else set()
        walks |= {node.active_in.walk} if node.active_in is not None else set()
        deps[node.id] = deps[node.id] | walks
    keep, todo = set(), list(tables)
    while todo:
        t = todo.pop()
        if t not in keep:
            keep.add(t)
            todo.extend(deps.get(t, ()))
    return keep


def sub_schema(schema: Schema, *tables: str) -> Schema:
    """A copy holding only `tables` and what they are generated from; constraints among those tables."""
    keep = _closure(schema, tables)
    sub = schema.model_copy(deep=True)
    sub.nodes = [n for n in sub.nodes if n.id in keep]

    def inside(*refs: str | None) -> bool:
        return all((p := split_ref(r)) is not None and p[0] in keep for r in refs if r is not None)

    c = sub.constraints
    sub.constraints = Constraints(
        unique=[u for u in c.unique if inside(u)],
        foreign_keys=[f for f in c.foreign_keys if inside(f.from_, f.to)],
        ranges=[r for r in c.ranges if inside(r.attr)],
        inequalities=[i for i in c.inequalities if inside(i.left, i.right)],
        pattern=[p for p in c.pattern if inside(p.attr)],
        enum=[e for e in c.enum if inside(e.attr, e.enum_ref)],
    )
    sub.targets = None
    sub.dag = None
    return sub


def _whole_tables(schema: Schema) -> set[str]:
    """Tables some feature reads whole (effect windows, the distinct values of a choices_ref), and
    those other rows find by a key they make (every key needs its row)."""
    reads = {r.table for n in schema.nodes for r in node_reads(schema, n) if r.whole_table}
    return reads | found_by_value(schema)


def resize(ctx: Context, sub: Schema, table: str, rows: int, seed: int) -> None:
    """Size the reference like the data where sizes matter: tables read whole get the rows they have in
    the data (how many effect windows cover a row depends on it); other parent-less tables at most `rows`
    (which of their rows a child draws does not change its distribution). Then the root of `table`'s
    primary-parent chain is resized so `table` gets about `rows` rows (estimates; nothing generated)."""
    whole = _whole_tables(sub)
    for n in sub.nodes:
        if not n.parents and n.kind != "vocab":
            in_data = ctx.rows.get(n.id, n.row_count)
            n.rows = in_data if n.id in whole else min(in_data, rows)
    root = sub.node(table)
    while root is not None and root.parents:
        root = sub.node(root.parents[0])
    assert root is not None  # the sub-schema holds the chain
    expected = Engine(sub, Options(seed=seed)).estimate_rows().get(table, 0.0)
    if root.kind != "vocab" and expected > 0 and root.row_count > 0:
        factor = min(rows / expected, MAX_SCALE)
        root.rows = max(1, round(root.row_count * factor))


def reference_values(
    ctx: Context, table: str, column: str, drop: frozenset[int], *, drop_segment: bool = False
) -> np.ndarray:
    """Non-null values of `table.column` generated without the modifiers at positions `drop` (and,
    with `drop_segment`, without parents' segment value multipliers). Cached per request."""
    key = ("reference", table, column, drop, drop_segment)
    if key in ctx.cache:
        return ctx.cache[key]
    sub = sub_schema(ctx.schema, table)
    node = sub.node(table)
    col = node.column(column) if node is not None else None
    assert col is not None  # references are asked for declared columns
    col.modifiers = [m for i, m in enumerate(col.modifiers) if i not in drop]
    col.nullable, col.null_rate = False, 0.0
    col.output = True  # a hidden helper's reference too (its values are lent, hidden.py)
    if drop_segment:
        ref = f"{table}.{column}"
        for n in sub.nodes:
            if n.segment_behavior is not None and ref in n.segment_behavior.applies_to_columns:
                n.segment_behavior.applies_to_columns = [
                    c for c in n.segment_behavior.applies_to_columns if c != ref
                ]
    seed = stable_hash(ctx.seed, "validate-reference", bits=32)
    resize(ctx, sub, table, ctx.settings.reference_rows, seed)
    values = generate_in_memory(sub, Options(seed=seed))[table].column(column)
    out = values.drop_null().to_numpy(zero_copy_only=False).astype(float)
    out = out[~np.isnan(out)]
    ctx.cache[key] = out
    return out
