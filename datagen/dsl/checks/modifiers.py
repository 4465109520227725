"""Checks of a modifier: the column types it applies to and the time column it reads (both from its
descriptor), then what only that modifier needs (keyed on its model type)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from datagen.dsl.base import NUMERIC, TIME
from datagen.dsl.generators import DatetimeSeriesGen
from datagen.dsl.models import Column, Node
from datagen.dsl.modifiers import Effect, ModifierModel, Outliers, PricePoint, Seasonality

if TYPE_CHECKING:
    from datagen.dsl.checks import Checker, Path

TYPE_WORDS = (("numeric", NUMERIC), ("datetime", TIME))


def check_modifier(c: Checker, node: Node, col: Column, mod: ModifierModel, path: Path) -> None:
    allowed = mod.column_types
    if allowed is not None and col.type not in allowed:
        words = " or ".join(w for w, types in TYPE_WORDS if set(types) <= set(allowed))
        c.issues.error(
            [*path, "transform"],
            f"'{mod.keyword}' works on {words} columns; '{col.name}' is {col.type}",
            code="wrong_type",
        )
    if mod.reads_time(col):
        check_time_column(c, node, col, mod, [*path, "args", str(mod.time_argument)])
    check = MODIFIER_CHECKS.get(type(mod))
    if check is not None:
        check(c, node, col, mod, path)


def check_time_column(c: Checker, node: Node, col: Column, mod: ModifierModel, path: Path) -> None:
    source = mod.time_source(node, col)
    if source is None:  # (with a parent that has one, the legacy reading names the parent's: §11)
        c.issues.error(
            path,
            f"'{mod.keyword}' reads time, but table '{node.id}' has no datetime column; add one "
            f"or name it in '{mod.time_argument}'",
            code="no_time_column",
        )
        return
    table, chosen = source
    if table != node.id:
        if table not in (node.parents or []):
            c.issues.error(
                path,
                f"'{table}.{chosen}': a time read from another table must be a parent's "
                f"(parents of '{node.id}': {', '.join(node.parents or []) or 'none'})",
                code="time_not_parent",
            )
        elif c.ref(f"{table}.{chosen}", path, TIME) is not None:
            c.issues.note(
                path,
                f"'{mod.keyword}' on '{node.id}.{col.name}' reads each row's time from its parent row "
                f"('{table}.{chosen}')",
                code="parent_time_column",
            )
    elif mod.named_time_column() is None:
        c.issues.note(
            path,
            f"'{mod.keyword}' on '{node.id}.{col.name}' uses time column '{chosen}' (the table's "
            "first datetime column)",
            code="default_time_column",
        )
    else:
        c.column(node, chosen, path, TIME)


def _seasonality(c: Checker, node: Node, col: Column, mod: Seasonality, path: Path) -> None:
    if col.type in TIME and mod.args.time_column is not None:
        c.issues.error(
            [*path, "args", "time_column"],
            f"seasonality on the datetime column '{col.name}' reshapes when its times fall, and reads no "
            "other time; drop time_column (a time_column is for scaling a numeric column by the time "
            "of the row)",
            code="wrong_type",
        )
    elif mod.shapes_sampling(col) and not isinstance(col.generator, DatetimeSeriesGen):
        c.issues.error(
            [*path, "transform"],
            f"seasonality on a datetime column shapes a datetime_series; '{col.name}' is not one",
            code="wrong_generator",
        )


def _price_point(c: Checker, node: Node, col: Column, mod: PricePoint, path: Path) -> None:
    places = mod.args.decimals
    if col.type == "int" and places > 0:
        c.issues.error(
            [*path, "args"],
            f"'{col.name}' is an int column, so price points with decimals would be rounded away; make "
            'it a float (with "decimals": 2 for cents), or use whole endings (e.g. "unit": 10, '
            '"endings": [9])',
            code="wrong_type",
        )
    elif col.decimals is not None and col.decimals < places:
        c.issues.error(
            [*path, "args", "endings"],
            f"price points have {places} decimal(s) but '{col.name}' is rounded to {col.decimals}, which "
            "would move them; raise the column's decimals or shorten the endings",
            code="decimals_too_few",
        )


def _effect(c: Checker, node: Node, col: Column, mod: Effect, path: Path) -> None:
    check_effect(c, node, mod, [*path, "args"], table_level=False)


def _outliers(c: Checker, node: Node, col: Column, mod: Outliers, path: Path) -> None:
    if mod.args.mode == "burst" and mod.burst_time_column(node, col) is None:
        c.issues.error(
            [*path, "args", "mode"],
            "a 'burst' is a run of rows in time; the table has no datetime column",
            code="no_time_column",
        )


def check_effect(c: Checker, node: Node, mod: Effect, path: Path, *, table_level: bool) -> None:
    args = mod.args
    effect = c.table(args.effect_table, [*path, "effect_table"], "effect table")
    # A table-level effect scales fanout, so its keys and time are read on the primary parent's row.
    local = c.nodes.get(node.primary_parent or "") if table_level else node
    if table_level and local is None:
        c.issues.error(
            path,
            "a table-level effect scales fanout and needs a fact with parents",
            code="effect_without_parent",
        )
        return
    if effect is None or local is None:
        return
    for lk, ek in args.on.items():
        c.column(local, lk, [*path, "on", lk])
        c.column(effect, ek, [*path, "on", lk])
    c.column(effect, args.window.start_col, [*path, "window", "start_col"], TIME)
    c.column(effect, args.window.end_col, [*path, "window", "end_col"], TIME)
    c.column(effect, args.map.field, [*path, "map", "field"], NUMERIC)
    if args.map.op == "add" and args.map.default is None:
        c.issues.note(
            [*path, "map", "default"],
            "op 'add' without 'default': rows no window covers get + 0 (the default follows op: 0 to "
            'add, 1 to multiply; before, it was 1 for both — write "default": 1 to keep that)',
            code="effect_default",
        )
    if not table_level:
        return  # a column's time is checked like every modifier's (check_time_column)
    tcol = mod.row_time_column(local)
    if tcol is None:
        c.issues.error(
            [*path, "time_column"],
            f"an effect is matched by time, but '{local.id}' has no datetime column",
            code="no_time_column",
        )
    elif args.time_column:
        c.column(local, tcol, [*path, "time_column"], TIME)


ModifierCheck = Callable[["Checker", Node, Column, Any, "Path"], None]
# What only some modifiers need, on their model type (the rest is read from every descriptor).
MODIFIER_CHECKS: dict[type[ModifierModel], ModifierCheck] = {
    Seasonality: _seasonality,
    Effect: _effect,
    Outliers: _outliers,
    PricePoint: _price_point,
}
