"""Checks of the targets, one per kind (keyed on the target's model type): the table and columns exist
with the right type, the range is ordered, and a target the schema's own weights cannot meet is
warned about."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from datagen.dsl.base import NUMERIC, TIME
from datagen.dsl.features import TARGETS, influence_names
from datagen.dsl.generators import DatetimeSeriesGen
from datagen.dsl.issues import did_you_mean
from datagen.dsl.models import Column, Node
from datagen.dsl.targets import CompositeEffectTarget, MeanInRangeTarget, TargetModel, WeekendShareTarget

if TYPE_CHECKING:
    from datagen.dsl.checks import Checker, Path


def check_targets(c: Checker) -> None:
    if c.s.targets is None:
        return
    for kind in TARGETS:
        for i, target in enumerate(getattr(c.s.targets, kind.keyword)):
            path: Path = ["targets", kind.keyword, i]
            node = c.table(target.table, [*path, "table"])
            TARGET_CHECKS[kind](c, node, target, path)


def _weekend_share(c: Checker, node: Node | None, ws: WeekendShareTarget, path: Path) -> None:
    col = c.column(node, ws.timestamp, [*path, "timestamp"], TIME) if node else None
    if ws.min > ws.max:
        c.issues.error(path, f"min ({ws.min}) > max ({ws.max})", code="bad_range")
    elif node and col is not None:
        check_weekend_reachable(c, col, ws.min, ws.max, path)


def check_weekend_reachable(c: Checker, col: Column, lo: float, hi: float, path: Path) -> None:
    """Warn when the declared dow weights put the expected weekend share outside the target range."""
    if not isinstance(col.generator, DatetimeSeriesGen):
        return
    weights = [1.0] * 7
    for pattern in col.generator.patterns(col):
        if pattern.dimension == "dow" and len(pattern.weights) == 7:
            weights = [a * b for a, b in zip(weights, pattern.weights, strict=True)]
    if sum(weights) <= 0:
        return
    share = (weights[5] + weights[6]) / sum(weights)
    if not lo - 1e-9 <= share <= hi + 1e-9:
        c.issues.warning(
            path,
            f"the dow weights of '{col.name}' give a weekend share of {share:.3f}, outside the "
            f"target [{lo}, {hi}]; change the weights or the target",
            code="unreachable_target",
        )


def _mean_in_range(c: Checker, node: Node | None, m: MeanInRangeTarget, path: Path) -> None:
    col = c.column(node, m.column, [*path, "column"], (*NUMERIC, "bool")) if node else None
    if m.min > m.max:
        c.issues.error(path, f"min ({m.min}) > max ({m.max})", code="bad_range")
    elif col is not None and col.type == "bool" and m.max > 1:
        c.issues.error(
            [*path, "max"],
            f"the mean of bool column '{m.column}' is the share of true values, 0 to 1; found max "
            f"{m.max:g} — write shares as fractions (20 % is 0.2)",
            code="bad_range",
        )


def _composite_effect(c: Checker, node: Node | None, ce: CompositeEffectTarget, path: Path) -> None:
    if node is None:
        return
    if not ce.counts_rows(node.column_names):
        c.column(node, ce.metric, [*path, "metric"], NUMERIC)
    fixed = influence_names()
    mods = [*(m for col in node.columns for m in col.modifiers), *node.modifiers]
    named = {i for m in mods if (i := m.influence()) and i not in fixed}
    allowed = (*fixed, *sorted(named))  # and each effect table of the table's columns
    for ii, inf in enumerate(ce.influences):
        if inf not in allowed:
            c.issues.error(
                [*path, "influences", ii],
                f"unknown influence '{inf}'{did_you_mean(inf, allowed)}"
                f" (expected one of: {', '.join(allowed)})",
                code="unknown_influence",
            )


TargetCheck = Callable[["Checker", Node | None, Any, "Path"], None]
# One check per target kind, on its model type.
TARGET_CHECKS: dict[type[TargetModel], TargetCheck] = {
    WeekendShareTarget: _weekend_share,
    MeanInRangeTarget: _mean_in_range,
    CompositeEffectTarget: _composite_effect,
}
