"""Checks of the columns that make tables agree (docs/schema-language.md §10.4): rollups, running
values and scoped lookups. Each message says what to write instead."""

from __future__ import annotations

from typing import TYPE_CHECKING

from datagen.dsl import generators as g
from datagen.dsl.base import NUMERIC, TIME, parse_instant, split_ref
from datagen.dsl.expressions import expression_problems
from datagen.dsl.finishing import deferred_columns
from datagen.dsl.models import Column, Node

if TYPE_CHECKING:
    from datagen.dsl.checks import Checker, Path


def holds(source: str, target: str) -> bool:
    """Whether a `target` column stores every value of a `source` column exactly."""
    return source == target or (source, target) in (("int", "float"), ("date", "datetime"))


def _exact(c: Checker, node: Node, col: Column, path: Path, what: str) -> None:
    """A value computed from other rows is a relation that holds exactly: nothing may change it."""
    if col.modifiers:
        c.issues.error(
            [*path, "modifiers"],
            f"'{node.id}.{col.name}' is {what}, which holds exactly, so it takes no modifiers; apply them "
            "to the column it is computed from, or derive another column with an expression",
            code="exact_modified",
        )
    if col.null_rate:
        c.issues.error(
            [*path, "null_rate"],
            f"'{node.id}.{col.name}' is {what}, which holds exactly; drop null_rate",
            code="exact_modified",
        )
    if col.name == node.pk:
        c.issues.error(
            [*path, "generator"],
            f"the primary key '{node.pk}' cannot be {what}; key the table with a sequence",
            code="exact_key",
        )


def always_has_children(child: Node) -> bool:
    """Whether every row of a table's first parent gets at least one row of `child`."""
    if child.attribution is not None:
        return False
    if child.walk is not None or child.fanout is None:
        return True
    return (child.fanout.min or 0) >= 1


def rollup(c: Checker, node: Node, col: Column, gen: g.RollupGen, gpath: Path) -> None:
    args = gen.rollup
    path = gpath[:-2]
    what = f"a rollup ({args.agg} of {args.from_})"
    _exact(c, node, col, path, what)
    found = c.ref(args.from_, [*gpath, "from"])
    if not found:
        return
    child, src = found
    if child.id == node.id:
        c.issues.error(
            [*gpath, "from"],
            f"a rollup summarises the children of a row, not its own table; for a value that accumulates "
            f'over the rows of \'{node.id}\' use {{"running": {{"of": "{src.name}", ...}}}}',
            code="rollup_not_child",
        )
        return
    if child.primary_parent != node.id:
        if node.id in (child.parents or []):
            fix = f"list '{node.id}' first in the parents of '{child.id}'"
        elif child.primary_parent:
            fix = f"put the rollup on '{child.primary_parent}' (its first parent)"
        else:
            fix = f"make '{child.id}' a fact with parents [\"{node.id}\"]"
        c.issues.error(
            [*gpath, "from"],
            f"'{child.id}' is not a child of '{node.id}': a rollup summarises the rows whose first "
            f"parent is this row; {fix}",
            code="rollup_not_child",
        )
        return
    _rollup_types(c, node, col, child, src, args, gpath)
    if args.where:
        for problem in expression_problems(args.where, child.column_names):
            c.issues.error(
                [*gpath, "where"], f"{problem.message} (where reads '{child.id}')", code="expression"
            )
    order = args.order_column(child) if args.ordered else None
    if args.ordered:
        if order is None:
            c.issues.error(
                [*gpath, "order_by"],
                f"'{args.agg}' follows the children's order, and '{child.id}' has no datetime column; name "
                "the child column that orders them in order_by",
                code="no_time_column",
            )
        elif args.order_by:
            c.column(child, args.order_by, [*gpath, "order_by"])
        if child.pk is None:
            c.issues.error(
                [*gpath, "agg"],
                f"'{args.agg}' breaks ties in the order by the child's key, and '{child.id}' has none; give "
                f"'{child.id}' a primary key",
                code="no_key",
            )
    _rollup_default(c, node, col, child, args, gpath)


