"""Each generator does what docs/schema-language.md §4.1 says: sequences, choice weights (explicit, Zipf,
head/tail), distribution moments and clamps, datetime grids and calendar patterns, dates, faker locales and
uniqueness, expressions, vocab zips, null rates and the int cast. Statistical checks use fixed seeds and
a tolerance of 5 standard errors."""

from __future__ import annotations

import datetime as dt
import math
import re

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from faker.providers.person.de_DE import Provider as GermanNames
from faker.providers.person.ja_JP import Provider as JapaneseNames

from tests.engine.conftest import (
    WEEKS,
    assert_near,
    col,
    dist,
    entity,
    expr,
    fact,
    generate,
    one_table,
    schema,
    times,
    values,
)

N = 20_000


def shares(x: np.ndarray, labels: list) -> np.ndarray:
    return np.array([(x == v).mean() for v in labels])


def assert_shares(x: np.ndarray, labels: list, expected: np.ndarray) -> None:
    observed = shares(x, labels)
    for o, p in zip(observed, expected, strict=True):
        assert_near(o, p, math.sqrt(p * (1 - p) / len(x)))


# --- sequence ---------------------------------------------------------------------------------------


def test_sequence_counts_from_start_by_step_across_blocks() -> None:
    doc = one_table([col("code", "string", {"sequence": {"start": 100, "step": -3}})], rows=300)
    doc["nodes"][0]["columns"][0]["generator"]["sequence"] = {"start": 10, "step": 5}  # the key
    t = generate(doc, block_rows=64)["t"]
    assert values(t, "id").tolist() == list(range(10, 10 + 5 * 300, 5))
    assert values(t, "code").tolist() == [str(100 - 3 * i) for i in range(300)]
    assert t.schema.field("id").type == pa.int64()


# --- choice -----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def choices() -> pa.Table:
    ten = [f"v{i}" for i in range(10)]
    doc = one_table(
        [
            col("weighted", "string", {"choice": {"choices": ["a", "b", "c"], "weights": [1, 2, 7]}}),
            col("zipf", "string", {"choice": {"choices": ten[:5], "weights_kind": "zipf@1.5"}}),
            col("head_tail", "string", {"choice": {"choices": ten, "weights_kind": "head_tail@{0.6,1.2}"}}),
            col("flat", "int", {"choice": {"choices": [3, 1, 4, 5]}}),
            col("real", "float", {"choice": {"choices": [0.5, 2.5]}}),
        ],
        rows=N,
    )
    return generate(doc, seed=11)["t"]


def test_choice_weights_are_normalised_shares(choices: pa.Table) -> None:
    assert_shares(values(choices, "weighted"), ["a", "b", "c"], np.array([0.1, 0.2, 0.7]))


def test_zipf_ranks_by_list_order(choices: pa.Table) -> None:
    p = np.arange(1, 6, dtype=float) ** -1.5
    assert_shares(values(choices, "zipf"), [f"v{i}" for i in range(5)], p / p.sum())


def test_head_tail_gives_the_head_its_share_and_the_tail_a_zipf(choices: pa.Table) -> None:
    # 10 items: the head is the first max(1, floor(0.2 * 10)) = 2, sharing 60 %; the other 8 are Zipf(1.2).
    tail = np.arange(1, 9, dtype=float) ** -1.2
    expected = np.concatenate([[0.3, 0.3], 0.4 * tail / tail.sum()])
    x = values(choices, "head_tail")
    assert_shares(x, [f"v{i}" for i in range(10)], expected)
    assert_near(np.isin(x, ["v0", "v1"]).mean(), 0.6, math.sqrt(0.24 / N))


def test_uniform_choice_keeps_the_column_type(choices: pa.Table) -> None:
    assert choices.schema.field("flat").type == pa.int64()
    assert choices.schema.field("real").type == pa.float64()
    assert_shares(values(choices, "flat"), [3, 1, 4, 5], np.full(4, 0.25))
    assert set(values(choices, "real")) == {0.5, 2.5}


# --- distributions ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def draws() -> pa.Table:
    doc = one_table(
        [
            dist("normal", "normal", mean=10, std=3),
            dist("lognormal", "lognormal", mean=1, sigma=0.5),
            dist("uniform", "uniform", low=2, high=5),
            dist("poisson", "poisson", type_="int", **{"lambda": 4}),
            dist("beta", "beta", a=2, b=5),
            dist("gamma", "gamma", shape=2, scale=3),
            dist("weibull", "weibull", shape=1.5, scale=2),
            dist("exponential", "exponential", scale=4),
            dist("clamped", "normal", clamp=[-1, 1], mean=0, std=1),
            dist("int_clamped", "uniform", type_="int", clamp=[0.4, 9.6], low=-5, high=15),
        ],
        rows=N,
    )
    return generate(doc, seed=3)["t"]


