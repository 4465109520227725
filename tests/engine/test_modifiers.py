"""Each modifier does what docs/schema-language.md §4.2 says. Most tests compare a column with its unmodified
twin: an `expression` that copies the source column and carries the modifiers, so the difference between the
two is exactly what the modifiers did."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from tests.engine.conftest import (
    WEEKS,
    assert_near,
    col,
    dist,
    entity,
    expr,
    generate,
    one_table,
    schema,
    times,
    values,
)

N = 20_000
YEAR = np.timedelta64(int(365.2425 * 24 * 3600 * 1_000_000), "us")  # the trend's year


def twin(name: str, source: str, *modifiers: dict, type_: str = "float") -> dict:
    return expr(name, source, type_=type_, modifiers=list(modifiers))


def mod(transform: str, **args: object) -> dict:
    return {"transform": transform, "args": args}


# --- arithmetic -------------------------------------------------------------------------------------


def test_multiply_add_clamp_apply_in_order() -> None:
    doc = one_table(
        [
            dist("x", "normal", mean=0, std=5),
            twin("y", "x", mod("multiply", factor=2), mod("add", value=3), mod("clamp", min=-4, max=10)),
            twin("z", "x", mod("clamp", max=0), mod("add", value=1)),
        ],
        rows=2000,
    )
    t = generate(doc)["t"]
    x = values(t, "x")
    np.testing.assert_allclose(values(t, "y"), np.clip(2 * x + 3, -4, 10))
    np.testing.assert_allclose(values(t, "z"), np.minimum(x, 0) + 1)


@pytest.mark.parametrize("mode", ["add", "mul"])
def test_jitter_noise_has_the_declared_spread(mode: str) -> None:
    doc = one_table(
        [dist("x", "uniform", low=50, high=150), twin("y", "x", mod("jitter", std=0.2, mode=mode))], rows=N
    )
    t = generate(doc)["t"]
    x, y = values(t, "x"), values(t, "y")
    noise = y - x if mode == "add" else y / x - 1
    assert_near(noise.mean(), 0, 0.2 / math.sqrt(N))
    assert_near(noise.std(), 0.2, 0.2 / math.sqrt(2 * N))


# --- map_values -------------------------------------------------------------------------------------


def test_map_values_never_truncates_and_keeps_unmapped_values() -> None:
    long = "a label far longer than any of the values it replaces"
    doc = one_table(
        [
            col("tier", "string", {"choice": {"choices": ["a", "bb", "ccc"]}}),
            twin("kept", "tier", mod("map_values", mapping={"a": long}), type_="string"),
            twin("defaulted", "tier", mod("map_values", mapping={"bb": "B"}, default="?"), type_="string"),
            col("level", "int", {"choice": {"choices": [1, 2, 3]}}),
            twin("level_name", "level", mod("map_values", mapping={"1": "one", "2": "two"}), type_="string"),
        ],
        rows=600,
    )
    t = generate(doc)["t"]
    tier = values(t, "tier")
    assert (values(t, "kept") == np.where(tier == "a", long, tier)).all()
    assert (values(t, "defaulted") == np.where(tier == "bb", "B", "?")).all()
    names = {1: "one", 2: "two", 3: "3"}
    assert values(t, "level_name").tolist() == [names[v] for v in values(t, "level")]


def test_map_values_with_an_empty_mapping_keeps_values_or_takes_the_default() -> None:
    doc = one_table(
        [
            dist("x", "uniform", low=0, high=1),
            twin("same", "x", mod("map_values", mapping={})),
            twin("fixed", "x", mod("map_values", mapping={}, default=5)),
        ],
        rows=50,
    )
    t = generate(doc)["t"]
    assert (values(t, "same") == values(t, "x")).all()
    assert (values(t, "fixed") == 5).all()


# --- time-reading modifiers -------------------------------------------------------------------------


def test_seasonality_on_a_number_multiplies_by_the_weight_of_the_column_it_names() -> None:
    weights = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0]
    doc = one_table(
        [
            times("first"),
            times("second"),
            expr("base", "10.0"),
            twin("named", "base", mod("seasonality", dimension="dow", weights=weights, time_column="second")),
            twin("default", "base", mod("seasonality", dimension="dow", weights=weights)),
        ],
        rows=3000,
    )
    t = generate(doc)["t"]
    w = np.array(weights)
    dow = {c: pd.DatetimeIndex(values(t, c)).day_of_week.to_numpy() for c in ("first", "second")}
    np.testing.assert_allclose(values(t, "named"), 10 * w[dow["second"]])
    np.testing.assert_allclose(values(t, "default"), 10 * w[dow["first"]])  # the first datetime column
    assert (dow["first"] != dow["second"]).mean() > 0.5


def test_seasonality_on_a_time_column_shapes_its_sampling() -> None:
    column = {**times(freq="h"), "modifiers": [mod("seasonality", dimension="dow", weights=[1] * 5 + [6, 6])]}
    dow = pd.DatetimeIndex(values(generate(one_table([column], rows=N, timeframe=WEEKS))["t"], "ts"))
    assert_near((dow.day_of_week >= 5).mean(), 12 / 17, math.sqrt((12 / 17) * (5 / 17) / N))


def test_time_jitter_moves_times_by_the_declared_spread_and_stays_in_the_timeframe() -> None:
    doc = one_table(
        [
            times("at", freq="min"),
            {**expr("moved", "at", type_="datetime"), "modifiers": [mod("time_jitter", std_minutes=90)]},
        ],
        rows=N,
    )
    t = generate(doc)["t"]
    at, moved = values(t, "at"), values(t, "moved")
    shift = (moved - at) / np.timedelta64(1, "m")
    inside = (at > np.datetime64("2024-01-02")) & (at < np.datetime64("2024-12-30"))  # far from the clip
    assert_near(shift[inside].mean(), 0, 90 / math.sqrt(inside.sum()))
    assert_near(shift[inside].std(), 90, 90 / math.sqrt(2 * inside.sum()))
    assert moved.min() >= np.datetime64("2024-01-01") and moved.max() <= np.datetime64("2025-01-01")


def trend_factor(kind: str, g: float, years: np.ndarray, a: float = 1.0, b: float = 1.0) -> np.ndarray:
    if kind == "exponential":
        return (1 + g) ** years
    if kind == "linear":
        return 1 + g * years
    return 1 + a * np.log1p(b * years)


TRENDS = {  # case: (type, growth_rate, params)
    "exponential growth": ("exponential", 0.25, None),
    "decay": ("exponential", -0.3, None),
    "linear": ("linear", 0.5, None),
    "logarithmic": ("logarithmic", 0.0, {"a": 0.8, "b": 2.0}),
}


@pytest.mark.parametrize("case", list(TRENDS))
def test_trend_yearly_means_grow_as_declared(case: str) -> None:
    kind, g, params = TRENDS[case]
    args = {"type": kind, "growth_rate": g, "time_reference": "at"}
    if params:
        args["params"] = params
    doc = one_table(
        [
            times("created"),  # the first datetime column: the trend must not read it
            times("at", freq="h"),
            dist("base", "normal", mean=100, std=10),
            twin("value", "base", mod("trend", **args)),
        ],
        rows=N,
        timeframe={"start": "2020-01-01T00:00:00Z", "end": "2024-01-01T00:00:00Z"},
    )
    t = generate(doc, seed=5)["t"]
    years = (values(t, "at") - np.datetime64("2020-01-01")) / YEAR
    p = params or {}
    factor = trend_factor(kind, g, years, p.get("a", 1.0), p.get("b", 1.0))
    np.testing.assert_allclose(values(t, "value"), values(t, "base") * factor, rtol=1e-9)
    value = values(t, "value")
    for k in range(4):  # each year's mean is 100 x the factor averaged over that year
        in_year = (years >= k) & (years < k + 1)
        expected = 100 * trend_factor(
            kind, g, np.linspace(k, k + 1, 10_001), p.get("a", 1.0), p.get("b", 1.0)
        )
        assert_near(value[in_year].mean(), expected.mean(), value[in_year].std() / math.sqrt(in_year.sum()))


# --- effect -----------------------------------------------------------------------------------------


def effect_schema(op: str) -> dict:
    promos = entity(
        "promo",
        [
            col("channel", "string", {"choice": {"choices": ["web", "app"]}}),
            times("start_at", freq="D"),
            dist("days", "uniform", low=5, high=60),
            expr("end_at", "start_at + days(days)", type_="datetime"),
            dist("lift", "uniform", low=1.2, high=2.0),
        ],
        rows=25,
    )
    effect = {
        "effect_table": "promo",
        "on": {"channel": "channel"},
        "window": {"start_col": "start_at", "end_col": "end_at"},
        "map": {"field": "lift", "op": op, "default": 1.0 if op == "mul" else 0.0},
        "time_column": "at",
    }
    sales = entity(
        "sale",
        [
            col("channel", "string", {"choice": {"choices": ["web", "app", "shop"]}}),
            times("created", freq="h"),  # the first datetime column; the effect names `at`
            times("at", freq="h"),
            expr("base", "100.0"),
            twin("amount", "base", {"transform": "effect", "args": effect}),
        ],
        rows=5000,
    )
    return schema(promos, sales)


@pytest.mark.parametrize("op", ["mul", "add"])
def test_effect_applies_every_matching_window_and_only_inside_windows(op: str) -> None:
    tables = generate(effect_schema(op), block_rows=512)
    promo, sale = tables["promo"].to_pandas(), tables["sale"]
    channel, at = values(sale, "channel"), values(sale, "at")
    combined = np.full(len(at), 1.0 if op == "mul" else 0.0)
    active = np.zeros(len(at), dtype=int)
    for p in promo.itertuples():  # the test's own interval join: a loop over the 25 effect rows
        start, end = np.datetime64(p.start_at.tz_localize(None)), np.datetime64(p.end_at.tz_localize(None))
        hit = (channel == p.channel) & (at >= start) & (at < end)
        combined = np.where(hit, combined * p.lift if op == "mul" else combined + p.lift, combined)
        active += hit
    expected = 100 * combined if op == "mul" else 100 + combined
    np.testing.assert_allclose(values(sale, "amount"), expected)
    assert (active == 0).sum() > 100 and (active >= 2).sum() > 10  # outside, and overlapping windows
    assert (values(sale, "amount")[channel == "shop"] == 100).all()


# --- outliers ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["spike", "drop"])
def test_outliers_change_rate_of_rows_by_the_default_magnitude(mode: str) -> None:
    rate = 0.05
    doc = one_table(
        [dist("x", "uniform", low=10, high=20), twin("y", "x", mod("outliers", rate=rate, mode=mode))], rows=N
    )
    t = generate(doc)["t"]
    x, y = values(t, "x"), values(t, "y")
    changed = ~np.isclose(x, y)
    assert_near(changed.mean(), rate, math.sqrt(rate * (1 - rate) / N))
    ratio = y[changed] / x[changed] if mode == "spike" else x[changed] / y[changed]
    assert ratio.min() >= 3 - 1e-9 and ratio.max() <= 10 + 1e-9  # 1 + m, m in [2, 9] by default


def test_outlier_magnitude_follows_its_distribution() -> None:
    magnitude = {"type": "exponential", "params": {"scale": 1.0}, "clamp": [0, 5]}
    doc = one_table(
        [
            dist("x", "uniform", low=10, high=20),
            twin("y", "x", mod("outliers", rate=0.5, mode="spike", magnitude_dist=magnitude)),
        ],
        rows=N,
    )
    t = generate(doc)["t"]
    x, y = values(t, "x"), values(t, "y")
    m = (y / x - 1)[~np.isclose(x, y)]
    assert m.max() <= 5 + 1e-9
    assert not np.isclose(m, 5).any()  # the clamp truncates: nothing piles up at the bound
    mean = 1 - 5 * math.exp(-5) / (1 - math.exp(-5))  # E[Exp(1) | Exp(1) <= 5]
    assert_near(m.mean(), mean, 1 / math.sqrt(len(m)))


def test_outlier_burst_is_one_contiguous_run_in_time_across_blocks() -> None:
    rate = 0.05
    doc = one_table(
        [
            dist("x", "uniform", low=10, high=20),
            twin("y", "x", mod("outliers", rate=rate, mode="burst")),  # declared before its time column
            times("at", freq="min"),
        ],
        rows=N,
    )
    t = generate(doc, block_rows=256)["t"]
    order = np.argsort(values(t, "at"), kind="stable")
    hit = ~np.isclose(values(t, "x"), values(t, "y"))[order]
    first, last = np.flatnonzero(hit)[[0, -1]]
    assert hit[first : last + 1].all()  # no untouched row between the first and the last hit in time
    at = values(t, "at")[order]
    span = (at[last] - at[first]) / np.timedelta64(1, "D")
    assert span <= rate * 366 + 1e-6
    assert_near(hit.mean(), rate, math.sqrt(rate * (1 - rate) / N))