def _rollup_types(
    c: Checker, node: Node, col: Column, child: Node, src: Column, args: g.RollupArgs, gpath: Path
) -> None:
    where = [*gpath[:-2], "type"]
    ref = f"'{node.id}.{col.name}'"
    if args.agg == "count":
        if col.type not in NUMERIC:
            c.issues.error(where, f"{ref} counts rows; make it an int column", code="wrong_type")
        return
    if args.agg in ("sum", "mean") and src.type not in NUMERIC:
        c.issues.error(
            [*gpath, "from"],
            f"'{args.from_}' is {src.type}; a {args.agg} needs numbers (count rows with agg 'count', or "
            "pick a value with 'first' or 'last')",
            code="wrong_type",
        )
        return
    if args.agg in ("min", "max") and src.type not in (*NUMERIC, *TIME):
        c.issues.error(
            [*gpath, "from"],
            f"'{args.from_}' is {src.type}; min and max compare numbers or times (use 'first' or 'last' "
            "for other values)",
            code="wrong_type",
        )
        return
    want = "float" if args.agg == "mean" else src.type
    if not holds(want, col.type):
        c.issues.error(
            where,
            f"{ref} is {col.type} but the {args.agg} of '{args.from_}' is {want}; make it {want} so the "
            "value is stored exactly",
            code="wrong_type",
        )


def _rollup_default(
    c: Checker, node: Node, col: Column, child: Node, args: g.RollupArgs, gpath: Path
) -> None:
    value = args.default
    if value is not None and not _fits(value, col.type):
        c.issues.error(
            [*gpath, "default"],
            f"default {value!r} is not a {col.type} value for '{node.id}.{col.name}'",
            code="wrong_type",
        )
    if args.empty_value is None and not col.nullable and (args.where or not always_has_children(child)):
        c.issues.error(
            [*gpath[:-2]],
            f"a '{node.id}' row without matching '{child.id}' rows has no {args.agg}: give a "
            f'"default" (e.g. "default": 0) or make \'{col.name}\' "nullable": true',
            code="rollup_empty",
        )


def _fits(value: object, ctype: str) -> bool:
    if ctype in NUMERIC:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if ctype == "bool":
        return isinstance(value, bool)
    if ctype in TIME:
        if not isinstance(value, str):
            return False
        try:
            parse_instant(value)
        except ValueError:
            return False
        return True
    return isinstance(value, str)


def running(c: Checker, node: Node, col: Column, gen: g.RunningGen, gpath: Path) -> None:
    args = gen.running
    path = gpath[:-2]
    what = f"a running {args.agg} of {args.of}"
    _exact(c, node, col, path, what)
    if node.primary_parent is None:
        c.issues.error(
            gpath,
            f"a running value accumulates over the rows of one parent, and '{node.id}' has no parents; make "
            f"it a fact with parents (e.g. the account each transaction belongs to)",
            code="running_without_parent",
        )
    if node.pk is None:
        c.issues.error(
            [*gpath, "order_by"],
            f"rows with the same {args.order_by} follow each other by key, and '{node.id}' has none; give "
            f"'{node.id}' a primary key",
            code="no_key",
        )
    of = c.column(node, args.of, [*gpath, "of"])
    order = c.column(node, args.order_by, [*gpath, "order_by"])
    if args.of == col.name or args.order_by == col.name:
        c.issues.error(gpath, f"'{col.name}' cannot accumulate or order by itself", code="running_self")
        return
    later = set(deferred_columns(node))
    for key, name in (("of", args.of), ("order_by", args.order_by)):
        if name in later:
            c.issues.error(
                [*gpath, key],
                f"'{node.id}.{name}' is computed when '{node.id}' is finished (from a rollup or running "
                "value), but a running value reads the rows as generated; accumulate a generated column "
                "instead (e.g. sum the child values in a rollup, then run over the children)",
                code="running_deferred",
            )
            return
    if of is not None and args.agg != "count" and of.type not in NUMERIC:
        c.issues.error(
            [*gpath, "of"],
            f"'{node.id}.{args.of}' is {of.type}; a running {args.agg} needs numbers",
            code="wrong_type",
        )
    elif of is not None:
        want = "int" if args.agg == "count" else "float" if args.agg == "mean" else of.type
        begin = _start_column(c, node, args)
        if begin is not None and begin.type == "float":
            want = "float"  # an int sum from a float start
        if not holds(want, col.type):
            c.issues.error(
                [*path, "type"],
                f"'{node.id}.{col.name}' is {col.type} but a running {args.agg} of '{args.of}'"
                f"{f' from {args.start!r}' if begin is not None else ''} is {want}; "
                f"make it {want}",
                code="wrong_type",
            )
        if args.agg in ("mean", "min", "max") and (of.nullable or of.may_add_nulls) and not col.nullable:
            c.issues.error(
                path,
                f"'{args.of}' can be null, and a running {args.agg} is null until its first value; make "
                f"'{col.name}' \"nullable\": true",
                code="running_nullable",
            )
    if order is not None and order.type not in (*NUMERIC, *TIME):
        c.issues.error(
            [*gpath, "order_by"],
            f"'{node.id}.{args.order_by}' is {order.type}; order by a time or a number",
            code="wrong_type",
        )
    if args.start:
        _running_start(c, node, col, args.start, [*gpath, "start"])


