"""Whether a well-formed schema can be generated: the literal values a column draws from fit its type,
its typical value fits the range its type can store, a sequence stays inside 64 bits, and no table
feeds on its own rows. `check` refuses these here, so `generate` never has to fail on them halfway
(or, worse, write wrapped or truncated values). What only the data can show (a value that overflows
in a few rows) is refused by the engine's final cast instead."""

from __future__ import annotations

import math
from typing import Any

from datagen.dsl.expressions import gives_text
from datagen.dsl.generators import (
    ChoiceGen,
    DistributionGen,
    EnumListGen,
    ExpressionGen,
    SequenceGen,
    distribution_median,
)
from datagen.dsl.issues import IssueList, PathPart
from datagen.dsl.limits import INT64_FLOAT_LIMIT, INT64_MAX, INT64_MIN, instant_problem, shown
from datagen.dsl.models import Column, Node, Schema, parse_instant
from datagen.dsl.modifiers import Add, Clamp, Effect, Jitter, MapValues, Multiply
from datagen.dsl.references import split_ref

Path = list[PathPart]
# Modifiers that keep a column's median where the analysis can follow it; any other stops it.
_FOLLOWED = (Multiply, Add, Clamp, Jitter)


def check_feasible(schema: Schema, issues: IssueList) -> None:
    rows = expected_rows(schema)
    for ni, node in enumerate(schema.nodes):
        base: Path = ["nodes", ni]
        for pi, parent in enumerate(node.parents or []):
            if parent == node.id:
                issues.error(
                    [*base, "parents", pi],
                    f"'{node.id}' is listed as its own parent; a fact's rows are born from another "
                    "table's rows (for a row pointing at an earlier row of the same table, use a "
                    "nullable lookup into the table's own key)",
                    code="self_parent",
                )
        effects: list[tuple[Path, Effect]] = [
            ([*base, "modifiers", mi], mod) for mi, mod in enumerate(node.modifiers)
        ]
        for ci, col in enumerate(node.columns):
            path: Path = [*base, "columns", ci]
            _check_literals(col, path, issues)
            _check_generator(node, col, path, issues, rows.get(node.id, 0.0))
            effects += [
                ([*path, "modifiers", mi], mod)
                for mi, mod in enumerate(col.modifiers)
                if isinstance(mod, Effect)
            ]
        for where, mod in effects:
            if mod.args.effect_table == node.id:
                issues.error(
                    [*where, "args", "effect_table"],
                    f"effect_table '{node.id}' is the table being generated, whose rows do not exist yet "
                    "(the effect would never apply); keep the windows in a table of their own",
                    code="effect_self",
                )


def expected_rows(schema: Schema) -> dict[str, float]:
    """Rows each table is expected to have at scale 1 (fanout means; segment and vintage multipliers
    left out). A table in a parent cycle, which the checker reports, counts as empty."""
    nodes = {n.id: n for n in schema.nodes}
    out: dict[str, float] = {}
    visiting: set[str] = set()

    def rows_of(tid: str) -> float:
        if tid in out:
            return out[tid]
        node = nodes.get(tid)
        if node is None or tid in visiting:
            return 0.0
        visiting.add(tid)
        if node.kind == "vocab":
            n = float(node.vocab_size)
        elif not node.parents:
            n = float(node.row_count)
        else:
            n = rows_of(node.parents[0]) * _children_per_parent(node)
        visiting.discard(tid)
        out[tid] = n
        return n

    for node in schema.nodes:
        rows_of(node.id)
    return out


def _children_per_parent(node: Node) -> float:
    if node.stage_config is not None:
        return float(len(node.stage_config.stages))
    f = node.fanout
    if f is None:
        return 1.0
    mean = f.lambda_ if f.lambda_ is not None else ((f.min or 0) + (f.max or 0)) / 2
    return min(max(mean, f.min or 0), f.max) if f.max is not None else max(mean, f.min or 0)


# --- literal values -----------------------------------------------------------------------------------


def literal_problem(value: Any, col: Column) -> str | None:
    """Why a literal cannot be a value of `col` (None when it can)."""
    t = col.type
    if value is None:
        if col.nullable:
            return None
        return f"null, but '{col.name}' is not nullable (add \"nullable\": true, or remove the null)"
    if t == "string":
        return None  # text, or a number or boolean written as its text
    if isinstance(value, bool):
        return None if t == "bool" else f"{str(value).lower()} in {_a(t)} column"
    if t == "bool":
        return f"{shown(value)} in a bool column (use true or false)"
    if t in ("int", "float"):
        if isinstance(value, str):
            return f"text {shown(value)} in {_a(t)} column"
        if t == "int" and isinstance(value, float) and not value.is_integer():
            return f"{value:g} in an int column (use a whole number, or make the column a float)"
        if t == "int" and not INT64_MIN <= value <= INT64_MAX:
            return f"{value:.4g} is outside the 64-bit integer range"
        return None
    if t in ("datetime", "date"):
        if not isinstance(value, str):
            return f'{shown(value)} in {_a(t)} column (write an ISO-8601 date in quotes, e.g. "2024-01-01")'
        try:
            return instant_problem(parse_instant(value), value)
        except (ValueError, OverflowError):
            return f"{shown(value)} is not an ISO-8601 date or timestamp"
    return None


