"""Checks of a column: the type its generator fills, then one check per generator (keyed on the
generator's model type), then its modifiers and its column-level constraints."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from datagen.dsl import generators as g
from datagen.dsl.base import NUMERIC, TIME, parse_instant
from datagen.dsl.checks import relations
from datagen.dsl.checks.faker_from import faker_from_problems
from datagen.dsl.checks.modifiers import check_modifier
from datagen.dsl.expressions import expression_problems, referenced_columns
from datagen.dsl.models import Column, Node
from datagen.faker_pool import method_problem

if TYPE_CHECKING:
    from datagen.dsl.checks import Checker, Path


def comparable(a: str, b: str) -> bool:
    """Column types whose values can meet: in a join, an inequality or a copy between non-key columns."""
    return a == b or {a, b} <= set(NUMERIC) or {a, b} <= set(TIME)


def check_column(c: Checker, node: Node, col: Column, path: Path) -> None:
    gen = col.generator
    gpath = [*path, "generator", gen.keyword]
    allowed = gen.column_types
    if allowed and col.type not in allowed:
        c.issues.error(
            [*path, "type"],
            f"a {gen.keyword} generator fills {' or '.join(allowed)} columns, not {col.type}",
            code="wrong_type",
        )
    GENERATOR_CHECKS[type(gen)](c, node, col, gen, gpath)
    for mi, mod in enumerate(col.modifiers):
        check_modifier(c, node, col, mod, [*path, "modifiers", mi])
    if col.constraints and col.constraints.enum_ref:
        c.ref(col.constraints.enum_ref, [*path, "constraints", "enum_ref"])


def check_whole_number_inside(c: Checker, col: Column, lo: object, hi: object, path: Path, what: str) -> None:
    """An int column is rounded last, so [lo, hi] must contain a whole number to be met at all."""
    if (
        col.type == "int"
        and isinstance(lo, int | float)
        and isinstance(hi, int | float)
        and math.ceil(lo) > math.floor(hi)
    ):
        c.issues.error(
            path,
            f"{what} [{lo:g}, {hi:g}] contains no whole number, and '{col.name}' is an int column; "
            "widen it or make the column a float",
            code="empty_int_range",
        )


def _nothing(c: Checker, node: Node, col: Column, gen: g.GeneratorModel, gpath: Path) -> None:
    """A generator whose arguments the model checks entirely."""


def _enum_list(c: Checker, node: Node, col: Column, gen: g.EnumListGen, gpath: Path) -> None:
    if node.kind != "vocab":
        c.issues.error(
            gpath,
            "enum_list is for vocab tables; use choice to draw from a list",
            code="enum_list_outside_vocab",
        )


def _choice(c: Checker, node: Node, col: Column, gen: g.ChoiceGen, gpath: Path) -> None:
    if gen.choice.choices_ref:
        c.ref(gen.choice.choices_ref, [*gpath, "choices_ref"])


def _datetime_series(c: Checker, node: Node, col: Column, gen: g.DatetimeSeriesGen, gpath: Path) -> None:
    args = gen.datetime_series
    within = args.within
    regular = (
        node.fanout is not None and node.fanout.every is not None and col.name == node.first_time_column()
    )
    if args.slot and not regular:
        c.issues.error(
            [*gpath, "slot"],
            f"slot puts a row of a regular series at the start of its period; '{node.id}' has no "
            '"fanout": {"every": ...} with this as its first time column — drop slot, or use "snap": true '
            "for values on the grid",
            code="slot_without_every",
        )
    if regular and (gen.patterns(col) or isinstance(within, g.Window)):
        key = "pattern" if gen.patterns(col) else "within"
        c.issues.error(
            [*gpath, key],
            f"'{col.name}' is the period of a regular series (fanout every): its rows are one per period "
            f"of the parent's life, so a {key} has nothing to shape; drop it",
            code="regular_time",
        )
    if isinstance(within, str):
        return
    for side in ("start", "end"):
        ref = within.side(side)
        if ref is not None:
            found = c.ref(f"{ref[0]}.{ref[1]}", [*gpath, "within", side], TIME)
            if found and found[0].id == node.id and found[1].name == col.name:
                c.issues.error(
                    [*gpath, "within", side],
                    f"'{col.name}' cannot be inside its own window",
                    code="bad_window",
                )
    if within.side("start") or within.side("end"):
        return
    try:
        if parse_instant(within.start) >= parse_instant(within.end):
            c.issues.error([*gpath, "within"], "within.start must be before within.end", code="bad_window")
    except ValueError:
        c.issues.error([*gpath, "within"], "within.start/end must be ISO-8601 timestamps", code="bad_window")


def latest_states_as_rollups(c: Checker) -> None:
    """`state_at` at the end on the fact that owns the walk (a loan's current status) means its latest
    state, which is exactly the walk table's last state: read as that rollup, with a note. The walk of a
    fact runs per block of its parents, so the fact itself cannot read it while its rows are made."""
    for ni, node in enumerate(c.s.nodes):
        if node.kind == "entity":
            continue
        for ci, col in enumerate(node.columns):
            gen = col.generator
            if not isinstance(gen, g.StateAtGen) or not gen.state_at.at_end:
                continue
            walk = c.nodes.get(gen.state_at.walk)
            if walk is None or walk.walk is None or walk.primary_parent != node.id:
                continue  # the state_at check says what is wrong
            rollup = latest_state_rollup(walk)
            col.generator = g.RollupGen.model_validate(rollup, by_alias=True, by_name=False)
            c.issues.note(
                ["nodes", ni, "columns", ci, "generator", "state_at"],
                f"state_at on '{node.id}', the fact that owns the walk '{walk.id}', read as its latest "
                f"state: {json.dumps(rollup)} (the walk table's last state)",
                code="state_at_as_rollup",
            )


def latest_state_rollup(walk: Node) -> dict[str, Any]:
    """The rollup giving each row of a walk's owner its latest state: the last state by the walk's time
    (named in `order_by` when it is not the walk table's first datetime column)."""
    assert walk.walk is not None
    cols = walk.walk.walk_columns(walk)
    order = {"order_by": cols.time} if cols.time != walk.first_time_column() else {}
    return {"rollup": {"from": f"{walk.id}.{cols.label}", "agg": "last", **order}}


def _state_at(c: Checker, node: Node, col: Column, gen: g.StateAtGen, gpath: Path) -> None:
    """The walk of this row's primary parent (a sibling fact), or of this row itself (on the entity
    whose lifecycle the walk is, or at the end on the fact that owns it: read as a rollup, above); `at`
    is "end" or a time column of this table."""
    args = gen.state_at
    walk = c.table(args.walk, [*gpath, "walk"])
    if walk is None:
        return
    if walk.walk is None:
        c.issues.error(
            [*gpath, "walk"],
            f"'{walk.id}' has no state_transition_model or stage_config; name the fact that walks the states",
            code="not_a_walk",
        )
        return
    home = walk.primary_parent
    if home is None or (node.id != home and node.primary_parent != home):
        c.issues.error(
            [*gpath, "walk"],
            f"'{walk.id}' walks the states of '{home}' rows; state_at reads it on '{home}' itself or on "
            f"a fact whose first parent is '{home}' (this table's first parent is "
            f"'{node.primary_parent or 'none'}')",
            code="walk_not_related",
        )
    elif node.id == home and node.kind != "entity":
        c.issues.error(
            gpath,
            f"state_at on '{node.id}' itself reads its walk while its rows are generated, which only an "
            f"entity can (a fact's walk runs per block of its parents); for its latest state use "
            f"{json.dumps(latest_state_rollup(walk))}, or read the state at a time on a fact born from "
            f"'{node.id}'",
            code="state_at_on_fact",
        )
    if not args.at_end:
        c.column(node, args.at, [*gpath, "at"], TIME)


def _faker(c: Checker, node: Node, col: Column, gen: g.FakerGen, gpath: Path) -> None:
    args = gen.faker
    if p := method_problem(args.method, args.args, locale=args.locale):
        about_locale = p.startswith(("unknown locale", "faker locale"))
        c.issues.error([*gpath, "locale" if about_locale else "method"], p, code="faker_method")
    if args.locale_from:
        c.column(node, args.locale_from, [*gpath, "locale_from"])
    for where, problem in faker_from_problems(node, col):
        c.issues.error([*gpath, "from", *where], problem, code="faker_from")


def _distribution(c: Checker, node: Node, col: Column, gen: g.DistributionGen, gpath: Path) -> None:
    clamp = gen.distribution.clamp
    if clamp:
        check_whole_number_inside(c, col, clamp[0], clamp[1], [*gpath, "clamp"], "clamp")


def _expression(c: Checker, node: Node, col: Column, gen: g.ExpressionGen, gpath: Path) -> None:
    code = gen.expression.code
    problems = expression_problems(code, {c.name: c.type for c in node.columns})
    for problem in problems:
        c.issues.error([*gpath, "code"], problem.message, code="expression")
    if not problems and col.name in referenced_columns(code):
        c.issues.error(
            [*gpath, "code"],
            f"the expression of '{col.name}' uses '{col.name}' itself, which does not exist yet; "
            "compute it from other columns",
            code="expression_self_reference",
        )


def _lookup(c: Checker, node: Node, col: Column, gen: g.LookupGen, gpath: Path) -> None:
    args = gen.lookup
    found = c.ref(args.from_, [*gpath, "from"])
    if not found:
        return
    src, src_col = found
    if src_col.type != col.type and (src_col.name == src.pk or not comparable(src_col.type, col.type)):
        c.issues.error(
            [*gpath, "from"],
            f"'{col.name}' is {col.type} but '{args.from_}' is {src_col.type}; a lookup copies the "
            f"values (and keys keep their type), so make '{col.name}' {src_col.type}",
            code="type_mismatch",
        )
    if src is node:
        _self_reference(c, node, col, gen, src_col, gpath)
        if not args.scoped:
            return
    if gen.picks_another_row(node):
        c.issues.note(
            [*gpath, "pick"],
            f"'{col.name}' comes from a random '{src.id}' row other than the one each '{node.id}' row is "
            f'born from (a callee, a referrer); for that parent\'s own value drop "pick"',
            code="another_parent_row",
        )
    for local, source in (args.on or {}).items():
        local_col = c.column(node, local, [*gpath, "on", local])
        source_col = c.column(src, source, [*gpath, "on", local])
        if local_col and source_col and not comparable(local_col.type, source_col.type):
            c.issues.error(
                [*gpath, "on", local],
                f"joins '{node.id}.{local}' ({local_col.type}) with '{src.id}.{source}' "
                f"({source_col.type}); values of these types never match",
                code="type_mismatch",
            )
        if (
            source_col is not None
            and not args.scoped
            and src is not node
            and not c.is_unique(src, source_col)
        ):
            c.issues.error(
                [*gpath, "on", local],
                f"'{src.id}.{source}' is not unique, so a join on it is ambiguous; join on "
                f"'{src.id}.{src.pk}' or declare it unique, or pick a random matching row with "
                '"pick": "random"',
                code="lookup_not_unique",
            )
    if args.scoped:
        relations.scoped_lookup(c, node, col, gen, gpath)


def _self_reference(c: Checker, node: Node, col: Column, gen: g.LookupGen, pk: Column, gpath: Path) -> None:
    """Each row names an earlier row of its own table, found by its position in a sequence key (with
    `on`: a random earlier row whose `on` columns equal its own)."""
    on = gen.lookup.on
    if on and not gen.lookup.scoped:
        c.issues.error(
            [*gpath, "on"],
            'a self-reference with "on" names a random earlier row with the same values (a manager in '
            'the same department); add "pick": "random"',
            code="self_lookup_on",
        )
    elif node.pk != pk.name:
        c.issues.error(
            [*gpath, "from"],
            f"a self-reference must point at the table's primary key "
            f"('{node.id}.{node.pk}'), so each row can name an earlier row",
            code="self_ref_not_pk",
        )
    elif not isinstance(pk.generator, g.SequenceGen):
        c.issues.error(
            [*gpath, "from"],
            f"a self-reference needs the primary key '{node.id}.{node.pk}' to be a sequence "
            "(earlier rows are found by their position)",
            code="self_ref_not_sequence",
        )
    elif not col.nullable:
        first = f"the first row of each {', '.join(on)}" if on else "the first row"
        c.issues.error(
            [*gpath[:-2]],
            f"self-reference '{col.name}' needs \"nullable\": true: {first} has no earlier row to point at",
            code="self_ref_not_nullable",
        )


GeneratorCheck = Callable[["Checker", Node, Column, Any, "Path"], None]
# One check per generator, on its model type.
GENERATOR_CHECKS: dict[type[g.GeneratorModel], GeneratorCheck] = {
    g.SequenceGen: _nothing,
    g.ChoiceGen: _choice,
    g.DistributionGen: _distribution,
    g.DatetimeSeriesGen: _datetime_series,
    g.FakerGen: _faker,
    g.LookupGen: _lookup,
    g.ExpressionGen: _expression,
    g.EnumListGen: _enum_list,
    g.StateAtGen: _state_at,
    g.RollupGen: relations.rollup,
    g.RunningGen: relations.running,
}
