"""Structural checks: the data has the shape the schema declares — the declared columns and no others,
each stored with its declared type; as many rows as the schema implies (row_counts.py); primary keys
unique and present; every foreign key resolving to a parent row; no nulls where the schema allows
none. All hard: a failure here makes `datagen validate` exit 1.

A missing table is not a check but bad input (the Context refuses it before any check runs)."""

from __future__ import annotations

from collections.abc import Iterator

import pyarrow as pa

from datagen.dsl.references import split_ref
from datagen.validate.context import Context, q, stored_kind
from datagen.validate.results import Result, verdict
from datagen.validate.row_counts import row_count

REGENERATE = "regenerate the data from this schema: datagen generate SCHEMA -o DATA_DIR"


def structural_checks(ctx: Context) -> Iterator[Result]:
    for node in ctx.schema.nodes:
        tid = node.id
        yield ctx.attempt("columns", "structural", tid, None, columns_present, ctx, tid, hard=True)
        yield ctx.attempt("rows", "structural", tid, None, row_count, ctx, tid, hard=True)
        for col in node.columns:
            if ctx.has(tid, col.name):
                yield ctx.attempt(
                    "type", "structural", tid, col.name, stored_type, ctx, tid, col.name, hard=True
                )
        if node.pk and ctx.has(tid, node.pk):
            yield ctx.attempt(
                "primary_key", "structural", tid, node.pk, primary_key, ctx, tid, node.pk, hard=True
            )
        for col in node.columns:
            if not col.nullable and ctx.has(tid, col.name):
                yield ctx.attempt(
                    "not_null", "structural", tid, col.name, not_null, ctx, tid, col.name, hard=True
                )
    for fk in ctx.schema.constraints.foreign_keys:
        child, parent = split_ref(fk.from_), split_ref(fk.to)
        if child and parent and ctx.has(*child) and ctx.has(*parent):
            yield ctx.attempt(
                "foreign_key", "structural", child[0], child[1], foreign_key, ctx, child, parent, hard=True
            )


def _result(check: str, table: str, column: str | None, ok: bool, message: str, **kw) -> Result:
    return Result(check, "structural", table, column, verdict(ok), message, hard=True, **kw)


def columns_present(ctx: Context, table: str) -> Result:
    """The written columns (hidden helpers, `"output": false`, are expected absent: one present is an
    extra column)."""
    declared = ctx.node(table).output_column_names
    present = ctx.present(table)
    missing = [c for c in declared if c not in present]
    extra = sorted({n for s in ctx.stored[table] for n in s.names} - set(declared))
    if missing:
        msg = f"missing column(s) {', '.join(missing)} (of {len(declared)} written)"
    else:
        msg = f"all {len(declared)} written columns present"
    if extra:
        msg += f"; extra column(s) not in the schema: {', '.join(extra)}"
    fix = None
    if missing or extra:
        fix = REGENERATE + (", or declare the extra columns in the schema" if extra else "")
    return _result(
        "columns",
        table,
        None,
        not missing and not extra,
        msg,
        details={"missing": missing, "extra": extra},
        fix=fix,
    )


def _type_problem(declared: str, t: pa.DataType) -> str | None:
    kind = stored_kind(t)
    if kind != declared:
        return f"stored as {t}, declared {declared}"
    if declared == "datetime" and (t.tz is None or t.tz.upper() not in ("UTC", "+00:00", "Z", "ETC/UTC")):
        return f"stored as {t}: a datetime is a UTC timestamp (timestamp with time zone UTC)"
    return None


def stored_type(ctx: Context, table: str, column: str) -> Result:
    col = ctx.node(table).column(column)
    assert col is not None  # checks only run on declared columns
    declared = col.type
    types = {str(s.field(column).type): s.field(column).type for s in ctx.stored[table]}
    problems = [p for t in types.values() if (p := _type_problem(declared, t))]
    if len(types) > 1:
        problems.append(f"the files disagree on its type ({', '.join(sorted(types))})")
    msg = "; ".join(problems) if problems else f"stored as {next(iter(types))} ({declared})"
    return _result(
        "type",
        table,
        column,
        not problems,
        msg,
        details={"declared": declared, "stored": sorted(types)},
        fix=None if not problems else f"{REGENERATE}, or declare the type the data really has",
    )


def primary_key(ctx: Context, table: str, pk: str) -> Result:
    dup_keys, dup_rows, examples = ctx.duplicates(table, pk)
    nulls = ctx.profile(table)[pk]["nulls"]
    ok = dup_keys == 0 and nulls == 0
    problems = []
    if dup_keys:
        problems.append(f"{dup_keys:,} key value(s) repeated ({dup_rows:,} rows share them)")
    if nulls:
        problems.append(f"{nulls:,} row(s) without a key")
    msg = "; ".join(problems) if problems else f"{ctx.rows[table]:,} keys, unique and non-null"
    return _result(
        "primary_key",
        table,
        pk,
        ok,
        msg,
        examples=examples,
        details={"duplicate_keys": dup_keys, "duplicate_rows": dup_rows, "null_keys": nulls},
        fix=None if ok else f"keys must be unique and present: {REGENERATE}, or remove the duplicated rows",
    )


def not_null(ctx: Context, table: str, column: str) -> Result:
    nulls = ctx.profile(table)[column]["nulls"]
    examples = []
    if nulls:
        x = q(column)
        nan = f" OR isnan({x})" if pa.types.is_floating(ctx.stored[table][0].field(column).type) else ""
        key = ctx.key(table)
        cols = f"{q(key)}, {x}" if key and key != column else x
        examples = ctx.examples(f"SELECT {cols} FROM {q(table)} WHERE {x} IS NULL{nan}")
    n = ctx.rows[table]
    return _result(
        "not_null",
        table,
        column,
        nulls == 0,
        f"{nulls:,} of {n:,} rows are null in a non-nullable column" if nulls else f"no nulls in {n:,} rows",
        examples=examples,
        details={"nulls": nulls, "rows": n},
        fix=None if not nulls else f'{REGENERATE}; if nulls are intended, declare "nullable": true',
    )


def foreign_key(ctx: Context, child: tuple[str, str], parent: tuple[str, str]) -> Result:
    (ct, cc), (pt, pc) = child, parent
    orphans = (
        f"SELECT c.* FROM {q(ct)} c ANTI JOIN {q(pt)} p ON c.{q(cc)} = p.{q(pc)} WHERE c.{q(cc)} IS NOT NULL"
    )
    (bad,) = ctx.one(f"SELECT count(*) FROM ({orphans})")
    examples = []
    if bad:
        key = ctx.key(ct)
        cols = f"{q(key)}, {q(cc)}" if key and key != cc else q(cc)
        examples = ctx.examples(f"SELECT {cols} FROM ({orphans})")
    n = ctx.rows[ct]
    return _result(
        "foreign_key",
        ct,
        cc,
        bad == 0,
        (
            f"{bad:,} of {n:,} rows point at no {pt}.{pc}"
            if bad
            else f"every {ct}.{cc} resolves to a {pt}.{pc}"
        ),
        examples=examples,
        details={"references": f"{pt}.{pc}", "orphans": int(bad), "rows": n},
        fix=None
        if not bad
        else f"every child key must exist in {pt}: {REGENERATE} (parents and children together)",
    )