def _a(kind: str) -> str:
    return f"an {kind}" if kind[0] in "aeiou" else f"a {kind}"


def _check_literals(col: Column, path: Path, issues: IssueList) -> None:
    """The values a column draws from or maps to must be values of its type (at most one report per
    list, so a long list with one systematic mistake stays readable)."""
    lists: list[tuple[Path, list[tuple[PathPart, Any]]]] = []
    gen = col.generator
    if isinstance(gen, ChoiceGen) and gen.choice.choices is not None:
        lists.append(([*path, "generator", "choice", "choices"], list(enumerate(gen.choice.choices))))
    elif isinstance(gen, EnumListGen):
        lists.append(([*path, "generator", "enum_list", "values"], list(enumerate(gen.enum_list.values))))
    for mi, mod in enumerate(col.modifiers):
        if isinstance(mod, MapValues):
            targets: list[tuple[PathPart, Any]] = list(mod.args.mapping.items())
            if mod.args.default is not None:  # null means "keep unmapped values", not "map to null"
                targets.append(("default", mod.args.default))
            lists.append(([*path, "modifiers", mi, "args", "mapping"], targets))
    for where, values in lists:
        for key, value in values:
            if problem := literal_problem(value, col):
                at = [*where[:-1], "default"] if key == "default" else [*where, key]
                issues.error(at, problem, code="value_type")
                break


# --- generators ---------------------------------------------------------------------------------------


def _check_generator(node: Node, col: Column, path: Path, issues: IssueList, rows: float) -> None:
    gen = col.generator
    gpath: Path = [*path, "generator", gen.keyword]
    if isinstance(gen, ChoiceGen) and gen.choice.choices_ref:
        ref = split_ref(gen.choice.choices_ref)
        if ref and ref[0] == node.id:
            issues.error(
                [*gpath, "choices_ref"],
                f"choices_ref '{gen.choice.choices_ref}' reads the table being generated, whose values do "
                "not exist yet; draw from another table's column, or list the choices",
                code="choices_ref_self",
            )
    elif (
        isinstance(gen, ExpressionGen)
        and col.type in ("int", "float", "bool")
        and not any(isinstance(mod, MapValues) for mod in col.modifiers)  # text relabelled as numbers
        and gives_text(gen.expression.code, {c.name: c.type for c in node.columns})
    ):
        issues.error(
            [*gpath, "code"],
            f"the expression can give text, but '{col.name}' is {_a(col.type)} column; make every "
            "branch a number (or make the column a string)",
            code="expression_type",
        )
    elif isinstance(gen, SequenceGen) and col.type in ("int", "string") and rows >= 1:
        args = gen.sequence
        last = args.start + args.step * (math.ceil(rows) - 1)
        if not INT64_MIN <= last <= INT64_MAX:
            issues.error(
                gpath,
                f"a sequence from {args.start} by {args.step} reaches {last:.4g} at row {math.ceil(rows):,}, "
                "outside the 64-bit integer range (about ±9.22e18); start lower or use a smaller step",
                code="value_range",
            )
    elif isinstance(gen, DistributionGen) and col.type in ("int", "float"):
        _check_typical_value(col, gen, gpath, path, issues)


def _check_typical_value(
    col: Column, gen: DistributionGen, gpath: Path, path: Path, issues: IssueList
) -> None:
    """Follow the median draw through the clamp and the modifiers that move it predictably; a median
    the column cannot store means most rows cannot be stored, which generation would only refuse."""
    d = gen.distribution
    median = distribution_median(d.type, d.params)
    where, what = gpath, f"the median of this {d.type} distribution"
    if d.clamp:
        median = _clip(median, d.clamp[0], d.clamp[1])
    for mi, mod in enumerate(col.modifiers):
        if _out_of_range(median, col.type):
            break
        if not isinstance(mod, _FOLLOWED):
            return
        if isinstance(mod, Multiply):
            median *= mod.args.factor
        elif isinstance(mod, Add):
            median += mod.args.value
        elif isinstance(mod, Clamp):
            median = _clip(median, mod.args.min, mod.args.max)
        where, what = [*path, "modifiers", mi], f"the typical value after this '{mod.keyword}'"
    if _out_of_range(median, col.type):
        limit = "the 64-bit integer range (about ±9.22e18)" if col.type == "int" else "a float's range"
        scale_note = " (lognormal mean and sigma are on the log scale)" if d.type == "lognormal" else ""
        issues.error(
            where,
            f"{what} is {median:.4g}, outside {limit}, so most values of '{col.name}' could not be "
            f"stored; change the parameters{scale_note}",
            code="value_range",
        )


def _clip(value: float, lo: float | None, hi: float | None) -> float:
    if lo is not None and value < lo:
        return lo
    if hi is not None and value > hi:
        return hi
    return value


def _out_of_range(value: float, column_type: str) -> bool:
    if not math.isfinite(value):
        return True
    return column_type == "int" and not -INT64_FLOAT_LIMIT <= value < INT64_FLOAT_LIMIT
