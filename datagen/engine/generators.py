"""Column generators: one function per generator, all vectorised over a block (the registry maps each
generator's model type to its function).

A generator returns the block's raw values; a distribution's clamp is applied later, to the values
after behaviour multipliers (docs/schema-language.md §4, §8.1: `truncate_to_clamp`), then modifiers,
then nulls, then the final cast."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np

from datagen import faker_pool
from datagen.dsl.expressions import Expression, parse_expression
from datagen.dsl.generators import (
    ChoiceGen,
    DatetimeSeriesGen,
    Distribution,
    DistributionGen,
    EnumListGen,
    ExpressionGen,
    FakerGen,
    SequenceGen,
    parse_weights_kind,
)
from datagen.dsl.limits import INT64_MAX, INT64_MIN
from datagen.dsl.models import Column, parse_instant
from datagen.dsl.units import DAY_US
from datagen.engine import regular
from datagen.engine.behaviours import value_multiplier
from datagen.engine.block import Block
from datagen.engine.bounds import row_bounds
from datagen.engine.cast import clamp_bounds
from datagen.engine.diffusion import series_sampler
from datagen.engine.intensity import life_bounds, own_time_column, place, rated
from datagen.engine.rng import stable_hash
from datagen.errors import GenerationError

MAX_REJECTION_ROUNDS = 200  # redraws of the rows still outside their bounds, all rows at once each


def sequence(block: Block, col: Column, gen: SequenceGen) -> np.ndarray:
    start, step = gen.sequence.start, gen.sequence.step
    last = start + step * (block.row_start + block.n - 1)  # Python ints: exact, never wrapped
    if block.n and not INT64_MIN <= last <= INT64_MAX:
        raise GenerationError(
            f"the sequence from {start} by {step} reaches {last:.4g} at row {block.row_start + block.n:,}, "
            "outside the 64-bit integer range (about ±9.22e18)",
            hint="start lower, use a smaller step, or generate fewer rows",
        )
    values = start + step * block.row_numbers
    return values.astype(object).astype(str) if col.type == "string" else values


def choice_probabilities(n: int, weights: list[float] | None, kind: str | None) -> np.ndarray:
    """Normalised probabilities for n choices (docs/schema-language.md §4.1: uniform, zipf@a,
    head_tail@{share,a})."""
    if weights is not None:
        p = np.asarray(weights, dtype=float)
    else:
        name, params = parse_weights_kind(kind or "uniform")
        ranks = np.arange(1, n + 1, dtype=float)
        if name == "zipf":
            p = ranks ** -params[0]
        elif name == "head_tail":
            head_share, alpha = params
            head = max(1, int(0.2 * n))
            p = np.empty(n)
            p[:head] = head_share / head
            if n > head:
                tail = np.arange(1, n - head + 1, dtype=float) ** -alpha
                p[head:] = (1 - head_share) * tail / tail.sum()
            else:
                p[:] = 1.0 / n
        else:
            p = np.ones(n)
    return np.asarray(p / p.sum())


def draw_codes(rng: np.random.Generator, p: np.ndarray, n: int) -> np.ndarray:
    cum = np.cumsum(p)
    cum[-1] = 1.0
    return np.searchsorted(cum, rng.random(n), side="right")


def choice(block: Block, col: Column, gen: ChoiceGen) -> np.ndarray:
    args = gen.choice
    if args.choices_ref:
        table, column = args.choices_ref.split(".")
        options = block.store.distinct(table, column)
        if len(options) == 0:
            raise GenerationError(f"choices_ref '{args.choices_ref}' has no values to draw from")
        if args.weights is not None and len(args.weights) != len(options):
            raise GenerationError(
                f"{len(args.weights)} weights for the {len(options)} distinct values of '{args.choices_ref}'"
            )
    else:
        options = _options(tuple(args.choices or ()), col.type)
    p = choice_probabilities(len(options), args.weights, args.weights_kind)
    return np.asarray(options[draw_codes(block.rng(col.name), p, block.n)])


@lru_cache(maxsize=512)
def _options(choices: tuple[Any, ...], ctype: str) -> np.ndarray:
    if ctype in ("int", "float") and all(
        isinstance(c, int | float) and not isinstance(c, bool) for c in choices
    ):
        return np.asarray(choices, dtype=float if ctype == "float" else np.int64)
    if ctype in ("datetime", "date"):
        return np.array([np.datetime64(parse_instant(str(c)).replace(tzinfo=None), "us") for c in choices])
    return np.asarray(choices, dtype=object)


def distribution(block: Block, col: Column, gen: DistributionGen) -> np.ndarray:
    values = gen.distribution.sample(block.rng(col.name), block.n)
    if col.modifiers:  # bounds are met by capping after the modifiers (datagen.dsl.enforcement)
        return values
    lo, hi = row_bounds(block, col.name)
    if lo is None and hi is None:
        return values
    return _inside(block, col, gen, values, lo, hi)


def _inside(
    block: Block,
    col: Column,
    gen: DistributionGen,
    v: np.ndarray,
    lo: np.ndarray | None,
    hi: np.ndarray | None,
) -> np.ndarray:
    """Draw again, up to MAX_REJECTION_ROUNDS times, every row whose final value (after the parents'
    multiplier and the clamp) would leave its bounds: the distribution truncated to each row's own
    bounds. A row still outside then takes a uniform value inside them (or the bound itself when the
    other side is open); the final cap leaves what nothing can fix (bounds that disagree) on the lower
    bound."""
    n = block.n
    mult = value_multiplier(block, col.name)
    m = np.ones(n) if mult is None else np.broadcast_to(np.asarray(mult, dtype=float), (n,))
    c0, c1 = clamp_bounds(col, *gen.distribution.clamp) if gen.distribution.clamp else (None, None)
    low = np.full(n, -np.inf) if lo is None else lo.astype(float)
    high = np.full(n, np.inf) if hi is None else hi.astype(float)
    if c0 is not None:
        low = np.maximum(low, c0)
    if c1 is not None:
        high = np.minimum(high, c1)
    ok = (m > 0) & (low <= high)
    with np.errstate(divide="ignore", invalid="ignore"):
        a, b = np.where(ok, low / m, -np.inf), np.where(ok, high / m, np.inf)
    out = v.astype(float)
    pending = ok & ((out < a) | (out > b))
    rng = block.rng(col.name, "inside")
    for _ in range(MAX_REJECTION_ROUNDS):
        if not pending.any():
            break
        idx = np.flatnonzero(pending)
        redo = gen.distribution.sample(rng, len(idx)).astype(float)
        out[idx] = redo
        pending[idx] = (redo < a[idx]) | (redo > b[idx])
    if pending.any():
        idx = np.flatnonzero(pending)
        lo_i, hi_i = a[idx], b[idx]
        both = np.isfinite(lo_i) & np.isfinite(hi_i)
        u = rng.random(len(idx))
        out[idx] = np.where(both, lo_i + u * (hi_i - lo_i), np.where(np.isfinite(lo_i), lo_i, hi_i))
    return out


def truncate_to_clamp(
    block: Block, col: Column, dist: Distribution, values: np.ndarray, mult: np.ndarray | float | None
) -> np.ndarray:
    """A distribution's clamp truncates (docs/schema-language.md §10.6): a row whose value — the draw
    times the row's behaviour multiplier `mult` — falls outside the clamp draws again, from the
    distribution restricted to [lo/mult, hi/mult], so the final value lies inside and nothing piles up
    at a bound. Rows whose interval holds next to none of the distribution (or whose multiplier is 0)
    are clipped instead, and counted in `block.clipped` for the preflight to report."""
    assert dist.clamp is not None  # called for clamped distributions only
    low, high = clamp_bounds(col, dist.clamp[0], dist.clamp[1])
    lo, hi = -np.inf if low is None else low, np.inf if high is None else high
    outside = np.flatnonzero((values < lo) | (values > hi))
    if len(outside) == 0:
        return values
    values = values.astype(float, copy=True)
    m = np.broadcast_to(np.asarray(1.0 if mult is None else mult, dtype=float), values.shape)[outside]
    with np.errstate(divide="ignore", invalid="ignore"):
        raw_lo, raw_hi = np.where(m > 0, lo / m, hi / m), np.where(m > 0, hi / m, lo / m)
    usable = np.isfinite(m) & (m != 0)
    raw = np.full(len(outside), np.nan)
    if usable.any():
        rng = block.rng(col.name, "clamp")
        raw[usable] = dist.sample_within(rng, raw_lo[usable], raw_hi[usable])
    redrawn = raw * m
    placed = ~np.isnan(redrawn)
    values[outside] = np.where(placed, redrawn, values[outside])
    block.count_clipped(col.name, "clamp", int((~placed).sum()))
    return np.asarray(np.clip(values, lo, hi))  # the rest, and products an ulp past a bound


def datetime_series(block: Block, col: Column, gen: DatetimeSeriesGen) -> np.ndarray:
    """Times by the series' density (docs/schema-language.md §10.1): a cell drawn by its pattern
    weight (and curve), then an instant inside it — or a grid point with `snap` (and in `date`
    columns) — each row inside its own bounds and its parent's life; a child whose count is a rate over
    its parent's life takes its time from the parent's intensity (intensity.py); a regular fact's time
    is its period (regular.py)."""
    node = block.table.node
    if regular.is_regular_time(node, col.name):
        return regular.times(block, col, gen)
    sampler = series_sampler(gen, col, block.schema)
    lo, hi = life_bounds(block, *row_bounds(block, col.name))  # inside the parent's life, at any depth
    rng = block.rng(col.name)
    parent = block.schema.node(node.primary_parent or "")
    if parent is not None and col.name == own_time_column(node) and rated(node, parent):
        out = place(block, sampler, rng, lo, hi)  # a child's own time, drawn from its parent's intensity
    else:
        out = sampler.sample(rng, block.n, lo, hi)
    if col.type == "date":
        out = out - out % DAY_US
    return np.asarray(out.astype("datetime64[us]"))


def _has_pattern(block: Block, col: Column) -> bool:
    ref = f"{block.node_id}.{col.name}"
    return bool(col.constraints and col.constraints.pattern) or any(
        p.attr == ref for p in block.schema.constraints.pattern
    )


def faker(block: Block, col: Column, gen: FakerGen) -> np.ndarray:
    args = gen.faker
    locale = faker_pool.normalise_locale(args.locale) if args.locale else None
    # Past the pool, unique values get a suffix; a declared pattern forbids that, so draw them all.
    cap = max(faker_pool.UNIQUE_POOL_CAP, block.total_rows) if _has_pattern(block, col) else None
    spec = faker_pool.FakerColumn(
        method=args.method,
        args=args.args,
        locale=locale or faker_pool.DEFAULT_LOCALE,
        seed=stable_hash(block.seed, block.node_id, col.name, "faker"),
        unique=args.unique,
        pool_cap=cap or faker_pool.UNIQUE_POOL_CAP,
    )
    values = faker_pool.faker_values(
        spec,
        block.rng(col.name),
        block.row_numbers,
        block.total_rows,
        locale_codes=block.values[args.locale_from] if args.locale_from else None,
        sources=[block.values[c] for c in args.sources],
    )
    if values.dtype.kind == "M" and col.type in ("datetime", "date"):
        return values.astype("datetime64[us]")
    return values


@lru_cache(maxsize=1024)
def _expression(code: str) -> Expression:
    return parse_expression(code)


def expression(block: Block, col: Column, gen: ExpressionGen) -> np.ndarray:
    return _expression(gen.expression.code).evaluate(block.values, block.n)


def enum_list(block: Block, col: Column, gen: EnumListGen) -> np.ndarray:
    values = _options(tuple(gen.enum_list.values), col.type)
    return values[block.row_start : block.row_start + block.n]
