"""A numeric column as `base × Π declared multipliers`, each multiplier a SQL expression per row
(factors.py), chosen by each modifier's treatment (treatments.py). Behavioural checks compare the data
against these products.

The model holds while nothing adds to the value after the first multiplier (an `add` or an additive
jitter after a seasonality would shift, not scale): each modifier's algebraic role says which it does,
and `RowModel.problem` says when the model does not hold. A clamp only bites on extreme rows and is
tolerated; what places times leaves values alone."""

from __future__ import annotations

from datagen.dsl.base import Role
from datagen.dsl.models import Column, Node
from datagen.dsl.related_rows import first_parent_line
from datagen.validate.context import Context
from datagen.validate.factors import Factor, RowModel, segment_factor
from datagen.validate.treatments import treatment

__all__ = ["Factor", "RowModel", "add_segments", "row_model"]


def row_model(ctx: Context, node: Node, col: Column) -> RowModel:
    model = RowModel(node.id, col.name)
    seen_multiplier = False
    for i, mod in enumerate(col.modifiers):
        absent = sorted(c for c in mod.local_columns(node, col) if not ctx.readable(node.id, c))
        if absent:
            why = ctx.unlent.get(node.id, "the data does not hold it")
            model.problem = (
                f"'{mod.keyword}' (modifier {i}) reads {', '.join(absent)}, a hidden helper "
                f'("output": false), and {why}'
            )
            return model
        role = mod.role(col)
        additive = role in (Role.ADDS, Role.RELABELS)
        if additive and seen_multiplier:
            model.problem = (
                f"'{mod.keyword}' (modifier {i}) comes after a multiplier, so values are not base × factors"
            )
            return model
        if role not in (Role.SCALES, Role.SPIKES):
            continue
        seen_multiplier = True
        make = treatment(mod).factor
        found = make(ctx, node, col, i, mod, model) if make is not None else None
        if isinstance(found, str):
            model.problem = found
            return model
        if found is not None:
            model.factors.append(found)
    return model


def add_segments(ctx: Context, node: Node, col: Column, model: RowModel) -> None:
    """Segment value multipliers of parents that list this column, and of tables further up its line of
    first parents (docs/schema-language.md §8.1)."""
    ref = f"{node.id}.{col.name}"
    parents = node.parents or []
    line = first_parent_line(ctx.schema, node)
    for pid in [*parents, *(t for t in line[1:] if t not in parents)]:
        parent = ctx.node(pid)
        sb = parent.segment_behavior
        if sb is None or ref not in sb.applies_to_columns:
            continue
        found = segment_factor(ctx, node, [parent] if pid in parents else _up_to(ctx, line, pid), sb, model)
        if isinstance(found, str):
            model.problem = found
            return
        model.factors.append(found)


def _up_to(ctx: Context, line: list[str], table: str) -> list[Node]:
    """The tables of a line of first parents, up to and including `table`."""
    return [ctx.node(t) for t in line[: line.index(table) + 1]]
