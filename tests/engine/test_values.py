"""Values that look real (docs/schema-language.md §4, §10.4, §10.6): a column's value, once final, is what
every later column reads (ints rounded, `decimals`, dates); price points; a distribution's clamp that
truncates instead of piling values up at its bounds; hidden helper columns."""

from __future__ import annotations

import math

import numpy as np
import pytest

from datagen.dsl.generators import Distribution
from datagen.dsl.modifiers import PricePointArgs
from datagen.engine.generate import Engine, Options
from tests.engine.conftest import (
    assert_near,
    checked,
    col,
    dist,
    entity,
    expr,
    fact,
    generate,
    key,
    lookup,
    one_table,
    schema,
    times,
    values,
)

N = 20_000


def mod(transform: str, **args) -> dict:
    return {"transform": transform, "args": args}


# --- the value as written is what later columns read -------------------------------------------------


def test_an_expression_reads_an_int_column_as_the_whole_number_written() -> None:
    """A stored 28 is a 28-day gap, not the 27.79 the draw was before the cast."""
    doc = one_table(
        [
            times("start", freq="h"),
            dist("delay", "normal", type_="int", mean=28, std=6),
            expr("end", "start + days(delay)", type_="datetime"),
            expr("delay_again", "delay * 1.0"),
        ],
        rows=2000,
    )
    t = generate(doc)["t"]
    gap_days = (values(t, "end") - values(t, "start")) / np.timedelta64(1, "D")
    assert np.array_equal(gap_days, values(t, "delay").astype(float))
    assert np.array_equal(values(t, "delay_again"), values(t, "delay").astype(float))


def test_text_of_int_columns_is_the_whole_number_written_whatever_made_it() -> None:
    """An int drawn (27.79 before the cast), computed, scaled by a modifier, or carried as floats because
    of nulls: str() of it, and arithmetic on it, see the stored whole number."""
    doc = one_table(
        [
            dist("drawn", "normal", type_="int", mean=28, std=6) | {"nullable": True, "null_rate": 0.3},
            expr("computed", "drawn * 1.37", type_="int", nullable=True),
            dist("scaled", "normal", type_="int", mean=50, std=9)
            | {"modifiers": [{"transform": "multiply", "args": {"factor": 1.13}}]},
            expr(
                "label",
                "str(drawn) + '/' + str(computed) + '/' + zfill(scaled, 4)",
                type_="string",
                nullable=True,
            ),
            expr("total", "drawn + computed + scaled", nullable=True),
        ],
        rows=2000,
    )
    t = generate(doc)["t"]
    drawn, computed, scaled = (t.column(c).to_pylist() for c in ("drawn", "computed", "scaled"))
    assert None in drawn  # the nulls that make the engine carry the column as floats
    expected = [
        None if d is None else f"{d}/{c}/{s:04d}" for d, c, s in zip(drawn, computed, scaled, strict=True)
    ]
    assert t.column("label").to_pylist() == expected
    total = [None if d is None else float(d + c + s) for d, c, s in zip(drawn, computed, scaled, strict=True)]
    assert t.column("total").to_pylist() == total


def test_decimals_round_the_written_value_and_what_later_columns_read() -> None:
    doc = one_table(
        [
            dist("price", "lognormal", mean=3, sigma=1) | {"decimals": 2},
            expr("cents", "price * 100"),
            dist("raw", "lognormal", mean=3, sigma=1),
        ],
        rows=2000,
    )
    t = generate(doc)["t"]
    price, cents = values(t, "price"), values(t, "cents")
    assert np.array_equal(price, np.round(price, 2))
    assert np.allclose(cents, np.round(cents), rtol=0, atol=1e-9)  # the expression read the cents
    assert not np.array_equal(values(t, "raw"), np.round(values(t, "raw"), 2))  # only where declared


def test_a_date_column_is_read_as_its_day() -> None:
    doc = one_table(
        [
            times("at", freq="min"),
            expr("day", "at + hours(0)", type_="date"),
            expr("next_morning", "day + hours(9)", type_="datetime"),
        ],
        rows=500,
    )
    t = generate(doc)["t"]
    day = values(t, "day").astype("datetime64[D]")
    assert np.array_equal(values(t, "next_morning"), day.astype("datetime64[us]") + np.timedelta64(9, "h"))


# --- price points ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "snapped"),
    [
        (19.2, 18.99),  # nearer below
        (19.3, 19.49),  # nearer above
        (19.74, 19.99),  # a tie goes up
        (0.2, 0.49),  # a positive price never drops to 0 or below
        (-5.1, -4.99),  # a refund keeps its sign
        (0.0, 0.0),
        (1234.56, 1234.49),
    ],
)
def test_a_price_moves_to_the_nearest_price_point(value: float, snapped: float) -> None:
    args = PricePointArgs(endings=[0.99, 0.49])
    assert args.snap(np.array([value]))[0] == snapped


def test_price_points_repeat_at_the_unit() -> None:
    args = PricePointArgs(unit=100, endings=[99, 49])
    assert list(args.snap(np.array([30.0, 120.0, 1330.0, 1380.0]))) == [49, 99, 1349, 1399]


def test_price_points_keep_the_distribution_and_its_mean() -> None:
    """Every value on a point, none moved by more than half the gap (0.25), and the mean of a wide
    distribution moved by far less than the gap."""
    doc = one_table(
        [
            dist("raw", "lognormal", mean=3.5, sigma=0.6) | {"decimals": 2},
            col("price", "float", {"expression": {"code": "raw"}}, decimals=2)
            | {"modifiers": [mod("price_point", endings=[0.99, 0.49])]},
        ],
        rows=N,
    )
    t = generate(doc)["t"]
    raw, price = values(t, "raw"), values(t, "price")
    cents = np.round(price * 100).astype(np.int64) % 100
    assert set(cents.tolist()) <= {99, 49}
    assert np.abs(price - raw).max() <= 0.25 + 1e-9
    assert abs(price.mean() - raw.mean()) < 0.01


