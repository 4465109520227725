"""Cross-reference checks (docs/schema-language.md §2–8): everything a single object cannot know about
itself. All findings are gathered; each names a path, what was found, what is allowed and, where close,
a fix.

`Checker` holds the schema and the reference helpers every check uses; the checks themselves live in
one module per part of the language: tables.py (ids, kinds, vocab tables, column and table order),
columns.py (one check per generator), modifiers.py (one per modifier), behaviours.py (one per
behaviour block), constraints.py (declared and implied constraints), targets.py (one per target
kind) and hidden.py (what may not name a hidden helper column). Each family keys its checks on the
feature's model type."""

from __future__ import annotations

from datagen.dsl.base import split_ref
from datagen.dsl.feasibility import check_feasible
from datagen.dsl.issues import IssueList, PathPart, allowed_list, did_you_mean
from datagen.dsl.models import Column, Node, Schema

Path = list[PathPart]


class Checker:
    """One pass over a parsed schema. Mutates it only to add what the language implies: implied
    constraints, credit tables, and a fact's latest state read as a rollup (each with a note)."""

    def __init__(self, schema: Schema, issues: IssueList) -> None:
        self.s = schema
        self.issues = issues
        self.nodes: dict[str, Node] = {}
        for n in schema.nodes:
            self.nodes.setdefault(n.id, n)  # a duplicate id is reported; references go to the first

    # --- reference helpers -------------------------------------------------------------------------
    def table(self, table_id: str, path: Path, what: str = "table") -> Node | None:
        node = self.nodes.get(table_id)
        if node is None:
            self.issues.error(
                path,
                f"unknown {what} '{table_id}'{did_you_mean(table_id, self.nodes)} "
                f"(tables: {allowed_list(self.nodes)})",
                code="unknown_table",
            )
        return node

    def column(
        self, node: Node, name: str, path: Path, types: tuple[str, ...] | None = None
    ) -> Column | None:
        col = node.column(name)
        if col is None:
            self.issues.error(
                path,
                f"unknown column '{name}' in table '{node.id}'{did_you_mean(name, node.column_names)} "
                f"(columns: {allowed_list(node.column_names)})",
                code="unknown_column",
            )
            return None
        if types and col.type not in types:
            self.issues.error(
                path,
                f"column '{node.id}.{name}' has type {col.type}; expected {' or '.join(types)}",
                code="wrong_type",
            )
        return col

    def ref(self, ref: str, path: Path, types: tuple[str, ...] | None = None) -> tuple[Node, Column] | None:
        parts = split_ref(ref)
        if parts is None:
            self.issues.error(path, f"'{ref}' is not of the form 'table.column'", code="bad_reference")
            return None
        node = self.table(parts[0], path)
        if node is None:
            return None
        col = self.column(node, parts[1], path, types)
        return (node, col) if col else None

    def is_unique(self, node: Node, col: Column) -> bool:
        """No two rows share a value: the primary key, a declared unique column, or a generator that
        never repeats (a sequence, unique faker values, a vocab list without repeats)."""
        return (
            col.name == node.pk
            or f"{node.id}.{col.name}" in self.s.constraints.unique
            or col.generator.always_distinct()
        )

    # --- the checks --------------------------------------------------------------------------------
    def run(self) -> None:
        from datagen.dsl.checks import attribution, columns, constraints, hidden, tables, targets

        attribution.add_credit_tables(self)
        columns.latest_states_as_rollups(self)
        tables.check_ids(self)
        for ni, node in enumerate(self.s.nodes):
            tables.check_node(self, ni, node)
        tables.check_table_graph(self)
        constraints.check_constraints(self)
        targets.check_targets(self)
        hidden.check_hidden(self)
        check_feasible(self.s, self.issues)
        constraints.add_implied_constraints(self)
