"""Value checks of how numbers are written (docs/schema-language.md §10.6): a float column with
`decimals` holds no more than that many, and a column whose last modifier is `price_point` holds only
price points (a whole multiple of the unit plus one of the endings). Hard, like the other value checks:
both are promises about every row, kept by construction.

Re-derived in SQL from the declaration, not by running the engine's rounding or snapping: a value's
distance to the nearest allowed one, within a tolerance for the float's own precision."""

from __future__ import annotations

from collections.abc import Iterator

from datagen.dsl.models import Column, Node
from datagen.dsl.modifiers import PricePoint
from datagen.validate.context import Context, q
from datagen.validate.results import Result
from datagen.validate.values import violations

# How far a stored float may sit from the number it stands for: a relative part for its magnitude, an
# absolute part for the step it is written at.
RELATIVE = 1e-12
STEP_SHARE = 1e-6


def precision_checks(ctx: Context) -> Iterator[Result]:
    for node in ctx.schema.nodes:
        for col in node.columns:
            if not ctx.has(node.id, col.name):
                continue
            if col.decimals is not None:
                yield ctx.attempt("decimals", "value", node.id, col.name, decimals, ctx, node, col, hard=True)
            points = [m for m in col.modifiers if isinstance(m, PricePoint)]
            if points:
                yield ctx.attempt(
                    "price_point", "value", node.id, col.name, price_points, ctx, node, col, hard=True
                )


def _finite(x: str) -> str:
    return f"{x} IS NOT NULL AND NOT isnan({x}) AND NOT isinf({x})"


def decimals(ctx: Context, node: Node, col: Column) -> Result:
    assert col.decimals is not None  # only columns that declare it are checked
    x, d = f"CAST({q(col.name)} AS DOUBLE)", col.decimals
    step = 10.0**-d
    where = f"{_finite(x)} AND abs({x} - round({x}, {d})) > {STEP_SHARE * step!r} + {RELATIVE!r} * abs({x})"
    return violations(
        ctx,
        "decimals",
        node.id,
        col.name,
        where,
        [],
        f"have more than {d} decimal(s)",
        {"rule": f"{col.name} has at most {d} decimal(s)", "decimals": d},
    )


def price_points(ctx: Context, node: Node, col: Column) -> Result:
    i, mod = next((i, m) for i, m in enumerate(col.modifiers) if isinstance(m, PricePoint))
    later = [m.keyword for m in col.modifiers[i + 1 :]]
    if later:
        return Result(
            "price_point",
            "value",
            node.id,
            col.name,
            "skip",
            f"not checked: modifiers after price_point ({', '.join(later)}) move the values again",
            hard=True,
        )
    unit, endings = float(mod.args.unit), [float(e) for e in mod.args.endings]
    size = f"abs(CAST({q(col.name)} AS DOUBLE))"
    rest = f"({size} - floor({size} / {unit!r}) * {unit!r})"
    # the distance from the rest to an ending, around the unit (0.999… is next to an ending of 0)
    near = [
        f"abs(fmod({rest} - {e!r} + {1.5 * unit!r}, {unit!r}) - {0.5 * unit!r}) <= "
        f"{STEP_SHARE * unit!r} + {RELATIVE!r} * {size}"
        for e in endings
    ]
    where = f"{_finite(size)} AND {size} > 0 AND NOT ({' OR '.join(near)})"
    shown = ", ".join(f"{e:g}" for e in sorted(endings))
    rule = f"{col.name} is a whole multiple of {unit:g} plus one of [{shown}]"
    return violations(
        ctx,
        "price_point",
        node.id,
        col.name,
        where,
        [],
        f"are not on a price point ({rule})",
        {"rule": rule, "unit": unit, "endings": endings},
    )
