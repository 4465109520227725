"""Checks of tables as a whole: unique ids, what each kind of table may hold, vocab tables, the order of
columns inside a table and of tables in the schema (no cycles; an explicit `dag` that agrees)."""

from __future__ import annotations

from graphlib import CycleError, TopologicalSorter
from typing import TYPE_CHECKING

from datagen.dsl.checks.behaviours import check_behaviours
from datagen.dsl.checks.columns import check_column
from datagen.dsl.checks.fanout import check_fanout
from datagen.dsl.checks.modifiers import check_effect
from datagen.dsl.finishing import cycle_message, ordered_steps
from datagen.dsl.generators import EnumListGen
from datagen.dsl.models import Node
from datagen.dsl.references import column_local_refs, table_dependencies

if TYPE_CHECKING:
    from datagen.dsl.checks import Checker, Path

FACT_ONLY = ("parents", "fanout")  # keys of a table, besides behaviour blocks, that only facts have
PLURAL = {"fact": "facts", "entity": "entities"}


def _article(kind: str) -> str:
    return f"an {kind}" if kind[0] in "aeiou" else f"a {kind}"


def check_ids(c: Checker) -> None:
    seen: set[str] = set()
    for ni, node in enumerate(c.s.nodes):
        if node.id in seen:
            c.issues.error(
                ["nodes", ni, "id"],
                f"duplicate table id '{node.id}'; ids must be unique",
                code="duplicate_id",
            )
        seen.add(node.id)
        names: set[str] = set()
        for ci, col in enumerate(node.columns):
            if col.name in names:
                c.issues.error(
                    ["nodes", ni, "columns", ci, "name"],
                    f"duplicate column '{col.name}' in table '{node.id}'",
                    code="duplicate_id",
                )
            names.add(col.name)


def check_node(c: Checker, ni: int, node: Node) -> None:
    base: Path = ["nodes", ni]
    if node.pk is not None:
        pk = c.column(node, node.pk, [*base, "pk"])
        if pk is not None and (pk.nullable or pk.null_rate):
            c.issues.error([*base, "pk"], f"primary key '{node.pk}' must not be nullable", code="nullable_pk")
    check_placement(c, ni, node, "fact")
    if node.kind == "fact":
        if node.fanout is not None and not node.parents:
            c.issues.error(
                [*base, "fanout"],
                "fanout needs 'parents' (the first parent drives row creation)",
                code="fanout_without_parent",
            )
        if node.parents and node.rows is not None:
            c.issues.warning(
                [*base, "rows"],
                "rows is ignored on a fact with parents (its fanout sets the row count); remove it",
                code="ignored_rows",
            )
    check_placement(c, ni, node, "entity")
    if node.kind == "vocab":
        check_vocab(c, ni, node)
    for pi, parent in enumerate(node.parents or []):
        c.table(parent, [*base, "parents", pi], "parent table")
    for ci, col in enumerate(node.columns):
        check_column(c, node, col, [*base, "columns", ci])
    for mi, effect in enumerate(node.modifiers):
        check_effect(c, node, effect, [*base, "modifiers", mi, "args"], table_level=True)
    check_ignored_fanout(c, ni, node)
    check_fanout(c, node, [*base, "fanout"])
    check_column_order(c, ni, node)
    check_behaviours(c, ni, node)


def check_ignored_fanout(c: Checker, ni: int, node: Node) -> None:
    """What a fact's fanout (or a table-level effect on it) declares that nothing reads."""
    base: Path = ["nodes", ni]
    f = node.fanout
    if node.kind == "fact" and node.walk is not None and f is not None:
        c.issues.warning(
            [*base, "fanout"],
            f"fanout is ignored: the {node.walk.keyword} walk makes one row per reached stage or entered "
            "state; remove fanout",
            code="ignored_fanout",
        )
        return
    if f is not None and f.dispersion is not None and f.distribution != "negative_binomial":
        c.issues.warning(
            [*base, "fanout", "dispersion"],
            f"dispersion is ignored by a {f.distribution} fanout (only negative_binomial reads it); "
            'remove it or use "distribution": "negative_binomial"',
            code="ignored_key",
        )
    if f is not None and f.distribution == "uniform" and f.lambda_ is not None:
        c.issues.warning(
            [*base, "fanout", "lambda"],
            "lambda is ignored by a uniform fanout (it draws between min and max); remove it or use "
            '"distribution": "poisson"',
            code="ignored_key",
        )
    if node.modifiers and node.parents and (f is None or node.walk is not None):
        c.issues.warning(
            [*base, "modifiers"],
            "a table-level effect scales the fanout, and this fact has none (one row per parent), so it "
            "does nothing; add a fanout, or put the effect on a column",
            code="ignored_effect",
        )