MOMENTS = {  # column: (mean, variance)
    "normal": (10, 9),
    "lognormal": (math.exp(1 + 0.125), (math.exp(0.25) - 1) * math.exp(2 + 0.25)),
    "uniform": (3.5, 9 / 12),
    "poisson": (4, 4),
    "beta": (2 / 7, 10 / (49 * 8)),
    "gamma": (6, 18),
    "weibull": (2 * math.gamma(1 + 1 / 1.5), 4 * (math.gamma(1 + 2 / 1.5) - math.gamma(1 + 1 / 1.5) ** 2)),
    "exponential": (4, 16),
}


@pytest.mark.parametrize("name", list(MOMENTS))
def test_distribution_mean_matches_its_parameters(draws: pa.Table, name: str) -> None:
    mean, var = MOMENTS[name]
    assert_near(values(draws, name).mean(), mean, math.sqrt(var / N))


def test_normal_and_lognormal_spread() -> None:
    doc = one_table(
        [dist("normal", "normal", mean=10, std=3), dist("lognormal", "lognormal", mean=1, sigma=0.5)],
        rows=N,
    )
    t = generate(doc, seed=3)["t"]
    assert_near(values(t, "normal").std(), 3, 3 / math.sqrt(2 * N))
    logs = np.log(values(t, "lognormal"))  # lognormal parameters are in log space
    assert_near(logs.mean(), 1, 0.5 / math.sqrt(N))
    assert_near(logs.std(), 0.5, 0.5 / math.sqrt(2 * N))


def test_support_of_bounded_distributions(draws: pa.Table) -> None:
    u = values(draws, "uniform")
    assert u.min() >= 2 and u.max() < 5
    b = values(draws, "beta")
    assert b.min() > 0 and b.max() < 1
    p = values(draws, "poisson")
    assert draws.schema.field("poisson").type == pa.int64() and p.min() >= 0


def test_a_distribution_clamp_truncates_without_piling_up_at_the_bounds(draws: pa.Table) -> None:
    """Normal(0, 1) clamped to [-1, 1] is the truncated normal: nothing sits on a bound (clipping put
    a third of the values there), and the variance is the truncated one, 1 - 2φ(1)/(Φ(1) - Φ(-1))."""
    x = values(draws, "clamped")
    assert x.min() >= -1 and x.max() <= 1
    assert not np.isin(x, [-1, 1]).any()
    inside = math.erf(1 / math.sqrt(2))  # Φ(1) - Φ(-1)
    density = math.exp(-0.5) / math.sqrt(2 * math.pi)  # φ(1)
    variance = 1 - 2 * density / inside
    fourth = 3 - (2 * density * (1 + 3 * 1)) / inside  # E[X⁴] of the truncated normal on [-1, 1]
    assert_near(x.mean(), 0.0, math.sqrt(variance / N))
    assert_near(np.mean(x**2), variance, math.sqrt((fourth - variance**2) / N))


def test_int_clamp_holds_after_rounding(draws: pa.Table) -> None:
    # [0.4, 9.6] on an int column: rounding must not step out to 0 or 10.
    x = values(draws, "int_clamped")
    assert x.min() == 1 and x.max() == 9


# --- datetime_series --------------------------------------------------------------------------------


def test_dow_pattern_sets_the_weekend_share() -> None:
    weights = [1, 1, 1, 1, 1, 3, 3]
    doc = one_table([times(pattern={"dimension": "dow", "weights": weights})], rows=N, timeframe=WEEKS)
    ts = pd.DatetimeIndex(values(generate(doc)["t"], "ts"))
    assert_shares(ts.day_of_week.to_numpy(), list(range(7)), np.array(weights) / sum(weights))


def test_hour_pattern_sets_the_hourly_shares() -> None:
    weights = [0.2] * 7 + [1.0] * 11 + [3.0] * 6
    doc = one_table([times(freq="h", pattern={"dimension": "hour", "weights": weights})], rows=N)
    ts = pd.DatetimeIndex(values(generate(doc)["t"], "ts"))
    assert_shares(ts.hour.to_numpy(), list(range(24)), np.array(weights) / sum(weights))