def _start_column(c: Checker, node: Node, args: g.RunningArgs) -> Column | None:
    """The parent column a running sum starts from, when `start` names one of the first parent."""
    ref = split_ref(args.start) if args.start else None
    parent = c.nodes.get(node.primary_parent or "")
    return parent.column(ref[1]) if ref is not None and parent is not None and ref[0] == parent.id else None


def _running_start(c: Checker, node: Node, col: Column, start: str, path: Path) -> None:
    found = c.ref(start, path, NUMERIC)
    if not found:
        return
    table, start_col = found
    if table.id != node.primary_parent:
        c.issues.error(
            path,
            f"start is the value of the parent row the sum begins from (e.g. 'accounts.opening_balance'); "
            f"'{table.id}' is not the first parent of '{node.id}'",
            code="running_start",
        )
    elif start_col.nullable and not col.nullable:
        c.issues.error(
            path,
            f"'{start}' can be null, and so then is the running sum; make '{col.name}' \"nullable\": true",
            code="running_nullable",
        )


def scoped_lookup(c: Checker, node: Node, col: Column, gen: g.LookupGen, gpath: Path) -> None:
    """A random pick among the source rows matching `on`: warn where a row may find none."""
    args = gen.lookup
    source = gen.source
    src = c.nodes.get(source[0]) if source else None
    if src is None or not args.on:
        return
    if src is node or _always_found(c, node, src, args.on):
        return  # a self-reference: the first row of each key has none (a null: checked nullable)
    keys = ", ".join(f"{node.id}.{a} = {src.id}.{b}" for a, b in args.on.items())
    if col.nullable:
        c.issues.note(
            gpath,
            f"a row of '{node.id}' with no '{src.id}' row where {keys} gets a null '{col.name}'",
            code="scoped_lookup_empty",
        )
        return
    c.issues.warning(
        gpath,
        f"a row of '{node.id}' with no '{src.id}' row where {keys} has nothing to pick, which stops the run; "
        f"make sure every key has one (e.g. give '{src.id}' a fanout with \"min\": 1 under the table the "
        f"key belongs to) or make '{col.name}' \"nullable\": true",
        code="scoped_lookup_empty",
    )


def _always_found(c: Checker, node: Node, src: Node, on: dict[str, str]) -> bool:
    """One key pair, where this row's key is a row of table K and the source is a child of K (through
    its first parent, by K's key) that every K row has."""
    if len(on) != 1:
        return False
    ((local, remote),) = on.items()
    mine, theirs = node.column(local), src.column(remote)
    if mine is None or theirs is None or mine.nullable:
        return False
    a, b = _key_into(c, mine), _key_into(c, theirs)
    return (
        a is not None
        and a == b
        and src.primary_parent == a
        and always_has_children(src)
        and isinstance(theirs.generator, g.LookupGen)
        and not theirs.generator.lookup.on
    )


def _key_into(c: Checker, col: Column, depth: int = 0) -> str | None:
    """The table whose primary key a column copies: a lookup of that key (not a random pick), or a
    choice among its values (`choices_ref`)."""
    gen = col.generator
    if isinstance(gen, g.ChoiceGen) and gen.choice.choices_ref and not col.modifiers:
        parts = split_ref(gen.choice.choices_ref)
        target = c.nodes.get(parts[0]) if parts else None
        return target.id if target is not None and parts is not None and target.pk == parts[1] else None
    if not isinstance(gen, g.LookupGen) or gen.lookup.scoped or depth > 10 or col.modifiers:
        return None
    parts = split_ref(gen.lookup.from_)
    target = c.nodes.get(parts[0]) if parts else None
    if target is None or parts is None:
        return None
    if target.pk == parts[1]:
        return target.id
    inner = target.column(parts[1])  # a key copied through a joined row (trips.city_id = riders.city_id)
    return _key_into(c, inner, depth + 1) if inner is not None else None