def check_placement(c: Checker, ni: int, node: Node, kind: str) -> None:
    """What only a table of `kind` may hold: parents, fanout and walks belong on facts; segments and
    vintages on entities (each block's descriptor says where it sits)."""
    if node.kind == kind:
        return
    keys = [k for k in FACT_ONLY if kind == "fact" and getattr(node, k) is not None]
    keys += [b.keyword for b in node.behaviours if kind in b.node_kinds and node.kind not in b.node_kinds]
    for key in keys:
        hint = ' (make it "kind": "fact" with parents)' if key in FACT_ONLY else ""
        if kind == "entity" and node.parents:
            hint = (
                f"; to keep it, make '{node.id}' an entity with its own rows and no parents, holding its "
                f"link to '{node.parents[0]}' as a column "
                f'{{"lookup": {{"from": "{node.parents[0]}.<key>"}}}} (each row gets a random '
                f"existing {node.parents[0]} row: that is how an entity holds a foreign key)"
            )
        c.issues.error(
            ["nodes", ni, key],
            f"'{key}' is only allowed on {PLURAL[kind]}; '{node.id}' is {_article(node.kind)}{hint}",
            code="wrong_kind",
        )


def check_vocab(c: Checker, ni: int, node: Node) -> None:
    lengths = {
        col.name: len(col.generator.enum_list.values)
        for col in node.columns
        if isinstance(col.generator, EnumListGen)
    }
    if not lengths:
        c.issues.error(
            ["nodes", ni, "columns"],
            "a vocab table needs at least one enum_list column",
            code="vocab_without_values",
        )
    if len(set(lengths.values())) > 1:
        c.issues.error(
            ["nodes", ni, "columns"],
            "enum_list columns of a vocab table are zipped row by row, so "
            f"they need the same length (found {lengths})",
            code="vocab_lengths",
        )
    for ci, col in enumerate(node.columns):
        if col.generator.random:
            c.issues.error(
                ["nodes", ni, "columns", ci, "generator"],
                f"vocab columns are not independently random ('{col.kind}'); use enum_list, or derive "
                "from one with expression or a map_values modifier",
                code="vocab_random",
            )
    if node.rows is not None:
        c.issues.warning(
            ["nodes", ni, "rows"],
            "rows is ignored on a vocab table (it has one row per enum_list value)",
            code="ignored_rows",
        )


def check_column_order(c: Checker, ni: int, node: Node) -> None:
    names = set(node.column_names)
    graph = {col.name: column_local_refs(node, col) & names for col in node.columns}
    try:
        tuple(TopologicalSorter(graph).static_order())
    except CycleError as exc:
        cycle = " -> ".join(exc.args[1])
        c.issues.error(
            ["nodes", ni, "columns"],
            f"columns refer to each other in a cycle: {cycle}; break it "
            "by generating one of them independently",
            code="column_cycle",
        )


def check_table_graph(c: Checker) -> None:
    deps = table_dependencies(c.s)
    try:
        order = list(TopologicalSorter(deps).static_order())
    except CycleError as exc:
        cycle = " -> ".join(exc.args[1])
        c.issues.error(
            ["nodes"],
            f"tables depend on each other in a cycle: {cycle} (through parents, lookups, "
            "choices_ref or effect tables); one of them must not refer back",
            code="table_cycle",
        )
        return
    _, waiting = ordered_steps(c.s)
    if waiting:
        c.issues.error(["nodes"], cycle_message(waiting), code="table_cycle")
    if c.s.dag is None:
        return
    level: dict[str, int] = {}
    for li, group in enumerate(c.s.dag):
        for gi, tid in enumerate(group):
            if tid in level:
                c.issues.error(["dag", li, gi], f"'{tid}' appears twice in dag", code="dag")
            elif c.table(tid, ["dag", li, gi]):
                level[tid] = li
    missing = [t for t in order if t not in level]
    if missing:
        c.issues.error(["dag"], f"dag must list every table once; missing: {', '.join(missing)}", code="dag")
    for tid, before in deps.items():
        for dep in before:
            if tid in level and dep in level and level[dep] >= level[tid]:
                c.issues.error(
                    ["dag"],
                    f"dag puts '{tid}' (level {level[tid]}) no later than '{dep}' "
                    f"(level {level[dep]}), but '{tid}' depends on '{dep}'",
                    code="dag",
                )
