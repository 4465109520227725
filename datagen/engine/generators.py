"""Column generators: one function per DSL generator name, all vectorised over a block.

A generator returns the block's raw values; distribution clamps are applied later (after behaviour
multipliers, DSL.md §8.1), then modifiers, then nulls, then the final cast."""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

import numpy as np

from datagen import faker_pool
from datagen.dsl.expressions import Expression, parse_expression
from datagen.dsl.generators import parse_weights_kind
from datagen.dsl.limits import INT64_MAX, INT64_MIN
from datagen.dsl.models import Column, Node, parse_instant
from datagen.dsl.references import first_datetime_column
from datagen.engine.behaviours import activity_at, activity_cap, fanout_curves
from datagen.engine.block import Block
from datagen.engine.lookups import lookup
from datagen.engine.rng import stable_hash
from datagen.engine.timegrid import build_grid, to_us
from datagen.errors import GenerationError

GeneratorFn = Callable[[Block, Column], np.ndarray]
MAX_REJECTION_ROUNDS = 200


def sequence(block: Block, col: Column) -> np.ndarray:
    start, step = col.args.start, col.args.step
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
    """Normalised probabilities for n choices (DSL.md §4.1: uniform, zipf@a, head_tail@{share,a})."""
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
    return p / p.sum()


def draw_codes(rng: np.random.Generator, p: np.ndarray, n: int) -> np.ndarray:
    cum = np.cumsum(p)
    cum[-1] = 1.0
    return np.searchsorted(cum, rng.random(n), side="right")


def choice(block: Block, col: Column) -> np.ndarray:
    args = col.args
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
        options = _options(tuple(args.choices), col.type)
    p = choice_probabilities(len(options), args.weights, args.weights_kind)
    return options[draw_codes(block.rng(col.name), p, block.n)]


@lru_cache(maxsize=512)
def _options(choices: tuple, ctype: str) -> np.ndarray:
    if ctype in ("int", "float") and all(
        isinstance(c, int | float) and not isinstance(c, bool) for c in choices
    ):
        return np.asarray(choices, dtype=float if ctype == "float" else np.int64)
    if ctype in ("datetime", "date"):
        return np.array([np.datetime64(parse_instant(str(c)).replace(tzinfo=None), "us") for c in choices])
    return np.asarray(choices, dtype=object)


def distribution(block: Block, col: Column) -> np.ndarray:
    return draw_distribution(block.rng(col.name), col.args.type, col.args.params, block.n)


def draw_distribution(rng: np.random.Generator, kind: str, p: dict[str, float], n: int) -> np.ndarray:
    if kind == "normal":
        return rng.normal(p["mean"], p["std"], n)
    if kind == "lognormal":
        return rng.lognormal(p["mean"], p["sigma"], n)
    if kind == "uniform":
        return rng.uniform(p["low"], p["high"], n)
    if kind == "poisson":
        return rng.poisson(p["lambda"], n).astype(float)
    if kind == "beta":
        return rng.beta(p["a"], p["b"], n)
    if kind == "gamma":
        return rng.gamma(p["shape"], p["scale"], n)
    if kind == "weibull":
        return rng.weibull(p["shape"], n) * p["scale"]
    if kind == "exponential":
        return rng.exponential(p["scale"], n)
    raise GenerationError(f"unknown distribution type '{kind}'")


def datetime_series(block: Block, col: Column) -> np.ndarray:
    args = col.args
    if args.within == "timeframe":
        start, end = block.timeframe_us
    else:
        start, end = int(to_us(parse_instant(args.within.start))), int(to_us(parse_instant(args.within.end)))
    freq = args.freq or block.schema.timeframe.freq or ("D" if col.type == "date" else "s")
    patterns = [(p.dimension, tuple(p.weights)) for p in args.pattern]
    patterns += [
        (m.args.dimension, tuple(m.args.weights))
        for m in col.modifiers
        if m.transform == "seasonality" and m.args.time_column is None
    ]
    grid = build_grid(start, end, freq, tuple(patterns))
    lo, hi = block.bounds(col.name)
    rng = block.rng(col.name)
    out = grid.sample(rng, block.n, lo, hi)
    parent = _activity_parent(block, col)
    if parent is not None:
        out = _follow_activity(block, parent, grid, rng, out, lo, hi)
    if col.type == "date":
        out = out.astype("datetime64[D]").astype("datetime64[us]")
    return out


