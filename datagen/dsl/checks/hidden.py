"""Checks of hidden helper columns (`"output": false`, docs/schema-language.md §10.4): generated and
read by other columns, never written. Whatever `datagen validate` recomputes may read one (it
regenerates the table's helpers and matches them with the data), but what is judged on the written
files cannot be one — a primary key, a constraint, a target — and a helper nothing reads is only work."""

from __future__ import annotations

from typing import TYPE_CHECKING

from datagen.dsl.base import split_ref
from datagen.dsl.models import Node
from datagen.dsl.references import column_local_refs, node_reads

if TYPE_CHECKING:
    from datagen.dsl.checks import Checker, Path

FIX = 'drop "output": false from it, or name a written column'


def check_hidden(c: Checker) -> None:
    for ni, node in enumerate(c.s.nodes):
        _check_table(c, ni, node)
    _check_constraints(c)
    _check_targets(c)
    _check_unread(c)


def hidden(c: Checker, ref: str) -> bool:
    """Whether `table.column` names a hidden column (unknown references are reported elsewhere)."""
    parts = split_ref(ref)
    node = c.nodes.get(parts[0]) if parts else None
    col = node.column(parts[1]) if node and parts else None
    return col is not None and not col.output


def _error(c: Checker, path: Path, ref: str, what: str) -> None:
    c.issues.error(
        path,
        f"'{ref}' is a hidden helper (\"output\": false), so it is not in the data; {what}: {FIX}",
        code="hidden_column",
    )


def _check_table(c: Checker, ni: int, node: Node) -> None:
    base: Path = ["nodes", ni]
    if not node.output_columns:
        c.issues.error(
            [*base, "columns"],
            f"every column of '{node.id}' is hidden (\"output\": false); a table writes at least one",
            code="hidden_column",
        )
    for ci, col in enumerate(node.columns):
        if col.output:
            continue
        path: Path = [*base, "columns", ci, "output"]
        if col.name == node.pk:
            _error(c, path, f"{node.id}.{col.name}", "a primary key is what rows are joined on")
        elif col.constraints is not None:
            _error(c, path, f"{node.id}.{col.name}", "its column constraints are checked on the data")


def _check_constraints(c: Checker) -> None:
    cons = c.s.constraints
    refs: list[tuple[Path, str]] = [(["constraints", "unique", i], r) for i, r in enumerate(cons.unique)]
    for i, fk in enumerate(cons.foreign_keys):
        refs += [(["constraints", "foreign_keys", i, "from"], fk.from_)]
        refs += [(["constraints", "foreign_keys", i, "to"], fk.to)]
    refs += [(["constraints", "ranges", i, "attr"], r.attr) for i, r in enumerate(cons.ranges)]
    for i, q in enumerate(cons.inequalities):
        refs += [(["constraints", "inequalities", i, "left"], q.left)]
        refs += [(["constraints", "inequalities", i, "right"], q.right)]
    refs += [(["constraints", "pattern", i, "attr"], p.attr) for i, p in enumerate(cons.pattern)]
    for i, e in enumerate(cons.enum):
        refs += [(["constraints", "enum", i, "attr"], e.attr)]
        if e.enum_ref:
            refs += [(["constraints", "enum", i, "enum_ref"], e.enum_ref)]
    for path, ref in refs:
        if hidden(c, ref):
            _error(c, path, ref, "a constraint is checked on the data")


def _check_targets(c: Checker) -> None:
    t = c.s.targets
    if t is None:
        return
    named: list[tuple[Path, str]] = []
    named += [
        (["targets", "weekend_share", i, "timestamp"], f"{x.table}.{x.timestamp}")
        for i, x in enumerate(t.weekend_share)
    ]
    named += [
        (["targets", "mean_in_range", i, "column"], f"{x.table}.{x.column}")
        for i, x in enumerate(t.mean_in_range)
    ]
    named += [
        (["targets", "composite_effect", i, "metric"], f"{x.table}.{x.metric}")
        for i, x in enumerate(t.composite_effect)
    ]
    for path, ref in named:
        if hidden(c, ref):
            _error(c, path, ref, "a target is measured on the data")


def _check_unread(c: Checker) -> None:
    """A hidden column that no column, table or behaviour reads is generated for nothing."""
    read: set[tuple[str, str]] = set()
    for node in c.s.nodes:
        for col in node.columns:
            read |= {(node.id, name) for name in column_local_refs(node, col)}
        read |= {(r.table, r.column) for r in node_reads(c.s, node)}
    for ni, node in enumerate(c.s.nodes):
        for ci, col in enumerate(node.columns):
            if not col.output and (node.id, col.name) not in read:
                c.issues.warning(
                    ["nodes", ni, "columns", ci, "output"],
                    f"'{node.id}.{col.name}' is hidden (\"output\": false) and no other column reads it; "
                    "drop the column, or write it",
                    code="unread_hidden_column",
                )