# --- a distribution's clamp truncates ----------------------------------------------------------------


def test_a_zero_truncated_poisson_keeps_the_other_counts_in_proportion() -> None:
    lam = 1.3
    doc = one_table([dist("qty", "poisson", type_="int", clamp=[1, 10], **{"lambda": lam})], rows=N)
    qty = values(generate(doc)["t"], "qty")
    assert qty.min() == 1 and qty.max() <= 10
    p1 = lam * math.exp(-lam) / (1 - math.exp(-lam))  # P(1 | at least 1)
    assert_near((qty == 1).mean(), p1, math.sqrt(p1 * (1 - p1) / N))


@pytest.mark.parametrize("kind", ["uniform", "exponential", "weibull", "gamma"])
def test_a_clamp_holds_the_distribution_restricted_to_it(kind: str) -> None:
    """Each type, truncated to [lo, hi], has the mean of the restricted distribution (computed here by
    rejection from plain draws) and nothing on a bound."""
    params = {
        "uniform": {"low": 0.0, "high": 10.0},
        "exponential": {"scale": 2.0},
        "weibull": {"shape": 1.5, "scale": 3.0},
        "gamma": {"shape": 2.0, "scale": 2.0},
    }[kind]
    lo, hi = 1.0, 4.0
    doc = one_table([dist("x", kind, clamp=[lo, hi], **params)], rows=N)
    x = values(generate(doc)["t"], "x")
    assert lo <= x.min() and x.max() <= hi
    assert not np.isin(x, [lo, hi]).any()
    plain = Distribution(type=kind, params=params).sample(np.random.default_rng(0), 2_000_000)
    inside = plain[(plain >= lo) & (plain <= hi)]
    assert_near(x.mean(), inside.mean(), inside.std() / math.sqrt(N))


def test_a_clamp_after_a_value_multiplier_truncates_at_each_rows_scale() -> None:
    """A segment triples some rows' values before the clamp: those rows draw inside [lo/3, hi/3], so no
    value sits on the bound, and every value is inside it."""
    parent = entity(
        "c",
        [col("tier", "string", {"choice": {"choices": ["big", "small"]}})],
        rows=2000,
        segment_behavior={
            "segment_column": "tier",
            "behaviors": {"big": {"value_multiplier": 3.0}},
            "applies_to_columns": ["o.v"],
        },
    )
    child = fact(
        "o",
        ["c"],
        [dist("v", "lognormal", clamp=[None, 60.0], mean=3.0, sigma=0.5)],
        fanout={"distribution": "poisson", "lambda": 10},
    )
    engine = Engine(checked(schema(parent, child)), Options(seed=5))
    tables: dict = {}
    engine.run(lambda tid, chunk: tables.setdefault(tid, []).append(chunk))
    v = np.concatenate([values(chunk, "v") for chunk in tables["o"]])
    assert v.max() <= 60.0
    assert (v == 60.0).sum() == 0  # clipping put about half of the big rows there
    assert not engine.clipped


def test_a_clamp_no_draw_can_reach_is_clipped_and_counted() -> None:
    doc = one_table([dist("x", "normal", clamp=[50.0, 60.0], mean=0.0, std=1.0)], rows=300)
    engine = Engine(checked(doc), Options(seed=1))
    engine.run(lambda tid, chunk: None)
    assert engine.clipped == {("t", "x", "clamp"): 300}


def test_the_clamp_modifier_still_clips_and_is_counted() -> None:
    doc = one_table(
        [dist("x", "uniform", low=0.0, high=10.0) | {"modifiers": [mod("clamp", max=8.0)]}], rows=N
    )
    engine = Engine(checked(doc), Options(seed=2))
    chunks: list = []
    engine.run(lambda tid, chunk: chunks.append(chunk))
    x = values(chunks[0], "x")
    piled = int((x == 8.0).sum())
    assert_near(piled / N, 0.2, math.sqrt(0.2 * 0.8 / N))
    assert engine.clipped == {("t", "x", "modifiers[0]"): piled}


# --- hidden helper columns ---------------------------------------------------------------------------


def test_a_hidden_column_is_read_by_others_and_never_written() -> None:
    parent = entity(
        "c", [dist("weight", "uniform", low=1.0, high=2.0) | {"output": False}, expr("w2", "weight * 2")]
    )
    child = fact(
        "o",
        ["c"],
        [lookup("parent_weight", "c.weight", type_="float")],
        fanout={"distribution": "poisson", "lambda": 2},
    )
    tables = generate(schema(parent, child))
    assert tables["c"].column_names == ["id", "w2"]
    w2 = values(tables["c"], "w2")
    assert w2.min() >= 2.0 and w2.max() <= 4.0
    # another table reads the hidden value through a lookup: half of the parent's written w2
    ids = values(tables["o"], "c_id")
    assert np.allclose(values(tables["o"], "parent_weight"), w2[ids - 1] / 2)


def test_a_hidden_key_of_no_table_is_still_a_sequence() -> None:
    doc = one_table([key("row_no") | {"output": False}, expr("twice", "row_no * 2", type_="int")], rows=10)
    assert list(values(generate(doc)["t"], "twice")) == list(range(2, 21, 2))
