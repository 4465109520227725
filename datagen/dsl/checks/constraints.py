"""Checks of the declared constraints (every reference resolves, bounds fit the column's type, every
inequality and every `within` read from a related row can be made true by construction — the engine's
own definition, datagen.dsl.enforcement), and the constraints a schema implies: every primary key is
unique and every lookup into a parent's key is a foreign key."""

from __future__ import annotations

from typing import TYPE_CHECKING

from datagen.dsl.base import NUMERIC, TIME, parse_instant
from datagen.dsl.checks.columns import check_whole_number_inside, comparable
from datagen.dsl.enforcement import Enforcement, Refused, enforcement
from datagen.dsl.generators import LookupGen
from datagen.dsl.models import Column, ForeignKey, RangeConstraint

if TYPE_CHECKING:
    from datagen.dsl.checks import Checker, Path


def check_constraints(c: Checker) -> None:
    cons = c.s.constraints
    for i, ref in enumerate(cons.unique):
        c.ref(ref, ["constraints", "unique", i])
    for i, fk in enumerate(cons.foreign_keys):
        c.ref(fk.from_, ["constraints", "foreign_keys", i, "from"])
        c.ref(fk.to, ["constraints", "foreign_keys", i, "to"])
    for i, r in enumerate(cons.ranges):
        found = c.ref(r.attr, ["constraints", "ranges", i, "attr"])
        if found:
            check_range_bounds(c, found[1], r, ["constraints", "ranges", i])
        if (
            found and r.min is not None and r.max is not None and type(r.min) is type(r.max) and r.min > r.max  # type: ignore[operator]  # same type, checked above
        ):
            c.issues.error(["constraints", "ranges", i], f"min ({r.min}) > max ({r.max})", code="bad_range")
    made = enforcement(c.s)
    for i, q in enumerate(cons.inequalities):
        left = c.ref(q.left, ["constraints", "inequalities", i, "left"])
        right = c.ref(q.right, ["constraints", "inequalities", i, "right"])
        if not (left and right):
            continue
        if not comparable(left[1].type, right[1].type):
            c.issues.error(
                ["constraints", "inequalities", i],
                f"compares '{q.left}' ({left[1].type}) with '{q.right}' ({right[1].type}); "
                "compare numbers with numbers and times with times",
                code="type_mismatch",
            )
        elif isinstance(outcome := made.inequalities[i], Refused):
            c.issues.error(["constraints", "inequalities", i], outcome.message, code="not_enforceable")
    check_windows(c, made)
    for i, p in enumerate(cons.pattern):
        c.ref(p.attr, ["constraints", "pattern", i, "attr"])
    for i, e in enumerate(cons.enum):
        c.ref(e.attr, ["constraints", "enum", i, "attr"])
        if e.enum_ref:
            c.ref(e.enum_ref, ["constraints", "enum", i, "enum_ref"])


def check_range_bounds(c: Checker, col: Column, r: RangeConstraint, path: Path) -> None:
    """Numbers bound numeric columns, ISO-8601 text bounds time columns; nothing else has a range."""
    if col.type not in (*NUMERIC, *TIME):
        c.issues.error(
            [*path, "attr"],
            f"ranges apply to numeric and datetime columns; '{col.name}' is {col.type} "
            "(use an enum or pattern constraint)",
            code="wrong_type",
        )
        return
    check_whole_number_inside(c, col, r.min, r.max, path, "range")
    for key in ("min", "max"):
        bound = getattr(r, key)
        if bound is None:
            continue
        if col.type in NUMERIC and isinstance(bound, str):
            c.issues.error(
                [*path, key],
                f"'{col.name}' is {col.type}, so {key} is a number; found '{bound}'",
                code="wrong_type",
            )
        elif col.type in TIME and not isinstance(bound, str):
            c.issues.error(
                [*path, key],
                f"'{col.name}' is {col.type}, so {key} is an ISO-8601 timestamp in quotes "
                f'(e.g. "2024-01-01"); found {bound:g}',
                code="wrong_type",
            )
        elif col.type in TIME:
            try:
                parse_instant(bound)
            except ValueError:
                c.issues.error(
                    [*path, key], f"'{bound}' is not an ISO-8601 date or timestamp", code="wrong_type"
                )


def check_windows(c: Checker, made: Enforcement) -> None:
    """A `within` side read from a related row is a bound like an inequality: refused the same way."""
    for ni, node in enumerate(c.s.nodes):
        for ci, col in enumerate(node.columns):
            for outcome in made.windows.get((node.id, col.name), []):
                if isinstance(outcome, Refused):
                    path: Path = ["nodes", ni, "columns", ci, "generator", "datetime_series", "within"]
                    c.issues.error(path, outcome.message, code="not_enforceable")


def add_implied_constraints(c: Checker) -> None:
    cons = c.s.constraints
    for node in c.s.nodes:
        pk = node.column(node.pk) if node.pk else None
        if pk is not None and pk.output and f"{node.id}.{node.pk}" not in cons.unique:
            cons.unique.append(f"{node.id}.{node.pk}")
            c.issues.note(
                ["constraints", "unique"],
                f"added implied unique '{node.id}.{node.pk}' (primary key)",
                code="implied_constraint",
            )
    declared = {(fk.from_, fk.to) for fk in cons.foreign_keys}
    for ni, node in enumerate(c.s.nodes):
        for ci, col in enumerate(node.columns):
            gen = col.generator
            if (
                not isinstance(gen, LookupGen)
                or (gen.lookup.on and not gen.lookup.scoped)
                or gen.source is None
                or not col.output  # a hidden helper is not in the data, so no constraint can name it
            ):
                continue
            target = c.nodes.get(gen.source[0])
            if target is None or target.pk != gen.source[1] or target.column(gen.source[1]) is None:
                continue
            pair = (f"{node.id}.{col.name}", gen.lookup.from_)
            if pair not in declared:
                cons.foreign_keys.append(ForeignKey.model_validate({"from": pair[0], "to": pair[1]}))
                declared.add(pair)
                c.issues.note(
                    ["nodes", ni, "columns", ci],
                    f"added implied foreign key {pair[0]} -> {pair[1]}",
                    code="implied_constraint",
                )