def test_month_pattern_weighs_each_day_of_the_month() -> None:
    weights = [1, 1, 1, 1, 1, 1, 4, 4, 1, 1, 1, 1]
    doc = one_table([times(freq="D", pattern={"dimension": "month", "weights": weights})], rows=N)
    ts = pd.DatetimeIndex(values(generate(doc)["t"], "ts"))
    days = pd.date_range("2024-01-01", "2024-12-31", freq="D")  # each day is a cell holding its weight
    mass = np.bincount(days.month - 1, weights=np.array(weights)[days.month - 1], minlength=12)
    assert_shares(ts.month.to_numpy() - 1, list(range(12)), mass / mass.sum())


def test_patterns_and_seasonality_on_the_same_column_multiply() -> None:
    column = times(freq="h", pattern={"dimension": "hour", "weights": [1] * 12 + [3] * 12})
    column["modifiers"] = [
        {"transform": "seasonality", "args": {"dimension": "dow", "weights": [1] * 5 + [4, 4]}}
    ]
    ts = pd.DatetimeIndex(values(generate(one_table([column], rows=N, timeframe=WEEKS))["t"], "ts"))
    afternoon_weekend = ((ts.hour >= 12) & (ts.day_of_week >= 5)).mean()
    p = (3 * 8) / ((1 + 3) * (5 + 8))  # hour and dow weights are independent on whole days and weeks
    assert_near(afternoon_weekend, p, math.sqrt(p * (1 - p) / N))


def test_snapped_times_stay_on_the_freq_grid_inside_the_window() -> None:
    window = {"start": "2024-03-10T06:00:00Z", "end": "2024-03-20T06:00:00Z"}
    doc = one_table(
        [times(freq="15min", within=window, snap=True), times("day", freq="D", within=window, snap=True)],
        rows=2000,
    )
    t = generate(doc)["t"]
    ts = pd.DatetimeIndex(values(t, "ts"))
    assert ts.min() >= pd.Timestamp("2024-03-10T06:00") and ts.max() < pd.Timestamp("2024-03-20T06:00")
    assert (ts.minute % 15 == 0).all() and (ts.second == 0).all()
    day = pd.DatetimeIndex(values(t, "day"))
    assert ((day - pd.Timestamp("2024-03-10T06:00")) % pd.Timedelta("1D") == pd.Timedelta(0)).all()
    assert day.max() == pd.Timestamp("2024-03-19T06:00")  # the window's end is no value


def test_times_are_continuous_inside_the_window_and_never_its_end() -> None:
    """Without snap a value is a uniform instant inside its grid cell, to the microsecond: the freq
    sets where patterns change, not where values may sit (docs/schema-language.md §10.1)."""
    window = {"start": "2024-03-10T06:00:00Z", "end": "2024-03-10T06:00:01Z"}  # one second
    doc = one_table([times(freq="15min", within=window), times("wide", freq="D")], rows=N)
    t = generate(doc)["t"]
    ts = values(t, "ts").astype(np.int64)
    start = np.datetime64("2024-03-10T06:00:00", "us").astype(np.int64)
    assert ts.min() >= start and ts.max() < start + 1_000_000
    assert_near((ts - start).mean(), 499_999.5, math.sqrt((1e6**2 - 1) / 12 / N))
    wide = pd.DatetimeIndex(values(t, "wide"))
    assert (wide.microsecond != 0).mean() > 0.99 and (wide.second != 0).mean() > 0.9


def test_an_hour_pattern_holds_inside_bounds_that_cut_hours() -> None:
    """Each row drawn inside [10:30, 12:30]: the half hours at either end weigh half their hour."""

    def instant(name: str, at: str) -> dict:
        return times(name, within={"start": f"2024-01-01T{at}:00Z", "end": f"2024-01-01T{at}:00.000001Z"})

    weights = [1.0] * 24
    weights[10:13] = [1.0, 2.0, 4.0]
    column = times(freq="h", pattern={"dimension": "hour", "weights": weights})
    doc = one_table([instant("lo", "10:30"), instant("hi", "12:30"), column], rows=N)
    doc["constraints"] = {
        "inequalities": [
            {"left": "t.ts", "op": ">=", "right": "t.lo"},
            {"left": "t.ts", "op": "<=", "right": "t.hi"},
        ]
    }
    ts = pd.DatetimeIndex(values(generate(doc)["t"], "ts"))
    assert ts.min() >= pd.Timestamp("2024-01-01T10:30") and ts.max() <= pd.Timestamp("2024-01-01T12:30")
    assert_shares(ts.hour.to_numpy(), [10, 11, 12], np.array([0.5, 2.0, 2.0]) / 4.5)


