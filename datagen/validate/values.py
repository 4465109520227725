"""Value checks: every declared constraint holds in every row — ranges, inequalities (within a row, or
between a row and its related row, joined along the schema's relation path through the keys each row
carries), full-match patterns, enums (a list
or the values of another column, `enum_ref`), unique columns, and the constraints declared on a column
itself. All hard: a declared constraint is a promise, so one violating row fails the run.

Nulls never violate a value constraint (whether a column may be null is the structural check's job)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from datagen.dsl.models import Column, Inequality, parse_instant
from datagen.dsl.references import split_ref
from datagen.dsl.related_rows import Path, path_to
from datagen.validate.context import NUMERIC, TEMPORAL, Context, q, sql_text
from datagen.validate.relations import along, joins
from datagen.validate.results import Result, verdict

FIX = (
    "regenerate the data from this schema (datagen generate); if it was, the engine broke a declared "
    "constraint — report it with the schema"
)


def value_checks(ctx: Context) -> Iterator[Result]:
    def run(check: str, table: str, column: str, fn, *args) -> Result:
        return ctx.attempt(check, "value", table, column, fn, ctx, table, column, *args, hard=True)

    c = ctx.schema.constraints
    for r in c.ranges:
        if (found := _present(ctx, r.attr)) is not None:
            yield run("range", *found, range_check, r.min, r.max)
    for ineq in c.inequalities:
        left, right = _present(ctx, ineq.left), _present(ctx, ineq.right)
        if left is not None and right is not None:
            yield ctx.attempt("inequality", "value", *left, inequality, ctx, ineq, hard=True)
    for p in c.pattern:
        if (found := _present(ctx, p.attr)) is not None:
            yield run("pattern", *found, pattern, p.regex, "constraints.pattern")
    for e in c.enum:
        if (found := _present(ctx, e.attr)) is not None:
            if e.values is not None:
                yield run("enum", *found, enum_values, e.values, "constraints.enum")
            elif e.enum_ref and _present(ctx, e.enum_ref) is not None:
                yield run("enum", *found, enum_ref, e.enum_ref, "constraints.enum")
    pks = {f"{n.id}.{n.pk}" for n in ctx.schema.nodes if n.pk}
    for ref in dict.fromkeys(c.unique):
        if ref not in pks and (found := _present(ctx, ref)) is not None:
            yield run("unique", *found, unique)
    for node in ctx.schema.nodes:
        for col in node.columns:
            if col.constraints is None or not ctx.has(node.id, col.name):
                continue
            cc = col.constraints
            if cc.pattern is not None:
                yield run("pattern", node.id, col.name, pattern, cc.pattern, "column")
            if cc.enum is not None:
                yield run("enum", node.id, col.name, enum_values, cc.enum, "column")
            if cc.enum_ref is not None and _present(ctx, cc.enum_ref) is not None:
                yield run("enum", node.id, col.name, enum_ref, cc.enum_ref, "column")


def _present(ctx: Context, ref: str) -> tuple[str, str] | None:
    parts = split_ref(ref)
    return parts if parts and parts[0] in ctx.nodes and ctx.has(*parts) else None


def _declared(ctx: Context, table: str, column: str) -> Column:
    col = ctx.node(table).column(column)
    assert col is not None  # checks only run on declared columns
    return col


def _ref(ref: str) -> tuple[str, str]:
    parts = split_ref(ref)
    assert parts is not None  # the check step rejects anything else
    return parts


def violations(
    ctx: Context,
    check: str,
    table: str,
    column: str,
    where: str,
    params: list[Any],
    what: str,
    details: dict[str, Any],
) -> Result:
    """Count the rows matching `where` (a violation); fetch five of them when there are any."""
    (bad,) = ctx.one(f"SELECT count(*) FROM {q(table)} WHERE {where}", params)
    examples = []
    if bad:
        key = ctx.key(table)
        cols = f"{q(key)}, {q(column)}" if key and key != column else q(column)
        examples = ctx.examples(f"SELECT {cols} FROM {q(table)} WHERE {where}", params)
    n = ctx.rows[table]
    msg = f"{bad:,} of {n:,} rows {what}" if bad else f"all {n:,} rows hold: {details['rule']}"
    return _result(check, table, column, bad, msg, examples, {**details, "violations": int(bad), "rows": n})


def _result(
    check: str, table: str, column: str, bad: int, message: str, examples: list, details: dict[str, Any]
) -> Result:
    """A declared constraint is a promise: hard, and broken by a single one of the `bad` rows."""
    return Result(
        check,
        "value",
        table,
        column,
        verdict(bad == 0),
        message,
        hard=True,
        examples=examples,
        details=details,
        fix=None if not bad else FIX,
    )


def _bound(col: Column, value: float | str) -> tuple[str, Any]:
    """A range bound as a SQL placeholder and its parameter, typed like the column."""
    if col.type in TEMPORAL:
        return "CAST(? AS TIMESTAMPTZ)", parse_instant(str(value)) if isinstance(value, str) else value
    return "?", float(value)


def range_check(
    ctx: Context, table: str, column: str, lo: float | str | None, hi: float | str | None
) -> Result:
    col = _declared(ctx, table, column)
    x = q(column)
    preds, params = [], []
    for value, op in ((lo, "<"), (hi, ">")):
        if value is not None:
            placeholder, param = _bound(col, value)
            preds.append(f"{x} {op} {placeholder}")
            params.append(param)
    if col.type == "float":
        preds.append(f"isnan({x})")
    rule = f"{'' if lo is None else f'{lo} <= '}{column}{'' if hi is None else f' <= {hi}'}"
    if not preds:
        return Result("range", "value", table, column, "skip", "no bound declared", hard=True)
    return violations(
        ctx,
        "range",
        table,
        column,
        " OR ".join(f"({p})" for p in preds),
        params,
        f"outside the declared range ({rule})",
        {"rule": rule, "min": lo, "max": hi},
    )


def inequality(ctx: Context, ineq: Inequality) -> Result:
    (lt, lc), (rt, rc) = _ref(ineq.left), _ref(ineq.right)
    rule = f"{ineq.left} {ineq.op} {ineq.right}"
    if lt == rt:
        where = f"{q(lc)} IS NOT NULL AND {q(rc)} IS NOT NULL AND NOT ({q(lc)} {ineq.op} {q(rc)})"
        return violations(ctx, "inequality", lt, lc, where, [], f"break {rule}", {"rule": rule})
    # the row of one side, joined along the schema's relation path to its related row of the other
    child, parent, path = lt, rt, path_to(ctx.schema, lt, rt)
    if not isinstance(path, Path):
        child, parent, path = rt, lt, path_to(ctx.schema, rt, lt)
    column = lc if child == lt else rc
    found = (
        joins(ctx, path, prefix="p")
        if isinstance(path, Path)
        else f"no single {parent} row is related to a {child} row"
    )
    if isinstance(found, str):
        return Result(
            "inequality",
            "value",
            child,
            column,
            "skip",
            f"cannot check {rule}: {found}",
            hard=True,
            fix=f"give each {child} row the key of its {parent} row (a lookup of {parent}'s primary key)",
        )
    assert isinstance(path, Path)
    join_sql, p = found
    left = f"d.{q(lc)}" if child == lt else f"{p}.{q(lc)}"
    right = f"{p}.{q(rc)}" if child == lt else f"d.{q(rc)}"
    joined = (
        f"FROM {q(child)} d{join_sql} "
        f"WHERE {left} IS NOT NULL AND {right} IS NOT NULL AND NOT ({left} {ineq.op} {right})"
    )
    (bad,) = ctx.one(f"SELECT count(*) {joined}")
    examples = []
    if bad:
        key = ctx.key(child)
        cols = [f"d.{q(key)} AS {q(f'{child}.{key}')}"] if key else []
        cols += [f"{left} AS {q(ineq.left)}", f"{right} AS {q(ineq.right)}"]
        examples = ctx.examples(f"SELECT {', '.join(cols)} {joined}")
    n = ctx.rows[child]
    path_text = along(path, child)
    return _result(
        "inequality",
        child,
        column,
        bad,
        f"{bad:,} of {n:,} rows break {rule} (joined on {path_text})"
        if bad
        else f"all {n:,} rows hold: {rule} (joined on {path_text})",
        examples,
        {"rule": rule, "join": path_text, "violations": int(bad)},
    )


def pattern(ctx: Context, table: str, column: str, regex: str, source: str) -> Result:
    x = q(column)
    where = f"{x} IS NOT NULL AND NOT regexp_full_match(CAST({x} AS VARCHAR), {sql_text(regex)})"
    try:
        re.compile(regex)
    except re.error as exc:  # the schema checker rejects these; data from an old schema may still arrive
        return Result("pattern", "value", table, column, "fail", f"regex does not compile: {exc}", hard=True)
    return violations(
        ctx,
        "pattern",
        table,
        column,
        where,
        [],
        f"do not fully match /{regex}/",
        {"rule": f"{column} matches /{regex}/ (full match)", "regex": regex, "source": source},
    )


def _typed(col: Column, values: list[Any]) -> list[Any]:
    """Enum values as the column stores them, so the comparison is by value, not by spelling."""
    out: list[Any] = []
    for v in values:
        if v is None:
            continue
        if col.type == "string":
            out.append(v if isinstance(v, str) else str(v))
        elif col.type in NUMERIC and isinstance(v, int | float) and not isinstance(v, bool):
            if col.type == "int" and float(v).is_integer():
                out.append(int(v))
            elif col.type == "float":
                out.append(float(v))
        elif col.type == "bool" and isinstance(v, bool):
            out.append(v)
        elif col.type in TEMPORAL and isinstance(v, str):
            out.append(_instant(v))
    return [v for v in out if v is not None]


def _instant(value: str) -> datetime | None:
    try:
        return parse_instant(value)
    except ValueError:
        return None


def enum_values(ctx: Context, table: str, column: str, values: list[Any], source: str) -> Result:
    col = _declared(ctx, table, column)
    allowed = _typed(col, values)
    x = q(column)
    if allowed:
        where, params = f"{x} IS NOT NULL AND NOT list_contains(?, {x})", [allowed]
    else:
        where, params = f"{x} IS NOT NULL", []
    shown = ", ".join(repr(v) for v in values[:12]) + (", …" if len(values) > 12 else "")
    return violations(
        ctx,
        "enum",
        table,
        column,
        where,
        params,
        f"hold a value outside the enum [{shown}]",
        {"rule": f"{column} in [{shown}]", "values": values, "source": source},
    )


def enum_ref(ctx: Context, table: str, column: str, ref: str, source: str) -> Result:
    rt, rc = _ref(ref)
    where = (
        f"{q(column)} IS NOT NULL AND {q(column)} NOT IN "
        f"(SELECT {q(rc)} FROM {q(rt)} WHERE {q(rc)} IS NOT NULL)"
    )
    return violations(
        ctx,
        "enum",
        table,
        column,
        where,
        [],
        f"hold a value that is not in {ref}",
        {"rule": f"{column} in the values of {ref}", "enum_ref": ref, "source": source},
    )


def unique(ctx: Context, table: str, column: str) -> Result:
    dup_keys, dup_rows, examples = ctx.duplicates(table, column)
    return _result(
        "unique",
        table,
        column,
        dup_keys,
        f"{dup_keys:,} value(s) repeated ({dup_rows:,} rows share them)"
        if dup_keys
        else f"all non-null values of {column} are distinct",
        examples,
        {"rule": f"{column} unique", "duplicate_values": dup_keys, "duplicate_rows": dup_rows},
    )
