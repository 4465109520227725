"""Where a schema refers to tables and columns. The checker validates these references and the engine
orders work by them, so both read them from here."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass

from datagen.dsl.expressions import referenced_columns
from datagen.dsl.models import Column, Node, Schema
from datagen.dsl.modifiers import TIME_ARGUMENT
from datagen.errors import DatagenError


def split_ref(ref: str) -> tuple[str, str] | None:
    """'table.column' -> (table, column); None when it is not of that form."""
    parts = ref.split(".")
    return (parts[0], parts[1]) if len(parts) == 2 and all(parts) else None


def first_datetime_column(node: Node, exclude: str | None = None) -> str | None:
    return next((c.name for c in node.columns if c.type in ("datetime", "date") and c.name != exclude), None)


def modifier_time_column(node: Node, column: Column, transform: str, args: object) -> str | None:
    """The time column a time-reading modifier uses: the one it names, else the table's first datetime
    column other than the column itself (DSL.md §4.2)."""
    explicit = getattr(args, TIME_ARGUMENT[transform], None)
    if explicit:
        return explicit
    if column.type in ("datetime", "date") and transform == "seasonality":
        return None  # a pattern on the datetime column itself
    return first_datetime_column(node, exclude=column.name)


def column_local_refs(node: Node, column: Column) -> set[str]:
    """Columns of the same table this column needs first."""
    refs: set[str] = set()
    kind, args = column.kind, column.args
    if kind == "expression":
        with contextlib.suppress(DatagenError):  # syntax errors are reported by the checker
            refs |= referenced_columns(args.code)
    elif kind == "faker":
        refs.update(c for c in (args.locale_from, *args.sources) if c)
    elif kind == "lookup" and args.on:
        refs |= set(args.on)
    for mod in column.modifiers:
        if mod.transform in TIME_ARGUMENT:
            t = modifier_time_column(node, column, mod.transform, mod.args)
            if t:
                refs.add(t)
        if mod.transform == "effect":
            refs |= set(mod.args.on)
    refs.discard(column.name)
    return refs


@dataclass(frozen=True)
class TableRef:
    """`node` depends on `target` because of what is at `path` (for messages)."""

    target: str
    path: tuple[str | int, ...]
    why: str


def table_refs(schema: Schema) -> Iterator[tuple[int, Node, TableRef]]:
    """Every reference from one table to another (or itself) that orders generation."""
    for ni, node in enumerate(schema.nodes):
        for pi, parent in enumerate(node.parents or []):
            yield ni, node, TableRef(parent, ("nodes", ni, "parents", pi), "parent")
        for ci, col in enumerate(node.columns):
            base = ("nodes", ni, "columns", ci)
            if col.kind == "lookup":
                ref = split_ref(col.args.from_)
                if ref:
                    yield ni, node, TableRef(ref[0], (*base, "generator", "lookup", "from"), "lookup")
            elif col.kind == "choice" and col.args.choices_ref:
                ref = split_ref(col.args.choices_ref)
                if ref:
                    yield (
                        ni,
                        node,
                        TableRef(ref[0], (*base, "generator", "choice", "choices_ref"), "choices_ref"),
                    )
            for mi, mod in enumerate(col.modifiers):
                if mod.transform == "effect":
                    yield (
                        ni,
                        node,
                        TableRef(
                            mod.args.effect_table,
                            (*base, "modifiers", mi, "args", "effect_table"),
                            "effect_table",
                        ),
                    )
        for mi, mod in enumerate(node.modifiers):
            yield (
                ni,
                node,
                TableRef(
                    mod.args.effect_table,
                    ("nodes", ni, "modifiers", mi, "args", "effect_table"),
                    "effect_table",
                ),
            )


def table_dependencies(schema: Schema) -> dict[str, set[str]]:
    """node id -> ids it must be generated after (self-references excluded)."""
    deps: dict[str, set[str]] = {n.id: set() for n in schema.nodes}
    known = set(deps)
    for _, node, ref in table_refs(schema):
        if ref.target != node.id and ref.target in known:
            deps[node.id].add(ref.target)
    return deps


def walk_columns(node: Node) -> set[str]:
    """Columns a behaviour block fills on this node (their generators are placeholders)."""
    if node.stage_config is not None:
        c = node.stage_config.columns
        names = {c.stage_name if c else "stage_name", (c.stage_index if c else "stage_index") or ""}
        names.add((c.time if c and c.time else None) or first_datetime_column(node) or "")
    elif node.state_transition_model is not None:
        c = node.state_transition_model.columns
        names = {c.state if c else "state", (c.previous_state if c else "previous_state") or ""}
        names.add((c.time if c and c.time else None) or first_datetime_column(node) or "")
    else:
        return set()
    return {n for n in names if n and node.column(n) is not None}
