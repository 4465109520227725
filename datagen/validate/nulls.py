"""Null share against `null_rate` (docs/schema-language.md §4): the engine blanks each row with probability
null_rate, after modifiers. Columns derived from others (lookups, expressions, remaps) may inherit more nulls
from their sources, so for them only a shortfall is a failure."""

from __future__ import annotations

from collections.abc import Iterator

from datagen.dsl.models import Column
from datagen.dsl.references import walk_columns
from datagen.validate.behaviour import register
from datagen.validate.context import Context
from datagen.validate.results import Result, verdict
from datagen.validate.tolerance import share_tolerance

FLOOR = 0.002


@register("null_share")
def null_share_checks(ctx: Context) -> Iterator[Result]:
    for node in ctx.schema.nodes:
        filled = walk_columns(node)
        for col in node.columns:
            if col.null_rate > 0 and col.name not in filled and ctx.has(node.id, col.name):
                yield ctx.attempt(
                    "null_share", "behavioural", node.id, col.name, null_share, ctx, node.id, col
                )


def null_share(ctx: Context, table: str, col: Column) -> Result:
    n = ctx.rows[table]
    if n == 0:
        return Result("null_share", "behavioural", table, col.name, "skip", "the table is empty")
    nulls = ctx.profile(table)[col.name]["nulls"]
    share, rate = nulls / n, col.null_rate
    tol = share_tolerance(rate, n, ctx.settings.z, FLOOR)
    derived = col.may_add_nulls
    ok = share >= rate - tol and (derived or share <= rate + tol)
    bound = f">= {max(rate - tol, 0.0):.4f}" if derived else f"{rate:.4f} ± {tol:.4f}"
    return Result(
        "null_share",
        "behavioural",
        table,
        col.name,
        verdict(ok),
        f"null share {share:.4f} (declared null_rate {rate}; expected {bound} over {n:,} rows)",
        details={"observed": share, "expected": rate, "tolerance": tol, "rows": n, "one_sided": derived},
        fix=None if ok else f"regenerate, or set null_rate to what the data shows ({share:.3f})",
    )