def test_a_pattern_finer_than_the_freq_has_the_freqs_resolution() -> None:
    """With freq D a day is one cell: its hours are uniform whatever the hour pattern says, while the
    weekday pattern still holds."""
    column = times(
        freq="D",
        pattern=[
            {"dimension": "hour", "weights": [0.0] * 12 + [1.0] * 12},
            {"dimension": "dow", "weights": [1] * 5 + [3, 3]},
        ],
    )
    ts = pd.DatetimeIndex(values(generate(one_table([column], rows=N, timeframe=WEEKS))["t"], "ts"))
    assert_shares((ts.hour >= 12).astype(int), [0, 1], np.array([0.5, 0.5]))
    assert_shares(ts.day_of_week.to_numpy(), list(range(7)), np.array([1] * 5 + [3, 3]) / 11)


def test_second_grids_over_a_year_spread_inside_each_hour() -> None:
    """Too many grid points to hold: sampled per hour bucket, then uniformly inside it."""
    weights = [0.0] * 12 + [1.0] * 12
    doc = one_table([times(freq="s", pattern={"dimension": "hour", "weights": weights})], rows=N)
    ts = pd.DatetimeIndex(values(generate(doc)["t"], "ts"))
    assert (ts.hour >= 12).all()
    assert ts.min() >= pd.Timestamp("2024-01-01") and ts.max() <= pd.Timestamp("2025-01-01")
    assert_near(ts.minute.to_numpy().mean(), 29.5, math.sqrt((60**2 - 1) / 12 / N))
    assert len(np.unique(ts.second)) == 60


def test_date_columns_hold_calendar_dates() -> None:
    doc = one_table([times("day", type_="date", freq="h"), times("at", type_="datetime", freq="h")], rows=500)
    t = generate(doc)["t"]
    assert t.schema.field("day").type == pa.date32()
    assert t.schema.field("at").type == pa.timestamp("us", tz="UTC")
    days = t.column("day").to_pylist()
    assert all(type(d) is dt.date for d in days)
    assert min(days) >= dt.date(2024, 1, 1) and max(days) <= dt.date(2025, 1, 1)
    assert len(set(days)) > 250  # hourly draws over a year land on most days


# --- faker ------------------------------------------------------------------------------------------


def _names(provider) -> set[str]:
    return {
        *getattr(provider, "first_names", ()),
        *getattr(provider, "first_names_male", ()),
        *getattr(provider, "first_names_female", ()),
    }


def _assert_names_follow_country(table: pa.Table) -> None:
    country, name = values(table, "country"), values(table, "first_name")
    assert set(country) == {"DE", "JP"}
    assert set(name[country == "DE"]) <= _names(GermanNames)
    assert set(name[country == "JP"]) <= _names(JapaneseNames)


def test_faker_locale_from_follows_each_rows_country_in_entities_and_facts() -> None:
    people = [
        col("country", "string", {"choice": {"choices": ["DE", "JP"]}}),
        col("first_name", "string", {"faker": {"method": "first_name", "locale_from": "country"}}),
    ]
    doc = schema(entity("p", people, rows=400), fact("visit", ["p"], people))
    tables = generate(doc, block_rows=64)
    _assert_names_follow_country(tables["p"])
    _assert_names_follow_country(tables["visit"])


def test_faker_fixed_locale() -> None:
    doc = one_table(
        [col("first_name", "string", {"faker": {"method": "first_name", "locale": "de_DE"}})], rows=300
    )
    assert set(values(generate(doc)["t"], "first_name")) <= _names(GermanNames)


def test_faker_unique_is_unique_across_blocks() -> None:
    doc = one_table([col("email", "string", {"faker": {"method": "email", "unique": True}})], rows=5000)
    emails = values(generate(doc, block_rows=256)["t"], "email")
    assert len(set(emails)) == 5000
    assert all("@" in e for e in emails)


# --- expressions ------------------------------------------------------------------------------------


def test_expressions_compute_row_by_row() -> None:
    doc = one_table(
        [
            dist("x", "normal", mean=0, std=5),
            times("start", freq="min"),
            dist("duration", "uniform", low=0.5, high=72),
            expr("y", "x * 2 + 1"),
            expr("pos", "where(x > 0, x, 0)"),
            expr("end", "start + hours(duration)", type_="datetime"),
            expr("back", "hours_between(start, end)"),
            expr("late", "start >= '2024-07-01'", type_="bool"),
        ],
        rows=2000,
    )
    t = generate(doc)["t"]
    x = values(t, "x")
    np.testing.assert_allclose(values(t, "y"), x * 2 + 1)
    np.testing.assert_allclose(values(t, "pos"), np.maximum(x, 0))
    elapsed_h = (values(t, "end") - values(t, "start")) / np.timedelta64(1, "h")
    np.testing.assert_allclose(elapsed_h, values(t, "duration"), atol=1e-6)  # microsecond precision
    np.testing.assert_allclose(values(t, "back"), values(t, "duration"), atol=1e-6)
    assert (values(t, "late") == (values(t, "start") >= np.datetime64("2024-07-01"))).all()