def _activity_parent(block: Block, col: Column) -> Node | None:
    """The primary parent whose vintage activity curve places this column's times (DSL.md §8.2): the
    fact's first datetime column, under a parent with a fanout curve."""
    node = block.table.node
    if not node.parents or col.name != first_datetime_column(node):
        return None
    parent = block.schema.node(node.parents[0])
    return parent if parent is not None and fanout_curves(parent) else None


def _follow_activity(
    block: Block, parent: Node, grid, rng: np.random.Generator, out: np.ndarray, lo, hi
) -> np.ndarray:
    """Thin the pattern-weighted draw by the activity curve at each child's age (rejection sampling:
    a bounded number of vectorised rounds over the rows still rejected)."""
    start, end = block.timeframe_us
    created = block.related_value(parent.id, parent.vintage_behavior.created_at_column)
    created = created.astype("datetime64[us]")
    created[np.isnat(created)] = np.datetime64(start, "us")  # as the fanout share counts it
    oldest = min(int(created.astype(np.int64).min(initial=start)), start)
    cap = activity_cap(parent, end - oldest)  # bounds the curve up to the oldest parent's age at the end
    if cap <= 0:
        return out
    pending = rng.random(block.n) * cap > activity_at(parent, created, out)
    for _ in range(MAX_REJECTION_ROUNDS):
        if not pending.any():
            break
        idx = np.flatnonzero(pending)
        redo = grid.sample(rng, len(idx), None if lo is None else lo[idx], None if hi is None else hi[idx])
        out[idx] = redo
        pending[idx] = rng.random(len(idx)) * cap > activity_at(parent, created[idx], redo)
    return out


def _has_pattern(block: Block, col: Column) -> bool:
    ref = f"{block.node_id}.{col.name}"
    return bool(col.constraints and col.constraints.pattern) or any(
        p.attr == ref for p in block.schema.constraints.pattern
    )


def faker(block: Block, col: Column) -> np.ndarray:
    args = col.args
    seed = stable_hash(block.seed, block.node_id, col.name, "faker")
    locale = faker_pool.normalise_locale(args.locale) if args.locale else None
    locale = locale or faker_pool.DEFAULT_LOCALE
    if args.unique:
        # Past the pool, unique values get a suffix; a declared pattern forbids that, so draw them all.
        cap = max(faker_pool.UNIQUE_POOL_CAP, block.total_rows) if _has_pattern(block, col) else None
        return faker_pool.unique_values(
            args.method,
            args.args,
            locale,
            seed,
            block.row_numbers,
            block.total_rows,
            pool_cap=cap or faker_pool.UNIQUE_POOL_CAP,
        )
    if args.locale_from:
        return faker_pool.sample_by_locale(
            args.method, args.args, block.values[args.locale_from], seed, block.rng(col.name), locale
        )
    values = faker_pool.pool_for(args.method, args.args, locale, seed).sample(block.rng(col.name), block.n)
    if values.dtype.kind == "M" and col.type in ("datetime", "date"):
        return values.astype("datetime64[us]")
    return values


@lru_cache(maxsize=1024)
def _expression(code: str) -> Expression:
    return parse_expression(code)


def expression(block: Block, col: Column) -> np.ndarray:
    return _expression(col.args.code).evaluate(block.values, block.n)


def enum_list(block: Block, col: Column) -> np.ndarray:
    values = _options(tuple(col.args.values), col.type)
    return values[block.row_start : block.row_start + block.n]


GENERATORS: dict[str, GeneratorFn] = {
    "sequence": sequence,
    "choice": choice,
    "distribution": distribution,
    "datetime_series": datetime_series,
    "faker": faker,
    "lookup": lookup,
    "expression": expression,
    "enum_list": enum_list,
}
