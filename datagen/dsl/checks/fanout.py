"""Checks of a fact's fanout against its tables (docs/schema-language.md §5, §10.4, §10.5): `where`
reads the parent's columns, and a regular series (`every`) has a count it can keep per period and a
time column to put each row's period in."""

from __future__ import annotations

from typing import TYPE_CHECKING

from datagen.dsl.expressions import expression_problems
from datagen.dsl.generators import DatetimeSeriesGen
from datagen.dsl.models import Node

if TYPE_CHECKING:
    from datagen.dsl.checks import Checker, Path


def check_fanout(c: Checker, node: Node, path: Path) -> None:
    f = node.fanout
    parent = c.nodes.get(node.primary_parent or "")
    if f is None or parent is None:
        return
    if f.where is not None:
        for problem in expression_problems(f.where, parent.column_names):
            c.issues.error(
                [*path, "where"],
                f"{problem.message} (where reads the columns of the parent '{parent.id}')",
                code="expression",
            )
    if f.every is None:
        return
    if f.distribution not in ("constant", "poisson") or f.min is not None or f.max is not None:
        c.issues.error(
            path,
            f"a regular series (every '{f.every}') has 'count' rows per period (default 1) or a Poisson "
            "number with 'lambda'; drop distribution "
            f"'{f.distribution}'" + (" and min/max" if f.min is not None or f.max is not None else ""),
            code="regular_count",
        )
    tcol = node.first_time_column()
    col = node.column(tcol) if tcol else None
    if node.walk is None and (col is None or not isinstance(col.generator, DatetimeSeriesGen)):
        c.issues.error(
            [*path, "every"],
            f"a regular series puts each row in a period of its parent's life, so '{node.id}' needs a "
            'first time column {"datetime_series": {"slot": true}} (the period start) or '
            '{"datetime_series": {}} (an instant inside the period)',
            code="regular_without_time",
        )