# --- vocab ------------------------------------------------------------------------------------------


def test_vocab_zips_enum_lists_and_derives_the_rest() -> None:
    codes, names = ["DE", "FR", "PL"], ["Germany", "France", "Poland"]
    vocab = {
        "id": "country",
        "kind": "vocab",
        "pk": "code",
        "columns": [
            col("code", "string", {"enum_list": {"values": codes}}),
            col("name", "string", {"enum_list": {"values": names}}),
            col("rank", "int", {"enum_list": {"values": [3, 1, 2]}}),
            expr("double", "rank * 2", type_="int"),
            expr(
                "region",
                "code",
                type_="string",
                modifiers=[
                    {"transform": "map_values", "args": {"mapping": {"PL": "east"}, "default": "west"}}
                ],
            ),
        ],
    }
    t = generate(schema(vocab))["country"]
    assert t.to_pydict() == {
        "code": codes,
        "name": names,
        "rank": [3, 1, 2],
        "double": [6, 2, 4],
        "region": ["west", "west", "east"],
    }


# --- nulls and the cast -----------------------------------------------------------------------------


def test_nulls_are_produced_at_the_null_rate_after_modifiers() -> None:
    rate = 0.25
    relabel = {"transform": "map_values", "args": {"mapping": {"a": "A"}, "default": "other"}}
    label = col("label", "string", {"choice": {"choices": ["a", "b"]}}, modifiers=[relabel])
    doc = one_table(
        [
            {**dist("amount", "normal", mean=100, std=10), "nullable": True, "null_rate": rate},
            {**dist("count", "poisson", type_="int", **{"lambda": 3}), "nullable": True, "null_rate": rate},
            col("tag", "string", {"choice": {"choices": ["a", "b"]}}, nullable=True, null_rate=rate),
            {**label, "nullable": True, "null_rate": rate},  # nulls come after a map_values that fills all
            {**times("at"), "nullable": True, "null_rate": rate},
            dist("never", "normal", mean=0, std=1),
        ],
        rows=N,
    )
    t = generate(doc, block_rows=1000)["t"]
    for name in ("amount", "count", "tag", "label", "at"):
        assert_near(t.column(name).null_count / N, rate, math.sqrt(rate * (1 - rate) / N))
    assert set(t.column("label").drop_null().to_pylist()) == {"A", "other"}
    assert t.column("never").null_count == 0 and t.column("id").null_count == 0
    assert t.schema.field("count").type == pa.int64()  # an int column with nulls stays int


def test_null_rate_one_nulls_every_row() -> None:
    doc = one_table(
        [col("tag", "string", {"choice": {"choices": ["a"]}}, nullable=True, null_rate=1.0)], rows=50
    )
    assert generate(doc)["t"].column("tag").null_count == 50


def test_int_columns_round_to_the_nearest_integer() -> None:
    doc = one_table([dist("x", "normal", mean=0, std=10), expr("rounded", "x", type_="int")], rows=2000)
    t = generate(doc)["t"]
    assert t.schema.field("rounded").type == pa.int64()
    np.testing.assert_array_equal(values(t, "rounded"), np.rint(values(t, "x")).astype(np.int64))


def test_unique_faker_values_keep_a_declared_pattern_beyond_the_pool(monkeypatch: pytest.MonkeyPatch) -> None:
    """Past the distinct pool, unique values get a suffix; with a declared pattern they are all drawn."""
    from datagen import faker_pool

    monkeypatch.setattr(faker_pool, "UNIQUE_POOL_CAP", 100)
    code = col(
        "code",
        "string",
        {"faker": {"method": "bothify", "args": {"text": "??-#####"}, "unique": True}},
        constraints={"pattern": "[A-Za-z]{2}-[0-9]{5}"},
    )
    plain = col(
        "plain", "string", {"faker": {"method": "bothify", "args": {"text": "??-#####"}, "unique": True}}
    )
    table = generate(one_table([code, plain], rows=400))["t"]
    codes, others = values(table, "code"), values(table, "plain")
    assert len(set(codes)) == 400 and len(set(others)) == 400
    assert all(re.fullmatch(r"[A-Za-z]{2}-[0-9]{5}", c) for c in codes)
    assert not all(re.fullmatch(r"[A-Za-z]{2}-[0-9]{5}", c) for c in others)  # the suffix scheme kicked in
